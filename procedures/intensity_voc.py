"""Voc (and Jsc) against light intensity: the ``intensity_voc`` step (its procedure comes
later).

The step validates, is described and estimated, and ``labctl validate`` checks that the
station can vary and measure the light; ``labctl run`` refuses it until the procedure exists.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from instruments.timing import point_reading_s
from labctl.registry.procedures import (
    ProcedurePlugin,
    StepTiming,
)
from labctl.steps import (
    Compliance,
    Nplc,
    StepBase,
    compliance_field,
    describe_smu,
    nplc_field,
    smu_field,
)
from labctl.yamlio import located_error

__all__ = ["PLUGIN", "IntensityVocStep"]


class IntensityVocStep(StepBase):
    """Voc (and Jsc) against light intensity, for the ideality factor and the Jsc power law."""

    procedure: ClassVar[str] = "intensity_voc"

    min_sun: float = Field(
        1e-3, gt=0, lt=1, description="Lowest intensity (suns, 1 sun = 100 mW/cm²), >0…<1."
    )
    max_sun: float = Field(1.0, gt=0, le=10, description="Highest intensity (suns), >0…10.")
    points_per_decade: int = Field(5, ge=1, le=20,
                                   description="Intensity levels per decade, 1…20.")
    settle_s: float = Field(
        5.0, ge=0, le=3600, description="Wait for Voc to settle at each level (s), 0…3600."
    )
    direction: Literal["up", "down", "both"] = Field(
        "down", description="down (high to low), up, or both (down, then up)."
    )
    measure_jsc: bool = Field(True, description="Also measure Jsc (V = 0) at each level.")
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_sun >= self.max_sun:
            raise located_error(
                f"min_sun ({self.min_sun:g}) must be below max_sun ({self.max_sun:g})",
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


#: Time per filter-wheel move assumed by the run-time estimate (s).
WHEEL_MOVE_S = 1.0


def _estimate_duration_s(step: IntensityVocStep, timing: StepTiming) -> float:
    """levels × (settle + a wheel move + the readings)."""
    readings = 2 if step.measure_jsc else 1
    reading_s = point_reading_s(timing.smu_model, step.nplc, timing.line_frequency_hz)
    per_level_s = step.settle_s + WHEEL_MOVE_S + readings * reading_s
    return len(step.levels_sun()) * per_level_s


def _describe(step: IntensityVocStep) -> str:
    jsc = ", Voc and Jsc" if step.measure_jsc else ", Voc only"
    return (f"intensity_voc: {step.min_sun:g}–{step.max_sun:g} sun, "
            f"{step.points_per_decade}/decade ({len(step.levels_sun())} levels), "
            f"{step.direction}, settle {step.settle_s:g} s{jsc}{describe_smu(step)}")


def _check_station(step: IntensityVocStep, station: Any) -> str | None:
    """The light must be varied (filter wheels or a programmable LED) and measured."""
    label = station.describe_source()
    if not station.attenuator() and not station.has_programmable_intensity():
        return (f"the station {label} has no attenuator (filter wheels) and no light source "
                "with programmable intensity (g2v_pico) to vary the light")
    if station.irradiance_sensor() is None:
        return (f"the station {label} has no irradiance sensor (smu_photodiode or "
                "thorlabs_pm100) to measure each intensity")
    return None


PLUGIN = ProcedurePlugin(
    name="intensity_voc",
    summary="Voc (and Jsc) against light intensity: ideality factor and the Jsc power law",
    step_model=IntensityVocStep,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="intensity",
    metric_names=("ideality", "ideality_local", "alpha", "j0_ma_cm2"),
    check_station=_check_station,
)
