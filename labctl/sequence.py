"""Sequence files: the sample and the measurements to run on it, in order.

A sequence YAML (see ``configs/sequences/``) looks like::

    sample: {id: QD-2026-11-21-A, area_cm2: 0.09, operator: lab}
    steps:
      - jv: {start_v: 1.3, stop_v: -0.1, step_v: 0.01, dwell_s: 0.01, direction: both}
      - jv_steady            # a bare name runs the step with its defaults
      - mpp: {duration_h: 2, start_v: {from_step: 0, metric: vmpp_v}}

:func:`load_sequence` validates it into a :class:`Sequence` whose ``steps`` are the step models
of the registered procedure plug-ins (:mod:`labctl.registry.procedures`): a step's key picks
its plug-in. :func:`check_against_station` checks that the station has every role the steps
need. Both raise :class:`~labctl.yamlio.InputError` (file, line, field) before any instrument
is touched. Every parameter has a default, its unit in its name and a range; the
``description`` of each field documents it.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Self, Union

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from labctl.models import StrictModel, Text
from labctl.registry.procedures import StepTiming, procedure_plugin, procedure_plugins
from labctl.station.config import DEFAULT_DUT_SMU, StationConfig
from labctl.station.simulation import (
    MAX_AREA_CM2,
    MAX_TEMPERATURE_K,
    MIN_AREA_CM2,
    MIN_TEMPERATURE_K,
)
from labctl.steps import StepBase, StepReference, format_duration
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
    "Sample",
    "Sequence",
    "bias_guard_problem",
    "check_against_station",
    "describe",
    "estimate_duration_s",
    "format_duration",
    "limits_problem",
    "load_sequence",
    "sequence_model",
    "step_types",
]


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
        ge=MIN_AREA_CM2, le=MAX_AREA_CM2, title="Area",
        description="Measurement (mask) area used for current density (cm²), 1e-4…1000 (a "
        "100 µm × 100 µm microcell to a mini-module).",
    )
    operator: Text = Field("", description="Who ran the measurement.")
    atmosphere: Text | None = Field(None, description="e.g. 'N2', 'ambient air'.")
    humidity_pct: float | None = Field(
        None, ge=0, le=100, description="Relative humidity (percent), 0…100."
    )
    temperature_k: float | None = Field(
        None, ge=MIN_TEMPERATURE_K, le=MAX_TEMPERATURE_K,
        description="Sample temperature, if known (K), 4…500.",
    )
    preconditioning: Text | None = Field(
        None, description="Preconditioning applied before the sequence (light soak, bias...)."
    )
    notes: Text | None = Field(None, description="Free text.")
    max_reverse_v: float | None = Field(
        None, ge=0, le=210, title="Largest reverse bias",
        description="Largest reverse bias the sample may see (V, a magnitude, 0…210): no step "
        "may apply a voltage below −max_reverse_v. Reverse bias is a negative voltage: labctl "
        "sources V on the cell's positive (Voc) contact, so forward bias (where the cell "
        "delivers power and Voc lies) is positive and reverse bias negative. None = no guard.",
    )
    max_forward_v: float | None = Field(
        None, ge=0, le=210, title="Largest forward bias",
        description="Largest forward bias the sample may see (V, 0…210): no step may apply a "
        "voltage above +max_forward_v (a J-V end, a preconditioning bias, the voltage "
        "compliance of a Voc hold). None = no guard.",
    )

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
# Sequence


def _step_name(value: Any) -> str | None:
    """Discriminator of a step: the name of a ``{name: params}`` mapping or a bare name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if len(value) == 1:
            (key,) = value
            return key if isinstance(key, str) else str(key)
        return None
    return getattr(value, "procedure", None)


class Sequence(StrictModel, FileBacked):
    """A validated sequence file. ``path`` is the resolved file it came from.

    ``steps`` holds the step models of the registered plug-ins; :func:`sequence_model` is the
    model with every registered step (this class alone declares the common fields)."""

    sample: Sample = Field(description="The sample measured.")
    steps: list[StepBase] = Field(description="Measurements, in order.")

    @field_validator("steps")
    @classmethod
    def _not_empty(cls, value: list[StepBase]) -> list[StepBase]:
        if not value:
            raise ValueError("list at least one step")
        return value

    @model_validator(mode="after")
    def _keep_source(self, info: ValidationInfo) -> Self:
        self._keep_file(info.context)
        return self

    @model_validator(mode="after")
    def _within_bias_guards(self) -> Self:
        for index, step in enumerate(self.steps):
            problem = bias_guard_problem(step, self.sample)
            if problem is not None:
                reason, at = problem
                raise located_error(reason, ("steps", index, step.procedure, *at))
        return self

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        for index, step in enumerate(self.steps):
            for name, reference in step.references().items():
                reason = _reference_problem(self.steps, index, reference)
                if reason:
                    raise located_error(reason, ("steps", index, step.procedure, name))
        return self

    def step_path(self, index: int) -> PathKey:
        """Location of step ``index`` in the file: ``("steps", index, name)``."""
        return ("steps", index, self.steps[index].procedure)

    def step_line(self, index: int) -> int | None:
        """Line of step ``index`` in the file, if known."""
        return self.lines.line(self.step_path(index))

    def estimate_duration_s(self, station: StationConfig | None = None) -> float:
        """Estimated run time of the whole sequence (s), on ``station``'s SMUs."""
        return sum(estimate_duration_s(s, station) for s in self.steps)


def _reference_problem(steps: list[StepBase], index: int, ref: StepReference) -> str | None:
    """Why a step's reference to an earlier step cannot be resolved (None: it can)."""
    if ref.from_step >= index:
        return (f"from_step {ref.from_step} is not an earlier step (this is step {index}; "
                "a value can come only from a step before it)")
    source = steps[ref.from_step]
    plugin = procedure_plugin(source.procedure)
    if ref.metric not in plugin.metric_names:
        return (f"step {ref.from_step} ({source.procedure}) has no metric {ref.metric!r} "
                f"(its metrics: {', '.join(plugin.metric_names) or 'none'})")
    here, there = _named_smu(steps[index]), _named_smu(source)
    if (here or DEFAULT_DUT_SMU) != (there or DEFAULT_DUT_SMU):
        return (f"step {ref.from_step} measures SMU {there or DEFAULT_DUT_SMU!r}, this step "
                f"{here or DEFAULT_DUT_SMU!r}: a value comes from the same sample and channel")
    directions = list(getattr(source, "directions", []) or [])
    if ref.direction is not None and ref.direction not in directions:
        return (f"step {ref.from_step} ({source.procedure}) measures no {ref.direction!r} "
                f"direction (it measures: {', '.join(directions) or 'one measurement'})")
    return None


_models: dict[tuple[type[StepBase], ...], type[Sequence]] = {}


def sequence_model() -> type[Sequence]:
    """The :class:`Sequence` model whose steps are every registered plug-in's step model."""
    step_models = tuple(p.step_model for p in procedure_plugins().values())
    model = _models.get(step_models)
    if model is None:
        step = Annotated[
            Union[tuple(Annotated[m, Tag(m.procedure)] for m in step_models)],  # noqa: UP007
            Discriminator(_step_name),
        ]
        model = create_model(
            "Sequence", __base__=Sequence, __module__=__name__,
            steps=(list[step], Field(description="Measurements, in order.")))
        _models[step_models] = model
    return model


def load_sequence(path: str | os.PathLike[str]) -> Sequence:
    """Read and validate a sequence file.

    Raises:
        InputError: one line with the file, the line and the field of the first problem,
            e.g. ``seq.yaml:7: steps[1].jv.dwel_s: unknown key 'dwel_s', did you mean
            'dwell_s'? (...)``.
    """
    data, lines = load_yaml(path)
    sequence = validate_model(sequence_model(), data, path, lines)
    sequence.path = path
    sequence._lines = lines
    return sequence


# ---------------------------------------------------------------------------------------------
# Checks against a station


def check_against_station(
    sequence: Sequence, station: StationConfig, simulated: bool | None = None
) -> None:
    """Check that ``station`` has every role the steps of ``sequence`` need.

    - every step needs its SMU (``step.smu``, default ``smu``), which must not be the SMU that
      reads the photodiode; its voltages and compliance must be within that SMU's limits
      (including the combined envelope, e.g. 2420: > 1.05 A only up to 21 V);
    - a dark step (``light: false``) needs a shutter, or at least a light source to switch off:
      a station with neither keeps its device lit;
    - a plug-in's own needs (``check_station``: e.g. ``intensity_voc`` needs an attenuator or a
      programmable LED, and an irradiance sensor);
    - when the station runs simulated (``simulated``, default ``station.simulated``) the SMU
      must carry a simulated device.

    Raises:
        InputError: naming the sequence file, the step's line and field, and the station.
    """
    if simulated is None:
        simulated = station.simulated
    for index, step in enumerate(sequence.steps):
        base = sequence.step_path(index)
        problem = (_smu_problem(step, station, simulated)
                   or limits_problem(step, station)
                   or _darkness_problem(step, station))
        if problem is None and procedure_plugin(step.procedure).check_station is not None:
            reason = procedure_plugin(step.procedure).check_station(step, station)
            # a reason, or (reason, (field, ...)) naming the step's field at fault
            problem = (reason if isinstance(reason, tuple) else (reason, ())) if reason else None
        if problem is not None:
            reason, at = problem
            raise InputError(
                reason,
                file=sequence.source if sequence._path else "<sequence>",
                line=sequence.lines.line(base + at) if sequence._lines else None,
                field=format_field(base + at),
            )


Problem = tuple[str, tuple[str, ...]] | None


def _named_smu(step: StepBase) -> str | None:
    """The one SMU a step names (the first of a list; None for the default or ``all``)."""
    named = getattr(step, "smu", None)
    if isinstance(named, list):
        return named[0] if named else None
    return None if named == "all" else named


def _smu_problem(step: StepBase, station: StationConfig, simulated: bool) -> Problem:
    """Each SMU of the step (several for a step on parallel channels) exists, measures no
    photodiode and (simulated) carries a device."""
    from labctl.steps import step_smus

    smus = step_smus(step, station)
    if not smus:
        return (f"the station {station.describe_source()} has no SMU with a device for "
                "smu: all", ("smu",))
    for named in smus:
        problem = _one_smu_problem(step, named, station, simulated)
        if problem is not None:
            return problem
    return None


def _one_smu_problem(step: StepBase, named: str | None, station: StationConfig,
                     simulated: bool) -> Problem:
    """One SMU of the step (``named``, None: the default) exists, measures no photodiode
    and (simulated) carries a device."""
    label = station.describe_source()
    smu_name = named or DEFAULT_DUT_SMU
    at: tuple[str, ...] = ("smu",) if named else ()
    smus = station.smu_names()
    if smu_name not in smus:
        hint = "" if named else " (the device under test is on 'smu' unless a step sets smu)"
        return (f"the station {label} has no SMU named {smu_name!r} "
                f"(SMUs: {', '.join(smus) or 'none'}){hint}", at)
    readers = station.photodiode_smus()
    if smu_name in readers:
        return (f"{smu_name!r} reads the photodiode {readers[smu_name]!r} in the station "
                f"{label}; it cannot also measure the device", at)
    device = station.device_for_smu(smu_name) if simulated else None
    if simulated and device is None:
        return (f"the simulated station {label} has no device on {smu_name!r} "
                "(add it under simulation.devices)", at)
    kinds = procedure_plugin(step.procedure).device_kinds
    if device is not None and device.kind not in kinds:
        return (f"{step.procedure} measures a {' or '.join(k.replace('_', '-') for k in kinds)} "
                f"device, but the simulated station {label} has a "
                f"{device.kind.replace('_', '-')} device on {smu_name!r}", at)
    return None


def bias_guard_problem(step: StepBase, sample: Sample | None) -> Problem:
    """Why a voltage the step applies lies beyond the sample's ``max_reverse_v`` (below
    −max_reverse_v) or ``max_forward_v`` (above +max_forward_v), with the field; or None."""
    if sample is None or (sample.max_reverse_v is None and sample.max_forward_v is None):
        return None
    voltages = (list(step.bias_voltages_v().items())
                or [("", v) for v in step.step_voltages_v()])  # a plug-in's own voltages
    for field, voltage_v in voltages:
        at = (field,) if field else ()
        if sample.max_forward_v is not None and voltage_v > sample.max_forward_v:
            return (f"{voltage_v:g} V is beyond the sample's forward-bias guard "
                    f"(sample.max_forward_v: {sample.max_forward_v:g} V)", at)
        if sample.max_reverse_v is not None and voltage_v < -sample.max_reverse_v:
            return (f"{voltage_v:g} V is beyond the sample's reverse-bias guard "
                    f"(sample.max_reverse_v: {sample.max_reverse_v:g} V, i.e. not below "
                    f"{-sample.max_reverse_v:g} V)", at)
    return None


def limits_problem(step: StepBase, station: StationConfig,
                   sample: Sample | None = None) -> Problem:
    """Why the step's voltages or compliance lie outside its SMU's envelope or the sample's
    bias guards (with the field, relative to the step), or None. The runner checks a step
    again once the values it takes from earlier steps are known."""
    guard = bias_guard_problem(step, sample)
    if guard is not None:
        return guard
    from labctl.steps import step_smus

    for named in step_smus(step, station) or [None]:  # every channel of a parallel step
        problem = _smu_limits_problem(step, station, named or DEFAULT_DUT_SMU)
        if problem is not None:
            return problem
    return None


def _smu_limits_problem(step: StepBase, station: StationConfig, smu_name: str) -> Problem:
    """Why the step's voltages or compliance lie outside SMU ``smu_name``'s envelope."""
    limits = station.smu_limits(smu_name)
    driver = station.instruments[smu_name].driver
    v_max = max((abs(v) for v in step.step_voltages_v()), default=0.0)
    if v_max > limits.max_voltage_v:
        return (f"{v_max:g} V is beyond the source range of {smu_name!r} ({driver}: "
                f"±{limits.max_voltage_v:g} V)", ())
    compliance = getattr(step, "compliance_a", None)
    if compliance is not None:
        allowed = limits.max_current_at_a(v_max)
        if compliance > allowed:
            where = (f" above {limits.high_current_max_voltage_v:g} V"
                     if allowed < limits.max_current_a else "")
            return (f"{compliance:g} A is beyond what {smu_name!r} ({driver}) allows{where}: "
                    f"at most {allowed:g} A", ("compliance_a",))
    return None


def _darkness_problem(step: StepBase, station: StationConfig) -> Problem:
    """A dark step needs a way to darken the device."""
    if getattr(step, "light", True) is False and station.shutter() is None:
        if station.light_source() is None:
            return (f"a dark measurement needs a shutter: the station "
                    f"{station.describe_source()} has no shutter and no light source, so its "
                    "device is always lit", ("light",))
    return None


# ---------------------------------------------------------------------------------------------
# What the registry says of a step


def step_types() -> dict[str, type[StepBase]]:
    """Step name -> step model, for every registered plug-in."""
    return {name: plugin.step_model for name, plugin in procedure_plugins().items()}


def describe(step: StepBase) -> str:
    """One line describing a step (its plug-in's ``describe``), for ``labctl validate``."""
    return procedure_plugin(step.procedure).describe(step)


def estimate_duration_s(step: StepBase, station: StationConfig | None = None) -> float:
    """Estimated run time of one step (s): its plug-in's ``estimate_duration_s`` on the
    timing model of the station's SMU (a 2400 at 50 Hz without a station)."""
    timing = StepTiming.for_station(station, _named_smu(step))
    return procedure_plugin(step.procedure).estimate_duration_s(step, timing)
