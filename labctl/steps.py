"""What every step model shares: the base class, field types, references to earlier steps.

A kind of measurement declares its step model in its plug-in module (``procedures/jv.py``
declares :class:`~procedures.jv.JVStep`); the sequence file validates each step against the
model of the plug-in registered under the step's name (docs/architecture.md, "Procedure
plug-ins"). Every field carries its unit in its name, a default, a range and a description;
the procedure's pymeasure Parameters are generated from them
(:mod:`labctl.registry.parameters`).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from labctl.models import StrictModel
from labctl.yamlio import located_error

__all__ = [
    "MAX_SWEEP_POINTS",
    "Compliance",
    "Irradiance",
    "Nplc",
    "StepBase",
    "StepReference",
    "Voltage",
    "format_duration",
    "linear_point_count",
    "multi_smu_field",
    "step_smus",
]

#: Largest number of points in one sweep (2400-series buffer and sweep limit).
MAX_SWEEP_POINTS = 2500
#: Light soak before a lit J-V sweep when the step does not say (s).
DEFAULT_LIGHT_SOAK_S = 10.0
#: Time per filter-wheel move assumed by the run-time estimate (s).
WHEEL_MOVE_S = 1.0

Voltage = Annotated[float, Field(ge=-210, le=210)]
Irradiance = Annotated[float, Field(gt=0, le=1000)]
Nplc = Annotated[float, Field(ge=0.01, le=10)]
Compliance = Annotated[float, Field(gt=0, le=10)]


def linear_point_count(start_v: float, stop_v: float, step_v: float) -> int:
    """Points of a linear sweep over [start_v, stop_v] spaced by about ``step_v`` (both ends
    included): ``round(|stop_v - start_v| / step_v) + 1``."""
    return round(abs(stop_v - start_v) / step_v) + 1


def step_too_large_error(start_v: float, stop_v: float, step_v: float) -> PydanticCustomError:
    return located_error(
        f"step_v ({_g(step_v)} V) is too large for the range |stop_v − start_v| "
        f"({_g(abs(stop_v - start_v))} V): a sweep needs at least 2 points",
        ("step_v",),
    )


def format_duration(seconds: float) -> str:
    """``95`` -> ``"1 min 35 s"``, ``7200`` -> ``"2 h"``, for one-line summaries."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    if seconds < 86400 * 3:
        hours, rest = divmod(round(seconds), 3600)
        minutes = rest // 60
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds / 86400:.1f} d"


def _g(value: float) -> str:
    return f"{value:g}"



class StepBase(StrictModel):
    """Common base of the step models. ``procedure`` is the step's name in the YAML."""

    procedure: ClassVar[str] = ""
    allow_no_metrics: bool = Field(
        default=False, title="Allow no metrics",
        description="a measurement of this step with no valid metric (all NaN) does not "
        "fail the run (exit 0); by default it does (exit 1)")

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        """Accept the YAML form ``{name: {params}}`` / ``{name: null}`` / ``name``."""
        if isinstance(data, str) and data == cls.procedure:
            return {}
        if isinstance(data, dict) and len(data) == 1 and cls.procedure in data:
            params = data[cls.procedure]
            return {} if params is None else params
        return data

    def bias_voltages_v(self) -> dict[str, float]:
        """Voltages the step may apply to the device that are known before it runs, by the
        field that gives each (for the SMU's limits and the sample's bias guards)."""
        return {}

    def step_voltages_v(self) -> list[float]:
        """Voltages the step will source that are known before it runs (for limit checks);
        those of :meth:`bias_voltages_v` unless a plug-in says otherwise."""
        return list(self.bias_voltages_v().values())

    def references(self) -> dict[str, StepReference]:
        """The fields whose value comes from an earlier step, by field name."""
        return {name: value for name, value in self if isinstance(value, StepReference)}

    def resolved(self, values: dict[str, float]) -> Any:
        """A copy with the referenced fields replaced by ``values`` (validated again)."""
        data = self.model_dump(include=set(self.model_fields_set))
        data.update(values)
        return type(self).model_validate(data)


_SMU_DOC = "Station SMU measuring the device; None = the SMU named 'smu'."
_COMPLIANCE_DOC = "Current compliance (A); None = derived from the sample area later."


class StepReference(StrictModel):
    """A step field's value taken from an earlier step of the same sample and SMU:
    ``start_v: {from_step: 0, metric: vmpp_v}`` (docs/architecture.md, "Results passed
    between steps"). ``direction`` picks one measurement of a step that has several (a J-V
    ``both`` step: its reverse scan unless it says otherwise)."""

    from_step: int = Field(ge=0, description="0-based index of the earlier step.")
    metric: str = Field(min_length=1, description="Metric name of that step's result.")
    direction: str | None = Field(
        None, description="Which measurement of the step (e.g. reverse/forward of a J-V)."
    )

    def describe(self) -> str:
        where = f" {self.direction}" if self.direction else ""
        return f"{self.metric} of step {self.from_step}{where}"


#: A voltage that may come from an earlier step.
ReferableVoltage = Annotated[float, Field(ge=-210, le=210)] | StepReference


# --- fields most steps have (one definition each) ---------------------------------------------

def smu_field() -> Any:
    """``smu``: the station SMU measuring the device."""
    return Field(None, description="Station SMU measuring the device; None = the SMU named "
                 "'smu'.", json_schema_extra={"none_as": ""})


def multi_smu_field() -> Any:
    """``smu`` of a step that may run on several SMUs at once (its model says
    ``multi_channel = True``): one SMU, a list of them, or ``all`` (every SMU that carries a
    device, not those reading a photodiode); each runs in its own thread, into its own file."""
    return Field(None, description="Station SMU(s) measuring the device(s): a name, a list "
                 "of names or 'all' (every SMU with a device, one channel each, in "
                 "parallel); None = the SMU named 'smu'.", json_schema_extra={"none_as": ""})


def step_smus(step: Any, station: Any) -> list[str | None]:
    """The SMUs a step runs on: ``[step.smu]`` for one (None: the default SMU); the listed
    ones, or for ``all`` every SMU of ``station`` that reads no photodiode (and, on a station
    with ``simulation.devices``, carries a device), in station order."""
    named = getattr(step, "smu", None)
    if isinstance(named, list):
        return list(dict.fromkeys(named))
    if named != "all" or not getattr(type(step), "multi_channel", False):
        return [named]
    readers = station.photodiode_smus()
    devices = station.simulation.devices
    return [name for name in station.smu_names() if name not in readers
            and (devices is None or name in devices)]


def compliance_field(default: float | None = None) -> Any:
    """``compliance_a``: the current compliance (None = derived from the sample area)."""
    if default is not None:
        return Field(default, gt=0, le=10, title="Compliance current",
                     description="Current compliance (A), >0…10.")
    return Field(None, gt=0, le=10, title="Compliance current",
                 description="Current compliance (A), >0…10; None (0 in a procedure) = min(SMU "
                 "limit, area × 50 mA/cm²), at least 10 mA.",
                 json_schema_extra={"none_as": 0.0, "automatic": True})


def nplc_field() -> Any:
    """``nplc``: integration time in power-line cycles."""
    return Field(1.0, ge=0.01, le=10, title="NPLC",
                 description="Integration time in power-line cycles, 0.01…10.")


def irradiance_field() -> Any:
    """``irradiance_mw_cm2``: the irradiance for PCE when the station measures none."""
    return Field(100.0, gt=0, le=1000, title="Irradiance",
                 description="Irradiance for PCE when not measured (mW/cm²), >0…1000.")


def light_field(description: str = "Illuminated (true) or dark (false).") -> Any:
    """``light``: under light or in the dark."""
    return Field(True, title="Light", description=description)


def four_wire_field() -> Any:
    """``four_wire``: remote (4-wire) sensing."""
    return Field(False, title="Four-wire sensing", description="4-wire (remote) sensing.")


def describe_light(step: Any) -> str:
    """``"light 100 mW/cm²"`` or ``"dark"``, for one-line step descriptions."""
    return f"light {step.irradiance_mw_cm2:g} mW/cm²" if step.light else "dark"


def describe_smu(step: Any) -> str:
    """``", SMU b"`` when the step names an SMU (``", SMUs a, b"``, ``", all SMUs"``), else
    ``""``."""
    named = getattr(step, "smu", None)
    if isinstance(named, list):
        return f", SMUs {', '.join(named)}"
    if named == "all" and getattr(type(step), "multi_channel", False):
        return ", all SMUs with a device (in parallel)"
    return f", SMU {named}" if named else ""


def describe_value(value: float | StepReference | None, unit: str = "V",
                   none: str = "") -> str:
    """``"0.9 V"``, ``"the vmpp_v of step 0"`` for a reference, or ``none`` for None."""
    if value is None:
        return none
    if isinstance(value, StepReference):
        return f"the {value.describe()}"
    return f"{value:g} {unit}"
