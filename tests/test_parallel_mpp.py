"""MPP tracking on parallel channels: one thread per SMU on one virtual timeline, a file, a
catalog row and a "channel" each; the shared shutter closes when the last channel ends; an
instrument fault on one channel ends that channel alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.cli import main
from labctl.sim.bench import bench_for
from labctl.storage import Catalog, read_measurement

CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
        "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "ion_tau_s": 5.0,
        "ion_amplitude": 0.0}
DURATION_H, LOG_INTERVAL_S = 2.0, 60.0


def three_channel_station(write_station: Callable[..., Path], faults: list | None = None
                          ) -> Path:
    devices = {"smu": CELL, "smu2420": {**CELL, "jph_ma_cm2": 18.0},
               "ref_smu": {**CELL, "jph_ma_cm2": 21.0}}
    return write_station(
        instruments={"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
                     "smu2420": {"driver": "keithley2420", "resource": "GPIB0::25::INSTR"},
                     "ref_smu": {"driver": "keithley2450",
                                 "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
                     "shutter": {"driver": "thorlabs_sc10", "resource": "ASRL2::INSTR"}},
        simulation={"device": None, "devices": devices, "faults": faults or []})


def run(tmp_path: Path, station: Path, smu: object) -> tuple[int, dict, Path]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({
        "sample": {"id": "P-1", "area_cm2": 0.09},
        "steps": [{"mpp": {"duration_h": DURATION_H, "log_interval_s": LOG_INTERVAL_S,
                           "smu": smu}}]}))
    out = tmp_path / "runs"
    code = main(["run", str(sequence), "--station", str(station), "--out", str(out),
                 "--quiet"])
    (folder,) = out.glob("P-1_*")
    return code, json.loads((folder / "summary.json").read_text()), folder


def test_three_channels_track_in_parallel_on_one_timeline(
        tmp_path: Path, write_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import labctl.plots

    drawn: list[str] = []
    plot_timeseries = labctl.plots.plot_timeseries

    def counted(*args: object, **kwargs: object) -> None:
        drawn.append(Path(str(args[2])).name)
        plot_timeseries(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(labctl.plots, "plot_timeseries", counted)
    started_s = time.monotonic()
    station = three_channel_station(write_station)
    code, summary, folder = run(tmp_path, station, "all")
    # each channel's figure drawn once, though the step's figures are asked for after each
    # channel is recorded (1 + 2 + 3 = 6 times)
    assert sorted(drawn) == ["s00_mpp_ref_smu.png", "s00_mpp_smu.png", "s00_mpp_smu2420.png"]
    assert all((folder / name).is_file() for name in drawn)
    assert code == 0 and summary["status"] == "ok"
    channels = [r["channel"] for r in summary["results"]]
    assert sorted(channels) == ["ref_smu", "smu", "smu2420"]
    ends, powers = [], {}
    for record in summary["results"]:
        data = read_measurement(folder / record["file"])
        assert data.complete and record["file"] == f"s00_mpp_{record['channel']}.csv"
        time_s = data.columns["Time (s)"]
        assert time_s[-1] - time_s[0] == pytest.approx(DURATION_H * 3600, abs=LOG_INTERVAL_S)
        ends.append(time_s[-1])
        powers[record["channel"]] = record["metrics"]["pce_stabilized_pct"]
    # one timeline: the channels ran side by side, not one after the other
    assert max(ends) - min(ends) < 5 * LOG_INTERVAL_S
    assert summary["elapsed_s"] < 1.2 * DURATION_H * 3600
    # each channel tracked its own cell (photocurrents 18, 19.8 and 21 mA/cm²)
    assert powers["smu2420"] < powers["smu"] < powers["ref_smu"]
    rows = Catalog(folder.parent / "catalog.sqlite").query(run_id=summary["run_id"])
    assert len(rows) == 3
    bench = bench_for(station)
    assert not bench.instruments["shutter"].shutter_open
    assert time.monotonic() - started_s < 60


def test_a_fault_on_one_of_three_channels_leaves_the_others_running_to_the_end(
        tmp_path: Path, write_station: Callable[..., Path]) -> None:
    faults = [{"instrument": "smu2420", "kind": "dead", "at_s": 1800.0}]
    station = three_channel_station(write_station, faults)
    code, summary, folder = run(tmp_path, station, ["smu", "smu2420", "ref_smu"])
    assert code == 1 and summary["status"] == "failed"
    assert "smu2420" in summary["error"]
    by_channel = {r["channel"]: r for r in summary["results"]}
    assert by_channel["smu2420"]["status"] == "failed"
    failed = read_measurement(folder / "s00_mpp_smu2420.csv")
    assert not failed.complete and failed.columns["Time (s)"][-1] < 2400
    for channel in ("smu", "ref_smu"):
        assert by_channel[channel]["status"] == "ok"
        data = read_measurement(folder / f"s00_mpp_{channel}.csv")
        assert data.complete
        time_s = data.columns["Time (s)"]
        assert time_s[-1] - time_s[0] == pytest.approx(DURATION_H * 3600, abs=LOG_INTERVAL_S)
        # the failed channel's end did not close the shared shutter: still lit to the end
        power = data.columns["Power density (mW/cm**2)"]
        assert np.min(power[time_s > 2400]) > 0.95 * np.median(power[time_s < 1800])
    bench = bench_for(station)
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["ref_smu"].output_on
    assert not bench.instruments["shutter"].shutter_open


def test_every_channel_of_a_parallel_step_is_checked_against_its_own_smu_limits(
        tmp_path: Path, write_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    """2 A is within the 2420's envelope and beyond the 2400's: listing the 2420 first must
    not let the 2400's channel through."""
    station = three_channel_station(write_station)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({
        "sample": {"id": "P-1", "area_cm2": 0.09},
        "steps": [{"mpp": {"duration_s": 60, "log_interval_s": 10, "compliance_a": 2.0,
                           "smu": ["smu2420", "smu"]}}]}))
    assert main(["validate", str(sequence), "--station", str(station)]) == 2
    error = capsys.readouterr().err
    assert "'smu'" in error and "keithley2400" in error and "compliance_a" in error
    sequence.write_text(sequence.read_text().replace("- smu\n", "- smu2420\n"))
    assert main(["validate", str(sequence), "--station", str(station)]) == 0


def test_three_channels_cycle_the_shared_light_together(
        tmp_path: Path, write_station: Callable[..., Path]) -> None:
    """ISOS-LC-1 on three channels: one shutter for all; each channel's lit and dark hours
    are the bench's (its true maximum power is zero while dark), and the shutter ends
    closed."""
    station = three_channel_station(write_station)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({
        "sample": {"id": "P-1", "area_cm2": 0.09},
        "steps": [{"mpp": {"duration_h": 2.0, "log_interval_s": 60.0, "smu": "all",
                           "light_cycle": {"on_h": 0.5, "off_h": 0.5}}}]}))
    out = tmp_path / "runs"
    assert main(["run", str(sequence), "--station", str(station), "--out", str(out),
                 "--quiet"]) == 0
    (folder,) = out.glob("P-1_*")
    for channel in ("smu", "smu2420", "ref_smu"):
        data = read_measurement(folder / f"s00_mpp_{channel}.csv")
        time_s = data.columns["Time (s)"] - data.columns["Time (s)"][0]
        true_power = data.columns["True MPP power density (mW/cm**2)"]
        lit = data.columns["Light"] == 1
        phase_h = (time_s / 3600.0) % 1.0
        # away from the switching instants (at phases 0 and 0.5 of each hour)
        inside = np.min(np.abs(phase_h[:, None] - np.array([0.0, 0.5, 1.0])), axis=1) > 0.03
        np.testing.assert_array_equal(lit[inside], (phase_h < 0.5)[inside])
        # every row, those at a switch too, is labelled as the bench's light was
        assert np.all(true_power[~lit] == 0.0)
        assert np.min(true_power[lit]) > 15.0
    assert not bench_for(station).instruments["shutter"].shutter_open


def test_three_cycling_channels_killed_mid_run_resume_within_their_files(
        tmp_path: Path, write_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    """A run left over a holiday on three channels, light-cycled: SIGKILL in the middle, then
    ``--resume``. Each channel continues its own file (its rows before the kill kept, at most
    the point in flight lost), the channels still switch the light together, and every
    output ends off with the shutter closed."""
    import os
    import signal
    import subprocess
    import sys

    from labctl.sim.bench import forget_benches
    from labctl.storage import run_status

    duration_h, interval_s = 60.0, 600.0
    station = three_channel_station(write_station)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({
        "sample": {"id": "K-3", "area_cm2": 0.09},
        "steps": [{"mpp": {"duration_h": duration_h, "log_interval_s": interval_s,
                           "smu": "all", "light_cycle": {"on_h": 5, "off_h": 5}}}]}))
    out = tmp_path / "runs"
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl.cli", "run", str(sequence), "--station", str(station),
         "--out", str(out), "--quiet"], env=dict(os.environ, PYTHONPATH=str(root)),
        text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    files: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:
        files = sorted(out.glob("K-3_*/s00_mpp_*.csv"))
        if len(files) == 3 and min(f.stat().st_size for f in files) > 25_000:
            break
        time.sleep(0.005)
    assert len(files) == 3 and process.poll() is None, "the run ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    folder = files[0].parent
    assert run_status(folder) == "interrupted"
    before = {f.name: read_measurement(f).columns["Time (s)"] for f in files}

    forget_benches()  # the resume is a new process as far as the bench goes
    code = main(["run", str(sequence), "--station", str(station), "--resume", str(folder),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    for path in files:
        data = read_measurement(path)
        assert data.complete
        time_s = data.columns["Time (s)"]
        kept = before[path.name]
        assert 0 < len(kept) < len(time_s)
        assert np.array_equal(time_s[:len(kept) - 1], kept[:-1])  # the same file, continued
        assert np.all(np.diff(time_s) > 0) and np.max(np.diff(time_s)) <= 2 * interval_s + 60
        assert len(time_s) >= duration_h * 3600.0 / interval_s - 1
        lit = data.columns["Light"] == 1
        true_power = data.columns["True MPP power density (mW/cm**2)"]
        assert np.all(true_power[~lit] == 0.0) and np.all(true_power[lit] > 15.0)
    bench = bench_for(station)
    for smu in ("smu", "smu2420", "ref_smu"):
        assert not bench.instruments[smu].output_on
    assert not bench.instruments["shutter"].shutter_open
