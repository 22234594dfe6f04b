"""pymeasure's own ``Keithley2450`` driver against the simulated 2450 through @labsim.

The test enumerates the driver's properties and methods by introspection (those its classes
Keithley2450, KeithleyBuffer and SCPIMixin define) and sorts each into one of three tables:
supported (returns a value within the instrument's range, no error queued), failing as the
real instrument would (the native-SCPI 2450 lacks what the call needs), or skipped (with the
reason). A name in none of them fails the test, so a new pymeasure release is looked at.
pymeasure's real sleeps (ramps, triad, wait_for_buffer) run on the bench's virtual clock.
"""

from __future__ import annotations

import inspect
import math
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pyvisa

pytest.importorskip("pymeasure")

from pymeasure.instruments.generic_types import SCPIMixin  # noqa: E402
from pymeasure.instruments.keithley import Keithley2450  # noqa: E402
from pymeasure.instruments.keithley import buffer as pymeasure_buffer  # noqa: E402
from pymeasure.instruments.keithley import keithley2450 as pymeasure_2450  # noqa: E402
from pymeasure.instruments.keithley.buffer import KeithleyBuffer  # noqa: E402

from labctl.sim.bench import bench_for  # noqa: E402

R2450 = "USB0::0x05E6::0x2450::04412345::INSTR"


def _in(low: float, high: float) -> Callable[[Any], bool]:
    return lambda value: low <= float(value) <= high


def _one_of(*allowed: Any) -> Callable[[Any], bool]:
    return lambda value: value in allowed


def _finite(value: Any) -> bool:
    return math.isfinite(float(value))


#: Properties the 2450 supports: name -> check of the value read (range of the instrument).
PROPERTIES: dict[str, Callable[[Any], bool]] = {
    "id": lambda v: v.startswith("KEITHLEY INSTRUMENTS,MODEL 2450,"),
    "status": lambda v: int(v) >= 0, "complete": _one_of("1"),
    "next_error": lambda v: int(v[0]) == 0,
    "source_mode": _one_of("voltage", "current"), "source_enabled": _one_of(True, False),
    "current": _in(-1.05, 1.05), "voltage": _in(-210, 210), "resistance": _finite,
    "current_range": _in(1e-8, 1.0), "voltage_range": _in(0.02, 200),
    "resistance_range": _in(20, 2e8),
    "current_nplc": _in(0.01, 10), "voltage_nplc": _in(0.01, 10), "resistance_nplc": _in(0.01, 10),
    "compliance_current": _in(1e-9, 1.05), "compliance_voltage": _in(0.02, 210),
    "source_current": _in(-1.05, 1.05), "source_voltage": _in(-210, 210),
    "source_current_range": _in(1e-8, 1.0), "source_voltage_range": _in(0.02, 200),
    "source_current_delay": _in(0, 10000), "source_voltage_delay": _in(0, 10000),
    "source_current_delay_auto": _one_of(True, False),
    "source_voltage_delay_auto": _one_of(True, False),
    "wires": _one_of(2, 4), "buffer_points": _in(1, 7_500_000),
    "current_filter_type": _one_of("REP", "MOV"), "voltage_filter_type": _one_of("REP", "MOV"),
    "current_filter_count": _in(1, 100), "voltage_filter_count": _in(1, 100),
    "current_filter_state": _one_of(0, 1),
    "current_output_off_state": _one_of("HIMP", "NORM", "ZERO", "GUAR"),
    "voltage_output_off_state": _one_of("HIMP", "NORM", "ZERO", "GUAR"),
    # the native :TRAC:STAT:<x>? give one statistic of the buffer's readings
    "means": _finite, "maximums": _finite, "minimums": _finite, "standard_devs": _finite,
}

#: Values written back to the settable properties (None: write back the value read).
SET_VALUES: dict[str, Any] = {"current_filter_state": "ON", "source_mode": "voltage"}

#: Properties that fail on the real 2450 in native SCPI, with the reason.
PROPERTIES_FAILING: dict[str, tuple[type[BaseException], str]] = {
    **{f"{stat}_{quantity}": (TypeError, "the native 2450 gives one statistic of the buffer "
                              "(the sense function's readings), not a V, I, R list")
       for stat in ("mean", "max", "min", "std")
       for quantity in ("voltage", "current", "resistance")},
    "buffer_data": (pyvisa.errors.VisaIOError,
                    ":TRAC:DATA? needs its start and end index on the 2450: -109, no reply"),
    "options": (pyvisa.errors.VisaIOError, "*OPT? is not a 2450 command ⚠: -113, no reply"),
}

#: Properties not exercised, with the reason.
PROPERTIES_SKIPPED: dict[str, str] = {
    "error": "deprecated alias of next_error (FutureWarning)",
}

#: Methods the 2450 supports: name -> arguments.
METHODS: dict[str, tuple[Any, ...]] = {
    "clear": (), "reset": (), "check_errors": (), "enable_source": (), "disable_source": (),
    "measure_current": (), "measure_voltage": (), "measure_resistance": (),
    "apply_current": (), "apply_voltage": (), "auto_range_source": (),
    "use_rear_terminals": (), "use_front_terminals": (), "trigger": (),
    "beep": (1000, 0.1), "triad": (1000, 0.1), "ramp_to_current": (1e-4,),
    "ramp_to_voltage": (0.5,), "start_buffer": (), "stop_buffer": (), "shutdown": (),
}

#: Methods that fail on the real 2450 in native SCPI: name -> (arguments, errors queued or
#: the exception, reason). pymeasure's buffer mixin is written for the 2400 command set.
METHODS_FAILING: dict[str, tuple[tuple[Any, ...], Any, str]] = {
    "config_buffer": ((10,), [-113, -113, -113],
                      ":STAT:MEAS:ENAB, :TRAC:FEED and :TRAC:FEED:CONT are 2400 commands"),
    "reset_buffer": ((), [-113], ":TRAC:FEED:CONT is a 2400 command"),
    "disable_buffer": ((), [-113], ":TRAC:FEED:CONT is a 2400 command"),
    "is_buffer_full": ((), False, "the 2450 has no measurement event register behind *STB? "
                       "bit 0 for a full buffer; *STB? & 65 is never 65"),
    "wait_for_buffer": ((), Exception, "waits for is_buffer_full, which never comes: "
                        "pymeasure's own timeout (60 s of virtual time) raises"),
}


def enumerated() -> tuple[set[str], set[str]]:
    """Public properties and methods the driver's own classes define."""
    properties, methods = set(), set()
    for klass in (Keithley2450, KeithleyBuffer, SCPIMixin):
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            (properties if isinstance(value, property) else methods).add(name)
    return properties, methods


@pytest.fixture
def keithley(smu_station: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keithley2450]:
    bench = bench_for(smu_station)
    bench.duts["ref_smu"] = bench.duts["smu"]          # the cell on the 2450
    clock = bench.clock
    monkeypatch.setattr(pymeasure_2450, "time", types.SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(pymeasure_buffer, "sleep", clock.sleep)
    monkeypatch.setattr(pymeasure_buffer, "time", clock.now_s)
    inst = Keithley2450(R2450, visa_library=f"{smu_station}@labsim", timeout=2000,
                        read_termination="\n", write_termination="\n")
    inst.write(":SOUR:VOLT:ILIM 0.05;:OUTP ON")
    for _ in range(3):
        inst.ask(":READ?")                              # readings for the statistics
    yield inst
    inst.adapter.close()


def settable(name: str) -> bool:
    """pymeasure documents a control as "Control …" (a measurement as "Get …")."""
    return (inspect.getattr_static(Keithley2450, name).__doc__ or "").strip().startswith(
        "Control")


def queued_errors(inst: Keithley2450) -> list[int]:
    codes = []
    while (code := int(inst.next_error[0])) != 0:
        codes.append(code)
    return codes


def test_every_public_name_is_classified() -> None:
    properties, methods = enumerated()
    assert properties == set(PROPERTIES) | set(PROPERTIES_FAILING) | set(PROPERTIES_SKIPPED)
    assert methods == set(METHODS) | set(METHODS_FAILING)


@pytest.mark.parametrize("name", sorted(PROPERTIES))
def test_supported_property_reads_a_value_in_range(keithley: Keithley2450, name: str) -> None:
    value = getattr(keithley, name)
    assert PROPERTIES[name](value), f"{name} = {value!r}"
    assert queued_errors(keithley) == []
    if settable(name):
        setattr(keithley, name, SET_VALUES.get(name, value))
        assert queued_errors(keithley) == []
        assert PROPERTIES[name](getattr(keithley, name))


@pytest.mark.parametrize("name", sorted(PROPERTIES_FAILING))
def test_property_fails_as_the_instrument_would(keithley: Keithley2450, name: str) -> None:
    exception, _reason = PROPERTIES_FAILING[name]
    with pytest.raises(exception):
        getattr(keithley, name)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_supported_method_runs_without_error(keithley: Keithley2450, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = getattr(keithley, name)(*METHODS[name])
    assert queued_errors(keithley) == []
    if name == "check_errors":
        assert result == []
    if name == "ramp_to_voltage":
        assert float(keithley.source_voltage) == pytest.approx(0.5)
    if name == "ramp_to_current":
        assert float(keithley.source_current) == pytest.approx(1e-4)
    if name == "shutdown":
        assert keithley.source_enabled is False


@pytest.mark.parametrize("name", sorted(METHODS_FAILING))
def test_method_fails_as_the_instrument_would(keithley: Keithley2450, name: str) -> None:
    args, outcome, _reason = METHODS_FAILING[name]
    method = getattr(keithley, name)
    if isinstance(outcome, type) and issubclass(outcome, BaseException):
        with pytest.raises(outcome):
            method(*args)
    elif isinstance(outcome, list):
        keithley.check_errors = lambda: []             # keep the queue for the assertion
        method(*args)
        assert queued_errors(keithley) == outcome
    else:
        assert method(*args) == outcome


def test_a_sweep_run_by_pymeasure_is_polled_with_trig_stat(keithley: Keithley2450,
                                                           smu_station: Path) -> None:
    """A client's own sweep through pymeasure's write/ask: :INIT returns at once, the
    instrument answers :TRIG:STAT? while it runs, and the readings are those of the cell."""
    clock = bench_for(smu_station).clock
    keithley.write(':SOUR:SWE:VOLT:LIN 0,1.2,25,0,1,BEST,OFF,OFF,"defbuffer1"')
    keithley.write(':TRAC:CLE "defbuffer1";:INIT')
    states = []
    while (state := keithley.ask(":TRIG:STAT?").split(";")[0]) == "RUNNING":
        states.append(state)
        clock.sleep(0.05)
    assert state == "IDLE" and len(states) > 3
    currents = keithley.values(':TRAC:DATA? 1,25,"defbuffer1",READ')
    assert len(currents) == 25 and currents[0] < -1e-3 < 0 < currents[-1]
