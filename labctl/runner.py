"""Run a sequence headless: the engine behind ``labctl run``.

The procedures say *what* to measure; the runner decides *how* (as Bluesky's RunEngine does for
its plans): it validates both files before any instrument is touched, opens the station, runs
each measurement's pymeasure Procedure in a worker thread with pymeasure's Worker order
(startup, execute, shutdown in a ``finally``), appends every emitted row to the CSV and flushes
it, analyses each finished measurement, draws its figure, adds a catalog row and rewrites
``summary.json`` -- so nothing is held only in memory.

Whatever ends the run (success, an error, a lost instrument, Ctrl-C, SIGTERM) every instrument
of the station is made safe (SMU outputs off first, shutter closed) before control returns;
the exit status is recorded in the summary (``ok``, ``failed`` or ``aborted``).
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labctl import __version__, clock
from labctl.sequence import JVSteadyStep, JVStep, Sequence, check_against_station, load_sequence
from labctl.station import StationConfig, load_station, open_station
from labctl.yamlio import InputError

log = logging.getLogger(__name__)

#: Procedures this version runs (the others validate, and are refused at run time).
RUNNABLE = {"jv", "jv_steady"}


class RunFailed(RuntimeError):
    """A measurement failed; the instruments were made safe and the data kept."""


class RunAborted(RuntimeError):
    """The run was stopped (Ctrl-C, SIGTERM); the instruments were made safe."""


@dataclass
class PlannedMeasurement:
    """One procedure run: a step of the sequence, in one direction."""

    step: int
    procedure: str
    direction: str | None
    filename: str
    parameters: dict[str, Any]
    precondition: bool = False


@dataclass
class RunState:
    """What the summary says about the run so far."""

    run_id: str
    folder: Path
    sample: dict[str, Any]
    started: str
    status: str = "running"
    error: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    time_offset_s: float = 0.0


# --- progress ---------------------------------------------------------------------------------

class Progress:
    """Progress of the run on the terminal (stderr), throttled; silent when not wanted."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            try:
                from rich.console import Console
                from rich.progress import BarColumn, TextColumn
                from rich.progress import Progress as RichProgress

                console = Console(stderr=True)
                if console.is_terminal:
                    self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                             TextColumn("{task.percentage:>5.1f} %"),
                                             console=console, transient=False)
                    self._task = self._bar.add_task("starting", total=100.0 * total)
                    self._bar.start()
            except ImportError:  # rich is a dependency; a stripped install still runs
                self._bar = None

    def measurement(self, index: int, label: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=f"[{index + 1}/{self.total}] {label}",
                             completed=100.0 * index)
        elif self.enabled:
            print(f"labctl: [{index + 1}/{self.total}] {label}", file=_stderr())

    def percent(self, index: int, percent: float) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=100.0 * index + min(max(percent, 0), 100))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _stderr() -> Any:
    import sys

    return sys.stderr


# --- planning ---------------------------------------------------------------------------------

def plan(sequence: Sequence, station: StationConfig) -> list[PlannedMeasurement]:
    """Expand the steps into measurements (a ``direction: both`` J-V gives two)."""
    from labctl.storage import measurement_filename

    planned: list[PlannedMeasurement] = []
    for index, step in enumerate(sequence.steps):
        name = step.procedure
        smu_name = station.dut_smu(getattr(step, "smu", None))
        channel = smu_name if len(station.smu_names()) > 1 and smu_name != "smu" else None
        common = {"sample_id": sequence.sample.id, "area_cm2": sequence.sample.area_cm2,
                  "smu_name": smu_name}
        if isinstance(step, JVStep):
            params = step.model_dump(exclude={"direction", "smu"})
            params["dwell_s"] = step.source_delay_s(
                float(station.simulation.line_frequency_hz))
            directions = ["reverse", "forward"] if step.direction == "both" else [step.direction]
            for k, direction in enumerate(directions):
                planned.append(PlannedMeasurement(
                    step=index, procedure=name, direction=direction,
                    filename=measurement_filename(index, name, direction=direction,
                                                  channel=channel),
                    parameters={**common, **params, "direction": direction},
                    precondition=(k == 0)))
        elif isinstance(step, JVSteadyStep):
            params = step.model_dump(exclude={"smu"})
            planned.append(PlannedMeasurement(
                step=index, procedure=name, direction=None,
                filename=measurement_filename(index, name, channel=channel),
                parameters={**common, **params}))
        else:
            field_path = sequence.step_path(index)
            raise InputError(
                f"the {name} procedure is not available in labctl {__version__} yet "
                f"(runnable: {', '.join(sorted(RUNNABLE))})",
                file=sequence.source, line=sequence.step_line(index),
                field=".".join(str(p) for p in field_path[:2]) if field_path else None)
    return planned


def procedure_class(name: str) -> type:
    if name == "jv":
        from procedures.jv import JVProcedure

        return JVProcedure
    if name == "jv_steady":
        from procedures.jv_steady import JVSteadyProcedure

        return JVSteadyProcedure
    raise KeyError(name)


def build_procedure(measurement: PlannedMeasurement) -> Any:
    """A procedure instance with the measurement's parameters (unknown names are an error)."""
    cls = procedure_class(measurement.procedure)
    procedure = cls()
    known = set(procedure.parameter_objects())
    values = {k: v for k, v in measurement.parameters.items() if k in known and v is not None}
    if "precondition" in known:
        values["precondition"] = measurement.precondition
    procedure.set_parameters(values)
    return procedure


# --- executing one procedure ------------------------------------------------------------------

class ProcedureThread(threading.Thread):
    """Runs one procedure as pymeasure's Worker does, writing rows through labctl's writer."""

    def __init__(self, procedure: Any, open_writer: Callable[[], Any],
                 stop_event: threading.Event, on_progress: Callable[[float], None]) -> None:
        super().__init__(name=f"labctl-{type(procedure).__name__}", daemon=True)
        self.procedure = procedure
        self.open_writer = open_writer
        self.writer: Any = None
        self.stop_event = stop_event
        self.on_progress = on_progress
        self.error: BaseException | None = None
        self.error_text: str | None = None
        procedure.emit = self.emit
        procedure.should_stop = self.stop_event.is_set

    def emit(self, topic: str, record: Any) -> None:
        if topic == "results":
            if self.writer is None:
                raise RuntimeError("a procedure emitted results before its startup finished")
            self.writer.append(record)
        elif topic == "progress":
            self.on_progress(float(record))
        elif topic == "batch results":
            raise ValueError("labctl's writer takes rows one at a time (emit 'results')")

    def run(self) -> None:
        procedure = self.procedure
        try:
            procedure.status = procedure.RUNNING
            try:
                procedure.startup()
                # The header (parameters and metadata) is written after startup(), when the
                # procedure has filled its metadata, as pymeasure's Worker does.
                self.writer = self.open_writer()
                if not self.stop_event.is_set():
                    procedure.execute()
            finally:
                try:
                    procedure.shutdown()
                finally:
                    if self.writer is not None:
                        self.writer.close()
            procedure.status = procedure.ABORTED if self.stop_event.is_set() else \
                procedure.FINISHED
        except BaseException as exc:  # recorded and re-raised in the main thread
            procedure.status = procedure.FAILED
            self.error = exc
            self.error_text = traceback.format_exc()


# --- the run ----------------------------------------------------------------------------------

@contextmanager
def _signals_stop(stop_event: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM ask the running procedure to stop (in the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if not stop_event.is_set():
            print("labctl: stopping: waiting for the procedure to finish safely "
                  "(output off, shutter closed)", file=_stderr())
        stop_event.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Runner:
    """Validate, plan and run a sequence on a station (``labctl run``)."""

    def __init__(self, sequence_path: Path, station_path: Path, *, simulated: bool = False,
                 out_dir: Path = Path("results"), resume_dir: Path | None = None,
                 show_progress: bool = True, stop_event: threading.Event | None = None) -> None:
        self.sequence: Sequence = load_sequence(sequence_path)
        self.station: StationConfig = load_station(station_path)
        self.simulated = simulated or self.station.simulated
        check_against_station(self.sequence, self.station, simulated=self.simulated)
        self.measurements = plan(self.sequence, self.station)
        self.out_dir = Path(out_dir)
        self.resume_dir = Path(resume_dir) if resume_dir else None
        self.show_progress = show_progress
        self.stop_event = stop_event or threading.Event()
        self.state: RunState | None = None

    # --- folders and summary ---------------------------------------------------------------
    def _start_state(self) -> RunState:
        from labctl.storage import run_folder

        sample = self.sequence.sample.model_dump(exclude_none=True)
        if self.resume_dir is not None:
            summary_path = self.resume_dir / "summary.json"
            if not summary_path.is_file():
                raise InputError(f"no summary.json in {self.resume_dir}: not a labctl run "
                                 "folder", file=str(self.resume_dir))
            previous = json.loads(summary_path.read_text())
            if previous.get("sample", {}).get("id") != sample["id"]:
                raise InputError(
                    f"the run in {self.resume_dir} is of sample "
                    f"{previous.get('sample', {}).get('id')!r}, the sequence measures "
                    f"{sample['id']!r}", file=self.sequence.source)
            state = RunState(run_id=previous["run_id"], folder=self.resume_dir, sample=sample,
                             started=previous.get("started", ""),
                             results=[r for r in previous.get("results", [])
                                      if r.get("status", "ok") == "ok"],
                             time_offset_s=float(previous.get("elapsed_s", 0.0)))
            return state
        started = datetime.now(UTC)
        folder = run_folder(self.out_dir, self.sequence.sample.id, started)
        return RunState(run_id=folder.name, folder=folder, sample=sample,
                        started=started.isoformat(timespec="seconds"))

    def summary(self) -> dict[str, Any]:
        state = self.state
        assert state is not None
        summary: dict[str, Any] = {
            "run_id": state.run_id, "sample": state.sample, "status": state.status,
            "started": state.started, "station": self.station.station,
            "simulated": self.simulated, "labctl_version": __version__,
            "elapsed_s": state.time_offset_s, "results": state.results}
        if state.error:
            summary["error"] = state.error
        return summary

    def _write_summary(self) -> None:
        from labctl.storage import write_summary

        assert self.state is not None
        write_summary(self.state.folder / "summary.json", self.summary())

    # --- running -------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every measurement; return the summary (also written to summary.json)."""
        self.state = self._start_state()
        self._write_summary()
        done = {(r["step"], r.get("direction")) for r in self.state.results}
        progress = Progress(len(self.measurements), enabled=self.show_progress)
        try:
            with _signals_stop(self.stop_event), \
                    open_station(self.station, simulated=self.simulated) as station:
                self._identities = station.identities()
                for index, measurement in enumerate(self.measurements):
                    if (measurement.step, measurement.direction) in done:
                        continue
                    label = measurement.procedure + (
                        f" {measurement.direction}" if measurement.direction else "")
                    progress.measurement(index, label)
                    self._run_one(station, measurement,
                                  lambda pct, i=index: progress.percent(i, pct))
                    if self.stop_event.is_set():
                        raise RunAborted("stopped by the user")
            self.state.status = "ok"
        except RunAborted as exc:
            self.state.status = "aborted"
            self.state.error = str(exc)
        except InputError:
            self.state.status = "failed"
            raise
        except Exception as exc:
            self.state.status = "failed"
            self.state.error = _one_line(exc)
            log.error("run failed: %s", exc)
        finally:
            progress.close()
            self._write_summary()
        return self.summary()

    def _run_one(self, station: Any, measurement: PlannedMeasurement,
                 on_progress: Callable[[float], None]) -> None:
        from labctl.storage import CsvWriter

        assert self.state is not None
        path = self.state.folder / measurement.filename
        if path.exists():  # a partial file of an interrupted run: keep it, measure anew
            path.rename(_free_name(path.with_suffix(".partial.csv")))
        procedure = build_procedure(measurement)
        procedure.roles = station.roles(measurement.parameters.get("smu_name"))
        start_s = clock.now_s()
        procedure.time_offset_s = self.state.time_offset_s
        metadata = {"Run id": self.state.run_id, "Step": measurement.step,
                    "Station": self.station.station,
                    "Simulated": self.simulated, "labctl version": __version__}
        for name, identity in self._identities.items():
            metadata[f"Instrument {name}"] = identity
        def open_writer() -> CsvWriter:
            return CsvWriter(path, procedure, list(procedure.DATA_COLUMNS), metadata=metadata)

        thread = ProcedureThread(procedure, open_writer, self.stop_event, on_progress)
        thread.start()
        while thread.is_alive():
            thread.join(timeout=0.2)
        self.state.time_offset_s += clock.now_s() - start_s
        if thread.error is not None:
            self._record(measurement, path, procedure, status="failed",
                         error=_one_line(thread.error))
            raise RunFailed(f"{measurement.procedure} (step {measurement.step}"
                            f"{', ' + measurement.direction if measurement.direction else ''})"
                            f" failed: {_one_line(thread.error)}") from thread.error
        if self.stop_event.is_set():
            self._record(measurement, path, procedure, status="aborted")
            return
        self._record(measurement, path, procedure, status="ok")

    # --- analysis, figures, catalog ----------------------------------------------------------
    def _record(self, measurement: PlannedMeasurement, path: Path, procedure: Any, *,
                status: str, error: str | None = None) -> None:
        from labctl.storage import Catalog

        assert self.state is not None
        metrics: dict[str, Any] = {}
        warnings: list[str] = []
        try:
            metrics, warnings = analyze_measurement(measurement, path, procedure,
                                                    self.station)
        except Exception as exc:  # analysis must never lose the data or the run
            warnings.append(f"analysis failed: {_one_line(exc)}")
        result: dict[str, Any] = {
            "step": measurement.step, "procedure": measurement.procedure,
            "direction": measurement.direction, "file": path.name, "status": status,
            "metrics": metrics, "warnings": warnings}
        smu_name = measurement.parameters.get("smu_name")
        if len(self.station.smu_names()) > 1 and smu_name not in (None, "smu"):
            result["channel"] = smu_name
        if error:
            result["error"] = error
        details = {label: _plain(getattr(procedure, attribute, None))
                   for attribute, label in getattr(procedure, "RESULT_ATTRIBUTES", {}).items()}
        if details:
            result["details"] = details
        self.state.results.append(result)
        if measurement.procedure == "jv" and measurement.direction == "forward":
            self._hysteresis(measurement.step)
        if measurement.procedure in ("jv", "jv_steady"):
            self._plot_jv(measurement.step)
        self._write_summary()
        Catalog(self.out_dir / "catalog.sqlite").add(
            run_id=self.state.run_id, sample_id=self.sequence.sample.id, pixel=None,
            channel=result.get("channel"), procedure=measurement.procedure,
            step=measurement.step, direction=measurement.direction,
            started=datetime.now(UTC).isoformat(timespec="seconds"), file=str(path),
            status=status, metrics=metrics)

    def _results_of_step(self, step: int) -> list[dict[str, Any]]:
        assert self.state is not None
        return [r for r in self.state.results if r["step"] == step]

    def _hysteresis(self, step: int) -> None:
        """Hysteresis indices of a reverse/forward pair, on both results (DESIGN.md)."""
        from labctl.analysis.jv import hysteresis_index, hysteresis_index_08voc
        from labctl.storage import read_measurement

        assert self.state is not None
        pair = {r["direction"]: r for r in self._results_of_step(step)}
        if "reverse" not in pair or "forward" not in pair:
            return
        rev, fwd = pair["reverse"], pair["forward"]
        hi = float(hysteresis_index(rev["metrics"].get("pce_pct", math.nan),
                                    fwd["metrics"].get("pce_pct", math.nan)))
        curves = {d: read_measurement(self.state.folder / pair[d]["file"]).columns
                  for d in ("reverse", "forward")}
        hi08 = float(hysteresis_index_08voc(
            curves["reverse"]["Voltage (V)"], curves["reverse"][J_COLUMN],
            curves["forward"]["Voltage (V)"], curves["forward"][J_COLUMN]))
        for result in (rev, fwd):
            result["metrics"]["hysteresis_index"] = hi
            result["metrics"]["hysteresis_index_08voc"] = hi08

    def _plot_jv(self, step: int) -> None:
        from labctl.plots import plot_jv
        from labctl.storage import read_measurement

        assert self.state is not None
        results = [r for r in self._results_of_step(step) if r["status"] == "ok"]
        if not results:
            return
        curves = []
        metrics: dict[str, dict[str, float]] = {}
        for result in results:
            data = read_measurement(self.state.folder / result["file"]).columns
            voltage_v, j_ma_cm2 = data["Voltage (V)"], data[J_COLUMN]
            if "Settled" in data:
                keep = data["Settled"] == 1
                voltage_v, j_ma_cm2 = voltage_v[keep], j_ma_cm2[keep]
            label = result["direction"] or result["procedure"]
            curves.append((label, voltage_v, j_ma_cm2))
            metrics[label] = dict(result["metrics"])
        figure_path = self.state.folder / (Path(results[0]["file"]).stem.rsplit("_", 1)[0]
                                           if results[0]["direction"] else
                                           Path(results[0]["file"]).stem)
        plot_jv(curves, figure_path.with_suffix(".png"),
                title=f"{self.sequence.sample.id} step {step} ({results[0]['procedure']})",
                metrics=metrics)


J_COLUMN = "Current density (mA/cm**2)"


def analyze_measurement(measurement: PlannedMeasurement, path: Path, procedure: Any,
                        station: StationConfig) -> tuple[dict[str, Any], list[str]]:
    """Metrics of a finished measurement file (DESIGN.md names, units in the names)."""
    from labctl.analysis.jv import jv_metrics
    from labctl.storage import read_measurement

    data = read_measurement(path).columns
    voltage_v, j_ma_cm2 = data["Voltage (V)"], data[J_COLUMN]
    if measurement.procedure == "jv_steady" and "Settled" in data:
        keep = data["Settled"] == 1
        voltage_v, j_ma_cm2 = voltage_v[keep], j_ma_cm2[keep]
    irradiance_mw_cm2 = float(measurement.parameters.get("irradiance_mw_cm2") or 100.0)
    if station.irradiance_sensor() and "Irradiance (mW/cm**2)" in data:
        measured = data["Irradiance (mW/cm**2)"]
        measured = measured[np.isfinite(measured)]
        if measured.size and np.mean(measured) > 0:
            irradiance_mw_cm2 = float(np.mean(measured))
    if not measurement.parameters.get("light", True):
        irradiance_mw_cm2 = math.nan
    metrics, warnings = jv_metrics(voltage_v, j_ma_cm2,
                                   irradiance_mw_cm2=irradiance_mw_cm2
                                   if math.isfinite(irradiance_mw_cm2) else 100.0)
    metrics = dict(metrics)
    metrics["irradiance_mw_cm2"] = irradiance_mw_cm2
    if not measurement.parameters.get("light", True):
        metrics["pce_pct"] = math.nan
    rate = getattr(procedure, "achieved_scan_rate_v_s", None)
    if rate is not None and math.isfinite(float(rate)):
        metrics["scan_rate_v_s"] = float(rate)
    return metrics, list(warnings)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a procedure attribute (numpy scalars to Python)."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, RunFailed) else text
