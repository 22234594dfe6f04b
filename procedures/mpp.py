"""Maximum-power-point tracking: the ``mpp`` step (its procedure comes with MPP tracking).

The step validates, is described and estimated; ``labctl run`` refuses it until the
procedure exists.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from labctl.registry.procedures import (
    ProcedurePlugin,
    StepTiming,
)
from labctl.steps import (
    Compliance,
    Irradiance,
    Nplc,
    ReferableVoltage,
    StepBase,
    compliance_field,
    describe_smu,
    describe_value,
    format_duration,
    irradiance_field,
    nplc_field,
    smu_field,
)
from labctl.yamlio import located_error

__all__ = ["PLUGIN", "MPPStep"]


class MPPStep(StepBase):
    """Maximum-power-point tracking (or a fixed-voltage hold) under light."""

    procedure: ClassVar[str] = "mpp"

    duration_s: float | None = Field(
        None,
        gt=0,
        le=3.6e8,
        description="Tracking time (s), >0…3.6e8 (1e5 h); default 300 unless duration_h is "
        "given.",
    )
    duration_h: float | None = Field(
        None, gt=0, le=1e5,
        description="Tracking time in hours (alternative to duration_s), >0…1e5."
    )
    algorithm: Literal["default", "perturb_observe", "gradient", "fixed_voltage"] = Field(
        "default",
        description="default, perturb_observe, gradient, or fixed_voltage (stabilized power "
        "output at start_v or the Vmpp of the preceding J-V).",
    )
    start_v: ReferableVoltage | None = Field(
        None, description="Starting (or fixed) voltage (V); None = from a preceding J-V or "
        "Voc; or from an earlier step: {from_step: 0, metric: vmpp_v}."
    )
    step_v: float = Field(
        0.01, ge=1e-4, le=0.1, description="Perturbation / initial step (V), 1e-4…0.1."
    )
    settle_s: float = Field(
        0.5, ge=0, le=3600, description="Delay after each voltage change (s), 0…3600."
    )
    log_interval_s: float = Field(
        10.0, gt=0, le=86400, description="Interval between logged points (s), >0…86400."
    )
    irradiance_mw_cm2: Irradiance = irradiance_field()
    light: bool = Field(
        True,
        description="Under light; false only with algorithm fixed_voltage and start_v "
        "(dark bias stress).",
    )
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.duration_s is not None and self.duration_h is not None:
            raise located_error("give duration_s or duration_h, not both", ("duration_h",))
        if self.duration_s is None and self.duration_h is None:
            self.duration_s = 300.0
        if self.log_interval_s > self.run_duration_s:
            raise located_error(
                f"log_interval_s ({self.log_interval_s:g} s) is longer than the run "
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

    def bias_voltages_v(self) -> dict[str, float]:
        return {"start_v": self.start_v} if isinstance(self.start_v, float) else {}


def _estimate_duration_s(step: MPPStep, timing: StepTiming) -> float:
    return step.run_duration_s


def _describe(step: MPPStep) -> str:
    start = f" from {describe_value(step.start_v)}" if step.start_v is not None else ""
    light = f"{step.irradiance_mw_cm2:g} mW/cm²" if step.light else "dark"
    return (f"mpp: {step.algorithm} for {format_duration(step.run_duration_s)}{start}, "
            f"step {step.step_v:g} V, settle {step.settle_s:g} s, log every "
            f"{step.log_interval_s:g} s, {light}{describe_smu(step)}")


PLUGIN = ProcedurePlugin(
    name="mpp",
    summary="maximum-power-point tracking (or a fixed-voltage hold) under light",
    step_model=MPPStep,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="mpp",
    metric_names=("pce_stabilized_pct", "vmpp_v", "jmpp_ma_cm2", "settling_time_s",
                  "tracking_efficiency"),
)
