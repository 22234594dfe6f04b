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

import hashlib
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

from labctl import __version__, clock
from labctl.sequence import JVSteadyStep, JVStep, Sequence, check_against_station, load_sequence
from labctl.station import StationConfig, load_station, open_station
from labctl.yamlio import InputError, format_field

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
    channel: str | None = None


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
    #: ``Time (s)`` at the start of this session: 0, or where the resumed run had got to.
    time_offset_s: float = 0.0
    #: ``Time (s)`` now (updated while the station is open; ``elapsed_s`` of the summary).
    elapsed_s: float = 0.0


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
                    precondition=(k == 0), channel=channel))
        elif isinstance(step, JVSteadyStep):
            params = step.model_dump(exclude={"smu"})
            planned.append(PlannedMeasurement(
                step=index, procedure=name, direction=None,
                filename=measurement_filename(index, name, channel=channel),
                parameters={**common, **params}, channel=channel))
        else:
            check_runnable(sequence)
    return planned


def check_runnable(sequence: Sequence) -> None:
    """Refuse, as bad input, a step whose procedure this version cannot run yet."""
    for index, step in enumerate(sequence.steps):
        if step.procedure not in RUNNABLE:
            raise InputError(
                f"the {step.procedure} procedure is not available in labctl {__version__} "
                f"yet (runnable: {', '.join(sorted(RUNNABLE))})",
                file=sequence.source, line=sequence.step_line(index),
                field=format_field(sequence.step_path(index)))


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
        self.resume_dir = Path(resume_dir) if resume_dir else None
        # The catalog lives in the folder that holds the run folders: a resumed run keeps
        # adding to the catalog it started in.
        self.out_dir = self.resume_dir.parent if self.resume_dir else Path(out_dir)
        self.show_progress = show_progress
        self.stop_event = stop_event or threading.Event()
        self.state: RunState | None = None
        self._identities: dict[str, str] = {}
        self._run_start_clock_s = 0.0

    # --- folders and summary ---------------------------------------------------------------
    def plan_sha256(self) -> str:
        """Fingerprint of the planned measurements (what, in which order, with which
        parameters): a resume must run the sequence the folder was started with."""
        plan_text = json.dumps(
            [[m.step, m.procedure, m.direction, m.filename, m.parameters]
             for m in self.measurements], sort_keys=True, default=str)
        return hashlib.sha256(plan_text.encode()).hexdigest()

    def _previous_summary(self) -> dict[str, Any] | None:
        """The summary of the run to resume, checked against this sequence (InputError,
        one line, before any instrument is touched); None for a new run."""
        if self.resume_dir is None:
            return None
        summary_path = self.resume_dir / "summary.json"
        where = str(self.resume_dir)
        if not summary_path.is_file():
            raise InputError(f"no summary.json in {where}: not a labctl run folder", file=where)
        try:
            previous = json.loads(summary_path.read_text(encoding="utf-8"))
            run_id = str(previous["run_id"])
            sample_id = previous.get("sample", {}).get("id")
            results = [r for r in previous.get("results", []) if r.get("status", "ok") == "ok"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"cannot resume: unreadable summary.json ({one_line_error(exc)})",
                             file=str(summary_path)) from None
        if sample_id != self.sequence.sample.id:
            raise InputError(f"cannot resume {where}: it is a run of sample {sample_id!r}, the "
                             f"sequence measures {self.sequence.sample.id!r}",
                             file=self.sequence.source)
        fingerprint = previous.get("sequence", {}).get("plan_sha256")
        if fingerprint is not None and fingerprint != self.plan_sha256():
            raise InputError(f"cannot resume {where}: it was started with another sequence "
                             f"({previous['sequence'].get('file')}); its steps or parameters "
                             "differ", file=self.sequence.source)
        previous["results"] = results
        previous["run_id"] = run_id
        return previous

    def _start_state(self, previous: dict[str, Any] | None) -> RunState:
        from labctl.storage import read_last_row, run_folder

        sample = self.sequence.sample.model_dump(exclude_none=True)
        if previous is not None:
            assert self.resume_dir is not None
            # Time (s) continues from the latest time on disk: a run killed mid-measurement
            # has rows later than the elapsed_s its summary last recorded.
            offset_s = float(previous.get("elapsed_s") or 0.0)
            for csv_path in self.resume_dir.glob("*.csv"):
                try:
                    last = read_last_row(csv_path) or {}
                except (OSError, UnicodeDecodeError):
                    continue
                last_time_s = last.get("Time (s)", math.nan)
                if math.isfinite(last_time_s):
                    offset_s = max(offset_s, last_time_s)
            return RunState(run_id=previous["run_id"], folder=self.resume_dir, sample=sample,
                            started=previous.get("started", ""), results=previous["results"],
                            time_offset_s=offset_s, elapsed_s=offset_s)
        started = datetime.now(UTC)
        try:
            folder = run_folder(self.out_dir, self.sequence.sample.id, started)
        except OSError as exc:
            raise InputError(f"cannot create the run folder: {one_line_error(exc)}",
                             file=str(self.out_dir)) from None
        return RunState(run_id=folder.name, folder=folder, sample=sample,
                        started=started.isoformat(timespec="seconds"))

    def summary(self) -> dict[str, Any]:
        state = self.state
        assert state is not None
        summary: dict[str, Any] = {
            "run_id": state.run_id, "sample": state.sample, "status": state.status,
            "started": state.started, "station": self.station.station,
            "simulated": self.simulated, "labctl_version": __version__,
            "sequence": {"file": self.sequence.source, "plan_sha256": self.plan_sha256()},
            "elapsed_s": state.elapsed_s, "results": state.results}
        if state.error:
            summary["error"] = state.error
        return summary

    def _write_summary(self) -> None:
        from labctl.storage import write_summary

        assert self.state is not None
        write_summary(self.state.folder / "summary.json", self.summary())

    def _tick(self) -> float:
        """Update and return ``Time (s)`` now: from the start of the run, across a resume."""
        assert self.state is not None
        self.state.elapsed_s = self.state.time_offset_s + clock.now_s() - self._run_start_clock_s
        return self.state.elapsed_s

    def _fail(self, status: str, error: str) -> None:
        assert self.state is not None
        self.state.status = status
        self.state.error = f"{self.state.error}; {error}" if self.state.error else error

    # --- running -------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every measurement; return the summary (also written to summary.json).

        Bad input -- a resume folder of another run, a station that cannot be opened, a run
        folder that cannot be created -- raises :class:`InputError` before anything is
        measured. Every other ending is recorded in the summary (``ok``, ``failed``,
        ``aborted``), after every instrument of the station was made safe.
        """
        previous = self._previous_summary()
        progress = Progress(len(self.measurements), enabled=self.show_progress)
        try:
            with _signals_stop(self.stop_event):
                station = open_station(self.station, simulated=self.simulated)
                try:
                    self._run_start_clock_s = clock.now_s()
                    self.state = self._start_state(previous)
                    self._run_all(station, progress)
                finally:
                    try:
                        failures = station.make_safe()   # SMU outputs off first, shutter closed
                        if failures and self.state is not None:
                            self._fail("failed", "could not make safe: " + "; ".join(failures))
                    finally:
                        if self.state is not None:
                            self._tick()
                        station.close()
        finally:
            progress.close()
            if self.state is not None:
                try:
                    self._write_summary()
                except Exception as exc:  # the summary returned still says what happened
                    log.error("cannot write %s: %s", self.state.folder / "summary.json", exc)
                    self._fail("failed", f"cannot write summary.json: {one_line_error(exc)}")
        return self.summary()

    def _run_all(self, station: Any, progress: Progress) -> None:
        """The measurements not yet done; the run's status and error in ``self.state``."""
        assert self.state is not None
        done = {(r["step"], r.get("direction")) for r in self.state.results}
        try:
            self._write_summary()
            self._identities = station.identities()
            for index, measurement in enumerate(self.measurements):
                if (measurement.step, measurement.direction) in done:
                    continue
                if self.stop_event.is_set():
                    raise RunAborted("stopped by the user")
                label = measurement.procedure + (
                    f" {measurement.direction}" if measurement.direction else "")
                progress.measurement(index, label)
                self._run_one(station, measurement,
                              lambda pct, i=index: progress.percent(i, pct))
                if self.stop_event.is_set():
                    raise RunAborted("stopped by the user")
            self.state.status = "ok"
        except (RunAborted, KeyboardInterrupt) as exc:
            self._fail("aborted", str(exc) or "interrupted")
        except Exception as exc:
            self._fail("failed", one_line_error(exc))
            log.info("run failed: %s", exc)  # the summary and the CLI report it

    def _run_one(self, station: Any, measurement: PlannedMeasurement,
                 on_progress: Callable[[float], None]) -> None:
        from labctl.storage import CsvWriter

        assert self.state is not None
        path = self.state.folder / measurement.filename
        if path.exists():  # a partial file of an interrupted run: keep it, measure anew
            path.rename(_free_name(path.with_suffix(".partial.csv")))
        procedure = build_procedure(measurement)
        procedure.roles = station.roles(measurement.parameters.get("smu_name"))
        started = datetime.now(UTC)
        # Time (s) counts from the start of the run (and continues across a resume).
        procedure.time_offset_s = self._tick()
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
        self._tick()
        if thread.error is not None:
            self._record(measurement, path, procedure, started, status="failed",
                         error=one_line_error(thread.error))
            raise RunFailed(f"{measurement.procedure} (step {measurement.step}"
                            f"{', ' + measurement.direction if measurement.direction else ''})"
                            f" failed: {one_line_error(thread.error)}") from thread.error
        status = "aborted" if self.stop_event.is_set() else "ok"
        self._record(measurement, path, procedure, started, status=status)

    # --- analysis, figures, catalog ----------------------------------------------------------
    def _record(self, measurement: PlannedMeasurement, path: Path, procedure: Any,
                started: datetime, *, status: str, error: str | None = None) -> None:
        """Add the measurement's result to the summary (written at once), its figure and its
        catalog row. Analysis, figure and catalog failures become warnings: they never lose
        the data or end the run."""
        from labctl.storage import Catalog

        assert self.state is not None
        metrics: dict[str, Any] = {}
        warnings: list[str] = []
        try:
            metrics, warnings = analyze_measurement(measurement, path, procedure,
                                                    self.station)
        except Exception as exc:
            warnings.append(f"analysis failed: {one_line_error(exc)}")
        result: dict[str, Any] = {
            "step": measurement.step, "procedure": measurement.procedure,
            "direction": measurement.direction, "file": path.name, "status": status,
            "metrics": metrics, "warnings": warnings}
        if measurement.channel is not None:
            result["channel"] = measurement.channel
        if error:
            result["error"] = error
        details = {label: _plain(getattr(procedure, attribute, None))
                   for attribute, label in getattr(procedure, "RESULT_ATTRIBUTES", {}).items()}
        if details:
            result["details"] = details
        self.state.results.append(result)
        for what, action in (("hysteresis index", self._hysteresis),
                             ("figure", self._plot_jv)):
            try:
                action(measurement.step)
            except Exception as exc:
                log.warning("%s of step %d failed: %s", what, measurement.step, exc)
                warnings.append(f"{what} failed: {one_line_error(exc)}")
        self._write_summary()
        try:
            Catalog(self.out_dir / "catalog.sqlite").add(
                run_id=self.state.run_id, sample_id=self.sequence.sample.id, pixel=None,
                channel=measurement.channel, procedure=measurement.procedure,
                step=measurement.step, direction=measurement.direction, started=started,
                file=str(path), status=status, metrics=metrics)
        except Exception as exc:
            log.warning("catalog row of %s failed: %s", path.name, exc)
            warnings.append(f"catalog row failed: {one_line_error(exc)}")
            self._write_summary()

    def _ok_results_of_step(self, step: int) -> list[dict[str, Any]]:
        assert self.state is not None
        return [r for r in self.state.results if r["step"] == step and r["status"] == "ok"]

    def _hysteresis(self, step: int) -> None:
        """Hysteresis indices of a completed reverse/forward pair, on both results
        (DESIGN.md)."""
        from labctl.analysis.jv import hysteresis_index, hysteresis_index_08voc
        from labctl.storage import jv_curve, read_measurement

        assert self.state is not None
        pair = {r["direction"]: r for r in self._ok_results_of_step(step)
                if r["procedure"] == "jv"}
        if "reverse" not in pair or "forward" not in pair:
            return
        rev, fwd = pair["reverse"], pair["forward"]
        hi = float(hysteresis_index(rev["metrics"].get("pce_pct", math.nan),
                                    fwd["metrics"].get("pce_pct", math.nan)))
        (v_rev, j_rev, _), (v_fwd, j_fwd, _) = (
            jv_curve(read_measurement(self.state.folder / pair[d]["file"]))
            for d in ("reverse", "forward"))
        hi08 = float(hysteresis_index_08voc(v_rev, j_rev, v_fwd, j_fwd))
        for result in (rev, fwd):
            result["metrics"]["hysteresis_index"] = hi
            result["metrics"]["hysteresis_index_08voc"] = hi08

    def _plot_jv(self, step: int) -> None:
        from labctl.plots import plot_jv
        from labctl.storage import jv_curve, read_measurement

        assert self.state is not None
        results = self._ok_results_of_step(step)
        if not results or results[0]["procedure"] not in ("jv", "jv_steady"):
            return
        curves = []
        metrics: dict[str, dict[str, float]] = {}
        for result in results:
            voltage_v, j_ma_cm2, _ = jv_curve(read_measurement(self.state.folder /
                                                               result["file"]))
            label = result["direction"] or result["procedure"]
            curves.append((label, voltage_v, j_ma_cm2))
            metrics[label] = dict(result["metrics"])
        stem = Path(results[0]["file"]).stem
        figure_path = self.state.folder / (stem.rsplit("_", 1)[0] if results[0]["direction"]
                                           else stem)
        plot_jv(curves, figure_path.with_suffix(".png"),
                title=f"{self.sequence.sample.id} step {step} ({results[0]['procedure']})",
                metrics=metrics)


def analyze_measurement(measurement: PlannedMeasurement, path: Path, procedure: Any,
                        station: StationConfig) -> tuple[dict[str, Any], list[str]]:
    """Metrics of a finished measurement file (DESIGN.md names, units in the names)."""
    from labctl.analysis.jv import jv_metrics
    from labctl.storage import jv_curve, mean_irradiance_mw_cm2, read_measurement

    data = read_measurement(path)
    voltage_v, j_ma_cm2, warnings = jv_curve(data)
    lit = bool(measurement.parameters.get("light", True))
    irradiance_mw_cm2 = float(measurement.parameters.get("irradiance_mw_cm2") or 100.0)
    measured_mw_cm2 = mean_irradiance_mw_cm2(data)
    if station.irradiance_sensor() and measured_mw_cm2 is not None:
        irradiance_mw_cm2 = measured_mw_cm2
    metrics, more = jv_metrics(voltage_v, j_ma_cm2, irradiance_mw_cm2=irradiance_mw_cm2)
    metrics = dict(metrics)
    metrics["irradiance_mw_cm2"] = irradiance_mw_cm2 if lit else math.nan
    if not lit:
        metrics["pce_pct"] = math.nan
    rate = getattr(procedure, "achieved_scan_rate_v_s", None)
    if rate is not None and math.isfinite(float(rate)):
        metrics["scan_rate_v_s"] = float(rate)
    return metrics, warnings + list(more)


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


def one_line_error(exc: BaseException) -> str:
    """``"ExceptionType: message"`` on one line (a RunFailed carries its own text)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, RunFailed) else text
