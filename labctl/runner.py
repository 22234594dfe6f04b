"""Run a sequence headless: the engine behind ``labctl run``.

The procedures say *what* to measure; the runner decides *how*, as Bluesky's RunEngine does
for its plans: it validates both files before any instrument is touched, plans every step
through its plug-in (:mod:`labctl.planning`), opens the station, runs each measurement's
pymeasure Procedure in a worker thread in pymeasure's Worker order (startup, execute,
shutdown in a ``finally``), and publishes documents -- run start, measurement start, each
row, measurement end, the measurement's result, run end -- to its subscribers
(:mod:`labctl.events`): the CSV writer, the progress bar, figures, the catalog and the
summary (:mod:`labctl.subscribers`). Nothing is held only in memory.

Whatever ends the run (success, an error, a lost instrument, Ctrl-C, SIGTERM) every instrument
of the station is made safe (SMU outputs off first, shutter closed) before control returns;
the exit status is recorded in the summary (``ok``, ``failed`` or ``aborted``). A caller that
holds an open station (the GUI's session) hands it over with ``Runner(..., station=opened)``:
the run uses it and makes it safe at its end as above, but leaves it open for the caller.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labctl import __version__, clock
from labctl.errors import error_line
from labctl.events import EventStream
from labctl.opened_station import OpenStation, open_station
from labctl.planning import plan, plan_step
from labctl.progress import Progress
from labctl.registry.parameters import automatic_parameters
from labctl.registry.procedures import (
    AnalysisContext,
    PlannedMeasurement,
    StepResult,
    procedure_plugin,
)
from labctl.sequence import Sequence, check_against_station, limits_problem, load_sequence
from labctl.station import StationConfig, load_station
from labctl.steps import StepReference
from labctl.subscribers import (
    CatalogSubscriber,
    CsvSubscriber,
    FigureSubscriber,
    SummarySubscriber,
)
from labctl.yamlio import InputError

log = logging.getLogger(__name__)

__all__ = ["RunAborted", "RunFailed", "RunState", "Runner", "build_procedure"]

#: Rows between two saves of the simulated bench's state during a measurement (so a run
#: killed mid-measurement resumes with the simulated cell's age and ions).
BENCH_SAVE_ROWS = 50


class RunFailed(RuntimeError):
    """A measurement failed; the instruments were made safe and the data kept."""

    labctl_message = True


class RunAborted(RuntimeError):
    """The run was stopped (Ctrl-C, SIGTERM); the instruments were made safe."""


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
    #: Warnings of the run that belong to no measurement (a subscriber failing at its end).
    warnings: list[str] = field(default_factory=list)


def build_procedure(measurement: PlannedMeasurement) -> Any:
    """A procedure instance with the measurement's parameters (unknown names are ignored)."""
    cls = procedure_plugin(measurement.procedure).load_procedure_class()
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

    def __init__(self, procedure: Any, on_started: Callable[[], None],
                 on_row: Callable[[Any], None], stop_event: threading.Event,
                 on_progress: Callable[[float], None],
                 barrier: threading.Barrier | None = None) -> None:
        super().__init__(name=f"labctl-{type(procedure).__name__}", daemon=True)
        self.procedure = procedure
        self.on_started = on_started
        self.on_row = on_row
        self.started_measurement = False
        self.stop_event = stop_event
        self.on_progress = on_progress
        self.error: BaseException | None = None
        #: Parallel channels: each thread registers with the clock, then they all meet here
        #: before any of them sleeps (labctl.clock.VirtualClock.channel).
        self.barrier = barrier
        procedure.emit = self.emit
        procedure.should_stop = self.stop_event.is_set

    def emit(self, topic: str, record: Any) -> None:
        if topic == "results":
            if not self.started_measurement:
                raise RuntimeError("a procedure emitted results before its startup finished")
            self.on_row(record)
        elif topic == "progress":
            self.on_progress(float(record))
        elif topic == "batch results":
            raise ValueError("labctl's writer takes rows one at a time (emit 'results')")

    def run(self) -> None:
        if self.barrier is None:
            self._run()
            return
        with clock.active().channel():
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError as exc:
                self.error = exc
                return
            self._run()

    def _run(self) -> None:
        procedure = self.procedure
        try:
            procedure.status = procedure.RUNNING
            try:
                procedure.startup()
                # The measurement starts (its CSV header: parameters and metadata) after
                # startup(), when the procedure has filled its metadata, as pymeasure's Worker
                # does.
                self.on_started()
                self.started_measurement = True
                if not self.stop_event.is_set():
                    procedure.execute()
            finally:
                procedure.shutdown()
            procedure.status = procedure.ABORTED if self.stop_event.is_set() else \
                procedure.FINISHED
        except BaseException as exc:  # recorded and re-raised in the main thread
            procedure.status = procedure.FAILED
            self.error = exc



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
                  "(output off, shutter closed)", file=sys.stderr)
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
                 show_progress: bool = True, stop_event: threading.Event | None = None,
                 log_traffic: bool = False, station: OpenStation | None = None) -> None:
        self.sequence: Sequence = load_sequence(sequence_path)
        self.station: StationConfig = load_station(station_path)
        self.simulated = simulated or self.station.simulated
        self.log_traffic = log_traffic or self.station.log_traffic
        check_against_station(self.sequence, self.station, simulated=self.simulated)
        self.measurements = plan(self.sequence, self.station)
        self.resume_dir = Path(resume_dir) if resume_dir else None
        # The catalog lives in the folder that holds the run folders: a resumed run keeps
        # adding to the catalog it started in.
        self.out_dir = self.resume_dir.parent if self.resume_dir else Path(out_dir)
        self.show_progress = show_progress
        self.stop_event = stop_event or threading.Event()
        self.state: RunState | None = None
        self.events = EventStream()
        self.progress: Progress | None = None
        self._identities: dict[str, str] = {}
        self._run_start_clock_s = 0.0
        self._lock: Any = None
        #: One document at a time: parallel channels publish from their own threads.
        self._publish_lock = threading.RLock()
        self._rows_since_save = 0
        #: An already-open station handed over by the caller (the GUI's session): the run
        #: uses it and makes it safe at its end, but leaves it open (the caller closes it).
        self.open_station: OpenStation | None = station

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
        self._lock_folder(self.resume_dir)
        try:
            previous = json.loads(summary_path.read_text(encoding="utf-8"))
            run_id = str(previous["run_id"])
            sample_id = previous.get("sample", {}).get("id")
            results = [r for r in previous.get("results", []) if r.get("status", "ok") == "ok"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"cannot resume: unreadable summary.json ({error_line(exc)})",
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

    def _lock_folder(self, folder: Path) -> None:
        """Hold the folder's lock while this process writes it (InputError: someone does)."""
        from labctl.storage import FolderLocked, RunLock

        lock = RunLock(folder)
        try:
            lock.acquire()
        except FolderLocked as exc:
            raise InputError(f"cannot resume: {exc}", file=str(folder)) from None
        except OSError as exc:
            raise InputError(f"cannot lock {lock.path}: {error_line(exc)}",
                             file=str(folder)) from None
        self._lock = lock

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
            raise InputError(f"cannot create the run folder: {error_line(exc)}",
                             file=str(self.out_dir)) from None
        self._lock_folder(folder)
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
        if state.warnings:
            summary["warnings"] = list(state.warnings)
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

    def _subscribe(self) -> None:
        """The subscribers, in the order they hear each document (the summary last)."""
        assert self.state is not None and self.progress is not None
        self.events.subscribe(CsvSubscriber(), critical=True)
        self.events.subscribe(self.progress)
        self.events.subscribe(FigureSubscriber(self.state.folder, self.sequence.sample.id))
        state = self.state
        self.events.subscribe(CatalogSubscriber(
            self.out_dir / "catalog.sqlite",
            {"run_id": state.run_id, "sample_id": self.sequence.sample.id,
             "folder": state.folder, "started": state.started or datetime.now(UTC)},
            lambda: state.results))
        self.events.subscribe(SummarySubscriber(self._write_summary))

    # --- running -------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every measurement; return the summary (also written to summary.json).

        Bad input -- a resume folder of another run, a station that cannot be opened, a run
        folder that cannot be created -- raises :class:`InputError` before anything is
        measured. Every other ending is recorded in the summary (``ok``, ``failed``,
        ``aborted``), after every instrument of the station was made safe.
        """
        try:
            previous = self._previous_summary()
            if previous is not None and self.simulated:
                self._restore_bench()
        except BaseException:
            self._release_lock()   # bad input: the folder is not ours to keep locked
            raise
        self.progress = Progress(len(self.measurements), enabled=self.show_progress)
        try:
            with _signals_stop(self.stop_event):
                try:
                    station = self._station_for_run()
                except BaseException:
                    self._release_lock()
                    raise
                try:
                    self._run_start_clock_s = clock.now_s()
                    self.state = self._start_state(previous)
                    if self.log_traffic:
                        from labctl.traffic import TRAFFIC_LOG_NAME, install_traffic_log

                        install_traffic_log(station, self.state.folder / TRAFFIC_LOG_NAME,
                                            append=previous is not None)
                    self._subscribe()
                    self.events.subscribe(station.watcher, name="instrument guard")
                    self._run_all(station)
                finally:
                    try:
                        failures = station.make_safe()   # SMU outputs off first, shutter closed
                        if failures and self.state is not None:
                            self._fail("failed", "could not make safe: " + "; ".join(failures))
                        self._save_bench(station)
                    finally:
                        if self.state is not None:
                            self._tick()
                        if station is not self.open_station:
                            station.close()
        finally:
            self.progress.close()
            try:
                if self.state is not None:
                    self._end_run()
            finally:
                self._release_lock()
        if self.state is not None:
            self._after_run()
        return self.summary()

    def _station_for_run(self) -> OpenStation:
        """The station handed over to the runner, else the station opened for this run."""
        if self.open_station is not None:
            return self.open_station
        return open_station(self.station, simulated=self.simulated)

    # --- the simulated bench across processes -----------------------------------------------
    def _restore_bench(self) -> None:
        """Before anything is opened: put the simulated bench back as the interrupted run left
        it (a lamp that was lit stays lit and warm, the cell keeps its age and ions), from the
        run folder's state file. A bench this process already ran past that moment is kept
        as it is; a state file of another station is bad input."""
        from labctl.sim.bench import (
            STATE_FILE_NAME,
            BenchStateError,
            bench_for,
            read_state_file,
            station_spec,
        )

        assert self.resume_dir is not None
        path = self.resume_dir / STATE_FILE_NAME
        if not path.is_file():
            return  # a run started before the bench kept its state: the bench starts anew
        try:
            state = read_state_file(path)
            bench = bench_for(station_spec(self.station))
            bench.check_state(state)
            if bench.clock.now_s() <= float(state.get("clock_s", 0.0)):
                bench.restore_state(state)
        except BenchStateError as exc:
            raise InputError(f"cannot resume with this simulated bench state: {exc} (remove "
                             "the file to start the simulated bench anew)",
                             file=str(path)) from None

    def _save_bench(self, station: Any) -> None:
        """Write the simulated bench's state into the run folder (a real bench has none);
        a failure is a warning of the run, never its end."""
        from labctl.sim.bench import STATE_FILE_NAME, write_state_file

        bench = getattr(station, "bench", None)
        if not self.simulated or bench is None or self.state is None:
            return
        path = self.state.folder / STATE_FILE_NAME
        try:
            write_state_file(path, bench.save_state())
        except OSError as exc:
            warning = f"cannot write {path.name}: {error_line(exc)}"
            if warning not in self.state.warnings:
                self.state.warnings.append(warning)
            log.warning("%s", warning)

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _after_run(self) -> None:
        """The station's ``notify_command`` (a run that did not end ok) and its idle lamp-off
        (not after a user's stop): :mod:`labctl.notify`, :mod:`labctl.idle`."""
        from labctl.idle import lamp_off_after_idle
        from labctl.notify import notify_run_end

        assert self.state is not None
        notify_run_end(self.station.notify_command, self.state.folder / "summary.json",
                       self.summary())
        if self.state.status == "aborted" or self.station.lamp_off_after_idle_min is None:
            return
        progress = Progress(1, enabled=self.show_progress)
        progress.measurement(0, "run ended")
        try:
            said = lamp_off_after_idle(self.station, self.simulated, self.stop_event.is_set)
        finally:
            progress.close()
        if said:
            print(f"labctl: {said}", file=sys.stderr)

    def _end_run(self) -> None:
        assert self.state is not None
        try:
            self.events.publish("run_end", status=self.state.status, error=self.state.error)
            # failures after the last result (a subscriber on run_end) go in the summary
            self.state.warnings.extend(self.events.take_failures())
            self._write_summary()
        except Exception as exc:  # the summary returned still says what happened
            full = " (the disk is full)" if disk_full(exc) else ""
            print(f"labctl: cannot write {self.state.folder / 'summary.json'}{full}: "
                  f"{error_line(exc)}; it may still say \"running\"", file=sys.stderr)
            self._fail("failed", f"cannot write summary.json{full}: {error_line(exc)}")

    def _run_all(self, station: Any) -> None:
        """The measurements not yet done; the run's status and error in ``self.state``."""
        assert self.state is not None
        done = {(r["step"], r.get("direction"), r.get("channel"))
                for r in self.state.results}
        try:
            self.events.publish("run_start", run_id=self.state.run_id, folder=self.state.folder,
                                sample=self.state.sample, measurements=self.measurements)
            self._identities = station.identities()
            for index, group in _channel_groups(self.measurements):
                group = [m for m in group
                         if (m.step, m.direction, m.channel) not in done]
                if self.stop_event.is_set():
                    raise RunAborted("stopped by the user")
                group = [m for m in group if not self._record_from_disk(m)]
                if len(group) > 1:
                    self._run_parallel(station, index, [self._resolve(m) for m in group])
                elif group:
                    self._run_one(station, index, self._resolve(group[0]))
                if self.stop_event.is_set():
                    raise RunAborted("stopped by the user")
            self.state.status = "ok"
            self._check_metrics()
        except (RunAborted, KeyboardInterrupt) as exc:
            self._fail("aborted", str(exc) or "interrupted")
        except Exception as exc:
            self._fail("failed", error_line(exc))
            log.info("run failed: %s", exc)  # the summary and the CLI report it

    def _check_metrics(self) -> None:
        """A measurement with no valid metric fails the run unless its step allows it."""
        assert self.state is not None
        missing = [r for r in self.state.results if r.get("status") == "ok"
                   and r.get("no_valid_metrics")
                   and not self.sequence.steps[r["step"]].allow_no_metrics]
        if missing:
            names = ", ".join(f"step {r['step']} {r['procedure']}"
                              + (f" {r['direction']}" if r.get("direction") else "")
                              for r in missing)
            self._fail("failed", f"no valid metric (all NaN) for {names}; the data is on "
                       "disk (set allow_no_metrics: true on a step where that is expected)")

    # --- results passed between steps ------------------------------------------------------
    def _resolve(self, measurement: PlannedMeasurement) -> PlannedMeasurement:
        """The measurement with every field its step takes from an earlier step resolved
        (docs/architecture.md, "Results passed between steps"); ``references`` in its
        parameters say what was used."""
        step = self.sequence.steps[measurement.step]
        references = step.references()
        if not references:
            return measurement
        values = {name: self._referenced_value(measurement.step, name, ref)
                  for name, ref in references.items()}
        taken = ", ".join(f"{k} = {v:.6g} from the {references[k].describe()}"
                          for k, v in values.items())
        try:
            resolved = step.resolved(values)
        except ValueError as exc:
            raise RunFailed(f"step {measurement.step}: {taken} is not a valid value: "
                            f"{error_line(exc, with_type=False, limit=200)}") from None
        problem = limits_problem(resolved, self.station, self.sequence.sample)
        if problem is not None:
            raise RunFailed(f"step {measurement.step}: with {taken}: {problem[0]}")
        for planned in plan_step(self.sequence, self.station, measurement.step, resolved):
            if planned.filename == measurement.filename:
                planned.parameters["references"] = {
                    name: f"{ref.describe()} = {values[name]:.6g}"
                    for name, ref in references.items()}
                return planned
        raise RunFailed(f"step {measurement.step}: no measurement {measurement.filename} "
                        "once its references were resolved")

    def _referenced_value(self, step: int, name: str, ref: StepReference) -> float:
        assert self.state is not None
        source = self.sequence.steps[ref.from_step]
        direction = ref.direction or next(iter(getattr(source, "directions", [])), None)
        for record in self.state.results:
            if (record["step"] == ref.from_step and record.get("status") == "ok"
                    and (direction is None or record.get("direction") == direction)):
                value = record.get("metrics", {}).get(ref.metric)
                if value is not None and math.isfinite(float(value)):
                    return float(value)
        raise RunFailed(f"step {step}: {name} cannot be taken from the {ref.describe()}: "
                        "that measurement has no valid value of it")

    # --- one measurement -------------------------------------------------------------------
    def _record_from_disk(self, measurement: PlannedMeasurement) -> bool:
        """Record a measurement whose file is complete (it ends with the end marker: the
        process died after it, before the summary recorded it) without measuring it again;
        False when it has to be measured."""
        from labctl.storage import is_complete

        assert self.state is not None
        path = self.state.folder / measurement.filename
        if self.resume_dir is None or not is_complete(path):
            return False
        started = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        self._record(self._resolve(measurement), path, None, started, status="ok")
        log.info("%s is complete on disk: recorded, not measured again", path.name)
        return True

    def _run_one(self, station: Any, index: int, measurement: PlannedMeasurement) -> None:
        thread, procedure, path, started = self._start_one(station, index, measurement)
        while thread.is_alive():
            thread.join(timeout=0.2)
        self._end_one(station, thread, measurement, path, started)

    def _start_one(self, station: Any, index: int, measurement: PlannedMeasurement,
                   barrier: threading.Barrier | None = None,
                   light_share: Any = None) -> tuple[ProcedureThread, Any, Path, datetime]:
        """Build the measurement's procedure and start its thread (a channel of the virtual
        clock, meeting the others at ``barrier``, on parallel channels)."""
        assert self.state is not None and self.progress is not None
        path = self.state.folder / measurement.filename
        procedure = build_procedure(measurement)
        resume = self._resume_within(procedure, path)
        if resume is None and path.exists():  # a partial file: keep it, measure anew
            path.rename(_free_name(path.with_suffix(".partial.csv")))
        procedure.roles = station.roles(measurement.parameters.get("smu_name"))
        self._hand_over(station, procedure, measurement, path, resume, light_share)
        started = datetime.now(UTC)
        # Time (s) counts from the start of the run (and continues across a resume).
        procedure.time_offset_s = self._tick()
        label = measurement.procedure + (
            f" {measurement.direction}" if measurement.direction else "") + (
            f" {measurement.channel}" if measurement.channel and barrier else "")

        def on_started() -> None:
            with self._publish_lock:
                self.events.publish(
                    "measurement_start", index=index, label=label, measurement=measurement,
                    path=path, procedure=procedure, columns=list(procedure.DATA_COLUMNS),
                    metadata=self._metadata(measurement, procedure),
                    resume=resume is not None)

        thread = ProcedureThread(
            procedure, on_started, lambda row: self._on_row(station, measurement, row),
            self.stop_event, self.progress.percent, barrier=barrier)
        thread.start()
        return thread, procedure, path, started

    def _on_row(self, station: Any, measurement: PlannedMeasurement, row: Any) -> None:
        with self._publish_lock:
            self.events.publish("row", measurement=measurement, row=row)
            self._rows_since_save += 1
            if self._rows_since_save >= BENCH_SAVE_ROWS:
                self._rows_since_save = 0
                self._save_bench(station)  # a killed run resumes with the cell's age

    def _run_parallel(self, station: Any, index: int,
                      group: list[PlannedMeasurement]) -> None:
        """The measurements of one step on several SMUs, each in its own thread on one
        timeline (the virtual clock's channels); the light path is shared and closes when the
        last channel ends; a channel that fails ends alone, the others go on (RunFailed after
        all have ended, naming the failed ones)."""
        for instrument in station.instruments.values():
            if hasattr(instrument, "lock"):  # waiting for a shared instrument never stalls
                instrument.lock = clock.ChannelLock()
        barrier = threading.Barrier(len(group))
        share = LightShare(len(group))
        started = [self._start_one(station, index + k, m, barrier, share)
                   for k, m in enumerate(group)]
        for thread, _procedure, _path, _at in started:
            while thread.is_alive():
                thread.join(timeout=0.2)
        failures: list[str] = []
        for (thread, _procedure, path, at), measurement in zip(started, group, strict=True):
            try:
                self._end_one(station, thread, measurement, path, at)
            except RunFailed as exc:
                failures.append(str(exc))
        if failures:
            raise RunFailed("; ".join(failures))

    def _end_one(self, station: Any, thread: ProcedureThread, measurement: PlannedMeasurement,
                 path: Path, started: datetime) -> None:
        """Close the measurement's file and record it (RunFailed when it failed)."""
        procedure = thread.procedure
        self._tick()
        if thread.started_measurement:
            status = ("failed" if thread.error is not None
                      else "aborted" if self.stop_event.is_set() else "ok")
            try:
                with self._publish_lock:
                    self.events.publish("measurement_end", measurement=measurement,
                                        status=status, error=None if thread.error is None
                                        else error_line(thread.error))
            except Exception as exc:  # the CSV writer could not close its file
                thread.error = thread.error or exc
        with self._publish_lock:
            self._save_bench(station)
        if thread.error is not None:
            error = _failure_line(thread.error, path)
            self._record(measurement, path, procedure, started, status="failed", error=error)
            where = f", {measurement.direction}" if measurement.direction else ""
            where += f", {measurement.channel}" if measurement.channel else ""
            raise RunFailed(f"{measurement.procedure} (step {measurement.step}{where}) "
                            f"failed: {error}") from thread.error
        status = "aborted" if self.stop_event.is_set() else "ok"
        self._record(measurement, path, procedure, started, status=status)

    # --- what a procedure may be given besides its roles -------------------------------------
    def _resume_within(self, procedure: Any, path: Path) -> dict[str, Any] | None:
        """For a procedure that can continue within a measurement (``resumable_within``),
        a partial file of the run being resumed: its last complete row and the procedure's
        state file; None when the measurement starts anew."""
        from labctl.storage import read_last_row

        if (self.resume_dir is None or not getattr(procedure, "resumable_within", False)
                or not path.is_file()):
            return None
        try:
            last_row = read_last_row(path)
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if last_row is None:
            return None
        state: dict[str, Any] = {}
        state_path = _state_path(path)
        if state_path.is_file():
            try:
                state = json.loads(state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                state = {}
        return {"last_row": last_row, "state": state}

    def _hand_over(self, station: Any, procedure: Any, measurement: PlannedMeasurement,
                   path: Path, resume: dict[str, Any] | None, light_share: Any) -> None:
        """Give a procedure what it declares it takes (attributes of its class): the run's
        results so far, the state file and resume point, a writer for its side files, the
        simulated truth, and the light path shared with parallel channels."""
        cls = type(procedure)
        if hasattr(cls, "earlier_results"):
            procedure.earlier_results = [dict(r) for r in self.state.results] \
                if self.state else []
        if hasattr(cls, "state_path"):
            procedure.state_path = _state_path(path)
        if hasattr(cls, "resume_from"):
            procedure.resume_from = resume
        if hasattr(cls, "light_share"):
            procedure.light_share = light_share
        if hasattr(cls, "open_side_file"):
            procedure.open_side_file = self._side_file_opener(procedure, measurement, path)
        bench = getattr(station, "bench", None)
        truth = getattr(bench, "true_mpp_mw_cm2", None)
        if hasattr(cls, "true_mpp_mw_cm2") and self.simulated and truth is not None:
            smu_name = procedure.roles.smu_name
            procedure.true_mpp_mw_cm2 = lambda: truth(smu_name)

    def _side_file_opener(self, procedure: Any, measurement: PlannedMeasurement,
                          path: Path) -> Callable[[str, list[str]], Any]:
        """``open(suffix, columns)``: a CSV writer for ``<measurement>_<suffix>.csv`` (the
        periodic J-Vs of a long run, their series), continued when it exists on a resume."""
        from labctl.storage import CsvWriter, is_complete

        def open_side_file(suffix: str, columns: list[str]) -> Any:
            side = path.with_name(f"{path.stem}_{suffix}.csv")
            if side.exists() and (self.resume_dir is None or is_complete(side)
                                  or suffix != "jv_series"):
                side.rename(_free_name(side.with_suffix(".partial.csv")))
            metadata = {**self._metadata(measurement, procedure), "Part of": path.name}
            return CsvWriter(side, procedure, columns, metadata=metadata, resume=True)

        return open_side_file

    def _metadata(self, measurement: PlannedMeasurement, procedure: Any) -> dict[str, Any]:
        """The CSV header's run metadata (beside the procedure's own), with the parameters
        whose value stands for "automatic" (``Compliance current: 0 A`` is the derived
        compliance, not zero)."""
        assert self.state is not None
        metadata: dict[str, Any] = {
            "Run id": self.state.run_id, "Step": measurement.step,
            "Station": self.station.station, "Simulated": self.simulated,
            "labctl version": __version__}
        for name, used in measurement.parameters.get("references", {}).items():
            metadata[f"Reference {name}"] = used
        for name, identity in self._identities.items():
            metadata[f"Instrument {name}"] = identity
        header = getattr(procedure, "header_metadata", None)
        if callable(header):
            metadata.update(header())
        if measurement.channel is not None:
            metadata["Channel"] = measurement.channel
        automatic = automatic_parameters(procedure)
        if automatic:
            metadata["Automatic"] = ", ".join(automatic)
        return metadata

    # --- analysis and the result document --------------------------------------------------
    def _record(self, measurement: PlannedMeasurement, path: Path, procedure: Any,
                started: datetime, *, status: str, error: str | None = None) -> None:
        """Analyse the measurement and publish its result (summary, figure, catalog row);
        ``procedure`` None for a measurement recorded from its complete file on resume.
        Analysis and subscriber failures become warnings: they never lose the data or end
        the run."""
        assert self.state is not None
        details = {attribute: _plain(getattr(procedure, attribute, None))
                   for attribute in getattr(procedure, "RESULT_ATTRIBUTES", {})}
        metrics, warnings = self._analyze(measurement, path, details)
        record: dict[str, Any] = {
            "step": measurement.step, "procedure": measurement.procedure,
            "direction": measurement.direction, "file": path.name, "status": status,
            "metrics": metrics, "warnings": warnings,
            "started": started.isoformat(timespec="milliseconds")}
        if procedure is None:
            warnings.append("recorded from its complete file on resume (not measured again)")
        plugin = procedure_plugin(measurement.procedure)
        headline = {k: v for k, v in metrics.items() if k in plugin.headline_metrics}
        if plugin.analyze is not None and not _any_valid(headline or metrics):
            record["no_valid_metrics"] = True
        if measurement.channel is not None:
            record["channel"] = measurement.channel
        if error:
            record["error"] = error
        labels = getattr(procedure, "RESULT_ATTRIBUTES", {})
        if labels:
            record["details"] = {labels[k]: v for k, v in details.items()}
        self.state.results.append(record)
        step_results = self._step_results(measurement.step)
        if plugin.finish_step is not None and status == "ok":
            try:
                plugin.finish_step([r for r in step_results if r.record["status"] == "ok"])
            except Exception as exc:
                log.warning("step %d: finishing %s failed: %s", measurement.step,
                            plugin.name, exc)
                warnings.append(f"step metrics failed: {error_line(exc)}")
        warnings.extend(self.events.take_failures())  # of the rows, before this result
        self.events.publish("result", record=record, step_results=step_results, path=path,
                            started=started)
        failures = self.events.take_failures()
        if failures:
            warnings.extend(failures)
            self._write_summary()

    def _analyze(self, measurement: PlannedMeasurement, path: Path,
                 details: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        from labctl.storage import read_measurement

        plugin = procedure_plugin(measurement.procedure)
        if plugin.analyze is None:
            return {}, []
        try:
            context = AnalysisContext(parameters=measurement.parameters, details=details)
            # a plug-in whose analysis reads long files its own way (in constant memory:
            # procedures/mpp.py) says so with a ``read(path)`` attribute on ``analyze``
            reader = getattr(plugin.analyze, "read", None)
            data = reader(path) if callable(reader) else read_measurement(path)
            metrics, warnings = plugin.analyze(data, context)
            return dict(metrics), [*data.warnings, *warnings]
        except Exception as exc:
            return {}, [f"analysis failed: {error_line(exc)}"]

    def _step_results(self, step: int) -> list[StepResult]:
        assert self.state is not None
        return [StepResult(r, self.state.folder / r["file"]) for r in self.state.results
                if r["step"] == step]


class LightShare:
    """The light path shared by parallel channels: :meth:`release` is True for the last
    channel to end (the one that closes the shutter)."""

    def __init__(self, users: int) -> None:
        self._users = users
        self._lock = threading.Lock()
        self._origin_clock_s: float | None = None

    def cycle_origin_clock_s(self, proposed_s: float) -> float:
        """The light cycle's origin on the labctl clock, one for all channels: the first
        channel's proposal (so they switch the shared shutter at the same instants)."""
        with self._lock:
            if self._origin_clock_s is None:
                self._origin_clock_s = float(proposed_s)
            return self._origin_clock_s

    def release(self) -> bool:
        with self._lock:
            self._users -= 1
            return self._users <= 0


def _channel_groups(measurements: list[PlannedMeasurement]
                    ) -> list[tuple[int, list[PlannedMeasurement]]]:
    """``(index of the first, measurements)``: consecutive measurements of one step on
    different channels form one group (run in parallel); every other is alone."""
    groups: list[tuple[int, list[PlannedMeasurement]]] = []
    for index, measurement in enumerate(measurements):
        if groups:
            first = groups[-1][1][0]
            channels = {m.channel for m in groups[-1][1]}
            if (first.step == measurement.step and measurement.channel is not None
                    and first.channel is not None and measurement.channel not in channels
                    and first.direction == measurement.direction):
                groups[-1][1].append(measurement)
                continue
        groups.append((index, [measurement]))
    return groups


def _any_valid(metrics: dict[str, Any]) -> bool:
    """True when at least one metric (of the plug-in's headline metrics, where it has them:
    the irradiance alone is no result) is a finite number."""
    for value in metrics.values():
        try:
            if math.isfinite(float(value)):
                return True
        except (TypeError, ValueError):
            continue
    return False


def disk_full(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) says the disk is full."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC,
                                                       getattr(errno, "EDQUOT", errno.ENOSPC)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _failure_line(exc: BaseException, path: Path) -> str:
    """One line for a failed measurement; a full disk is named as such."""
    if disk_full(exc):
        return (f"the disk is full: cannot write {path.name} ({error_line(exc)}); the rows "
                "written before are on disk; free some space and resume the run (--resume)")
    return error_line(exc)


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a procedure attribute (numpy scalars to Python)."""
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _state_path(path: Path) -> Path:
    """The state file a resumable procedure keeps beside its CSV (``s00_mpp.state.json``)."""
    return path.with_name(f"{path.stem}.state.json")


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
