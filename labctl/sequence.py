"""Sequence files: the sample and the measurements to run on it, in order.

A sequence YAML (see ``configs/sequences/``) looks like::

    sample: {id: QD-2026-11-21-A, area_cm2: 0.09, operator: lab}
    steps:
      - jv: {start_v: 1.3, stop_v: -0.1, step_v: 0.01, dwell_s: 0.01, direction: both}
      - jv_steady            # a bare name runs the step with its defaults
      - mpp: {duration_h: 2}

:func:`load_sequence` validates it into a :class:`Sequence` whose ``steps`` are step models
(:class:`JVStep`, :class:`JVSteadyStep`, :class:`MPPStep`, :class:`IntensityVocStep`,
:class:`SCLCStep`); :func:`check_against_station` checks that the station has every role the
steps need. Both raise :class:`~labctl.yamlio.InputError` (file, line, field) before any
instrument is touched. Every parameter has a default, its unit in its name and a range; the
``description`` of each field documents it (``JVStep.model_fields["dwell_s"].description``).
"""

from __future__ import annotations

import math
import os
import re
from typing import Annotated, Any, ClassVar, Literal, Self, Union

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from labctl.station import DEFAULT_DUT_SMU, StationConfig, StrictModel, Text
from labctl.yamlio import (
    FileBacked,
    InputError,
    PathKey,
    format_field,
    load_yaml,
    located_error,
    validate_model,
)

__all__ = [
    "MAX_SWEEP_POINTS",
    "STEP_TYPES",
    "IntensityVocStep",
    "JVSteadyStep",
    "JVStep",
    "MPPStep",
    "SCLCStep",
    "Sample",
    "Sequence",
    "Step",
    "StepBase",
    "check_against_station",
    "describe",
    "estimate_duration_s",
    "format_duration",
    "load_sequence",
    "point_overhead_s",
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


def point_overhead_s(nplc: float, line_frequency_hz: float = 50) -> float:
    """Time a reading takes on top of the source delay: about three integrations (signal,
    reference, zero with auto-zero on) plus 3 ms of overhead."""
    return 3 * nplc / line_frequency_hz + 0.003


def _linear_point_count(start_v: float, stop_v: float, step_v: float) -> int:
    """Points of a linear sweep over [start_v, stop_v] spaced by about ``step_v`` (both ends
    included): ``round(|stop_v - start_v| / step_v) + 1``."""
    return round(abs(stop_v - start_v) / step_v) + 1


def _step_too_large_error(start_v: float, stop_v: float, step_v: float) -> PydanticCustomError:
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


# ---------------------------------------------------------------------------------------------
# Sample

_SAMPLE_ID_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{port}{number}" for port in ("COM", "LPT") for number in range(10)
}


class Sample(StrictModel):
    """The sample measured by a sequence; its fields go into every result header."""

    id: Text = Field(
        min_length=1,
        max_length=100,
        description="Sample id, used in file names: letters, digits, '-', '_' and '.'.",
    )
    area_cm2: float = Field(
        gt=0, le=1000, description="Measurement (mask) area used for current density (cm²)."
    )
    operator: Text = Field("", description="Who ran the measurement.")
    atmosphere: Text | None = Field(None, description="e.g. 'N2', 'ambient air'.")
    humidity_pct: float | None = Field(
        None, ge=0, le=100, description="Relative humidity (percent)."
    )
    temperature_k: float | None = Field(
        None, gt=0, le=500, description="Sample temperature, if known (K)."
    )
    preconditioning: Text | None = Field(
        None, description="Preconditioning applied before the sequence (light soak, bias...)."
    )
    notes: Text | None = Field(None, description="Free text.")

    @field_validator("id")
    @classmethod
    def _file_name_safe(cls, value: str) -> str:
        if not _SAMPLE_ID_RE.match(value):
            raise ValueError(
                f"{value!r} cannot be used in file names: use letters, digits, '-', '_' and "
                "'.' (not first)"
            )
        if value.split(".")[0].upper() in _WINDOWS_RESERVED:
            raise ValueError(f"{value!r} is a reserved file name on Windows")
        return value


# ---------------------------------------------------------------------------------------------
# Steps


class StepBase(StrictModel):
    """Common base of the step models. ``procedure`` is the step's name in the YAML."""

    procedure: ClassVar[str] = ""

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

    def step_voltages_v(self) -> list[float]:
        """Voltages the step will source that are known before it runs (for limit checks)."""
        return []


_SMU_DOC = "Station SMU measuring the device; None = the SMU named 'smu'."
_COMPLIANCE_DOC = "Current compliance (A); None = derived from the sample area later."


class JVStep(StepBase):
    """A J-V sweep (hardware-timed where the SMU allows), one file per direction."""

    procedure: ClassVar[str] = "jv"

    start_v: Voltage = Field(1.3, description="One end of the voltage range (V), −210…210.")
    stop_v: Voltage = Field(-0.1, description="The other end of the range (V), −210…210.")
    step_v: float = Field(
        0.01, ge=1e-4, le=1, description="Voltage step, a positive magnitude (V), 1e-4…1."
    )
    dwell_s: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Source delay: time from setting a voltage to the start of its reading "
        "(s), 0…100; default 0.01 unless scan_rate_v_s is given.",
    )
    scan_rate_v_s: float | None = Field(
        None,
        gt=0,
        le=100,
        description="Alternative to dwell_s: the wanted scan rate (V/s), >0…100; the dwell is "
        "derived from it. The achieved rate is always measured and recorded.",
    )
    direction: Literal["reverse", "forward", "both"] = Field(
        "both",
        description="reverse (high to low V), forward (low to high) or both (reverse, then "
        "forward), whatever the order of start_v and stop_v.",
    )
    light: bool = Field(True, description="Illuminated (true) or dark (false) sweep.")
    irradiance_mw_cm2: Irradiance = Field(
        100.0, description="Irradiance for PCE when not measured (mW/cm²), >0…1000."
    )
    compliance_a: Compliance | None = Field(None, description=_COMPLIANCE_DOC)
    nplc: Nplc = Field(1.0, description="Integration time in power-line cycles, 0.01…10.")
    four_wire: bool = Field(False, description="4-wire (remote) sensing.")
    hardware_sweep: bool = Field(
        True, description="Use the SMU's built-in sweep (false: point by point)."
    )
    precondition_light_s: float | None = Field(
        None, ge=0, le=86400,
        description="Light soak at open circuit before the sweep (s), 0…86400. Default: "
        f"{DEFAULT_LIGHT_SOAK_S:g} s for a lit sweep -- the cell waits in the dark behind the "
        "shutter while the source warms up, and its mobile ions need time under light to "
        "settle, as in the usual lab protocol -- and 0 for a dark one.",
    )
    precondition_bias_v: Voltage | None = Field(
        None, description="Bias held before the sweep (V); None = no bias preconditioning."
    )
    precondition_bias_s: float = Field(
        0.0, ge=0, le=86400, description="How long precondition_bias_v is held (s), 0…86400."
    )
    smu: str | None = Field(None, description=_SMU_DOC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.dwell_s is not None and self.scan_rate_v_s is not None:
            raise located_error("give dwell_s or scan_rate_v_s, not both", ("scan_rate_v_s",))
        if self.dwell_s is None and self.scan_rate_v_s is None:
            self.dwell_s = 0.01
        if self.precondition_light_s is None:
            self.precondition_light_s = DEFAULT_LIGHT_SOAK_S if self.light else 0.0
        if self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        if self.points < 2:
            raise _step_too_large_error(self.start_v, self.stop_v, self.step_v)
        if self.points > MAX_SWEEP_POINTS:
            raise located_error(
                f"{self.points} points (|stop_v − start_v|/step_v + 1) is more than "
                f"{MAX_SWEEP_POINTS}; use a larger step_v",
                ("step_v",),
            )
        if self.precondition_bias_s > 0 and self.precondition_bias_v is None:
            raise located_error(
                "precondition_bias_s needs precondition_bias_v (the bias to hold)",
                ("precondition_bias_s",),
            )
        if self.precondition_bias_v is not None and self.precondition_bias_s == 0:
            raise located_error(
                "precondition_bias_v needs precondition_bias_s > 0 (how long to hold it)",
                ("precondition_bias_v",),
            )
        return self

    @property
    def points(self) -> int:
        """Points per direction: round(|stop − start| / step) + 1."""
        return _linear_point_count(self.start_v, self.stop_v, self.step_v)

    @property
    def directions(self) -> list[str]:
        """The sweeps in the order they run: ``["reverse", "forward"]`` for ``both``."""
        return ["reverse", "forward"] if self.direction == "both" else [self.direction]

    def voltages_v(self, direction: str) -> list[float]:
        """Set-points of one sweep: reverse runs from the higher end to the lower one."""
        low, high = sorted((self.start_v, self.stop_v))
        n = self.points
        values = [high - (high - low) * k / (n - 1) for k in range(n)]
        return values if direction == "reverse" else values[::-1]

    def source_delay_s(self, line_frequency_hz: float = 50) -> float:
        """The dwell to program: ``dwell_s``, or the one that gives ``scan_rate_v_s`` with the
        per-point overhead of :func:`point_overhead_s` (0 if the rate is out of reach)."""
        if self.scan_rate_v_s is None:
            return float(self.dwell_s or 0.0)
        per_point_s = self.step_v / self.scan_rate_v_s
        return max(0.0, per_point_s - point_overhead_s(self.nplc, line_frequency_hz))

    def step_voltages_v(self) -> list[float]:
        extra = [self.precondition_bias_v] if self.precondition_bias_v is not None else []
        return [self.start_v, self.stop_v, *extra]


class JVSteadyStep(StepBase):
    """Quasi-steady-state J-V: each bias held until the current stops changing."""

    procedure: ClassVar[str] = "jv_steady"

    points: int = Field(10, ge=3, le=200, description="Number of bias points, 3…200.")
    start_v: Voltage | None = Field(
        None, description="First bias (V); None = the Voc found by an I = 0 hold."
    )
    stop_v: Voltage | None = Field(
        None, description="Last bias (V); None = 0 V (short circuit, found by a V = 0 hold)."
    )
    settle_tolerance_pct_per_s: float = Field(
        0.1,
        gt=0,
        le=100,
        description="A point is settled when |dJ/dt|/|J| stays below this (percent per s).",
    )
    settle_window_s: float = Field(
        2.0, gt=0, le=3600, description="Sliding window the settling is judged over (s)."
    )
    max_hold_s: float = Field(
        60.0, gt=0, le=86400, description="Longest hold per point (s); recorded if reached."
    )
    min_hold_s: float = Field(1.0, ge=0, le=86400, description="Shortest hold per point (s).")
    light: bool = Field(True, description="Illuminated (true) or dark (false).")
    irradiance_mw_cm2: Irradiance = Field(
        100.0, description="Irradiance for PCE when not measured (mW/cm²), >0…1000."
    )
    compliance_a: Compliance | None = Field(None, description=_COMPLIANCE_DOC)
    nplc: Nplc = Field(1.0, description="Integration time in power-line cycles, 0.01…10.")
    smu: str | None = Field(None, description=_SMU_DOC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_hold_s > self.max_hold_s:
            raise located_error(
                f"min_hold_s ({_g(self.min_hold_s)}) is longer than max_hold_s "
                f"({_g(self.max_hold_s)})",
                ("min_hold_s",),
            )
        if self.settle_window_s > self.max_hold_s:
            raise located_error(
                f"settle_window_s ({_g(self.settle_window_s)}) is longer than max_hold_s "
                f"({_g(self.max_hold_s)})",
                ("settle_window_s",),
            )
        if self.start_v is not None and self.stop_v is not None and self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        return self

    def typical_hold_s(self) -> float:
        """Hold time assumed per point by the run-time estimate."""
        return min(self.max_hold_s, max(self.min_hold_s, 2 * self.settle_window_s))

    def step_voltages_v(self) -> list[float]:
        return [v for v in (self.start_v, self.stop_v) if v is not None]


class MPPStep(StepBase):
    """Maximum-power-point tracking (or a fixed-voltage hold) under light."""

    procedure: ClassVar[str] = "mpp"

    duration_s: float | None = Field(
        None,
        gt=0,
        le=3.6e8,
        description="Tracking time (s); default 300 unless duration_h is given.",
    )
    duration_h: float | None = Field(
        None, gt=0, le=1e5, description="Tracking time in hours (alternative to duration_s)."
    )
    algorithm: Literal["default", "perturb_observe", "gradient", "fixed_voltage"] = Field(
        "default",
        description="default, perturb_observe, gradient, or fixed_voltage (stabilized power "
        "output at start_v or the Vmpp of the preceding J-V).",
    )
    start_v: Voltage | None = Field(
        None, description="Starting (or fixed) voltage (V); None = from a preceding J-V or Voc."
    )
    step_v: float = Field(
        0.01, ge=1e-4, le=0.1, description="Perturbation / initial step (V), 1e-4…0.1."
    )
    settle_s: float = Field(
        0.5, ge=0, le=3600, description="Delay after each voltage change (s), 0…3600."
    )
    log_interval_s: float = Field(
        10.0, gt=0, le=86400, description="Interval between logged points (s)."
    )
    irradiance_mw_cm2: Irradiance = Field(
        100.0, description="Irradiance for PCE when not measured (mW/cm²), >0…1000."
    )
    light: bool = Field(
        True,
        description="Under light; false only with algorithm fixed_voltage and start_v "
        "(dark bias stress).",
    )
    compliance_a: Compliance | None = Field(None, description=_COMPLIANCE_DOC)
    nplc: Nplc = Field(1.0, description="Integration time in power-line cycles, 0.01…10.")
    smu: str | None = Field(None, description=_SMU_DOC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.duration_s is not None and self.duration_h is not None:
            raise located_error("give duration_s or duration_h, not both", ("duration_h",))
        if self.duration_s is None and self.duration_h is None:
            self.duration_s = 300.0
        if self.log_interval_s > self.run_duration_s:
            raise located_error(
                f"log_interval_s ({_g(self.log_interval_s)} s) is longer than the run "
                f"({format_duration(self.run_duration_s)})",
                ("log_interval_s",),
            )
        if not self.light and (self.algorithm != "fixed_voltage" or self.start_v is None):
            raise located_error(
                "tracking needs light; a dark hold needs algorithm: fixed_voltage and start_v",
                ("light",),
            )
        return self

    @property
    def run_duration_s(self) -> float:
        """The tracking time in seconds, whichever key gave it."""
        if self.duration_h is not None:
            return self.duration_h * 3600.0
        return float(self.duration_s if self.duration_s is not None else 300.0)

    def step_voltages_v(self) -> list[float]:
        return [self.start_v] if self.start_v is not None else []


class IntensityVocStep(StepBase):
    """Voc (and Jsc) against light intensity, for the ideality factor and the Jsc power law."""

    procedure: ClassVar[str] = "intensity_voc"

    min_sun: float = Field(
        1e-3, gt=0, lt=1, description="Lowest intensity (suns, 1 sun = 100 mW/cm²), >0…<1."
    )
    max_sun: float = Field(1.0, gt=0, le=10, description="Highest intensity (suns), ≤10.")
    points_per_decade: int = Field(5, ge=1, le=20, description="Intensity levels per decade.")
    settle_s: float = Field(
        5.0, ge=0, le=3600, description="Wait for Voc to settle at each level (s), 0…3600."
    )
    direction: Literal["up", "down", "both"] = Field(
        "down", description="down (high to low), up, or both (down, then up)."
    )
    measure_jsc: bool = Field(True, description="Also measure Jsc (V = 0) at each level.")
    compliance_a: Compliance | None = Field(None, description=_COMPLIANCE_DOC)
    nplc: Nplc = Field(1.0, description="Integration time in power-line cycles, 0.01…10.")
    smu: str | None = Field(None, description=_SMU_DOC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_sun >= self.max_sun:
            raise located_error(
                f"min_sun ({_g(self.min_sun)}) must be below max_sun ({_g(self.max_sun)})",
                ("min_sun",),
            )
        return self

    def levels_sun(self) -> list[float]:
        """Intensity levels in measurement order (``both``: down, then up without repeating
        the lowest level)."""
        decades = math.log10(self.max_sun / self.min_sun)
        n = max(2, round(decades * self.points_per_decade) + 1)
        up = [10 ** (math.log10(self.min_sun) + decades * k / (n - 1)) for k in range(n)]
        down = up[::-1]
        if self.direction == "up":
            return up
        if self.direction == "down":
            return down
        return down + up[1:]


class SCLCStep(StepBase):
    """Space-charge-limited current sweep of a single-carrier device, in the dark."""

    procedure: ClassVar[str] = "sclc"

    start_v: Voltage = Field(0.0, description="Start of the sweep (V), −210…210.")
    stop_v: Voltage = Field(5.0, description="End of the sweep (V), −210…210.")
    points_per_decade: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Log spacing: points per decade of |V| (default 20 unless step_v is given).",
    )
    step_v: float | None = Field(
        None, ge=1e-4, le=10, description="Linear spacing instead of log: step (V), 1e-4…10."
    )
    log_start_v: float = Field(
        1e-3,
        gt=0,
        le=10,
        description="Lowest |V| of a log sweep when start_v is 0 (V).",
    )
    dwell_s: float = Field(0.05, ge=0, le=100, description="Source delay per point (s), 0…100.")
    thickness_nm: float = Field(gt=0, le=1e7, description="Active-layer thickness L (nm).")
    eps_r: float = Field(gt=0, le=1000, description="Relative permittivity εr.")
    temperature_k: float = Field(
        298.15, gt=0, le=500, description="Device temperature for the analysis (K)."
    )
    direction: Literal["both", "forward"] = Field(
        "both", description="forward (start to stop) or both (forward, then back)."
    )
    compliance_a: Compliance = Field(0.1, description="Current compliance (A).")
    nplc: Nplc = Field(1.0, description="Integration time in power-line cycles, 0.01…10.")
    smu: str | None = Field(None, description=_SMU_DOC)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points_per_decade is not None and self.step_v is not None:
            raise located_error("give points_per_decade or step_v, not both", ("step_v",))
        if self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        if (
            self.step_v is not None
            and _linear_point_count(self.start_v, self.stop_v, self.step_v) < 2
        ):
            raise _step_too_large_error(self.start_v, self.stop_v, self.step_v)
        if self.step_v is None:
            if self.start_v * self.stop_v < 0:
                raise located_error(
                    "a log sweep cannot cross 0 V: give start_v and stop_v of the same sign, "
                    "or a linear step_v",
                    ("stop_v",),
                )
            if abs(self.stop_v) <= self._log_low_v():
                raise located_error(
                    f"a log sweep runs up in |V|: |stop_v| must exceed "
                    f"{_g(self._log_low_v())} V (or give step_v for a linear sweep)",
                    ("stop_v",),
                )
        if self.points > MAX_SWEEP_POINTS:
            raise located_error(
                f"{self.points} points is more than {MAX_SWEEP_POINTS}",
                ("step_v",) if self.step_v is not None else ("points_per_decade",),
            )
        return self

    def _log_low_v(self) -> float:
        return abs(self.start_v) if self.start_v != 0 else self.log_start_v

    @property
    def spacing(self) -> Literal["log", "linear"]:
        """``linear`` when step_v is given, else ``log``."""
        return "linear" if self.step_v is not None else "log"

    @property
    def effective_points_per_decade(self) -> int:
        """Points per decade of a log sweep (20 unless given)."""
        return self.points_per_decade if self.points_per_decade is not None else 20

    def voltages_v(self) -> list[float]:
        """Set-points of the forward sweep (``both`` then runs them back)."""
        if self.step_v is not None:
            n = _linear_point_count(self.start_v, self.stop_v, self.step_v)
            return [self.start_v + (self.stop_v - self.start_v) * k / (n - 1) for k in range(n)]
        sign = 1.0 if self.stop_v > 0 else -1.0
        low, high = self._log_low_v(), abs(self.stop_v)
        decades = math.log10(high / low)
        n = max(2, round(decades * self.effective_points_per_decade) + 1)
        return [sign * 10 ** (math.log10(low) + decades * k / (n - 1)) for k in range(n)]

    @property
    def points(self) -> int:
        """Points per direction."""
        return len(self.voltages_v())

    @property
    def directions(self) -> list[str]:
        """``["forward", "reverse"]`` for ``both``."""
        return ["forward", "reverse"] if self.direction == "both" else ["forward"]

    def step_voltages_v(self) -> list[float]:
        return [self.start_v, self.stop_v]


_STEP_CLASSES: tuple[type[StepBase], ...] = (
    JVStep, JVSteadyStep, MPPStep, IntensityVocStep, SCLCStep
)
#: Step name -> model.
STEP_TYPES: dict[str, type[StepBase]] = {cls.procedure: cls for cls in _STEP_CLASSES}


def _step_name(value: Any) -> str | None:
    """Discriminator for :data:`Step`: the name of a ``{name: params}`` mapping or a bare
    name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            (key,) = value
            return key if isinstance(key, str) else str(key)
        return None
    return getattr(value, "procedure", None)


#: One step of a sequence, selected by its name (the tags are :data:`STEP_TYPES`' keys).
Step = Annotated[
    Union[tuple(Annotated[cls, Tag(cls.procedure)] for cls in _STEP_CLASSES)],  # noqa: UP007
    Discriminator(_step_name),
]

AnyStep = Union[_STEP_CLASSES]  # noqa: UP007


# ---------------------------------------------------------------------------------------------
# Sequence


class Sequence(StrictModel, FileBacked):
    """A validated sequence file. ``path`` is the resolved file it came from."""

    sample: Sample = Field(description="The sample measured.")
    steps: list[Step] = Field(description="Measurements, in order.")

    @field_validator("steps")
    @classmethod
    def _not_empty(cls, value: list[AnyStep]) -> list[AnyStep]:
        if not value:
            raise ValueError("list at least one step")
        return value

    @model_validator(mode="after")
    def _keep_source(self, info: ValidationInfo) -> Self:
        self._keep_file(info.context)
        return self

    def step_path(self, index: int) -> PathKey:
        """Location of step ``index`` in the file: ``("steps", index, name)``."""
        return ("steps", index, self.steps[index].procedure)

    def step_line(self, index: int) -> int | None:
        """Line of step ``index`` in the file, if known."""
        return self.lines.line(self.step_path(index))

    def estimate_duration_s(self, line_frequency_hz: float = 50) -> float:
        """Estimated run time of the whole sequence (s)."""
        return sum(estimate_duration_s(s, line_frequency_hz) for s in self.steps)


def load_sequence(path: str | os.PathLike[str]) -> Sequence:
    """Read and validate a sequence file.

    Raises:
        InputError: one line with the file, the line and the field of the first problem,
            e.g. ``seq.yaml:7: steps[1].jv.dwel_s: unknown key 'dwel_s', did you mean
            'dwell_s'? (...)``.
    """
    data, lines = load_yaml(path)
    sequence = validate_model(Sequence, data, path, lines)
    sequence.path = path
    sequence._lines = lines
    return sequence


# ---------------------------------------------------------------------------------------------
# Checks against a station


def _station_label(station: StationConfig) -> str:
    return station.describe_source()


def check_against_station(
    sequence: Sequence, station: StationConfig, simulated: bool | None = None
) -> None:
    """Check that ``station`` has every role the steps of ``sequence`` need.

    - every step needs its SMU (``step.smu``, default ``smu``), which must not be the SMU that
      reads the photodiode; its voltages and compliance must be within that SMU's limits
      (including the combined envelope, e.g. 2420: > 1.05 A only up to 21 V);
    - a dark step (``light: false``) needs a shutter, or at least a light source to switch off:
      a station with neither keeps its device lit;
    - ``intensity_voc`` needs an attenuator (filter wheels) or an LED source with programmable
      intensity (``g2v_pico``), and an irradiance sensor (photodiode or power meter);
    - when the station runs simulated (``simulated``, default ``station.simulated``) the SMU
      must carry a simulated device.

    Raises:
        InputError: naming the sequence file, the step's line and field, and the station.
    """
    if simulated is None:
        simulated = station.simulated
    label = _station_label(station)
    smus = station.smu_names()
    readers = station.photodiode_smus()

    def fail(at: PathKey, reason: str) -> InputError:
        return InputError(
            reason,
            file=sequence.source if sequence._path else "<sequence>",
            line=sequence.lines.line(at) if sequence._lines else None,
            field=format_field(at),
        )

    for index, step in enumerate(sequence.steps):
        base = sequence.step_path(index)
        named = getattr(step, "smu", None)
        smu_name = named or DEFAULT_DUT_SMU
        at_smu = base + ("smu",) if named else base

        if smu_name not in smus:
            hint = "" if named else " (the device under test is on 'smu' unless a step sets smu)"
            raise fail(
                at_smu,
                f"the station {label} has no SMU named {smu_name!r} "
                f"(SMUs: {', '.join(smus) or 'none'}){hint}",
            )
        if smu_name in readers:
            raise fail(
                at_smu,
                f"{smu_name!r} reads the photodiode {readers[smu_name]!r} in the station "
                f"{label}; it cannot also measure the device",
            )

        limits = station.smu_limits(smu_name)
        driver = station.instruments[smu_name].driver
        voltages = step.step_voltages_v()
        v_max = max((abs(v) for v in voltages), default=0.0)
        if v_max > limits.max_voltage_v:
            raise fail(
                base,
                f"{_g(v_max)} V is beyond the source range of {smu_name!r} ({driver}: "
                f"±{_g(limits.max_voltage_v)} V)",
            )
        compliance = getattr(step, "compliance_a", None)
        if compliance is not None:
            allowed = limits.max_current_at_a(v_max)
            if compliance > allowed:
                where = (
                    f" above {_g(limits.high_current_max_voltage_v)} V"
                    if allowed < limits.max_current_a
                    else ""
                )
                raise fail(
                    base + ("compliance_a",),
                    f"{_g(compliance)} A is beyond what {smu_name!r} ({driver}) allows"
                    f"{where}: at most {_g(allowed)} A",
                )

        if getattr(step, "light", True) is False and station.shutter() is None:
            if station.light_source() is None:
                raise fail(
                    base + ("light",),
                    f"a dark measurement needs a shutter: the station {label} has no shutter "
                    "and no light source, so its device is always lit",
                )

        if isinstance(step, IntensityVocStep):
            if not station.attenuator() and not station.has_programmable_intensity():
                raise fail(
                    base,
                    f"the station {label} has no attenuator (filter wheels) and no light source "
                    "with programmable intensity (g2v_pico) to vary the light",
                )
            if station.irradiance_sensor() is None:
                raise fail(
                    base,
                    f"the station {label} has no irradiance sensor (smu_photodiode or "
                    "thorlabs_pm100) to measure each intensity",
                )

        if simulated and station.device_for_smu(smu_name) is None:
            raise fail(
                at_smu,
                f"the simulated station {label} has no device on {smu_name!r} "
                "(add it under simulation.devices)",
            )


# ---------------------------------------------------------------------------------------------
# Estimates and descriptions


def estimate_duration_s(step: StepBase, line_frequency_hz: float = 50) -> float:
    """Rough run time of one step (s), for ``labctl validate``.

    J-V: points × (dwell + 3·NPLC/f_line + 3 ms) × directions + preconditioning; steady-state
    J-V: points × typical hold; MPP: its duration; intensity: levels × (settle + wheel move
    ~1 s + readings); SCLC: points × (dwell + reading) × directions.
    """
    if isinstance(step, JVStep):
        overhead_s = point_overhead_s(step.nplc, line_frequency_hz)
        if step.scan_rate_v_s is not None:
            per_point_s = max(step.step_v / step.scan_rate_v_s, overhead_s)
        else:
            per_point_s = float(step.dwell_s or 0.0) + overhead_s
        preconditioning_s = step.precondition_light_s + step.precondition_bias_s
        return step.points * per_point_s * len(step.directions) + preconditioning_s
    if isinstance(step, JVSteadyStep):
        holds = step.points + (1 if step.start_v is None else 0) + (1 if step.stop_v is None else 0)
        return holds * step.typical_hold_s()
    if isinstance(step, MPPStep):
        return step.run_duration_s
    if isinstance(step, IntensityVocStep):
        readings = 2 if step.measure_jsc else 1
        per_level_s = (
            step.settle_s + WHEEL_MOVE_S + readings * point_overhead_s(step.nplc, line_frequency_hz)
        )
        return len(step.levels_sun()) * per_level_s
    if isinstance(step, SCLCStep):
        per_point_s = step.dwell_s + point_overhead_s(step.nplc, line_frequency_hz)
        return step.points * per_point_s * len(step.directions)
    raise TypeError(f"not a step: {step!r}")


def describe(step: StepBase) -> str:
    """One line describing a step, for ``labctl validate``."""
    smu = f", SMU {step.smu}" if getattr(step, "smu", None) else ""
    if isinstance(step, JVStep):
        timing = (
            f"{_g(step.scan_rate_v_s)} V/s"
            if step.scan_rate_v_s is not None
            else f"dwell {_g(step.dwell_s or 0.0)} s"
        )
        light = f"light {_g(step.irradiance_mw_cm2)} mW/cm²" if step.light else "dark"
        precondition = ""
        if step.precondition_light_s:
            precondition += f", light soak {format_duration(step.precondition_light_s)}"
        if step.precondition_bias_v is not None:
            precondition += (
                f", {_g(step.precondition_bias_v)} V for "
                f"{format_duration(step.precondition_bias_s)}"
            )
        return (
            f"jv: {_g(step.start_v)} → {_g(step.stop_v)} V, step {_g(step.step_v)} V "
            f"({step.points} points), {timing}, {'+'.join(step.directions)}, {light}, "
            f"NPLC {_g(step.nplc)}{precondition}{smu}"
        )
    if isinstance(step, JVSteadyStep):
        start = "Voc" if step.start_v is None else f"{_g(step.start_v)} V"
        stop = "0 V" if step.stop_v is None else f"{_g(step.stop_v)} V"
        light = f"light {_g(step.irradiance_mw_cm2)} mW/cm²" if step.light else "dark"
        return (
            f"jv_steady: {step.points} points {start} → {stop}, hold until "
            f"< {_g(step.settle_tolerance_pct_per_s)} %/s over {_g(step.settle_window_s)} s "
            f"({_g(step.min_hold_s)}–{_g(step.max_hold_s)} s), {light}{smu}"
        )
    if isinstance(step, MPPStep):
        start = f" from {_g(step.start_v)} V" if step.start_v is not None else ""
        light = f"{_g(step.irradiance_mw_cm2)} mW/cm²" if step.light else "dark"
        return (
            f"mpp: {step.algorithm} for {format_duration(step.run_duration_s)}{start}, "
            f"step {_g(step.step_v)} V, settle {_g(step.settle_s)} s, log every "
            f"{_g(step.log_interval_s)} s, {light}{smu}"
        )
    if isinstance(step, IntensityVocStep):
        jsc = ", Voc and Jsc" if step.measure_jsc else ", Voc only"
        return (
            f"intensity_voc: {_g(step.min_sun)}–{_g(step.max_sun)} sun, "
            f"{step.points_per_decade}/decade ({len(step.levels_sun())} levels), "
            f"{step.direction}, settle {_g(step.settle_s)} s{jsc}{smu}"
        )
    if isinstance(step, SCLCStep):
        if step.step_v is not None:
            spacing = f"step {_g(step.step_v)} V"
        else:
            spacing = (
                f"log {step.effective_points_per_decade}/decade from {_g(step._log_low_v())} V"
            )
        return (
            f"sclc: {_g(step.start_v)} → {_g(step.stop_v)} V, {spacing} ({step.points} points), "
            f"dwell {_g(step.dwell_s)} s, {'+'.join(step.directions)}, "
            f"L {_g(step.thickness_nm)} nm, εr {_g(step.eps_r)}, dark{smu}"
        )
    raise TypeError(f"not a step: {step!r}")
