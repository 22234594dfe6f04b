"""A 1000-hour MPP run in virtual time with periodic J-Vs: it finishes, and a run killed with
SIGKILL in the middle of its MPP file resumes within that file, losing at most one point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.cli import main
from labctl.sim.bench import bench_for, forget_benches
from labctl.storage import read_measurement, run_status

ROOT = Path(__file__).resolve().parents[1]
LOG_INTERVAL_S = 600.0
DURATION_H = 1000.0
JV_EVERY_MIN = 12000.0   # a J-V every 200 h: five of them
STEPS = [{"mpp": {"duration_h": DURATION_H, "log_interval_s": LOG_INTERVAL_S,
                  "jv_every_min": JV_EVERY_MIN,
                  "jv": {"direction": "reverse", "start_v": 1.2, "stop_v": 0.0,
                         "step_v": 0.1}}}]


def write_sequence(tmp_path: Path, sample_id: str) -> Path:
    sequence = tmp_path / f"{sample_id}.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": sample_id, "area_cm2": 0.09},
                                        "steps": STEPS}))
    return sequence


def check_run(folder: Path) -> np.ndarray:
    """The finished run's checks; the MPP file's times."""
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "ok" and run_status(folder) == "ok"
    (record,) = summary["results"]
    assert record["details"]["Periodic J-Vs"] == 5
    data = read_measurement(folder / "s00_mpp.csv")
    assert data.complete and data.warnings == []
    time_s = data.columns["Time (s)"]
    assert np.all(np.diff(time_s) > 0)                              # no duplicate, monotonic
    assert time_s[-1] - time_s[0] == pytest.approx(DURATION_H * 3600.0, abs=LOG_INTERVAL_S)
    series = read_measurement(folder / "s00_mpp_jv_series.csv")
    assert np.allclose(np.diff(series.columns["Time (s)"]), JV_EVERY_MIN * 60.0, rtol=1e-3)
    assert np.all(series.columns["PCE (percent)"] > 10)             # each J-V analysed
    for k in range(5):
        assert read_measurement(folder / f"s00_mpp_jv{k:04d}_reverse.csv").complete
    # the tracker held the cell at its maximum power point (simulated truth beside it)
    truth = data.columns["True MPP power density (mW/cm**2)"]
    power = data.columns["Power density (mW/cm**2)"]
    assert np.median(power[len(power) // 2:] / truth[len(power) // 2:]) > 0.99
    return time_s


def test_a_1000_hour_run_killed_mid_file_resumes_within_it(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    station = example_station()
    sequence = write_sequence(tmp_path, "L-1")
    out = tmp_path / "runs"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl.cli", "run", str(sequence), "--station", str(station),
         "--out", str(out), "--quiet", "--json"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    mpp_file: Path | None = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list(out.glob("L-1_*/s00_mpp.csv"))
        if found and found[0].stat().st_size > 60_000:   # a few hundred rows written
            mpp_file = found[0]
            break
        time.sleep(0.005)
    assert mpp_file is not None and process.poll() is None, "the run ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    folder = mpp_file.parent
    assert run_status(folder) == "interrupted"
    before = read_measurement(mpp_file)
    rows_before = len(before.columns["Time (s)"])
    assert not before.complete and 0 < rows_before < 6000

    forget_benches()          # the resume is a new process as far as the bench goes
    code = main(["run", str(sequence), "--station", str(station), "--resume", str(folder),
                 "--quiet", "--json"])
    assert code == 0, capsys.readouterr().err
    time_s = check_run(folder)
    # the same file, continued: the rows written before the kill are still its first rows
    assert np.array_equal(time_s[:rows_before - 1], before.columns["Time (s)"][:-1])
    assert not list(folder.glob("s00_mpp.partial*.csv"))
    gaps = np.diff(time_s)
    # at most the point in flight is lost (a J-V falls between two rows: it adds its time)
    assert np.max(gaps) <= 2 * LOG_INTERVAL_S + 60, np.max(gaps)
    assert len(time_s) >= DURATION_H * 3600.0 / LOG_INTERVAL_S - 1
    # every output off and the shutter closed at the end
    bench = bench_for(station)
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["shutter"].shutter_open
