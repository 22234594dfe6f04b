"""The side panels: the station (identities, state, "make safe"), the catalog browser and the
sequence panel (a sequence file's expanded runs and estimate, as ``labctl validate`` prints
them, queued for one or several samples)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from labctl.gui.qt import QtWidgets

__all__ = ["CatalogPanel", "SequencePanel", "StationPanel", "calibration_text",
           "describe_sequence"]


def _table(headers: list[str]) -> QtWidgets.QTableWidget:
    table = QtWidgets.QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.horizontalHeader().setStretchLastSection(True)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    return table


def _set_row(table: QtWidgets.QTableWidget, row: int, cells: list[Any]) -> None:
    for column, value in enumerate(cells):
        table.setItem(row, column, QtWidgets.QTableWidgetItem("" if value is None
                                                               else str(value)))


def calibration_text(config: Any) -> str:
    """The attenuator calibration in use and its date, as the station panel shows it: the
    newest stored calibration that fits the station's wheels, found as ``intensity_voc``
    finds it (:func:`labctl.calibration.calibration_in_use`); ``none`` when there is none."""
    from labctl.calibration import calibration_in_use

    if not config.attenuator():
        return "Attenuator calibration: none (no filter wheel)"
    try:
        calibration = calibration_in_use(config)
    except OSError as exc:  # an unreadable folder: said, never raised
        return f"Attenuator calibration: cannot read ({exc})"
    if calibration is None:
        return "Attenuator calibration: none (nominal ODs)"
    name = calibration.path.name if calibration.path is not None else "unsaved"
    date = calibration.date_utc.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"Attenuator calibration: {name}, dated {date}"


class StationPanel(QtWidgets.QWidget):
    """Each instrument: driver, resource, identity and state; refresh and make safe."""

    def __init__(self, on_refresh: Callable[[], None], on_safe: Callable[[], None]) -> None:
        super().__init__()
        self.title = QtWidgets.QLabel("")
        #: The attenuator calibration in use (re-read with every state refresh: a calibrate
        #: run stores a new one).
        self.calibration = QtWidgets.QLabel("")
        self._config: Any = None
        self.table = _table(["Instrument", "State", "Role", "Driver", "Resource", "Identity"])
        refresh = QtWidgets.QPushButton("Refresh state")
        refresh.clicked.connect(on_refresh)
        self.safe_button = QtWidgets.QPushButton("Make safe (labctl off)")
        self.safe_button.setToolTip("Stop the queue, switch every SMU output off, close the "
                                    "shutter, switch an LED off (an arc lamp stays lit)")
        self.safe_button.setStyleSheet("font-weight: bold; color: #b00000;")
        self.safe_button.clicked.connect(on_safe)
        self.report = QtWidgets.QLabel("")
        self.report.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(refresh)
        buttons.addWidget(self.safe_button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.calibration)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.report)

    def show_station(self, config: Any, identities: dict[str, str], simulated: bool) -> None:
        where = "simulated bench" if simulated else "VISA"
        self.title.setText(f"station {config.station} ({config.source}) on the {where}")
        self.table.setRowCount(len(config.instruments))
        for row, (name, inst) in enumerate(config.instruments.items()):
            resource = getattr(inst, "resource", None) or f"SMU {getattr(inst, 'smu', '')}"
            _set_row(self.table, row, [name, "", config.role_of(name), inst.driver, resource,
                                       identities.get(name, "")])
        self.table.resizeColumnsToContents()
        self._config = config
        self.calibration.setText(calibration_text(config))

    def show_states(self, states: dict[str, str]) -> None:
        if self._config is not None:
            self.calibration.setText(calibration_text(self._config))
        for row in range(self.table.rowCount()):
            name = self.table.item(row, 0).text()
            self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(states.get(name, "")))
        self.table.resizeColumnToContents(1)

    def state_of(self, name: str) -> str:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                item = self.table.item(row, 1)
                return item.text() if item else ""
        raise KeyError(name)


class CatalogPanel(QtWidgets.QWidget):
    """Past measurements from the catalog, filtered by sample and procedure; a double click
    opens the curve and its metrics."""

    def __init__(self, catalog_path: Callable[[], Path],
                 on_open: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self._catalog_path = catalog_path
        self._on_open = on_open
        self.rows: list[dict[str, Any]] = []
        self.sample = QtWidgets.QLineEdit()
        self.sample.setPlaceholderText("sample id (all)")
        self.procedure = QtWidgets.QComboBox()
        self.procedure.setEditable(True)
        self.procedure.addItem("")
        refresh = QtWidgets.QPushButton("Search")
        refresh.clicked.connect(self.refresh)
        self.sample.returnPressed.connect(self.refresh)
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("Sample"))
        bar.addWidget(self.sample)
        bar.addWidget(QtWidgets.QLabel("Procedure"))
        bar.addWidget(self.procedure)
        bar.addWidget(refresh)
        self.table = _table(["Started", "Sample", "Procedure", "Status", "Metrics", "File"])
        self.table.cellDoubleClicked.connect(lambda row, _column: self._on_open(self.rows[row]))
        self.note = QtWidgets.QLabel("")
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        layout.addWidget(self.note)

    def refresh(self) -> None:
        from labctl.registry.procedures import headline
        from labctl.storage import Catalog

        path = self._catalog_path()
        if not path.is_file():
            self.rows = []
            self.table.setRowCount(0)
            self.note.setText(f"no catalog at {path} yet")
            return
        self.rows = Catalog(path).query(sample=self.sample.text().strip() or None,
                                        procedure=self.procedure.currentText().strip() or None)
        self.table.setRowCount(len(self.rows))
        for row, entry in enumerate(self.rows):
            direction = f" {entry['direction']}" if entry.get("direction") else ""
            _set_row(self.table, row, [entry["started"], entry["sample_id"],
                                       entry["procedure"] + direction, entry["status"],
                                       headline(entry["procedure"], entry.get("metrics") or {}),
                                       entry["file"]])
        self.table.resizeColumnsToContents()
        self.note.setText(f"{len(self.rows)} measurements in {path} (double click: open)")


def describe_sequence(path: Path, station: Any) -> tuple[Any, list[str]]:
    """The sequence and the lines ``labctl validate`` prints for it (InputError for a bad
    file: one line with its file, line and field)."""
    from labctl.planning import check_runnable
    from labctl.registry.procedures import procedure_plugin
    from labctl.sequence import (
        check_against_station,
        estimate_duration_s,
        format_duration,
        load_sequence,
    )

    sequence = load_sequence(path)
    check_against_station(sequence, station)
    check_runnable(sequence)
    lines = [f"sequence {sequence.source}: sample {sequence.sample.id}, "
             f"{len(sequence.steps)} steps"]
    total_s = 0.0
    for index, step in enumerate(sequence.steps):
        duration_s = estimate_duration_s(step, station)
        total_s += duration_s
        lines.append(f"  [{index}] {procedure_plugin(step.procedure).describe(step)}  "
                     f"(~{format_duration(duration_s)})")
    lines.append(f"estimated run time: {format_duration(total_s)} per sample")
    return sequence, lines


class SequencePanel(QtWidgets.QWidget):
    """Open a sequence file, see what it runs, queue it for the samples in the table."""

    def __init__(self, on_open: Callable[[Path], None], on_queue: Callable[[], None]) -> None:
        super().__init__()
        open_button = QtWidgets.QPushButton("Open sequence…")
        open_button.clicked.connect(self._choose)
        self.path_label = QtWidgets.QLabel("no sequence open")
        self.path_label.setWordWrap(True)
        self._on_open = on_open
        self.text = QtWidgets.QPlainTextEdit()
        self.text.setReadOnly(True)
        self.samples = QtWidgets.QTableWidget(0, 2)
        self.samples.setHorizontalHeaderLabels(["Sample id", "Area (cm²)"])
        self.samples.horizontalHeader().setStretchLastSection(True)
        add = QtWidgets.QPushButton("Add sample")
        add.clicked.connect(lambda: self.add_sample("", ""))
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(lambda: self.samples.removeRow(self.samples.currentRow()))
        self.queue_button = QtWidgets.QPushButton("Queue for these samples")
        self.queue_button.clicked.connect(on_queue)
        self.queue_button.setEnabled(False)
        rows = QtWidgets.QHBoxLayout()
        for button in (add, remove, self.queue_button):
            rows.addWidget(button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(open_button)
        layout.addWidget(self.path_label)
        layout.addWidget(self.text, 2)
        layout.addWidget(self.samples, 1)
        layout.addLayout(rows)

    def _choose(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Sequence file", "",
                                                        "Sequence (*.yaml *.yml)")
        if name:
            self._on_open(Path(name))

    def add_sample(self, sample_id: str, area_cm2: str) -> None:
        row = self.samples.rowCount()
        self.samples.insertRow(row)
        self.samples.setItem(row, 0, QtWidgets.QTableWidgetItem(sample_id))
        self.samples.setItem(row, 1, QtWidgets.QTableWidgetItem(area_cm2))

    def sample_rows(self) -> list[tuple[str, str]]:
        out = []
        for row in range(self.samples.rowCount()):
            cells = [self.samples.item(row, c) for c in (0, 1)]
            texts = [c.text().strip() if c is not None else "" for c in cells]
            if any(texts):
                out.append((texts[0], texts[1]))
        return out

