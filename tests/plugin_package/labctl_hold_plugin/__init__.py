"""A lab's own procedure, in its own package: hold a bias and log the current.

It is what docs/adding-a-procedure.md describes, and what tests/test_plugin_entry_point.py
installs through the ``labctl.procedures`` entry point and runs through ``labctl validate``,
``labctl run`` and ``labctl analyze``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from labctl import clock
from labctl.registry.parameters import parameters_from
from labctl.registry.procedures import (
    AnalysisContext,
    PlanContext,
    PlannedMeasurement,
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
    describe_value,
    irradiance_field,
    light_field,
    nplc_field,
    smu_field,
)
from procedures.base import LabctlProcedure


class BiasHoldStep(StepBase):
    """Hold one bias and log the current."""

    procedure: ClassVar[str] = "bias_hold"

    bias_v: ReferableVoltage = Field(
        0.9, title="Bias",
        description="Bias held (V), −210…210, or {from_step: N, metric: vmpp_v}.")
    duration_s: float = Field(5.0, gt=0, le=86400, title="Duration",
                              description="How long the bias is held (s).")
    interval_s: float = Field(0.5, gt=0, le=3600, title="Interval",
                              description="Time between readings (s).")
    light: bool = light_field()
    irradiance_mw_cm2: Irradiance = irradiance_field()
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    def step_voltages_v(self) -> list[float]:
        return [self.bias_v] if isinstance(self.bias_v, float) else []


@parameters_from(BiasHoldStep, exclude={"smu"})
class BiasHoldProcedure(LabctlProcedure):
    """Hold ``bias_v`` for ``duration_s``, one row every ``interval_s``."""

    def startup(self) -> None:
        super().startup()
        self.compliance_used_a = self.compliance_for_a([self.bias_v])

    def execute(self) -> None:
        smu = self.roles.smu
        if self.light:
            if not self.light_on():
                return
        else:
            self.light_off()
        smu.configure_voltage_source(level_v=float(self.bias_v),
                                     compliance_a=float(self.compliance_used_a),
                                     nplc=float(self.nplc))
        smu.enable_output()
        irradiance_mw_cm2 = self.row_irradiance_mw_cm2()
        end_s = clock.now_s() + float(self.duration_s)
        while clock.now_s() < end_s:
            reading = smu.read()
            self.emit_row(self.reading_row(reading.voltage_v, reading.current_a, clock.now_s(),
                                           reading.in_compliance, irradiance_mw_cm2))
            if not self.wait(min(float(self.interval_s), end_s - clock.now_s())):
                return


def plan(step: BiasHoldStep, context: PlanContext) -> list[PlannedMeasurement]:
    return [PlannedMeasurement(
        step=context.step_index, procedure=step.procedure, direction=None,
        filename=context.filename(step.procedure),
        parameters={**context.common_parameters(), **step.model_dump(exclude={"smu"})},
        channel=context.channel)]


def analyze(data: Any, context: AnalysisContext) -> tuple[dict[str, Any], list[str]]:
    j_ma_cm2 = data.columns["Current density (mA/cm**2)"]
    return {"mean_j_ma_cm2": float(np.mean(j_ma_cm2)), "points": int(j_ma_cm2.size)}, []


def estimate_duration_s(step: BiasHoldStep, timing: StepTiming) -> float:
    return step.duration_s


PLUGIN = ProcedurePlugin(
    name="bias_hold",
    summary="hold one bias and log the current",
    step_model=BiasHoldStep,
    procedure_class=BiasHoldProcedure,
    plan=plan,
    estimate_duration_s=estimate_duration_s,
    describe=lambda step: (f"bias_hold: {describe_value(step.bias_v)} for "
                           f"{step.duration_s:g} s"),
    analysis_kind="hold",
    analyze=analyze,
    metric_names=("mean_j_ma_cm2", "points"),
    headline_metrics=("mean_j_ma_cm2",),
)
