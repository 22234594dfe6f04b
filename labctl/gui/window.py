"""The main window: procedure picker and its inputs, the queue, the live plot with each
finished measurement's metrics and warnings beside it, the station, the catalog, sequences
and the log (pymeasure's ``LogWidget``)."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from labctl.gui.fields import field_of_error, sequence_document, write_sequence
from labctl.gui.inputs import FieldForm, unit_text
from labctl.gui.panels import CatalogPanel, SequencePanel, StationPanel, describe_sequence
from labctl.gui.plot import LivePlot
from labctl.gui.plotkinds import choose_plot
from labctl.gui.qt import GuiThreadCollector, QtCore, QtGui, QtWidgets
from labctl.gui.session import GuiEvent, Job, Session
from labctl.registry.parameters import field_units
from labctl.registry.procedures import procedure_plugins
from labctl.sequence import Sample
from labctl.yamlio import InputError

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]

#: Sample fields the run tab asks for (the others are set in a sequence file).
SAMPLE_FIELDS = ("id", "area_cm2", "operator", "atmosphere", "notes")
_STATE_COLOURS = {"ok": "#2ca02c", "failed": "#d62728", "aborted": "#ff7f0e",
                  "bad input": "#d62728", "running": "#1f77b4", "cancelled": "#7f7f7f"}


class MainWindow(QtWidgets.QMainWindow):
    """labctl's runner for the lab PC (``labctl gui``)."""

    def __init__(self, session: Session, poll_ms: int = 50) -> None:
        super().__init__()
        self.session = session
        self.setWindowTitle(f"labctl — {session.config.station}"
                            + (" (simulated)" if session.simulated else ""))
        self._files = count(1)
        self._job_rows: dict[int, int] = {}
        self._jobs: dict[int, Job] = {j.id: j for j in session.jobs}
        self._curve_of_job: dict[int, Any] = {}
        self._plot_job: int | None = None
        self.metrics_rows: list[tuple[str, str, Any]] = []
        self.safe_lines: list[str] = []
        self._build()
        self.station_panel.show_station(session.config, session.identities,
                                        session.simulated)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(poll_ms)
        #: Garbage collected in this (the GUI) thread only, never in the worker's.
        self.collector = GuiThreadCollector()
        self.resize(1400, 860)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        left = QtWidgets.QTabWidget()
        left.addTab(self._run_tab(), "Run")
        self.sequence_panel = SequencePanel(self.open_sequence, self.queue_sequence)
        left.addTab(self.sequence_panel, "Sequence")
        left.setMinimumWidth(380)
        self.plot = LivePlot()
        live = QtWidgets.QSplitter()
        live.addWidget(self.plot)
        live.addWidget(self._metrics_box())
        live.setSizes([620, 420])
        self.station_panel = StationPanel(self.session.request_state, self.make_safe)
        self.catalog_panel = CatalogPanel(lambda: self.session.out_dir / "catalog.sqlite",
                                          self.open_catalog_entry)
        self.views = QtWidgets.QTabWidget()
        self.views.addTab(live, "Live")
        self.views.addTab(self.station_panel, "Station")
        self.views.addTab(self.catalog_panel, "Catalog")
        bottom = QtWidgets.QTabWidget()
        bottom.addTab(self._queue_tab(), "Queue")
        bottom.addTab(self._log_widget(), "Log")
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.views)
        right.addWidget(bottom)
        right.setSizes([600, 240])
        main = QtWidgets.QSplitter()
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([400, 1000])
        self.setCentralWidget(main)
        self.statusBar().showMessage(f"station {self.session.config.station} open; "
                                     f"results in {self.session.out_dir}")

    def _metrics_box(self) -> QtWidgets.QWidget:
        self.metrics = QtWidgets.QTableWidget(0, 1)
        self.metrics.setHorizontalHeaderLabels(["Metric"])
        self.metrics.verticalHeader().setVisible(False)
        self.metrics.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_title = QtWidgets.QLabel("<b>Metrics</b> (of each finished measurement)")
        self.warnings = QtWidgets.QLabel("")
        self.warnings.setWordWrap(True)
        self.warnings.setStyleSheet("color: #b35900;")
        box = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.metrics_title)
        layout.addWidget(self.metrics, 1)
        layout.addWidget(self.warnings)
        self._metrics_job: Any = None
        return box

    def _run_tab(self) -> QtWidgets.QWidget:
        self.procedure = QtWidgets.QComboBox()
        self.plugins = procedure_plugins()
        for name, plugin in self.plugins.items():
            self.procedure.addItem(name if plugin.runnable else f"{name} (validates only)",
                                   name)
        self.procedure_summary = QtWidgets.QLabel("")
        self.procedure_summary.setWordWrap(True)
        self.sample_form = FieldForm(Sample, exclude=tuple(
            n for n in Sample.model_fields if n not in SAMPLE_FIELDS))
        self.step_forms: dict[str, FieldForm] = {}
        self.step_stack = QtWidgets.QStackedWidget()
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.step_stack)
        self.run_message = QtWidgets.QLabel("")
        self.run_message.setWordWrap(True)
        self.queue_button = QtWidgets.QPushButton("Queue")
        self.queue_button.setStyleSheet("font-weight: bold;")
        self.queue_button.clicked.connect(self.queue_step)
        tab = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(tab)
        layout.addWidget(QtWidgets.QLabel("<b>Procedure</b>"))
        layout.addWidget(self.procedure)
        layout.addWidget(self.procedure_summary)
        layout.addWidget(QtWidgets.QLabel("<b>Sample</b>"))
        layout.addWidget(self.sample_form)
        layout.addWidget(QtWidgets.QLabel("<b>Parameters</b> (hover for descriptions)"))
        layout.addWidget(scroll, 1)
        layout.addWidget(self.run_message)
        layout.addWidget(self.queue_button)
        self.procedure.currentIndexChanged.connect(self._show_procedure)
        self._show_procedure()
        return tab

    def _queue_tab(self) -> QtWidgets.QWidget:
        self.queue_table = QtWidgets.QTableWidget(0, 4)
        self.queue_table.setHorizontalHeaderLabels(["#", "Run", "State", "Folder / error"])
        self.queue_table.verticalHeader().setVisible(False)
        self.queue_table.horizontalHeader().setStretchLastSection(True)
        self.queue_table.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue_table.setSelectionBehavior(
            QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_table.setColumnWidth(0, 40)
        self.queue_table.setColumnWidth(1, 300)
        self.queue_table.setColumnWidth(2, 90)
        buttons = QtWidgets.QHBoxLayout()
        for text, slot in (("Abort selected", self.abort_selected),
                           ("Abort all", self.session.abort_all),
                           ("Resume a run folder…", self.choose_resume),
                           ("Make safe", self.make_safe)):
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        tab = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(tab)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.queue_table)
        layout.addLayout(buttons)
        return tab

    def _log_widget(self) -> QtWidgets.QWidget:
        from pymeasure.display.widgets.log_widget import LogWidget

        widget = LogWidget("Log")
        # pymeasure 0.16 shares one blink timer among every LogWidget (a class attribute):
        # a closed window's widget would still blink on it. Each log gets its own.
        widget._blink_qtimer.timeout.disconnect(widget._blink)
        widget._blink_qtimer = QtCore.QTimer(widget)
        widget._blink_qtimer.timeout.connect(widget._blink)
        widget.handler.setLevel(logging.INFO)
        labctl_log = logging.getLogger("labctl")
        self._log_level = labctl_log.level
        labctl_log.addHandler(widget.handler)
        if labctl_log.getEffectiveLevel() > logging.INFO:
            labctl_log.setLevel(logging.INFO)
        self._log_handler = widget.handler
        self._log_widget = widget
        return widget

    # --- the run tab -------------------------------------------------------------------------
    def _show_procedure(self) -> None:
        name = self.procedure.currentData()
        plugin = self.plugins[name]
        if name not in self.step_forms:
            form = FieldForm(plugin.step_model)
            self.step_forms[name] = form
            self.step_stack.addWidget(form)
        self.step_stack.setCurrentWidget(self.step_forms[name])
        note = "" if plugin.runnable else " — this labctl validates it but cannot run it yet"
        self.procedure_summary.setText(plugin.summary + note)
        self.queue_button.setEnabled(plugin.runnable)

    def step_form(self) -> FieldForm:
        return self.step_forms[self.procedure.currentData()]

    def _new_sequence_path(self, what: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return self.session.out_dir / ".gui" / f"{stamp}-{next(self._files):03d}-{what}.yaml"

    def queue_step(self) -> Job | None:
        """Queue the procedure with the values in the form; a bad value is shown at its field
        and nothing is queued."""
        from labctl.gui.fields import ValueProblem

        name = self.procedure.currentData()
        form = self.step_form()
        self.run_message.setText("")
        try:
            step, sample = form.values(), self.sample_form.values()
        except ValueProblem as problem:
            self.run_message.setText(f"not queued: {problem}")
            return None
        path = write_sequence(sequence_document(name, step, sample),
                              self._new_sequence_path(name))
        try:
            describe_sequence(path, self.session.config)
        except InputError as error:
            path.unlink(missing_ok=True)
            self._show_input_error(error, form)
            return None
        label = f"{sample.get('id', '?')}: {name}"
        return self.session.submit(path, label)

    def _show_input_error(self, error: InputError, form: FieldForm) -> None:
        where = field_of_error(error.field)
        target = form if where and where[0] == "step" else self.sample_form
        if where and where[1] in target.inputs:
            target.show_problem(where[1], error.reason)
        self.run_message.setText(f"not queued: {error.field or ''}: {error.reason}"
                                 if error.field else f"not queued: {error.reason}")

    # --- sequences ---------------------------------------------------------------------------
    def open_sequence(self, path: Path) -> bool:
        """Show a sequence file's runs and estimate (or its error, with file, line and
        field); its sample goes into the samples table."""
        import yaml

        self.sequence_panel.path_label.setText(str(path))
        self._sequence_document: dict[str, Any] | None = None
        try:
            sequence, lines = describe_sequence(path, self.session.config)
        except InputError as error:
            self.sequence_panel.text.setPlainText(f"error: {error}")
            self.sequence_panel.queue_button.setEnabled(False)
            return False
        self._sequence_document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        self._sequence_path = Path(path)
        self.sequence_panel.text.setPlainText("\n".join(lines))
        self.sequence_panel.samples.setRowCount(0)
        self.sequence_panel.add_sample(sequence.sample.id, f"{sequence.sample.area_cm2:g}")
        self.sequence_panel.queue_button.setEnabled(True)
        return True

    def queue_sequence(self) -> list[Job]:
        """Queue the open sequence once per sample of the table (each its own run folder)."""
        import copy

        if self._sequence_document is None:
            return []
        paths = []
        for sample_id, area in self.sequence_panel.sample_rows():
            document = copy.deepcopy(self._sequence_document)
            document.setdefault("sample", {})
            document["sample"]["id"] = sample_id
            try:
                document["sample"]["area_cm2"] = float(area)
            except ValueError:
                document["sample"]["area_cm2"] = area  # the validator names it
            path = write_sequence(document, self._new_sequence_path(sample_id or "sample"))
            try:
                describe_sequence(path, self.session.config)
            except InputError as error:
                self.sequence_panel.text.appendPlainText(
                    f"sample {sample_id!r} not queued: {error.field or ''} {error.reason}")
                return []
            paths.append((sample_id, path))
        name = self._sequence_path.name
        return [self.session.submit(path, f"{sample_id}: {name}") for sample_id, path in paths]

    # --- the queue ---------------------------------------------------------------------------
    def abort_selected(self) -> None:
        rows = {index.row() for index in self.queue_table.selectedIndexes()}
        for job_id, row in self._job_rows.items():
            if row in rows:
                self.session.abort(self._jobs[job_id])

    def choose_resume(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run folder to resume",
                                                            str(self.session.out_dir))
        if folder:
            self.resume(Path(folder))

    def resume(self, folder: Path) -> Job | None:
        """Queue the resumption of an interrupted run folder, as ``labctl run --resume``."""
        import json

        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            sequence = Path(summary["sequence"]["file"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.statusBar().showMessage(f"cannot resume {folder}: {exc}")
            return None
        return self.session.submit(sequence, f"resume {folder.name}", resume_dir=folder)

    def make_safe(self) -> None:
        """Stop the queue and do what ``labctl off`` does (reported on the station tab)."""
        self.statusBar().showMessage("making the bench safe…")
        self.session.request_safe()

    # --- events ------------------------------------------------------------------------------
    #: Time one timer tick may spend showing events [s]: a flood of rows is shown over
    #: several ticks, so the window stays responsive (benchmarks/bench_gui.py).
    TICK_BUDGET_S = 0.015
    #: Events taken at a time within a tick.
    EVENTS_PER_BATCH = 500
    #: Shortest time between two redraws of the curves [s]: a repaint of the plot costs
    #: tens of milliseconds whatever came in, so a flood of rows is drawn at 4 Hz.
    REDRAW_INTERVAL_S = 0.25
    _last_redraw_s = 0.0

    def poll(self) -> int:
        """Show the session's events, for at most :attr:`TICK_BUDGET_S`; return how many
        were shown."""
        import time

        deadline = time.perf_counter() + self.TICK_BUDGET_S
        shown = 0
        while True:
            events = self.session.take_events(self.EVENTS_PER_BATCH)
            self._show_events(events)
            shown += len(events)
            if len(events) < self.EVENTS_PER_BATCH or time.perf_counter() > deadline:
                break
        now_s = time.perf_counter()
        if now_s - self._last_redraw_s >= self.REDRAW_INTERVAL_S or not shown:
            self.plot.redraw()
            self._last_redraw_s = now_s
        return shown

    def _show_events(self, events: list[GuiEvent]) -> None:
        rows: list[Any] = []
        row_job: int | None = None
        for event in events:
            if event.kind == "row":
                if rows and event.job != row_job:
                    self._add_rows(row_job, rows)
                    rows = []
                rows.append(event.content["row"])
                row_job = event.job
                continue
            if rows:
                self._add_rows(row_job, rows)
                rows = []
            try:
                self._handle(event)
            except Exception:  # one event the window cannot show must not lose the others
                log.exception("cannot show %s", event.kind)
        if rows:
            self._add_rows(row_job, rows)

    def _add_rows(self, job: int | None, rows: list[Any]) -> None:
        key = self._curve_of_job.get(job) if job is not None else None
        if key is not None:
            self.plot.add_rows(key, rows)

    def _handle(self, event: GuiEvent) -> None:
        content = event.content
        if event.kind == "job_state":
            self._job_state(event.job, content)
        elif event.kind == "measurement_start":
            self._measurement_start(event.job, content)
        elif event.kind == "result":
            for record in content.get("step_records", []):  # metrics over the step
                if record.get("file") != content["record"].get("file"):
                    self._show_metrics(event.job, record)
            self._show_result(event.job, content["record"])
        elif event.kind == "measurement_end" and content.get("status") != "ok":
            log.warning("measurement %s: %s", content.get("status"), content.get("error"))
        elif event.kind == "safe":
            self.safe_lines = list(content["lines"])
            self.station_panel.report.setText("made safe: " + "; ".join(self.safe_lines))
            self.statusBar().showMessage("bench made safe: " + "; ".join(self.safe_lines))
        elif event.kind == "station_state":
            self.station_panel.show_states(content["states"])

    def _job_state(self, job_id: int | None, content: dict[str, Any]) -> None:
        assert job_id is not None
        job = next(j for j in self.session.jobs if j.id == job_id)
        self._jobs[job_id] = job
        if job_id not in self._job_rows:
            self._job_rows[job_id] = self.queue_table.rowCount()
            self.queue_table.insertRow(self.queue_table.rowCount())
        row = self._job_rows[job_id]
        state = content["state"]
        detail = content.get("error") or content.get("folder") or (
            str(job.resume_dir) if job.resume_dir else str(job.sequence))
        for column, text in enumerate([str(job_id), job.label, state, detail]):
            item = QtWidgets.QTableWidgetItem(text)
            if column == 2 and state in _STATE_COLOURS:
                item.setForeground(QtGui.QColor(_STATE_COLOURS[state]))
            self.queue_table.setItem(row, column, item)
        if content.get("summary") is not None:
            self.statusBar().showMessage(f"{job.label}: {state}"
                                         + (f": {job.error}" if job.error else "")
                                         + (f" — {job.folder}" if job.folder else ""))

    def _measurement_start(self, job_id: int | None, content: dict[str, Any]) -> None:
        kind = choose_plot(content["columns"], content.get("parameters"))
        if kind is None or job_id is None:
            return
        if self._plot_job != job_id and self.plot.curves:
            self.plot.clear()
        self._plot_job = job_id
        key = (job_id, content["path"])
        self._curve_of_job[job_id] = key
        label = content["label"]
        self.plot.start_curve(key, label, kind, f"{self._jobs[job_id].label} — {kind.name}")
        self.views.setCurrentIndex(0)

    def _show_metrics(self, job_id: int | None, record: dict[str, Any]) -> str:
        label = record["procedure"] + (f" {record['direction']}" if record.get("direction")
                                       else "")
        title = self._jobs[job_id].label if job_id in self._jobs else ""
        self._metrics_column(job_id, label, title)
        for name, value in record.get("metrics", {}).items():
            self._metric_cell(label, name, value)
        return label

    def _show_result(self, job_id: int | None, record: dict[str, Any]) -> None:
        label = self._show_metrics(job_id, record)
        warnings = [f"{label}: {w}" for w in record.get("warnings", [])]
        if record.get("status", "ok") != "ok":
            warnings.insert(0, f"{label}: {record['status']}"
                            + (f": {record['error']}" if record.get("error") else ""))
        if warnings:
            shown = self.warnings.text()
            self.warnings.setText("\n".join([*filter(None, [shown]), *warnings]))

    def _metrics_column(self, job_id: Any, label: str, title: str) -> None:
        """A column for a measurement; a new job starts a new table."""
        if job_id != self._metrics_job:
            self._metrics_job = job_id
            self.metrics.clear()
            self.metrics.setRowCount(0)
            self.metrics.setColumnCount(1)
            self.metrics.setHorizontalHeaderLabels(["Metric"])
            self.warnings.setText("")
            self.metrics_title.setText(f"<b>Metrics</b> {title}")
        headers = [self.metrics.horizontalHeaderItem(c).text()
                   for c in range(self.metrics.columnCount())]
        if label not in headers:
            self.metrics.setColumnCount(len(headers) + 1)
            self.metrics.setHorizontalHeaderItem(len(headers),
                                                 QtWidgets.QTableWidgetItem(label))

    def _metric_cell(self, label: str, name: str, value: Any) -> None:
        self.metrics_rows.append((label, name, value))
        headers = [self.metrics.horizontalHeaderItem(c).text()
                   for c in range(self.metrics.columnCount())]
        names = [self.metrics.item(r, 0).text() for r in range(self.metrics.rowCount())]
        if name not in names:
            self.metrics.insertRow(len(names))
            self.metrics.setItem(len(names), 0, QtWidgets.QTableWidgetItem(name))
            names.append(name)
        item = QtWidgets.QTableWidgetItem(_format_metric(name, value))
        item.setData(QtCore.Qt.ItemDataRole.UserRole, value)
        item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight
                              | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.metrics.setItem(names.index(name), headers.index(label), item)
        self.metrics.resizeColumnsToContents()

    def shown_metrics(self) -> dict[str, dict[str, Any]]:
        """The metrics table as measurement -> metric -> value (what a test compares)."""
        out: dict[str, dict[str, Any]] = {}
        for column in range(1, self.metrics.columnCount()):
            label = self.metrics.horizontalHeaderItem(column).text()
            for row in range(self.metrics.rowCount()):
                item = self.metrics.item(row, column)
                if item is not None:
                    value = item.data(QtCore.Qt.ItemDataRole.UserRole)
                    out.setdefault(label, {})[self.metrics.item(row, 0).text()] = value
        return out

    # --- the catalog -------------------------------------------------------------------------
    def open_catalog_entry(self, entry: dict[str, Any]) -> None:
        """Draw a past measurement from its file, with its metrics from the catalog."""
        from labctl.storage import Catalog, read_measurement

        path = Catalog(self.session.out_dir / "catalog.sqlite").resolve(entry["file"])
        try:
            data = read_measurement(path)
        except (OSError, ValueError) as exc:
            self.statusBar().showMessage(f"cannot open {path}: {exc}")
            return
        kind = choose_plot(list(data.columns))
        if kind is None:
            return
        self.plot.clear()
        self._plot_job = None
        label = f"{entry['sample_id']} {entry['procedure']} {entry.get('direction') or ''}"
        self.plot.start_curve(("catalog", str(path)), label.strip(), kind,
                              f"{path.name} — {kind.name}")
        self.plot.add_arrays(("catalog", str(path)), data.columns)
        column = (f"{entry['procedure']} {entry.get('direction') or ''}").strip()
        self._metrics_column(("catalog", str(path)), column, label)
        for name, value in (entry.get("metrics") or {}).items():
            self._metric_cell(column, name, value)
        self.views.setCurrentIndex(0)

    # --- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802 - Qt's name
        """Closing the window stops the queue and leaves the bench safe."""
        self.timer.stop()
        self.statusBar().showMessage("stopping: the bench is made safe…")
        failures = self.session.close()
        if failures:
            log.error("could not make safe: %s", "; ".join(failures))
        labctl_log = logging.getLogger("labctl")
        labctl_log.removeHandler(self._log_handler)
        labctl_log.setLevel(self._log_level)
        self._log_widget._blink_qtimer.stop()
        self.collector.stop()
        event.accept()


def _format_metric(name: str, value: Any) -> str:
    """``0.7834`` for ``ff`` is ``78.3 %``; a number with its unit from the name's suffix."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if not math.isfinite(float(value)):
        return "—"
    if name == "ff":
        return f"{100.0 * float(value):.1f} %"
    units = field_units(name)
    text = f"{float(value):.4g}"
    return f"{text} {unit_text(units)}" if units else text
