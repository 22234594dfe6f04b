"""Which plot a measurement gets, from the columns it announces, and the bounded buffer that
feeds a live curve (plain Python and numpy: no Qt).

A measurement's ``measurement_start`` document lists its columns (:mod:`labctl.events`); the
first rule of :data:`PLOT_RULES` whose columns are all there chooses the axes. A plug-in that
writes the contract's columns (docs/contracts.md, "CSV columns") is plotted with no change
here: ``Voc (V)`` with ``Irradiance (mW/cm**2)`` is a Voc-against-log-irradiance plot, ``Power
density (mW/cm**2)`` with ``Time (s)`` a power-against-time plot, ``Voltage (V)`` with the
current density a J-V plot (log |J| against log V for a space-charge-limited-current sweep,
whose parameters carry a film thickness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["PLOT_RULES", "DecimatingBuffer", "PlotKind", "choose_plot"]


@dataclass(frozen=True)
class PlotKind:
    """The axes of one plot: its columns, labels and log scales."""

    name: str
    x: str
    y: str
    x_label: str
    y_label: str
    log_x: bool = False
    log_y: bool = False
    #: A second quantity on the right-hand axis (PCE beside the power density), if present.
    y2: str | None = None
    y2_label: str | None = None
    #: Plot |y| (a log axis of a current that changes sign).
    absolute_y: bool = False


JV = PlotKind("J-V", "Voltage (V)", "Current density (mA/cm**2)", "Voltage (V)",
              "J (mA/cm²)")
LOG_JV = PlotKind("log J - log V", "Voltage (V)", "Current density (mA/cm**2)", "Voltage (V)",
                  "|J| (mA/cm²)", log_x=True, log_y=True, absolute_y=True)
POWER = PlotKind("power and PCE against time", "Time (s)", "Power density (mW/cm**2)",
                 "Time (s)", "Power density (mW/cm²)", y2="PCE (percent)", y2_label="PCE (%)")
PCE = PlotKind("PCE against time", "Time (s)", "PCE (percent)", "Time (s)", "PCE (%)")
VOC_INTENSITY = PlotKind("Voc against log irradiance", "Irradiance (mW/cm**2)", "Voc (V)",
                         "Irradiance (mW/cm²)", "Voc (V)", log_x=True)
CURRENT = PlotKind("I-V", "Voltage (V)", "Current (A)", "Voltage (V)", "Current (A)")

#: Column pairs -> plot, first match wins.
PLOT_RULES: tuple[tuple[tuple[str, ...], PlotKind], ...] = (
    (("Voc (V)", "Irradiance (mW/cm**2)"), VOC_INTENSITY),
    (("Time (s)", "Power density (mW/cm**2)"), POWER),
    (("Time (s)", "PCE (percent)"), PCE),
    (("Voltage (V)", "Current density (mA/cm**2)"), JV),
    (("Voltage (V)", "Current (A)"), CURRENT),
)


def choose_plot(columns: Sequence[str], parameters: Mapping[str, Any] | None = None
                ) -> PlotKind | None:
    """The plot for a measurement with these columns (None: nothing labctl knows to plot).

    A J-V whose parameters carry a film thickness (``thickness_nm``: an SCLC sweep) is shown
    log-log."""
    present = set(columns)
    for needed, kind in PLOT_RULES:
        if present.issuperset(needed):
            if kind is JV and parameters and parameters.get("thickness_nm"):
                return LOG_JV
            return kind
    return None


class DecimatingBuffer:
    """A live curve's points, at most ``capacity`` of them whatever the run's length.

    Below the capacity every point is kept as it came. When it fills, each run of four stored
    points becomes two -- the smallest and the largest y, in their order -- and later points
    are gathered in bins of as many raw points, two kept per bin (min-max decimation: every
    peak and dip of the curve stays visible). Appending costs O(1) per point amortised, and a
    redraw O(capacity), however long the run.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 8 or capacity % 4:
            raise ValueError("capacity must be a multiple of 4, at least 8")
        self.capacity = capacity
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self._n = 0
        #: Raw points per bin: 1 until the first compaction.
        self.stride = 1
        self._pending_x: list[float] = []
        self._pending_y: list[float] = []
        #: Raw points appended in all.
        self.count = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> None:
        """Append points (NaNs are kept out of the curve)."""
        x_new = np.asarray(x, dtype=float)
        y_new = np.asarray(y, dtype=float)
        good = np.isfinite(x_new) & np.isfinite(y_new)
        x_new, y_new = x_new[good], y_new[good]
        self.count += int(x_new.size)
        if self.stride == 1:
            room = self.capacity - self._n
            self._store(x_new[:room], y_new[:room])
            x_new, y_new = x_new[room:], y_new[room:]
            if x_new.size == 0:
                return
        self._pending_x.extend(x_new.tolist())
        self._pending_y.extend(y_new.tolist())
        self._flush_bins()

    def _store(self, x: np.ndarray, y: np.ndarray) -> None:
        while x.size:
            if self._n >= self.capacity:
                self._compact()
            room = self.capacity - self._n
            self._x[self._n:self._n + min(room, x.size)] = x[:room]
            self._y[self._n:self._n + min(room, x.size)] = y[:room]
            self._n += min(room, x.size)
            x, y = x[room:], y[room:]
        if self._n >= self.capacity:
            self._compact()

    def _flush_bins(self) -> None:
        whole = len(self._pending_x) // self.stride * self.stride
        if whole == 0:
            return
        x = np.asarray(self._pending_x[:whole]).reshape(-1, self.stride)
        y = np.asarray(self._pending_y[:whole]).reshape(-1, self.stride)
        del self._pending_x[:whole], self._pending_y[:whole]
        bx, by = _min_max(x, y)
        self._store(bx, by)

    def _compact(self) -> None:
        x = self._x[:self._n].reshape(-1, 4)
        y = self._y[:self._n].reshape(-1, 4)
        bx, by = _min_max(x, y)
        self._n = bx.size
        self._x[:self._n], self._y[:self._n] = bx, by
        self.stride = 4 if self.stride == 1 else self.stride * 2

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw (a copy), with the bin still being filled."""
        x = np.concatenate([self._x[:self._n], self._pending_x])
        y = np.concatenate([self._y[:self._n], self._pending_y])
        return x, y


def _min_max(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two points per row of ``x``/``y``: its min and max y, in the order they came."""
    rows = np.arange(y.shape[0])
    low, high = np.argmin(y, axis=1), np.argmax(y, axis=1)
    first, second = np.minimum(low, high), np.maximum(low, high)
    bx = np.stack([x[rows, first], x[rows, second]], axis=1).ravel()
    by = np.stack([y[rows, first], y[rows, second]], axis=1).ravel()
    return bx, by
