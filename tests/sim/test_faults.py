"""Faults from ``simulation.faults``: each kind, on each family of emulators, at the VISA level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pyvisa
import yaml
from pyvisa import constants
from pyvisa.errors import VisaIOError

from labctl.sim.bench import DEFAULT_STATION
from labctl.station import load_station
from labctl.yamlio import InputError

SMU, REF, LAMP, SHUTTER, WHEEL = ("GPIB0::24::INSTR", "USB0::0x05E6::0x2450::04412345::INSTR",
                                  "ASRL1::INSTR", "ASRL2::INSTR", "ASRL3::INSTR")


def _content() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_STATION.read_text())


def _sim(labsim_station: Any, *faults: dict[str, Any]) -> Any:
    station = _content()
    station["simulation"]["faults"] = list(faults)
    return labsim_station(station)


def _open(sim: Any, resource: str, **kwargs: Any) -> Any:
    rm = pyvisa.ResourceManager(sim.visa_library)
    kwargs.setdefault("timeout", 2000)
    if resource.startswith("ASRL"):
        kwargs.setdefault("read_termination", "\r")
        kwargs.setdefault("write_termination", "\r")
    kwargs.setdefault("read_termination", "\n")
    return rm.open_resource(resource, **kwargs)


def test_a_fault_needs_one_moment_and_a_known_instrument(tmp_path: Path) -> None:
    station = _content()
    for fault, reason in (({"instrument": "smu", "kind": "dead"}, "exactly one of"),
                          ({"instrument": "smu", "kind": "dead", "at_s": 1, "at_row": 2},
                           "exactly one of"),
                          ({"instrument": "smu", "kind": "melted", "at_s": 1}, "kind")):
        station["simulation"]["faults"] = [fault]
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(station))
        with pytest.raises(InputError, match=reason):
            load_station(path)


def test_a_family_fault_on_another_family_is_refused(labsim_station: Any) -> None:
    with pytest.raises(ValueError, match="lamp_fault is a fault of a arc lamp supply"):
        _sim(labsim_station, {"instrument": "smu", "kind": "lamp_fault", "at_s": 0})


def test_dead_at_s_times_out_and_cannot_be_reopened(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "smu", "kind": "dead", "at_s": 10})
    smu = _open(sim, SMU)
    assert smu.query("*IDN?").startswith("KEITHLEY")
    sim.clock.advance(10)
    with pytest.raises(VisaIOError) as info:
        smu.query("*IDN?")
    assert info.value.error_code == constants.VI_ERROR_TMO
    with pytest.raises(VisaIOError):
        _open(sim, SMU)
    with pytest.raises(VisaIOError):
        smu.clear()


def test_after_ops_counts_the_instruments_own_messages(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "smu", "kind": "no_reply", "after_ops": 2})
    smu = _open(sim, SMU)
    smu.write("*CLS")
    assert smu.query("*IDN?").startswith("KEITHLEY")      # ops 1 and 2: healthy
    smu.write(":OUTP ON")                                 # op 3: carried out, nothing to say
    with pytest.raises(VisaIOError):
        smu.query(":OUTP?")
    assert sim.bench.instruments["smu"].output_on


def test_garbage_once_spoils_one_reply(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "smu", "kind": "garbage", "after_ops": 0,
                                "once": True})
    smu = _open(sim, SMU, encoding="latin-1")
    first = smu.query("*IDN?")
    assert not first.startswith("KEITHLEY") and "\xfe" in first
    assert smu.query("*IDN?").startswith("KEITHLEY")


def test_slow_reply_comes_after_the_timeout_and_a_clear_drops_it(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "smu", "kind": "slow", "at_s": 0, "once": True})
    smu = _open(sim, SMU)
    with pytest.raises(VisaIOError):
        smu.query("*IDN?")
    assert sim.clock.now_s() == pytest.approx(2.0)
    smu.clear()
    assert smu.query(":OUTP?") == "0"


def test_error_reply_queues_an_scpi_error_that_can_be_read(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "ref_smu", "kind": "error_reply", "at_s": 0})
    ref = _open(sim, REF)
    ref.write(":OUTP ON")
    assert not sim.bench.instruments["ref_smu"].output_on
    assert ref.query(":SYST:ERR?").startswith('-240,"Hardware error')


def test_error_reply_on_serial_instruments_is_their_error_string(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "wheel_a", "kind": "error_reply", "at_s": 0},
               {"instrument": "lamp", "kind": "error_reply", "at_s": 0})
    wheel = _open(sim, WHEEL)
    wheel.write("pos?")
    assert wheel.read() == "pos?" and "CMD_NOT_DEFINED" in wheel.read()
    lamp = _open(sim, LAMP)
    assert int(lamp.query("STB?")[3:], 16) & 0x10  # the execution-error bit, no status


@pytest.mark.parametrize("resource", [SMU, REF])
def test_interlock_trips_the_output_off_and_keeps_it_off(labsim_station: Any,
                                                         resource: str) -> None:
    key = "smu" if resource == SMU else "ref_smu"
    sim = _sim(labsim_station, {"instrument": key, "kind": "interlock", "at_s": 5})
    smu = _open(sim, resource)
    smu.write(":OUTP ON")
    assert smu.query(":OUTP?") == "1"
    sim.clock.advance(5)
    assert smu.query(":OUTP?") == "0"
    smu.write(":OUTP ON")
    assert smu.query(":OUTP?") == "0"
    assert "802" in smu.query(":SYST:ERR?")


def test_lamp_fault_sets_the_fault_bit_and_the_lamp_goes_dark(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "lamp", "kind": "lamp_fault", "at_s": 100})
    lamp = _open(sim, LAMP)
    lamp.query("START")
    sim.clock.advance(60)
    assert int(lamp.query("STB?")[3:], 16) & 0x80
    assert sim.bench.irradiance_mw_cm2() == 0.0  # shutter closed; the source itself:
    assert sim.bench.light.source.relative_output(sim.clock.now_s()) > 0
    sim.clock.advance(60)
    status = int(lamp.query("STB?")[3:], 16)
    assert status & 0x08 and not status & 0x80
    assert sim.bench.light.source.relative_output(sim.clock.now_s()) == 0.0
    assert int(lamp.query("START")[3:], 16) & 0x10  # it will not ignite


def test_wheel_stuck_keeps_its_old_position(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "wheel_a", "kind": "wheel_stuck", "at_s": 0})
    wheel = _open(sim, WHEEL)
    wheel.write("pos=3")
    wheel.read_bytes(len(b"pos=3\r>"))
    wheel.write("pos?")
    assert wheel.read() == "pos?" and wheel.read() == "1"
    assert sim.bench.instruments["wheel_a"].position == 1


def test_shutter_stuck_does_not_move(labsim_station: Any) -> None:
    sim = _sim(labsim_station, {"instrument": "shutter", "kind": "shutter_stuck", "at_s": 0})
    shutter = _open(sim, SHUTTER)
    shutter.write("ens")
    shutter.read_bytes(len(b"ens\r> "))
    shutter.write("closed?")
    assert shutter.read() == "closed?" and shutter.read() == "1"
    assert not sim.bench.instruments["shutter"].shutter_open


def test_a_query_that_runs_a_sweep_is_not_asked_twice(labsim_station) -> None:  # noqa: ANN001
    """One garbage reply to a plain reading is retried after reconnecting; not while the
    driver says a query starts an operation (the 2400's sweep :READ?: asking again would sweep
    the cell again)."""
    import pytest

    from labctl.guard import InstrumentFault

    sim = labsim_station()
    smu = sim.instruments["smu"]
    smu.configure_voltage_source(level_v=0.5, compliance_a=0.05)
    smu.enable_output()
    sim.faults.inject("smu", "garbage", once=True)
    smu.read()                                        # recovered by one retry
    assert any("recovered" in w for w in sim.station.guards["smu"].take_warnings())

    smu._retry_allowed = False
    sim.faults.inject("smu", "garbage", once=True)
    with pytest.raises(InstrumentFault, match=":READ\\?"):
        smu.read()
    assert sim.station.guards["smu"].take_warnings() == []

    smu._retry_allowed = True
    seen: list[bool] = []
    query_values = smu._query_values

    def recording(command: str) -> list[float]:
        seen.append(smu._retry_allowed)
        return query_values(command)

    smu._query_values = recording
    smu.sweep_voltage_linear(1.2, 0.0, 13, source_delay_s=0.0, compliance_a=0.05)
    assert False in seen and smu._retry_allowed   # the sweep's :READ? only, then allowed again
