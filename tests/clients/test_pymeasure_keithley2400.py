"""pymeasure's own ``Keithley2400`` driver (not labctl's) against the simulated 2400 and 2420.

The driver is opened as a lab would open it, on a pymeasure ``VISAAdapter`` built on the
bench's ``@labsim`` library. Its properties and methods are enumerated by introspection:
every one the real instrument supports answers within the instrument's range and leaves no
error queued (``:SYST:ERR?`` reads 0); those that need what the instrument lacks fail as it
would (:data:`EXPECTED_ERRORS`); the members not run are listed with a reason (:data:`SKIPPED`).
pymeasure's real-time sleeps (ramps, the triad, the buffer poll) run on the virtual clock.
"""

from __future__ import annotations

import inspect
import math
import time
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvisa

pytest.importorskip("pymeasure")

from pymeasure.adapters import VISAAdapter  # noqa: E402
from pymeasure.instruments.keithley import Keithley2400  # noqa: E402
from pymeasure.instruments.keithley import buffer as pymeasure_buffer  # noqa: E402
from pymeasure.instruments.keithley import keithley2400 as pymeasure_2400  # noqa: E402

from instruments.smu import KEITHLEY_2400_LIMITS, KEITHLEY_2420_LIMITS  # noqa: E402

RESOURCES = {"2400": ("GPIB0::24::INSTR", KEITHLEY_2400_LIMITS),
             "2420": ("GPIB0::25::INSTR", KEITHLEY_2420_LIMITS)}

#: Members not run, with the reason.
SKIPPED: dict[str, str] = {
    # pymeasure's generic message transport, exercised by every other member
    "write": "generic transport (CommonBase), used by every member",
    "write_bytes": "generic transport (CommonBase), used by every member",
    "write_binary_values": "generic transport; the 2400 takes no binary data in",
    "read": "generic transport (CommonBase), used by every member",
    "read_bytes": "generic transport (CommonBase), used by every member",
    "read_binary_values": "generic transport; :FORM:DATA SRE is tested on raw SCPI "
                          "(tests/sim/test_keithley24xx_fidelity.py)",
    "ask": "generic transport (CommonBase), used by every member",
    "values": "generic transport (CommonBase), used by every member",
    "binary_values": "generic transport; see read_binary_values",
    "wait_for": "a host-side pause before a read, no instrument traffic",
    "add_child": "channel bookkeeping of pymeasure, no instrument traffic",
    "remove_child": "channel bookkeeping of pymeasure, no instrument traffic",
    "check_get_errors": "hook pymeasure calls after a get (check_errors is run)",
    "check_set_errors": "hook pymeasure calls after a set (check_errors is run)",
    "wait_for_buffer": "run with a filled buffer in test_wait_for_buffer_returns_in_"
                       "virtual_time",
}
#: Members that fail on the real instrument, and the error the emulator queues.
EXPECTED_ERRORS: dict[str, str] = {
    # *TRG with no trigger model waiting for a bus trigger (2400 manual p. 11-13) ⚠
    "trigger": '-211,"Trigger ignored"',
}
#: Properties read but not written back, with the reason.
NOT_SET_BACK: dict[str, str] = {
    "filter_state": "pymeasure's deprecated property reads the 0/1 the 2400 answers to "
                    ":SENS:AVER? as a number its own validator ('ON'/'OFF') refuses; a real "
                    "2400 answers 0/1 too",
}
#: Arguments of the methods that take some.
ARGUMENTS: dict[str, tuple] = {
    "ramp_to_current": (1e-4,), "ramp_to_voltage": (0.2,), "set_trigger_counts": (1, 5),
    "set_timed_arm": (0.5,), "beep": (1000, 0.1), "triad": (1000, 0.1),
}


def members() -> tuple[list[str], list[str]]:
    """(properties, methods) pymeasure's Keithley2400 defines, through its MRO."""
    properties: set[str] = set()
    methods: set[str] = set()
    for klass in Keithley2400.__mro__:
        if not klass.__module__.startswith("pymeasure"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                properties.add(name)
            elif inspect.isfunction(member):
                methods.add(name)
    return sorted(properties), sorted(methods - properties)


PROPERTIES, METHODS = members()


@pytest.fixture(params=sorted(RESOURCES))
def model(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def keithley(smu_station: Path, model: str,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Keithley2400]:
    rm = pyvisa.ResourceManager(f"{smu_station}@labsim")
    clock = rm.visalib.bench.clock
    virtual_time = types.SimpleNamespace(sleep=clock.sleep, time=clock.now_s)
    monkeypatch.setattr(pymeasure_2400, "time", virtual_time)
    monkeypatch.setattr(pymeasure_buffer, "sleep", clock.sleep)
    monkeypatch.setattr(pymeasure_buffer, "time", clock.now_s)
    adapter = VISAAdapter(RESOURCES[model][0], visa_library=rm.visalib,
                          read_termination="\n", write_termination="\n", timeout=20000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pymeasure's deprecated members
        instrument = Keithley2400(adapter)
        yield instrument
    adapter.close()


def fresh(k: Keithley2400) -> None:
    """A known state for each member: reset, sourcing 0.1 V, a 5-reading buffer filled."""
    k.reset()
    k.reset_data_format()
    k.write(":SOUR:VOLT 0.1;:SENS:CURR:PROT 0.01;:OUTP ON")
    k.config_buffer(5)
    k.start_buffer()
    k.wait_for_buffer(timeout=60)
    assert k.ask(":SYST:ERR?").startswith("0,")


def in_range(name: str, value: object, model: str) -> bool:
    """A value the instrument can give: finite numbers within the model's envelope."""
    limits = RESOURCES[model][1]
    if name in ("error", "next_error"):
        return int(value[0]) == 0                      # (code, message): no error
    if isinstance(value, str):
        return bool(value)
    numbers = np.atleast_1d(np.asarray(value, dtype=float))
    numbers = numbers[np.abs(numbers) < 9e37]         # +9.91E+37: not measured
    if not np.all(np.isfinite(numbers)):
        return False
    if "voltage" in name and "range" not in name:
        return bool(np.all(np.abs(numbers) <= limits.max_voltage_v))
    if "current" in name and "range" not in name:
        return bool(np.all(np.abs(numbers) <= limits.max_current_a))
    return True


def test_the_member_lists_are_complete() -> None:
    assert "wait_for_buffer" in METHODS and "current" in PROPERTIES
    assert set(SKIPPED) | set(EXPECTED_ERRORS) | set(ARGUMENTS) <= set(METHODS)
    assert len(PROPERTIES) > 70 and len(METHODS) > 40


@pytest.mark.parametrize("name", PROPERTIES)
def test_every_property_reads_in_range_and_sets_back_without_error(
        keithley: Keithley2400, model: str, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fresh(keithley)
        value = getattr(keithley, name)
        assert in_range(name, value, model), (name, value)
        assert keithley.ask(":SYST:ERR?").startswith("0,"), name
        settable = getattr(type(keithley), name).fset is not None
        if name in NOT_SET_BACK:
            return
        if settable and not isinstance(value, (list, np.ndarray, tuple)) and value is not None:
            try:
                setattr(keithley, name, value)     # pymeasure's validator checks the range
            except LookupError:
                pass                               # a measurement: read only
            assert keithley.ask(":SYST:ERR?").startswith("0,"), name
            if name not in ("current", "voltage", "resistance"):
                assert getattr(keithley, name) == value, name


@pytest.mark.parametrize("name", [m for m in METHODS if m not in SKIPPED])
def test_every_method_runs_as_on_the_instrument(keithley: Keithley2400, model: str,
                                                name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fresh(keithley)
        result = getattr(keithley, name)(*ARGUMENTS.get(name, ()))
        if isinstance(result, dict):
            assert all(in_range(key, v, model) for key, v in result.items()), result
        expected = EXPECTED_ERRORS.get(name)
        errors = keithley.ask(":SYST:ERR?")
        if expected is None:
            assert errors.startswith("0,"), (name, errors)
        else:
            assert errors == expected


def test_measurements_read_what_the_device_does(keithley: Keithley2400, model: str) -> None:
    """The 2400 is wired to the lit cell, the 2420 to nothing (open leads)."""
    keithley.reset()
    keithley.reset_data_format()
    keithley.source_mode = "current"
    keithley.compliance_voltage = 2
    keithley.source_current = -1e-3                   # the lit cell delivers 1 mA
    voltage_v = keithley.voltage                       # :MEAS:VOLT? turns the output on
    if model == "2400":
        assert 0.5 < voltage_v < 1.3
    else:
        assert voltage_v == pytest.approx(-2.0)        # open leads: at the compliance
    assert keithley.source_enabled is True
    keithley.disable_source()
    keithley.source_mode = "voltage"
    keithley.compliance_current = 0.05
    keithley.source_voltage = 0.0
    current_a = keithley.current
    if model == "2400":
        assert current_a < 0                           # short circuit: photocurrent
    else:
        assert abs(current_a) < 1e-9
    readings = keithley.measure_all()
    if model == "2400":
        assert readings["resistance"] == pytest.approx(
            readings["voltage"] / readings["current"], rel=1e-6)
    else:                                              # 0 V over open leads: no current,
        assert math.isnan(readings["resistance"])      # +9.91E+37, which pymeasure maps to nan
    assert keithley.ask(":SYST:ERR?").startswith("0,")


def test_wait_for_buffer_returns_in_virtual_time(keithley: Keithley2400) -> None:
    clock = keithley.adapter.connection.visalib.bench.clock
    keithley.reset()
    keithley.reset_data_format()
    keithley.write(":SOUR:VOLT 0.2;:SENS:CURR:PROT 0.05;:OUTP ON")
    keithley.config_buffer(100)
    assert not keithley.is_buffer_full()
    virtual_start_s, real_start_s = clock.now_s(), time.perf_counter()
    keithley.start_buffer()
    keithley.wait_for_buffer(timeout=60)
    assert keithley.is_buffer_full()
    data = keithley.buffer_data.reshape(100, 5)
    assert time.perf_counter() - real_start_s < 5.0
    assert clock.now_s() - virtual_start_s > 2.0       # 100 readings at 1 PLC
    assert np.all(data[:, 0] == pytest.approx(0.2))
    assert np.all(np.diff(data[:, 3]) > 0)             # timestamps advance
    if keithley.id.split(",")[1].endswith("2400"):
        assert np.all(data[:, 1] < 0)                  # the lit cell at 0.2 V delivers
    else:
        assert np.all(np.abs(data[:, 1]) < 1e-9)       # open leads
    assert math.isclose(keithley.mean_current, float(np.mean(data[:, 1])), rel_tol=1e-5)
    assert keithley.ask(":SYST:ERR?").startswith("0,")
