"""`labctl off`: every SMU output off, the shutter closed, with --lamp the arc lamp off; an
instrument that cannot be reached is named, the command exits 1 and the rest is still safe.

The bench is left unsafe by a session that opens the station and closes it without making it
safe; `labctl off` then runs on the same simulated bench, and the emulators' state is read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl.cli import main
from labctl.opened_station import open_station
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
