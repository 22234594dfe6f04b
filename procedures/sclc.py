"""Space-charge-limited current of a single-carrier device: the ``sclc`` step (its procedure
comes later).

The step validates, is described and estimated; ``labctl run`` refuses it until the
procedure exists.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from instruments.timing import point_reading_s
from labctl.registry.procedures import (
    ProcedurePlugin,
    StepTiming,
)
from labctl.steps import (
    MAX_SWEEP_POINTS,
    Compliance,
    Nplc,
    StepBase,
    Voltage,
    describe_smu,
    linear_point_count,
    nplc_field,
    smu_field,
    step_too_large_error,
)
from labctl.yamlio import located_error

__all__ = ["PLUGIN", "SCLCStep"]


class SCLCStep(StepBase):
    """Space-charge-limited current sweep of a single-carrier device, in the dark."""

    procedure: ClassVar[str] = "sclc"

    start_v: Voltage = Field(0.0, description="Start of the sweep (V), −210…210.")
    stop_v: Voltage = Field(5.0, description="End of the sweep (V), −210…210.")
    points_per_decade: int | None = Field(
        None,
        ge=1,
        le=100,
        description="Log spacing: points per decade of |V|, 1…100 (default 20 unless step_v "
        "is given).",
    )
    step_v: float | None = Field(
        None, ge=1e-4, le=10, description="Linear spacing instead of log: step (V), 1e-4…10."
    )
    log_start_v: float = Field(
        1e-3,
        gt=0,
        le=10,
        description="Lowest |V| of a log sweep when start_v is 0 (V), >0…10.",
    )
    dwell_s: float = Field(0.05, ge=0, le=100, description="Source delay per point (s), 0…100.")
    thickness_nm: float = Field(ge=1, le=1e7,
                                description="Active-layer thickness L (nm), 1…1e7 (1 cm).")
    eps_r: float = Field(ge=1, le=1e4, description="Relative permittivity εr, 1…1e4.")
    temperature_k: float = Field(
        298.15, ge=4, le=500, description="Device temperature for the analysis (K), 4…500."
    )
    direction: Literal["both", "forward"] = Field(
        "both", description="forward (start to stop) or both (forward, then back)."
    )
    compliance_a: Compliance = Field(0.1, description="Current compliance (A), >0…10.")
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.points_per_decade is not None and self.step_v is not None:
            raise located_error("give points_per_decade or step_v, not both", ("step_v",))
        if self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        if (
            self.step_v is not None
            and linear_point_count(self.start_v, self.stop_v, self.step_v) < 2
        ):
            raise step_too_large_error(self.start_v, self.stop_v, self.step_v)
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
                    f"{self._log_low_v():g} V (or give step_v for a linear sweep)",
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
            n = linear_point_count(self.start_v, self.stop_v, self.step_v)
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

    def bias_voltages_v(self) -> dict[str, float]:
        return {"start_v": self.start_v, "stop_v": self.stop_v}


def _estimate_duration_s(step: SCLCStep, timing: StepTiming) -> float:
    reading_s = point_reading_s(timing.smu_model, step.nplc, timing.line_frequency_hz)
    per_point_s = step.dwell_s + reading_s
    return step.points * per_point_s * len(step.directions)


def _describe(step: SCLCStep) -> str:
    if step.step_v is not None:
        spacing = f"step {step.step_v:g} V"
    else:
        spacing = f"log {step.effective_points_per_decade}/decade from {step._log_low_v():g} V"
    return (f"sclc: {step.start_v:g} → {step.stop_v:g} V, {spacing} ({step.points} points), "
            f"dwell {step.dwell_s:g} s, {'+'.join(step.directions)}, "
            f"L {step.thickness_nm:g} nm, εr {step.eps_r:g}, dark{describe_smu(step)}")


PLUGIN = ProcedurePlugin(
    name="sclc",
    summary="space-charge-limited current sweep of a single-carrier device, in the dark",
    step_model=SCLCStep,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="sclc",
    metric_names=("v_tfl_v", "n_trap_cm3", "mobility_cm2_vs"),
)
