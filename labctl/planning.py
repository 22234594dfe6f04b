"""How a sequence becomes measurements: each step's plug-in plans its own (``plan``).

Planning touches no instrument; it runs before the station is opened, so a step this version
cannot run is bad input (exit 2) naming the file, line and field.
"""

from __future__ import annotations

from labctl import __version__
from labctl.registry.procedures import (
    PlanContext,
    PlannedMeasurement,
    StepTiming,
    procedure_plugin,
)
from labctl.sequence import Sequence
from labctl.station.config import StationConfig
from labctl.steps import step_smus
from labctl.yamlio import InputError, format_field

__all__ = ["check_runnable", "plan", "plan_step"]


def plan_step(sequence: Sequence, station: StationConfig, index: int,
              step: object | None = None) -> list[PlannedMeasurement]:
    """The measurements of step ``index`` (of ``step`` when given: the step with its
    references resolved): one set per SMU for a step on several (``smu: [a, b]``, ``all``),
    each with its channel."""
    step = sequence.steps[index] if step is None else step
    plugin = procedure_plugin(step.procedure)  # type: ignore[attr-defined]
    if plugin.plan is None:
        raise LookupError(f"the {plugin.name} procedure cannot be run by this labctl yet")
    smus = step_smus(step, station)
    planned: list[PlannedMeasurement] = []
    for named in smus:
        smu_name = station.dut_smu(named)
        several = len(smus) > 1 or (len(station.smu_names()) > 1 and smu_name != "smu")
        context = PlanContext(
            step_index=index, station=station, sample_id=sequence.sample.id,
            area_cm2=sequence.sample.area_cm2, smu_name=smu_name,
            channel=smu_name if several else None,
            timing=StepTiming.for_station(station, smu_name))
        planned.extend(plugin.plan(step, context))
    return planned


def plan(sequence: Sequence, station: StationConfig) -> list[PlannedMeasurement]:
    """Every measurement of the sequence, in order (a ``direction: both`` J-V gives two)."""
    check_runnable(sequence)
    planned: list[PlannedMeasurement] = []
    for index in range(len(sequence.steps)):
        planned.extend(plan_step(sequence, station, index))
    return planned


def check_runnable(sequence: Sequence) -> None:
    """Refuse, as bad input, a step whose plug-in has no procedure in this version."""
    for index, step in enumerate(sequence.steps):
        plugin = procedure_plugin(step.procedure)
        if not plugin.runnable:
            from labctl.registry.procedures import procedure_plugins

            runnable = sorted(n for n, p in procedure_plugins().items() if p.runnable)
            raise InputError(
                f"the {step.procedure} procedure is not available in labctl {__version__} "
                f"yet (runnable: {', '.join(runnable)})",
                file=sequence.source, line=sequence.step_line(index),
                field=format_field(sequence.step_path(index)))
