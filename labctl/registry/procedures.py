"""The procedure registry: every kind of measurement labctl can validate, run and analyse.

A kind of measurement is one plug-in module that declares a :class:`ProcedurePlugin`: its
step model, its procedure class, how a step becomes measurements and files, its duration
estimate and one-line description, its analysis, metric names and figure
(docs/adding-a-procedure.md). The runner, ``labctl validate``, ``labctl analyze KIND`` and the
GUI find everything here; none of them names a procedure.

The built-in plug-ins are the modules of :data:`BUILT_IN`; a lab adds its own in its own
package through an entry point in the group ``labctl.procedures`` that names a
:class:`ProcedurePlugin` object::

    [project.entry-points."labctl.procedures"]
    my_scan = "mylab.scan:PLUGIN"
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labctl.registry.instruments import load_object

#: A validated station file (:class:`labctl.station.config.StationConfig`: the registry sits
#: below the station package, which reads the instrument registry, so it is named, not imported).
StationConfig = Any

if TYPE_CHECKING:
    from labctl.steps import StepBase
    from labctl.storage import Measurement

log = logging.getLogger(__name__)

__all__ = [
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "AnalysisContext",
    "AnalysisOption",
    "PlanContext",
    "PlannedMeasurement",
    "ProcedurePlugin",
    "StepResult",
    "StepTiming",
    "analysis_kinds",
    "format_metric",
    "headline",
    "plugin_for_analysis",
    "procedure_plugin",
    "procedure_plugins",
    "register_procedure",
    "reload_procedures",
]

ENTRY_POINT_GROUP = "labctl.procedures"
#: Modules of the built-in plug-ins (each has a module-level ``PLUGIN``), in listing order.
BUILT_IN = ("procedures.jv", "procedures.jv_steady", "procedures.mpp",
            "procedures.intensity_voc", "procedures.sclc", "procedures.calibration")


@dataclass
class PlannedMeasurement:
    """One procedure run: a step of the sequence, in one direction, into one file."""

    step: int
    procedure: str
    direction: str | None
    filename: str
    parameters: dict[str, Any]
    precondition: bool = False
    channel: str | None = None


@dataclass(frozen=True)
class StepTiming:
    """What a duration estimate needs besides the step: the SMU's model (its timing model,
    :mod:`instruments.timing`) and the mains frequency."""

    smu_model: str = "2400"
    line_frequency_hz: float = 50.0

    @classmethod
    def for_station(cls, station: StationConfig | None, smu_name: str | None = None
                    ) -> StepTiming:
        """The timing of a step on ``station``'s SMU ``smu_name`` (default: ``smu``); the
        defaults without a station."""
        if station is None:
            return cls()
        from labctl.registry.instruments import instrument_entry

        name = smu_name or "smu"
        model = "2400"
        if name in station.smu_names():
            model = str(instrument_entry(station.instruments[name].driver).driver().model)
        return cls(model, float(station.simulation.line_frequency_hz))


@dataclass(frozen=True)
class PlanContext:
    """What a plug-in's ``plan`` needs besides the step."""

    step_index: int
    station: StationConfig
    sample_id: str
    area_cm2: float
    smu_name: str
    #: Channel label for file names and the summary (multi-SMU stations), else None.
    channel: str | None
    timing: StepTiming = field(default_factory=lambda: StepTiming())

    def common_parameters(self) -> dict[str, Any]:
        """The parameters every measurement of the step carries."""
        return {"sample_id": self.sample_id, "area_cm2": self.area_cm2,
                "smu_name": self.smu_name}

    def filename(self, name: str, direction: str | None = None) -> str:
        from labctl.storage import measurement_filename

        return measurement_filename(self.step_index, name, direction=direction,
                                    channel=self.channel)


@dataclass(frozen=True)
class AnalysisContext:
    """What a plug-in's ``analyze`` may use besides the data: the measurement's parameters
    (``area_cm2``, ``light``, ``irradiance_mw_cm2``...), an irradiance given by the user, and
    what the procedure recorded after its run."""

    parameters: Mapping[str, Any] = field(default_factory=dict)
    #: ``--irradiance-mw-cm2`` of ``labctl analyze``: wins over the file's column.
    irradiance_override_mw_cm2: float | None = None
    area_override_cm2: float | None = None
    #: Attributes the procedure set after its run (``RESULT_ATTRIBUTES``), by attribute.
    details: Mapping[str, Any] = field(default_factory=dict)
    #: Values of the plug-in's ``analysis_options`` given to ``labctl analyze`` (by name;
    #: absent or None when not given).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AnalysisOption:
    """An option of ``labctl analyze KIND`` that a plug-in's analysis reads: ``name``
    (``thickness_nm`` becomes ``--thickness-nm``), its type and help text."""

    name: str
    type: Callable[[str], Any] = float
    help: str = ""


@dataclass
class StepResult:
    """A measurement's result as the summary holds it, with the path of its file."""

    record: dict[str, Any]
    path: Path


@dataclass(frozen=True)
class ProcedurePlugin:
    """Everything labctl knows about one kind of measurement."""

    #: The step's key in a sequence file (``jv``), also the procedure name in the summary.
    name: str
    #: One line saying what it measures (``labctl validate``, the GUI).
    summary: str
    step_model: type[StepBase]
    #: ``estimate_duration_s(step, timing) -> s`` (the SMU's timing model).
    estimate_duration_s: Callable[[Any, StepTiming], float]
    #: ``describe(step) -> str``: one line for ``labctl validate``.
    describe: Callable[[Any], str]
    #: ``plan(step, context) -> [PlannedMeasurement, ...]``; None while not runnable.
    plan: Callable[[Any, PlanContext], list[PlannedMeasurement]] | None = None
    #: The procedure class, or ``"module:Class"``; None while the kind only validates.
    procedure_class: type | str | None = None
    #: The KIND of ``labctl analyze KIND`` whose analysis this plug-in provides, or None.
    analysis_kind: str | None = None
    #: ``analyze(data, context) -> (metrics, warnings)``.
    analyze: Callable[[Measurement, AnalysisContext], tuple[dict[str, Any], list[str]]] | None \
        = None
    #: Metric names the analysis returns (references from later steps are checked on them).
    metric_names: tuple[str, ...] = ()
    #: Metrics worth a place in a one-line result (``labctl run``, ``catalog``).
    headline_metrics: tuple[str, ...] = ()
    #: ``check_station(step, station) -> reason or None``: a role the step needs and lacks
    #: (or ``(reason, (field, ...))`` to name the step's field at fault).
    check_station: Callable[[Any, StationConfig], str | tuple[str, tuple[str, ...]] | None] \
        | None = None
    #: ``figure(results, path, title)``: one figure for the measurements of a step.
    figure: Callable[[Sequence[StepResult], Path, str], None] | None = None
    #: ``finish_step(results)``: metrics over a step's measurements (the hysteresis index of
    #: a reverse/forward pair), added to their records.
    finish_step: Callable[[Sequence[StepResult]], None] | None = None
    #: Kinds of simulated device (``simulation.device.kind``) the procedure can measure.
    device_kinds: tuple[str, ...] = ("solar_cell",)
    #: Options of ``labctl analyze KIND`` its analysis reads (AnalysisContext.options).
    analysis_options: tuple[AnalysisOption, ...] = ()

    @property
    def runnable(self) -> bool:
        return self.procedure_class is not None and self.plan is not None

    def load_procedure_class(self) -> type:
        if self.procedure_class is None:
            raise LookupError(f"the {self.name} procedure cannot be run by this labctl yet")
        if isinstance(self.procedure_class, str):
            return load_object(self.procedure_class)
        return self.procedure_class


_lock = threading.Lock()
_plugins: dict[str, ProcedurePlugin] = {}
_loaded = False


def register_procedure(plugin: ProcedurePlugin, *, replace: bool = False) -> None:
    """Add a plug-in (a name registered twice is an error unless ``replace``)."""
    _load()
    with _lock:
        if plugin.name in _plugins and not replace and _plugins[plugin.name] is not plugin:
            raise ValueError(f"a procedure named {plugin.name!r} is registered already")
        _plugins[plugin.name] = plugin


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        from importlib import import_module

        for module_name in BUILT_IN:
            plugin = import_module(module_name).PLUGIN
            _plugins[plugin.name] = plugin
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                plugin = entry.load()
            except Exception as exc:  # a broken lab plug-in must not stop labctl
                log.warning("cannot load procedure plug-in %s (%s): %s", entry.name,
                            entry.value, exc)
                continue
            if not isinstance(plugin, ProcedurePlugin):
                log.warning("entry point %s (%s) is not a ProcedurePlugin", entry.name,
                            entry.value)
                continue
            if plugin.name in _plugins:
                log.warning("procedure plug-in %s (%s) ignored: %r is built in", entry.name,
                            entry.value, plugin.name)
                continue
            _plugins[plugin.name] = plugin
        _loaded = True


def reload_procedures() -> None:
    """Forget every plug-in and load them again (built-in ones and entry points): for a
    newly installed plug-in package, and for tests."""
    global _loaded
    with _lock:
        _plugins.clear()
        _loaded = False
    _load()


def procedure_plugins() -> dict[str, ProcedurePlugin]:
    """Every registered plug-in by name (built-in ones first)."""
    _load()
    with _lock:
        return dict(_plugins)


def procedure_plugin(name: str) -> ProcedurePlugin:
    """The plug-in registered under ``name`` (KeyError naming the known ones)."""
    plugins = procedure_plugins()
    try:
        return plugins[name]
    except KeyError:
        raise KeyError(f"no procedure {name!r} (known: {', '.join(plugins)})") from None


def analysis_kinds() -> list[str]:
    """The KINDs ``labctl analyze`` accepts: every plug-in's ``analysis_kind``."""
    kinds: list[str] = []
    for plugin in procedure_plugins().values():
        if plugin.analysis_kind and plugin.analysis_kind not in kinds:
            kinds.append(plugin.analysis_kind)
    return kinds


def plugin_for_analysis(kind: str) -> ProcedurePlugin | None:
    """The first plug-in whose analysis is ``kind`` and which can analyse (None if none)."""
    for plugin in procedure_plugins().values():
        if plugin.analysis_kind == kind and plugin.analyze is not None:
            return plugin
    return None


def headline(procedure: str, metrics: Mapping[str, object]) -> str:
    """The metrics of a one-line result (``labctl run``, ``catalog``, the GUI's catalog): the
    plug-in's ``headline_metrics``, e.g. ``voc_v 1.177, jsc_ma_cm2 20.39, ff 74.5 %``."""
    plugin = procedure_plugins().get(procedure)
    names = plugin.headline_metrics if plugin is not None else ()
    return ", ".join(_headline_item(k, metrics[k]) for k in names if k in metrics)


def _headline_item(name: str, value: object) -> str:
    """``ff 78.3 %`` (the fill factor, a fraction in the JSON, in percent for people, as on
    the figures), else ``name value``."""
    if name == "ff" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"ff {100.0 * float(value):.1f} %"
    return f"{name} {format_metric(value)}"


def format_metric(value: object) -> str:
    """A metric for people: floats to 4 significant digits; a list of records (``ideality_local``,
    the regimes of an intensity series) one ``{key value, ...}`` per record."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        return "; ".join(
            "{" + ", ".join(f"{k} {format_metric(v)}" for k, v in record.items()) + "}"
            for record in value)
    if isinstance(value, list):
        return "[" + ", ".join(format_metric(v) for v in value) + "]"
    return str(value)
