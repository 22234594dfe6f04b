"""The live plot: one pyqtgraph plot whose axes follow the measurement's columns
(:func:`labctl.gui.plotkinds.choose_plot`), one curve per measurement, each fed from row
events through a :class:`~labctl.gui.plotkinds.DecimatingBuffer`. No file is read while a
run goes on; a curve from the catalog is drawn from its file once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg

from labctl.gui.plotkinds import DecimatingBuffer, PlotKind
from labctl.gui.qt import QtCore, QtWidgets

__all__ = ["LivePlot"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


class _Curve:
    def __init__(self, label: str, kind: PlotKind, item: Any, item2: Any | None,
                 capacity: int) -> None:
        self.label = label
        self.kind = kind
        self.item = item
        self.item2 = item2
        self.buffer = DecimatingBuffer(capacity)
        self.buffer2 = DecimatingBuffer(capacity) if item2 is not None else None

    def add(self, rows: list[Mapping[str, Any]]) -> None:
        kind = self.kind
        x = np.fromiter((_number(r.get(kind.x)) for r in rows), float, len(rows))
        y = np.fromiter((_number(r.get(kind.y)) for r in rows), float, len(rows))
        self.buffer.extend(x, np.abs(y) if kind.absolute_y else y)
        if self.buffer2 is not None and kind.y2 is not None:
            y2 = np.fromiter((_number(r.get(kind.y2)) for r in rows), float, len(rows))
            self.buffer2.extend(x, y2)

    def draw(self) -> None:
        x, y = self.buffer.data()
        if self.kind.log_x or self.kind.log_y:  # a log axis cannot show zero or less
            good = np.ones(x.size, dtype=bool)
            if self.kind.log_x:
                good &= x > 0
            if self.kind.log_y:
                good &= y > 0
            x, y = x[good], y[good]
        self.item.setData(x, y)
        if self.item2 is not None and self.buffer2 is not None:
            self.item2.setData(*self.buffer2.data())


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


class LivePlot(QtWidgets.QWidget):
    """A plot of the measurements of one job whose axes agree (both J-V directions share
    it; a measurement with other axes starts a new plot)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, capacity: int = 4096) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="k")
        self.capacity = capacity
        self.widget = pg.PlotWidget()
        # No grid (it doubles the cost of a repaint: benchmarks/bench_gui.py); the axes' zero
        # lines instead, where J-V readers look for Jsc and Voc.
        self._zero_lines = [pg.InfiniteLine(pos=0.0, angle=angle,
                                            pen=pg.mkPen("#999999", width=1))
                            for angle in (0, 90)]
        for line in self._zero_lines:
            self.widget.addItem(line, ignoreBounds=True)
        self.legend = self.widget.addLegend(offset=(-10, 10))
        self.title = QtWidgets.QLabel("no measurement yet")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.widget)
        self.kind: PlotKind | None = None
        self.curves: dict[Any, _Curve] = {}
        self._dirty: set[Any] = set()
        # The right-hand axis (PCE beside power) is made once and shown when a plot has it:
        # items are added and removed, never the axes (clearing them crashed PySide6).
        plot = self.widget.getPlotItem()
        self._right = pg.ViewBox()
        plot.scene().addItem(self._right)
        plot.getAxis("right").linkToView(self._right)
        self._right.setXLink(plot)
        plot.vb.sigResized.connect(self._sync_right)
        plot.hideAxis("right")

    def _sync_right(self) -> None:
        plot = self.widget.getPlotItem()
        self._right.setGeometry(plot.vb.sceneBoundingRect())
        self._right.linkedViewChanged(plot.vb, self._right.XAxis)

    def clear(self) -> None:
        """Remove every curve (the axes stay until the next curve sets them)."""
        plot = self.widget.getPlotItem()
        for curve in self.curves.values():
            plot.removeItem(curve.item)
            if curve.item2 is not None:
                self._right.removeItem(curve.item2)
        self.legend.clear()
        self.curves.clear()
        self._dirty.clear()
        self.kind = None

    def start_curve(self, key: Any, label: str, kind: PlotKind, title: str) -> None:
        """A new curve; the plot starts afresh when the axes differ from the current ones."""
        if self.kind != kind:
            self.clear()
            self._set_axes(kind)
        self.title.setText(title)
        colour = _COLOURS[len(self.curves) % len(_COLOURS)]
        item = self.widget.plot([], [], pen=pg.mkPen(colour, width=1), name=label,
                                symbol="o" if kind.log_x else None, symbolSize=4,
                                symbolBrush=colour)
        item.setClipToView(True)
        item2 = None
        if kind.y2 is not None:
            item2 = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1,
                                                   style=QtCore.Qt.PenStyle.DashLine))
            self._right.addItem(item2)
        self.curves[key] = _Curve(label, kind, item, item2, self.capacity)

    def _set_axes(self, kind: PlotKind) -> None:
        self.kind = kind
        plot = self.widget.getPlotItem()
        plot.setLabel("bottom", kind.x_label)
        plot.setLabel("left", kind.y_label)
        plot.setLogMode(x=kind.log_x, y=kind.log_y)
        self._zero_lines[0].setVisible(not kind.log_y)
        self._zero_lines[1].setVisible(not kind.log_x)
        if kind.y2 is not None:
            plot.showAxis("right")
            plot.getAxis("right").setLabel(kind.y2_label or kind.y2)
            self._sync_right()
        else:
            plot.hideAxis("right")

    def add_rows(self, key: Any, rows: list[Mapping[str, Any]]) -> None:
        """Rows of a curve; drawn at the next :meth:`redraw`."""
        curve = self.curves.get(key)
        if curve is not None and rows:
            curve.add(rows)
            self._dirty.add(key)

    def add_arrays(self, key: Any, columns: Mapping[str, np.ndarray]) -> None:
        """A whole curve from a file's columns (the catalog browser)."""
        curve = self.curves[key]
        length = len(next(iter(columns.values())))
        rows = [{name: values[i] for name, values in columns.items()} for i in range(length)]
        curve.add(rows)
        self._dirty.add(key)
        self.redraw()

    def redraw(self) -> None:
        for key in self._dirty:
            if key in self.curves:
                self.curves[key].draw()
        self._dirty.clear()

    def curve_data(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Each curve's label and the points it holds (what a test compares)."""
        return [(c.label, *c.buffer.data()) for c in self.curves.values()]

    def labels(self) -> Iterable[str]:
        return [c.label for c in self.curves.values()]
