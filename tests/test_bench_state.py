"""The simulated bench keeps its state across processes where the real bench would: a lamp
that was lit stays lit and warm, the cell keeps its age and ion state, through the run
folder's ``simulated_bench.json``; a new process is a new bench (``forget_benches``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.cli import main
from labctl.runner import Runner
from labctl.sim.bench import (
    STATE_FILE_NAME,
    BenchStateError,
    bench_for,
    forget_benches,
    read_state_file,
    write_state_file,
)
from labctl.storage import CsvWriter, read_measurement

STEPS = [{"jv": {"direction": "reverse", "hardware_sweep": False, "step_v": 0.02}},
         {"jv": {"direction": "forward", "hardware_sweep": False, "step_v": 0.02}}]
ALL = ("smu", "ref_smu", "lamp", "shutter", "wheel_a", "wheel_b", "photodiode")
#: The example lamp driver's warm-up (30 min) plus its ignition [s].
WARMUP_S = 1800.0


@pytest.fixture
def station(example_station: Callable[..., Path]) -> Path:
    return example_station(keep=ALL, ion_amplitude=0.1)


def sequence(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "S-1", "area_cm2": 0.09}, "steps": STEPS}))
    return path


def times_s(path: Path) -> np.ndarray:
    return read_measurement(path).columns["Time (s)"]


def aborted_run(tmp_path: Path, station: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run stopped in its second measurement, the first one done; its folder."""
    stop = threading.Event()
    append = CsvWriter.append

    def append_and_stop(self: CsvWriter, row: dict) -> None:
        append(self, row)
        if "forward" in str(self.path):
            stop.set()

    monkeypatch.setattr(CsvWriter, "append", append_and_stop)
    summary = Runner(sequence(tmp_path), station, out_dir=tmp_path / "r", show_progress=False,
                     stop_event=stop).run()
    monkeypatch.undo()
    assert [r["status"] for r in summary["results"]] == ["ok", "aborted"]
    return tmp_path / "r" / summary["run_id"]


def test_a_resumed_run_continues_with_the_lamp_warm_and_the_cell_as_it_was(
        tmp_path: Path, station: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = aborted_run(tmp_path, station, monkeypatch)
    first = times_s(folder / "s00_jv_reverse.csv")
    assert first[0] >= WARMUP_S                   # the first run warmed the lamp up
    live = bench_for(station)
    cell_before = live.models["smu"].state_dict()
    lamp_hours_before = live.instruments["lamp"].lamp_hours()
    saved = read_state_file(folder / STATE_FILE_NAME)
    assert saved["models"]["smu"] == cell_before   # the file holds the bench at run end
    assert saved["instruments"]["lamp"]["lamp"]["stop_s"] is None   # the lamp burns on
    last_on_disk_s = float(times_s(folder / "s01_jv_forward.csv")[-1])

    forget_benches()                               # a new process: a new bench
    fresh = bench_for(station)
    assert fresh.models["smu"].state_dict() != cell_before
    fresh.restore_state(saved)
    assert fresh.models["smu"].state_dict() == cell_before   # ions, dose, burn-in back
    assert fresh.clock.now_s() == saved["clock_s"]
    assert fresh.instruments["lamp"].lamp.is_ignited(fresh.clock.now_s())
    assert fresh.instruments["lamp"].lamp_hours() == pytest.approx(lamp_hours_before)

    forget_benches()
    summary = Runner(sequence(tmp_path), station, resume_dir=folder, show_progress=False).run()
    assert summary["status"] == "ok", summary.get("error")
    resumed = times_s(folder / "s01_jv_forward.csv")
    # a measurement's start (shutter, settling) takes ~10 s on this bench, in one process
    # or across a resume; not +1805 s: the lamp was warm
    assert 0.0 <= resumed[0] - last_on_disk_s < 30.0
    after = bench_for(station).models["smu"].state_dict()
    assert after["light_dose_sun_h"] > cell_before["light_dose_sun_h"]   # it aged on
    assert after["ion_memory_v"] != pytest.approx(0.0)


def test_a_fresh_run_still_warms_the_lamp(tmp_path: Path, station: Path) -> None:
    summary = Runner(sequence(tmp_path), station, out_dir=tmp_path / "r",
                     show_progress=False).run()
    folder = tmp_path / "r" / summary["run_id"]
    assert times_s(folder / "s00_jv_reverse.csv")[0] >= WARMUP_S
    forget_benches()                               # a new process, a new run folder
    again = Runner(sequence(tmp_path), station, out_dir=tmp_path / "r2",
                   show_progress=False).run()
    assert times_s(tmp_path / "r2" / again["run_id"] / "s00_jv_reverse.csv")[0] >= WARMUP_S


def test_a_resume_without_the_state_file_starts_the_bench_anew(
        tmp_path: Path, station: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = aborted_run(tmp_path, station, monkeypatch)
    last_on_disk_s = float(times_s(folder / "s01_jv_forward.csv")[-1])
    (folder / STATE_FILE_NAME).unlink()
    forget_benches()
    summary = Runner(sequence(tmp_path), station, resume_dir=folder, show_progress=False).run()
    assert summary["status"] == "ok"
    assert times_s(folder / "s01_jv_forward.csv")[0] - last_on_disk_s >= WARMUP_S


def test_a_state_file_of_another_station_is_refused(
        tmp_path: Path, station: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    folder = aborted_run(tmp_path, station, monkeypatch)
    path = folder / STATE_FILE_NAME
    state = read_state_file(path)
    write_state_file(path, dict(state, station="bench-9"))
    forget_benches()
    capsys.readouterr()
    code = main(["run", str(sequence(tmp_path)), "--station", str(station), "--resume",
                 str(folder), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and STATE_FILE_NAME in err and "bench-9" in err
    assert json.loads((folder / "summary.json").read_text())["status"] == "aborted"


def test_check_state_names_what_differs(station: Path) -> None:
    bench = bench_for(station)
    state = bench.save_state()
    bench.check_state(json.loads(json.dumps(state)))   # survives JSON unchanged
    rewired = json.loads(json.dumps(state))
    rewired["wiring"]["lamp"][1] = "ASRL9::INSTR"
    with pytest.raises(BenchStateError, match="other instruments"):
        bench.check_state(rewired)
    with pytest.raises(BenchStateError, match="version"):
        bench.check_state(dict(state, version=99))
    with pytest.raises(BenchStateError, match="not a labctl"):
        bench.check_state({"clock_s": 1.0})


def test_wheels_and_shutter_keep_their_state(station: Path) -> None:
    bench = bench_for(station)
    bench.instruments["wheel_a"].position = 4
    shutter = bench.instruments["shutter"]
    shutter.enabled = shutter.shutter_open = True
    bench.light.shutter_open = True
    state = json.loads(json.dumps(bench.save_state()))
    forget_benches()
    fresh = bench_for(station)
    assert fresh.instruments["wheel_a"].position == 1 and fresh.light.shutter_open is False
    fresh.restore_state(state)
    assert fresh.instruments["wheel_a"].position == 4
    wheel_a = fresh.instruments["wheel_a"]
    assert wheel_a.transmission() == pytest.approx(10 ** -wheel_a.od[3])  # slot 4's real OD
    assert fresh.light.shutter_open is True and fresh.instruments["shutter"].enabled


def test_a_run_killed_after_its_first_measurement_resumes_with_the_lamp_warm(
        tmp_path: Path, station: Path) -> None:
    """SIGKILL, as a lab's night goes wrong: the state file of the first measurement's end
    is what the resumed process starts from."""
    from labctl.storage import is_complete

    steps = [{"jv": {"direction": "both", "hardware_sweep": False, "step_v": 0.01}}] * 4
    seq = tmp_path / "seq.yaml"
    seq.write_text(yaml.safe_dump({"sample": {"id": "K-1", "area_cm2": 0.09}, "steps": steps}))
    out = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen([sys.executable, "-m", "labctl.cli", "run", str(seq),
                                "--station", str(station), "--out", str(out), "--quiet"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60.0
        first = None
        while time.monotonic() < deadline and process.poll() is None:
            found = list(out.glob("*/s00_jv_reverse.csv"))
            if found and is_complete(found[0]) and (found[0].parent / STATE_FILE_NAME).exists():
                first = found[0]
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert first is not None, "the run ended before its first measurement was complete"
    folder = first.parent
    assert json.loads((folder / "summary.json").read_text())["status"] == "running"
    last_on_disk_s = max(float(times_s(path)[-1]) for path in folder.glob("*.csv")
                         if len(read_measurement(path)))
    saved_cell = read_state_file(folder / STATE_FILE_NAME)["models"]["smu"]
    summary = Runner(seq, station, resume_dir=folder, show_progress=False).run()
    assert summary["status"] == "ok", summary.get("error")
    starts_s = sorted(float(times_s(folder / r["file"])[0]) for r in summary["results"])
    resumed_s = min(s for s in starts_s if s > last_on_disk_s)
    assert resumed_s - last_on_disk_s < 30.0        # not +1805 s: the lamp stayed warm
    after = bench_for(station).models["smu"].state_dict()
    assert after["light_dose_sun_h"] > saved_cell["light_dose_sun_h"] > 0.0


def test_the_models_give_back_their_state() -> None:
    from labctl.sim import physics
    from labctl.station.simulation import NoiseSim, SolarCellDevice

    cell = physics.SolarCell(SolarCellDevice(burn_in_fraction=0.1, burn_in_tau_h=1.0))
    cell.hold(0.9, 7200.0, 100.0)
    twin = physics.SolarCell(cell.params)
    twin.load_state(json.loads(json.dumps(cell.state_dict())))
    assert twin.degradation_factor == cell.degradation_factor < 1.0
    assert twin.ion_memory_v == pytest.approx(0.9)
    with pytest.raises(ValueError, match="solar-cell"):
        twin.load_state({"ion_memory_v": 0.0})

    lamp = physics.ArcLamp()
    lamp.start(10.0)
    other = physics.ArcLamp()
    other.load_state(lamp.state_dict())
    assert other.relative_output(400.0) == lamp.relative_output(400.0) > 0.8

    noise = NoiseSim(seed=3)
    noisy = physics.NoisyDevice(cell, noise, physics.MeasurementSettings, stream="smu")
    noisy.current_density_a_cm2(0.5, 100.0)
    state = json.loads(json.dumps(noisy.state_dict()))
    expected = noisy.current_density_a_cm2(0.5, 100.0)
    again = physics.NoisyDevice(cell, noise, physics.MeasurementSettings, stream="smu")
    again.load_state(state)
    assert again.current_density_a_cm2(0.5, 100.0) == expected   # the stream goes on
    restarted = physics.NoisyDevice(cell, noise, physics.MeasurementSettings, stream="smu")
    assert restarted.current_density_a_cm2(0.5, 100.0) != expected  # not from its start


def test_a_real_clock_bench_counts_the_time_it_was_away(write_station: Callable[..., Path]
                                                        ) -> None:
    station = write_station(simulation={"clock": "real"})
    bench = bench_for(station)
    state = dict(bench.save_state(), clock_s=1000.0, wall_time_s=time.time() - 5.0)
    bench.restore_state(state)
    assert bench.clock.now_s() == pytest.approx(1005.0, abs=1.0)


def test_faults_that_started_stay_started(write_station: Callable[..., Path]) -> None:
    faults = [{"instrument": "smu", "kind": "garbage", "at_row": 3, "once": True},
              {"instrument": "smu2420", "kind": "dead", "at_row": 5}]
    station = write_station(simulation={"faults": faults})
    bench = bench_for(station)
    for _ in range(5):
        bench.row_written()
    assert bench.faults.pending == [] and bench.instruments["smu2420"].fault == "dead"
    bench.instruments["smu"].heal()            # the once fault spoiled its exchange
    state = json.loads(json.dumps(bench.save_state()))
    forget_benches()
    fresh = bench_for(station)
    assert len(fresh.faults.pending) == 2
    fresh.restore_state(state)
    assert fresh.faults.pending == [] and fresh.faults.rows_written == 5
    assert fresh.instruments["smu2420"].fault == "dead"       # a dead instrument stays dead
    assert fresh.instruments["smu"].fault is None             # a spent one is not replayed
