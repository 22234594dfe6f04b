"""`labctl off`: every SMU output off, the shutter closed, with --lamp the arc lamp off; an
instrument that cannot be reached is named, the command exits 1 and the rest is still safe.

The bench is left unsafe by a session that opens the station and closes it without making it
safe; `labctl off` then runs on the same simulated bench, and the emulators' state is read.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from labctl import clock
from labctl.cli import main
from labctl.idle import IDLE_REASON
from labctl.opened_station import open_station
from labctl.runner import Runner
from labctl.sim.bench import bench_for

ROOT = Path(__file__).resolve().parents[1]
STATION = ROOT / "configs" / "stations" / "simulated.yaml"


def leave_bench_unsafe(station: Path, lamp: bool = True) -> None:
    """Both SMU outputs on, the shutter open and (with ``lamp``) the lamp lit, then the
    connections closed as a crashed process leaves them (no make_safe)."""
    opened = open_station(station, simulated=True)
    try:
        for name in ("smu", "ref_smu"):
            smu = opened.instruments[name]
            smu.configure_voltage_source(compliance_a=0.01)
            smu.set_voltage(0.3)
            smu.enable_output()
        if lamp:
            opened.instruments["lamp"].turn_on(wait=False)
        opened.instruments["shutter"].open()
    finally:
        opened.close()


def lines_by_name(out: str) -> dict[str, str]:
    lines = [line.strip() for line in out.splitlines()[1:] if line.strip()]
    return {line.split()[0]: line.split(None, 1)[1] for line in lines}


def test_off_makes_an_unsafe_bench_safe_and_leaves_the_lamp_lit(
        capsys: pytest.CaptureFixture[str]) -> None:
    leave_bench_unsafe(STATION)
    bench = bench_for(STATION)
    assert bench.instruments["smu"].output_on and bench.instruments["ref_smu"].output_on
    assert bench.instruments["shutter"].shutter_open and bench.instruments["lamp"]._lit()

    code = main(["off", str(STATION), "--sim"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["ref_smu"].output_on
    assert not bench.instruments["shutter"].shutter_open
    assert bench.instruments["lamp"]._lit()             # an arc lamp only goes off with --lamp
    assert bench.irradiance_mw_cm2() == 0.0
    said = lines_by_name(captured.out)
    assert set(said) == {"smu", "ref_smu", "lamp", "shutter", "wheel_a", "wheel_b",
                         "photodiode"}                   # one line per instrument
    assert said["smu"] == "output off" and said["ref_smu"] == "output off"
    assert said["shutter"] == "closed"
    assert said["lamp"].startswith("lit, left on") and "--lamp" in said["lamp"]


def test_off_with_lamp_switches_the_arc_lamp_off(capsys: pytest.CaptureFixture[str]) -> None:
    leave_bench_unsafe(STATION)
    bench = bench_for(STATION)

    code = main(["off", str(STATION), "--sim", "--lamp"])
    said = lines_by_name(capsys.readouterr().out)
    assert code == 0
    assert not bench.instruments["lamp"]._lit()
    assert said["lamp"] == "switched off"
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["shutter"].shutter_open


def test_off_of_a_safe_bench_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["off", str(STATION), "--sim", "--lamp"])
    said = lines_by_name(capsys.readouterr().out)
    assert code == 0
    assert said["lamp"] == "off (it was off already)"
    assert said["smu"] == "output off"


def test_an_unreachable_smu_is_named_exit_1_and_the_rest_is_safe(
        capsys: pytest.CaptureFixture[str]) -> None:
    leave_bench_unsafe(STATION, lamp=False)
    bench = bench_for(STATION)
    bench.instruments["ref_smu"].fault = "dead"        # drops off the bus

    code = main(["off", str(STATION), "--sim"])
    captured = capsys.readouterr()
    said = lines_by_name(captured.out)
    assert code == 1
    assert said["ref_smu"].startswith("UNREACHABLE:")
    assert "USB0::0x05E6::0x2450::04412345::INSTR" in said["ref_smu"]
    assert said["photodiode"].startswith("UNREACHABLE:") and "ref_smu" in said["photodiode"]
    assert "ref_smu" in captured.err and len(captured.err.strip().splitlines()) == 1
    # everything that answers was still made safe
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["shutter"].shutter_open
    assert said["smu"] == "output off" and said["shutter"] == "closed"


def test_an_led_source_goes_off(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    station = tmp_path / "led.yaml"
    station.write_text(
        "station: led-bench\nsimulated: true\ninstruments:\n"
        "  smu: {driver: keithley2400, resource: 'GPIB0::24::INSTR'}\n"
        "  led: {driver: g2v_pico, resource: 'TCPIP0::10.0.0.5::50000::SOCKET', "
        "pico_id: 'ABCDEF0123456789'}\n")
    opened = open_station(station, simulated=True)
    try:
        opened.instruments["led"].turn_on()
    finally:
        opened.close()
    assert bench_for(station).light.irradiance_mw_cm2(bench_for(station).clock.now_s()) > 0

    code = main(["off", str(station), "--sim"])
    said = lines_by_name(capsys.readouterr().out)
    assert code == 0
    assert said["led"] == "switched off"
    assert bench_for(station).irradiance_mw_cm2() == 0.0


# --- the lamp switched off after a run and N idle minutes -------------------------------------

IDLE_SEQUENCE = {"sample": {"id": "I-1", "area_cm2": 0.09}, "steps": [
    {"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "reverse",
            "light": True, "precondition_light_s": 0}}]}


def idle_station(tmp_path: Path, minutes: float | None) -> Path:
    data = yaml.safe_load(STATION.read_text())
    data["instruments"] = {k: v for k, v in data["instruments"].items()
                           if k in ("smu", "lamp", "shutter")}
    data["simulation"]["light"] = {"irradiance_mw_cm2": 100, "warmup_tau_s": 0}
    if minutes is not None:
        data["lamp_off_after_idle_min"] = minutes
    path = tmp_path / "idle-station.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_idle(tmp_path: Path, station: Path,
             stop: threading.Event | None = None) -> tuple[Runner, list[tuple[str, float]]]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(IDLE_SEQUENCE, sort_keys=False))
    heard: list[tuple[str, float]] = []

    def listen(reason: str, remaining_s: float) -> None:
        heard.append((reason, remaining_s))
        if stop is not None and reason == IDLE_REASON and remaining_s < 300:
            stop.set()                                   # someone presses Ctrl-C

    clock.add_wait_listener(listen)
    try:
        runner = Runner(sequence, station, simulated=True, out_dir=tmp_path / "results",
                        show_progress=False, stop_event=stop)
        runner.run()
    finally:
        clock.remove_wait_listener(listen)
    return runner, heard


def test_the_lamp_goes_off_after_the_idle_minutes_in_virtual_time(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    station = idle_station(tmp_path, 20)
    runner, heard = run_idle(tmp_path, station)
    bench = bench_for(station)
    assert runner.state.status == "ok"
    assert not bench.instruments["lamp"]._lit()
    idle = [remaining for reason, remaining in heard if reason == IDLE_REASON]
    assert idle[0] == pytest.approx(1200.0, abs=1.0)     # 20 minutes, shown as they run down
    assert idle[-1] == 0.0
    run_end_s = runner._run_start_clock_s + runner.state.elapsed_s
    assert bench.clock.now_s() - run_end_s == pytest.approx(1200.0, abs=60.0)
    assert "switched off after 20 idle minutes" in capsys.readouterr().err


def test_without_the_option_the_lamp_stays_lit(tmp_path: Path) -> None:
    station = idle_station(tmp_path, None)
    runner, heard = run_idle(tmp_path, station)
    assert runner.state.status == "ok"
    assert bench_for(station).instruments["lamp"]._lit()
    assert not [reason for reason, _ in heard if reason == IDLE_REASON]


def test_a_stop_during_the_idle_wait_leaves_the_lamp_lit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    station = idle_station(tmp_path, 20)
    runner, heard = run_idle(tmp_path, station, stop=threading.Event())
    bench = bench_for(station)
    assert runner.state.status == "ok"
    assert bench.instruments["lamp"]._lit()
    idle = [remaining for reason, remaining in heard if reason == IDLE_REASON]
    assert 0 < min(r for r in idle if r > 0) < 300        # it stopped partway
    assert "left lit" in capsys.readouterr().err
