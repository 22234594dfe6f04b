"""No way around the limits: every settable control of every SMU driver, found by
introspection, refuses out-of-envelope values before anything is sent.

For each driver class the test enumerates every public member. A property with a setter, or a
public method with a parameter the test does not know, fails the test: a new control must be
added here with the values that exercise it. Every method with quantity parameters is called
with each out-of-envelope value (beyond the voltage, beyond the current, outside the combined
envelope, NaN, +-inf, out-of-range NPLC / delay / points) on a fresh driver whose adapter
records traffic; the call must raise ValueError and send nothing. The same call with in-range
values must send something, so a refusal is the bad value's doing.
"""

from __future__ import annotations

import inspect
import math

import pytest
from pymeasure.adapters import ProtocolAdapter

from instruments.keithley24xx import Keithley2400SMU, Keithley2420SMU
from instruments.keithley2450 import Keithley2450SMU
from instruments.smu import SmuLimits

DRIVERS = [Keithley2400SMU, Keithley2420SMU, Keithley2450SMU]
CONSTRUCTOR_TRAFFIC = {
    Keithley2400SMU: [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)],
    Keithley2420SMU: [(":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)],
    Keithley2450SMU: [("*LANG?", "SCPI")],
}

#: Parameters that carry a quantity, by kind.
VOLTAGE_PARAMETERS = {"level_v", "compliance_v", "voltage_range_v", "start_v", "stop_v"}
CURRENT_PARAMETERS = {"level_a", "compliance_a", "current_range_a"}
OTHER_QUANTITY_PARAMETERS = {"nplc", "source_delay_s", "points", "voltages_v"}
#: Parameters that carry no quantity.
NON_QUANTITY_PARAMETERS = {"four_wire"}

#: Public methods without quantity parameters (they set no level, limit or timing).
NO_QUANTITY_METHODS = {"enable_output", "disable_output", "read", "raise_for_errors", "shutdown"}
#: Read-only properties (no setter) the drivers expose.
READ_ONLY_PROPERTIES = {"identity", "output_enabled", "line_frequency_hz"}
#: Public class attributes that are not controls (and cannot be set on an instance).
CLASS_CONSTANTS = {"model", "limits", "shutdown_commands_after_output_off"}

#: In-range arguments of every method with quantity parameters.
VALID_CALLS: dict[str, dict[str, object]] = {
    "configure_voltage_source": {"level_v": 0.5, "compliance_a": 0.01},
    "configure_current_source": {"level_a": 1e-3, "compliance_v": 2.0},
    "configure_voc_mode": {"compliance_v": 2.0},
    "set_voltage": {"level_v": 0.5},
    "set_current": {"level_a": 1e-3},
    "sweep_voltage_linear": {"start_v": 0.0, "stop_v": 1.0, "points": 11,
                             "source_delay_s": 0.01, "compliance_a": 0.01},
    "sweep_voltage_list": {"voltages_v": [0.0, 0.5, 1.0], "source_delay_s": 0.01,
                           "compliance_a": 0.01},
    "expected_sweep_duration_s": {"points": 11, "source_delay_s": 0.01, "nplc": 1.0},
}
#: Methods that compute and never send (their valid call sends nothing either).
PURE_METHODS = {"expected_sweep_duration_s"}

NOT_FINITE = [math.nan, math.inf, -math.inf]


class Sent(Exception):
    """Raised by the recording adapter when a driver waits for a reply."""


class RecordingAdapter:
    """Records every command; a read raises :class:`Sent` (the traffic is what matters)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def write(self, command: str, **kwargs) -> None:
        self.sent.append(command)

    def read(self, **kwargs) -> str:
        raise Sent(self.sent[-1])

    def close(self) -> None:
        pass


def fresh_driver(cls):
    smu = cls(ProtocolAdapter(CONSTRUCTOR_TRAFFIC[cls]))
    recorder = RecordingAdapter()
    smu.adapter = recorder
    return smu, recorder


def _bad_values(method: str, parameter: str, limits: SmuLimits) -> list[object]:
    """Out-of-range values of one parameter of ``method`` on its own."""
    if parameter in VOLTAGE_PARAMETERS:
        beyond = limits.max_voltage_v * 1.01
        values = [beyond, -beyond, *NOT_FINITE]
        return values + ([0.0, -1.0] if parameter == "compliance_v" else [])
    if parameter in CURRENT_PARAMETERS:
        beyond = limits.max_current_a * 1.01
        values = [beyond, -beyond, *NOT_FINITE]
        return values + ([0.0, -1e-3] if parameter == "compliance_a" else [])
    if parameter == "nplc":
        return [0.0, limits.min_nplc / 2, limits.max_nplc * 1.1, -1.0, *NOT_FINITE]
    if parameter == "source_delay_s":
        return [-0.001, limits.max_source_delay_s * 1.1, *NOT_FINITE]
    if parameter == "points" and method in PURE_METHODS:
        # an estimate accepts 1 point (the time of one point) up to the longest sweep
        most = max(limits.max_sweep_points, limits.max_list_points)
        return [0, -5, most + 1, 2.5, *NOT_FINITE]
    if parameter == "points":
        return [1, 0, -5, limits.max_sweep_points + 1, 2.5, *NOT_FINITE]
    if parameter == "voltages_v":
        beyond = limits.max_voltage_v * 1.01
        return [[], [0.0, beyond], [-beyond], [0.0, math.nan], [math.inf],
                [0.0] * (limits.max_list_points + 1)]
    raise AssertionError(f"no out-of-range values for {parameter!r}")


def _envelope_calls(method: str, limits: SmuLimits) -> list[dict[str, object]]:
    """Calls inside each limit alone but outside the combined envelope."""
    high_v = limits.high_current_max_voltage_v + 1.0
    high_a = min(limits.high_voltage_max_current_a * 2, limits.max_current_a)
    return {
        "configure_voltage_source": [
            {"level_v": high_v, "compliance_a": high_a},
            {"level_v": -high_v, "compliance_a": high_a},
            {"voltage_range_v": high_v, "compliance_a": high_a},
            {"level_v": high_v, "compliance_a": 0.001, "current_range_a": high_a},
        ],
        "configure_current_source": [
            {"level_a": high_a, "compliance_v": high_v},
            {"level_a": -high_a, "compliance_v": high_v},
            {"current_range_a": high_a, "compliance_v": high_v},
        ],
        "configure_voc_mode": [],  # sources 0 A: no level to combine with the compliance
        # A fresh driver does not know the instrument's compliance.
        "set_voltage": [{"level_v": high_v}, {"level_v": -high_v}],
        "set_current": [{"level_a": high_a}, {"level_a": -high_a}],
        "sweep_voltage_linear": [
            {**VALID_CALLS["sweep_voltage_linear"], "stop_v": high_v, "compliance_a": high_a},
            {**VALID_CALLS["sweep_voltage_linear"], "start_v": -high_v, "compliance_a": high_a},
        ],
        "sweep_voltage_list": [
            {**VALID_CALLS["sweep_voltage_list"], "voltages_v": [0.0, high_v],
             "compliance_a": high_a},
        ],
        "expected_sweep_duration_s": [],
    }[method]


def _model_specific_calls(cls, method: str) -> list[dict[str, object]]:
    if cls is Keithley2450SMU:
        # The 2450's sweep delay is 0 or at least 50 us; a limit must exceed 0.1 % of a fixed
        # measure range.
        return {
            "sweep_voltage_linear": [{**VALID_CALLS[method], "source_delay_s": 1e-5}],
            "sweep_voltage_list": [{**VALID_CALLS[method], "source_delay_s": 1e-5}],
            "configure_voltage_source": [{"compliance_a": 1e-6, "current_range_a": 0.01}],
            "configure_current_source": [{"compliance_v": 0.001, "voltage_range_v": 20.0}],
        }.get(method, [])
    return []


def out_of_envelope_calls(cls, method: str) -> list[dict[str, object]]:
    """Every refused call of ``method`` on driver ``cls``: each quantity parameter out of
    range on its own, then the combined-envelope and model-specific cases."""
    signature = inspect.signature(getattr(cls, method))
    calls: list[dict[str, object]] = []
    for parameter in signature.parameters:
        if parameter == "self" or parameter in NON_QUANTITY_PARAMETERS:
            continue
        for value in _bad_values(method, parameter, cls.limits):
            calls.append({**VALID_CALLS[method], parameter: value})
    return calls + _envelope_calls(method, cls.limits) + _model_specific_calls(cls, method)


def public_members(cls) -> dict[str, object]:
    return {name: inspect.getattr_static(cls, name) for name in dir(cls)
            if not name.startswith("_")}


def settable_methods(cls) -> list[str]:
    """The public methods with quantity parameters; fails on anything the test does not know."""
    known_parameters = (VOLTAGE_PARAMETERS | CURRENT_PARAMETERS | OTHER_QUANTITY_PARAMETERS
                        | NON_QUANTITY_PARAMETERS | {"self"})
    methods: list[str] = []
    for name, member in public_members(cls).items():
        if isinstance(member, property):
            assert member.fset is None, f"{cls.__name__}.{name} is a settable property"
            assert name in READ_ONLY_PROPERTIES, f"unknown property {cls.__name__}.{name}"
            continue
        if not inspect.isfunction(member):
            assert name in CLASS_CONSTANTS, f"unknown public attribute {cls.__name__}.{name}"
            continue
        parameters = set(inspect.signature(member).parameters)
        unknown = parameters - known_parameters
        assert not unknown, f"{cls.__name__}.{name} has unknown parameters {sorted(unknown)}"
        if parameters - NON_QUANTITY_PARAMETERS - {"self"}:
            assert name in VALID_CALLS, f"no out-of-envelope cases for {cls.__name__}.{name}"
            methods.append(name)
        else:
            assert name in NO_QUANTITY_METHODS, f"unknown method {cls.__name__}.{name}"
    return sorted(methods)


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda cls: cls.model)
def test_enumeration_finds_every_settable_control(cls):
    assert settable_methods(cls) == sorted(VALID_CALLS)


def _cases():
    for cls in DRIVERS:
        for method in settable_methods(cls):
            for index, kwargs in enumerate(out_of_envelope_calls(cls, method)):
                yield pytest.param(cls, method, kwargs, id=f"{cls.model}-{method}-{index}")


@pytest.mark.parametrize(("cls", "method", "kwargs"), list(_cases()))
def test_out_of_envelope_value_is_refused_unsent(cls, method, kwargs):
    smu, recorder = fresh_driver(cls)
    with pytest.raises(ValueError):
        getattr(smu, method)(**kwargs)
    assert recorder.sent == []


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda cls: cls.model)
@pytest.mark.parametrize("method", sorted(VALID_CALLS))
def test_the_same_call_in_range_is_sent(cls, method):
    """The control of the refusals above: in range, the call reaches the instrument."""
    smu, recorder = fresh_driver(cls)
    try:
        getattr(smu, method)(**VALID_CALLS[method])
    except Sent:
        pass
    if method in PURE_METHODS:
        assert recorder.sent == []
    else:
        assert recorder.sent, f"{method} sent nothing"


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda cls: cls.model)
def test_case_count_covers_every_quantity_parameter(cls):
    """Each quantity parameter of each settable method gets at least three refused values."""
    for method in settable_methods(cls):
        for parameter in inspect.signature(getattr(cls, method)).parameters:
            if parameter in ("self", *NON_QUANTITY_PARAMETERS):
                continue
            refused = [c for c in out_of_envelope_calls(cls, method)
                       if c.get(parameter, VALID_CALLS[method].get(parameter)) is not
                       VALID_CALLS[method].get(parameter)]
            assert len(refused) >= 3, (method, parameter)


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda cls: cls.model)
def test_limits_and_unknown_controls_cannot_be_set(cls):
    smu, recorder = fresh_driver(cls)
    for name in ("limits", "model", "source_voltage", "compliance_current", "output_enabled"):
        with pytest.raises(AttributeError):
            setattr(smu, name, 1e6)
    assert smu.limits is cls.limits
    assert recorder.sent == []


def test_enumeration_fails_on_a_control_it_does_not_know():
    """A new settable property, a new quantity method or a new parameter makes the enumeration
    fail until this file learns how to exercise it."""

    class WithProperty(Keithley2400SMU):
        @property
        def ovp_v(self) -> float:
            return 0.0

        @ovp_v.setter
        def ovp_v(self, value: float) -> None:
            self._write(f":SOUR:VOLT:PROT {value}")

    class WithMethod(Keithley2400SMU):
        def set_protection(self, level_v: float) -> None:
            self._write(f":SOUR:VOLT:PROT {level_v}")

    class WithParameter(Keithley2400SMU):
        def set_voltage(self, level_v: float, ramp_s: float = 0.0) -> None:
            super().set_voltage(level_v)

    for cls, message in ((WithProperty, "settable property"),
                         (WithMethod, "no out-of-envelope cases"),
                         (WithParameter, "unknown parameters")):
        with pytest.raises(AssertionError, match=message):
            settable_methods(cls)
