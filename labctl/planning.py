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
from labctl.yamlio import InputError, format_field

__all__ = ["check_runnable", "plan", "plan_step"]


def plan_step(sequence: Sequence, station: StationConfig, index: int,
              step: object | None = None) -> list[PlannedMeasurement]:
    """The measurements of step ``index`` (of ``step`` when given: the step with its
    references resolved)."""
    step = sequence.steps[index] if step is None else step
    smu_name = station.dut_smu(getattr(step, "smu", None))
    channel = smu_name if len(station.smu_names()) > 1 and smu_name != "smu" else None
    context = PlanContext(
        step_index=index, station=station, sample_id=sequence.sample.id,
        area_cm2=sequence.sample.area_cm2, smu_name=smu_name, channel=channel,
        timing=StepTiming.for_station(station, smu_name))
    plugin = procedure_plugin(step.procedure)  # type: ignore[attr-defined]
    if plugin.plan is None:
        raise LookupError(f"the {plugin.name} procedure cannot be run by this labctl yet")
    return plugin.plan(step, context)


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
