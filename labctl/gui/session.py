"""The GUI's session: one opened station shared by every queued run, a worker thread that
runs the queue through labctl's runner, and the runner's documents handed to the window.

No Qt here: the window polls :meth:`Session.take_events` from a timer, so the procedure's
thread never touches a widget and a flood of rows (a 1000-hour MPP run) is drained in batches.

Each queued run is a sequence file run by :class:`labctl.runner.Runner` exactly as ``labctl
run`` runs it -- the same run folder, append-only CSV, ``summary.json`` and catalog, the same
safety: the runner makes the station safe whatever ends the run. Aborting sets the runner's
stop event; a resumed folder is run as ``labctl run --resume`` runs it.

The session's opened station is handed to each queued run (``Runner(..., station=...)``): the
runner uses it, makes it safe at the run's end and leaves it open; the session closes it when
the window closes. The runner is labctl's only engine: nothing of it is copied here.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labctl.errors import error_line
from labctl.events import Document
from labctl.opened_station import OpenStation, open_station
from labctl.station import StationConfig, load_station

log = logging.getLogger(__name__)

__all__ = ["GuiEvent", "Job", "Session", "instrument_state"]

#: Job states, as the queue shows them.
QUEUED, RUNNING, CANCELLED, BAD_INPUT = "queued", "running", "cancelled", "bad input"


@dataclass
class Job:
    """One queued run: a sequence file (or a folder to resume) and how it stands."""

    id: int
    label: str
    sequence: Path
    resume_dir: Path | None = None
    state: str = QUEUED
    error: str | None = None
    folder: Path | None = None
    summary: dict[str, Any] | None = None
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class GuiEvent:
    """What the window hears: a runner document of a job (kind as in labctl.events), or the
    session's own ``job_state`` / ``safe`` reports."""

    job: int | None
    kind: str
    content: dict[str, Any]


class Session:
    """The station opened once, a queue of runs and the worker thread running it."""

    def __init__(self, station_path: Path, *, simulated: bool = False,
                 out_dir: Path = Path("results")) -> None:
        self.station_path = Path(station_path)
        self.config: StationConfig = load_station(self.station_path)
        self.simulated = simulated or self.config.simulated
        self.out_dir = Path(out_dir)
        self.station: OpenStation | None = None
        self.identities: dict[str, str] = {}
        self.jobs: list[Job] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._safe_requested = False
        self._state_requested = False
        self._events: queue.SimpleQueue[GuiEvent] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._worker: threading.Thread | None = None
        #: The job being run (None while idle).
        self.current: Job | None = None

    # --- life cycle --------------------------------------------------------------------------
    def open(self) -> None:
        """Open the station (InputError naming what cannot be opened) and start the worker."""
        self.station = open_station(self.config, simulated=self.simulated)
        self.identities = self.station.identities()
        self._worker = threading.Thread(target=self._work, name="labctl-gui-worker",
                                        daemon=True)
        self._worker.start()

    def close(self, timeout_s: float = 60.0) -> list[str]:
        """Abort the queue, let a running run end safely, make the bench safe and close the
        station; return what could not be made safe."""
        self._closing = True
        self.abort_all()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout_s)
        failures: list[str] = []
        if self.station is not None:
            try:
                failures = self.station.make_safe()
            finally:
                self.station.close()
                self.station = None
        return failures

    # --- the queue ---------------------------------------------------------------------------
    def submit(self, sequence: Path, label: str, resume_dir: Path | None = None) -> Job:
        """Queue a sequence file (or the resumption of a run folder)."""
        job = Job(next(self._ids), label, Path(sequence),
                  Path(resume_dir) if resume_dir else None)
        with self._lock:
            self.jobs.append(job)
        self._emit(job, "job_state", state=job.state)
        self._wake.set()
        return job

    def abort(self, job: Job) -> None:
        """Stop a running job (the runner leaves the bench safe) or drop a queued one."""
        with self._lock:
            if job.state == QUEUED:
                job.state = CANCELLED
            job.stop.set()
        self._emit(job, "job_state", state=job.state)

    def abort_all(self) -> None:
        for job in list(self.jobs):
            if job.state in (QUEUED, RUNNING):
                self.abort(job)

    def request_safe(self) -> None:
        """What ``labctl off`` does, from the window: stop everything, then make every
        instrument safe (reported as a ``safe`` event, one line per instrument)."""
        self.abort_all()
        self._safe_requested = True
        self._wake.set()

    def idle(self) -> bool:
        with self._lock:
            return self.current is None and not any(j.state == QUEUED for j in self.jobs)

    def take_events(self, limit: int = 200_000) -> list[GuiEvent]:
        """The events since the last call (at most ``limit``), oldest first."""
        out: list[GuiEvent] = []
        try:
            while len(out) < limit:
                out.append(self._events.get_nowait())
        except queue.Empty:
            pass
        return out

    def _emit(self, job: Job | None, kind: str, **content: Any) -> None:
        self._events.put(GuiEvent(None if job is None else job.id, kind, content))

    # --- the worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            if self._safe_requested:
                self._safe_requested = False
                self._emit(None, "safe", lines=self.make_safe_now())
                self._state_requested = True
            if self._state_requested:
                self._state_requested = False
                self._emit(None, "station_state", states=self.states_now())
            if self._closing:
                return
            job = self._next_job()
            while job is not None and not self._closing:
                self._run(job)
                job = self._next_job()
                self._state_requested = True

    def _next_job(self) -> Job | None:
        with self._lock:
            job = next((j for j in self.jobs if j.state == QUEUED), None)
            if job is not None:
                job.state = RUNNING
                self.current = job
            return job

    def _run(self, job: Job) -> None:
        from labctl.runner import Runner
        from labctl.yamlio import InputError

        self._emit(job, "job_state", state=RUNNING)
        try:
            runner = Runner(job.sequence, self.station_path, simulated=self.simulated,
                            out_dir=self.out_dir, resume_dir=job.resume_dir,
                            show_progress=False, stop_event=job.stop, station=self.station)
            runner.events.subscribe(lambda document: self._forward(job, document),
                                    name="gui")
            summary = runner.run()
            job.summary = summary
            job.folder = runner.state.folder if runner.state else None
            job.state, job.error = summary["status"], summary.get("error")
        except InputError as exc:
            job.state, job.error = BAD_INPUT, str(exc)
        except Exception as exc:  # the runner made the station safe; the queue goes on
            log.exception("queued run %s failed", job.label)
            job.state, job.error = "failed", error_line(exc)
        finally:
            with self._lock:
                self.current = None
        self._emit(job, "job_state", state=job.state, error=job.error,
                   folder=None if job.folder is None else str(job.folder),
                   summary=job.summary)

    def _forward(self, job: Job, document: Document) -> None:
        """A runner document, as the window needs it (called in the runner's threads)."""
        content = document.content
        if document.kind == "row":
            self._emit(job, "row", row=content["row"])
        elif document.kind == "measurement_start":
            measurement = content["measurement"]
            self._emit(job, "measurement_start", label=content["label"],
                       columns=list(content["columns"]), path=str(content["path"]),
                       parameters=dict(measurement.parameters), step=measurement.step,
                       direction=measurement.direction)
        elif document.kind == "run_start":
            job.folder = Path(content["folder"])
            self._emit(job, "run_start", folder=str(job.folder),
                       planned=len(content["measurements"]))
        elif document.kind == "result":  # the step's records: finish_step adds to them
            self._emit(job, "result", record=_copy(content["record"]),
                       step_records=[_copy(r.record) for r in content.get("step_results", [])])
        else:  # measurement_end, run_end
            self._emit(job, document.kind, **{k: v for k, v in content.items()
                                              if k in ("status", "error")})

    def request_state(self) -> None:
        """Read every instrument's state in the worker (a ``station_state`` event)."""
        self._state_requested = True
        self._wake.set()

    def states_now(self) -> dict[str, str]:
        """Each instrument's state, read from it (from the worker, or while idle)."""
        if self.station is None:
            return {}
        return {name: instrument_state(inst, self.station.role_of(name))
                for name, inst in self.station.instruments.items()}

    def make_safe_now(self) -> list[str]:
        """Every instrument of the opened station safe, as ``labctl off`` makes it (SMU
        outputs off first, the shutter closed, an LED off; an arc lamp stays lit): one line
        per instrument. Call it from the worker (or once the worker has ended)."""
        from labctl.safety import make_station_safe

        if self.station is None:
            return ["the station is not open"]
        return [f"{outcome.name}: {outcome.text}"
                for outcome in make_station_safe(self.station, lamp=False)]


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    """A copy the window may keep while the runner goes on adding to the record."""
    import copy

    return copy.deepcopy(record)


def instrument_state(instrument: Any, role: str) -> str:
    """What an instrument is doing, read from it (a query that fails says so)."""
    try:
        if role == "smu":
            return "output ON" if instrument.output_enabled else "output off"
        if role == "shutter":
            return "OPEN" if instrument.is_open else "closed"
        if role == "light_source":
            state = "ON" if instrument.is_on else "off"
            hours = getattr(type(instrument), "lamp_hours", None)
            return state + (f", {instrument.lamp_hours} h on the lamp" if hours is not None
                            else "")
        if role == "filter_wheel":
            return f"position {instrument.position}"
        if role == "irradiance_sensor":
            return f"calibration: {instrument.calibration_description()}"
    except Exception as exc:  # noqa: BLE001 - shown, never raised
        return f"cannot read: {exc}"
    return ""
