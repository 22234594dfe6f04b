"""A run killed with SIGKILL at 20 moments drawn from a seeded generator, each resumed: every
row, every file, the summary and the catalog are checked."""

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
from labctl.sim.bench import forget_benches
from labctl.storage import Catalog, read_measurement, run_status

ROOT = Path(__file__).resolve().parents[1]
SEED, KILLS = 20260107, 20
STEPS = [{"jv": {"direction": "both", "hardware_sweep": False, "step_v": 0.05}}]
FILES = ("s00_jv_reverse.csv", "s00_jv_forward.csv")


def labctl(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "labctl.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def check_folder(folder: Path, rows_per_file: int) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "ok" and run_status(folder) == "ok"
    assert [r["file"] for r in summary["results"]] == list(FILES)
    last_time_s = -np.inf
    for name in FILES:
        data = read_measurement(folder / name)
        assert data.complete and data.warnings == []
        voltage_v, time_s = data.columns["Voltage (V)"], data.columns["Time (s)"]
        assert len(voltage_v) == rows_per_file                    # no gap, no duplicate
        assert len(np.unique(np.round(voltage_v, 6))) == rows_per_file
        assert np.all(np.diff(time_s) > 0) and time_s[0] > last_time_s   # monotonic
        last_time_s = time_s[-1]
    for partial in folder.glob("*.partial*.csv"):                 # kept, whole rows only
        assert read_measurement(partial).warnings == []
    rows = Catalog(folder.parent / "catalog.sqlite").query(run_id=summary["run_id"])
    assert sorted((r["step"], r["direction"], r["status"], Path(r["file"]).name)
                  for r in rows) == sorted((r["step"], r["direction"], r["status"], r["file"])
                                           for r in summary["results"])


def test_twenty_sigkills_each_resumed(tmp_path: Path, example_station: Callable[..., Path],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    started_s = time.monotonic()
    station = example_station()
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "K-1", "area_cm2": 0.09},
                                        "steps": STEPS}))
    rng = np.random.default_rng(SEED)
    kill_after_s = rng.uniform(0.05, 1.2, KILLS)
    killed_mid_run = 0
    for index, delay_s in enumerate(kill_after_s):
        out = tmp_path / f"r{index}"
        process = labctl("run", str(sequence), "--station", str(station), "--out", str(out),
                         "--quiet", "--json")
        deadline = time.monotonic() + 30
        while not list(out.glob("*/summary.json")) and time.monotonic() < deadline \
                and process.poll() is None:
            time.sleep(0.01)
        time.sleep(delay_s)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        process.communicate(timeout=30)
        (folder,) = out.glob("K-1_*")
        if run_status(folder) != "ok":
            assert run_status(folder) == "interrupted"            # killed: no live lock
            forget_benches()    # the resume is a new process as far as the bench goes
            code = main(["run", str(sequence), "--station", str(station), "--resume",
                         str(folder), "--quiet", "--json"])
            assert code == 0, capsys.readouterr().err
        check_folder(folder, rows_per_file=29)
    assert killed_mid_run >= KILLS // 2     # most kills hit the run while it was writing
    with capsys.disabled():
        print(f"\n{KILLS} kills ({killed_mid_run} mid-run) and resumes in "
              f"{time.monotonic() - started_s:.1f} s")
