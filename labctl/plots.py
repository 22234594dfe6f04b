"""Figures of results: J-V curves and time series, as PNG files.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``: no global state, so a runner thread can draw while the GUI runs. Long series are
decimated (:func:`decimate`) so a figure of a multi-week stability run costs the same as one
of a minute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DPI",
    "decimate",
    "jv_figure",
    "plot_jv",
    "plot_timeseries",
    "timeseries_figure",
]

DPI = 150
"""Resolution of the PNG files [dots per inch]."""

_FIGURE_SIZE_IN = (7.0, 5.0)
_METRIC_HEADER = f"{'':<10} {'Voc [V]':>8} {'Jsc [mA/cm²]':>13} {'FF [%]':>7} {'PCE [%]':>8}"


def decimate(
    x: ArrayLike, y: ArrayLike, max_points: int = 5000
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Reduce a long series to at most ``max_points`` points, keeping its extremes.

    The points between the first and the last are split into ``(max_points - 2) // 2``
    buckets of consecutive samples; from each bucket the samples with the smallest and the
    largest ``y`` are kept, in their original order, together with the first and the last
    point. Spikes and dips therefore survive (a plain stride would drop them), and the global
    minimum and maximum of ``y`` are always kept. NaN values of ``y`` are ignored when picking
    the extremes. A series already short enough is returned unchanged (as float arrays).

    Parameters
    ----------
    x, y
        1-D arrays of equal length (``x`` usually time [s] or voltage [V]).
    max_points
        The largest number of points returned, at least 4.
    """
    x_values = np.asarray(x, dtype=float).ravel()
    y_values = np.asarray(y, dtype=float).ravel()
    if x_values.shape != y_values.shape:
        raise ValueError(f"x and y differ in length: {x_values.size} and {y_values.size}")
    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, got {max_points}")
    count = x_values.size
    if count <= max_points:
        return x_values.copy(), y_values.copy()

    interior = y_values[1:-1]
    n_interior = interior.size
    n_buckets = (max_points - 2) // 2
    bucket_size = math.ceil(n_interior / n_buckets)
    n_rows = math.ceil(n_interior / bucket_size)
    padded = n_rows * bucket_size
    # NaN and padding never win: +inf for the minimum search, -inf for the maximum search.
    for_min = np.full(padded, np.inf)
    for_min[:n_interior] = np.where(np.isnan(interior), np.inf, interior)
    for_max = np.full(padded, -np.inf)
    for_max[:n_interior] = np.where(np.isnan(interior), -np.inf, interior)
    offsets = np.arange(n_rows) * bucket_size
    argmin = offsets + np.argmin(for_min.reshape(n_rows, bucket_size), axis=1)
    argmax = offsets + np.argmax(for_max.reshape(n_rows, bucket_size), axis=1)
    picked = np.concatenate([argmin, argmax])
    picked = picked[picked < n_interior] + 1  # back to indices of the full series
    keep = np.unique(np.concatenate([[0, count - 1], picked]))
    return x_values[keep], y_values[keep]


def _new_figure() -> Figure:
    """A figure with its own Agg canvas (no pyplot state)."""
    figure = Figure(figsize=_FIGURE_SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG at :data:`DPI` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png")
    return path


def _format_value(value: object, scale: float, digits: int) -> str:
    """A metric for the figure's table: ``-`` when missing or not finite."""
    try:
        number = float(value) * scale  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return f"{number:.{digits}f}" if math.isfinite(number) else "-"


def _metrics_text(labels: Sequence[str], metrics: Mapping[str, object]) -> tuple[str, float | None]:
    """The metrics table of a J-V figure and the hysteresis index found, if any.

    ``metrics`` maps a curve label to its metric dict (the names of docs/contracts.md, "Summary
    JSON": ``voc_v``, ``jsc_ma_cm2``, ``ff`` as a fraction, ``pce_pct``); ``hysteresis_index``
    may be given at the top level or inside a curve's dict.
    """
    lines = [_METRIC_HEADER]
    hysteresis_index = None
    top = metrics.get("hysteresis_index")
    if isinstance(top, int | float | np.floating) and not isinstance(top, bool):
        hysteresis_index = float(top)
    ordered = list(labels) + [k for k in metrics if k not in labels and k != "hysteresis_index"]
    for label in ordered:
        values = metrics.get(label)
        if not isinstance(values, Mapping):
            continue
        if hysteresis_index is None and values.get("hysteresis_index") is not None:
            hysteresis_index = float(values["hysteresis_index"])
        if "ff" in values:
            ff_pct = _format_value(values.get("ff"), 100.0, 1)
        else:
            ff_pct = _format_value(values.get("ff_pct"), 1.0, 1)
        lines.append(
            f"{label[:10]:<10} {_format_value(values.get('voc_v'), 1.0, 3):>8} "
            f"{_format_value(values.get('jsc_ma_cm2'), 1.0, 2):>13} {ff_pct:>7} "
            f"{_format_value(values.get('pce_pct'), 1.0, 2):>8}"
        )
    if hysteresis_index is not None and math.isfinite(hysteresis_index):
        lines.append(f"Hysteresis index (PCE) = {hysteresis_index:.3f}")
    return "\n".join(lines), hysteresis_index


def _jsc_estimate_ma_cm2(
    curves: Sequence[tuple[str, NDArray[np.float64], NDArray[np.float64]]],
    metrics: Mapping[str, object] | None,
) -> float:
    """The largest Jsc [mA/cm²] of the curves: from the metrics, else J interpolated at 0 V."""
    estimates = []
    for label, voltage_v, current_density_ma_cm2 in curves:
        values = (metrics or {}).get(label)
        jsc = values.get("jsc_ma_cm2") if isinstance(values, Mapping) else None
        if jsc is not None and math.isfinite(float(jsc)):
            estimates.append(float(jsc))
            continue
        finite = np.isfinite(voltage_v) & np.isfinite(current_density_ma_cm2)
        if np.count_nonzero(finite) < 2:
            continue
        order = np.argsort(voltage_v[finite])
        v_sorted = voltage_v[finite][order]
        if v_sorted[0] <= 0.0 <= v_sorted[-1]:
            estimates.append(float(np.interp(0.0, v_sorted, current_density_ma_cm2[finite][order])))
    return max(estimates) if estimates else math.nan


def jv_figure(
    curves: Sequence[tuple[str, ArrayLike, ArrayLike]],
    *,
    title: str,
    metrics: Mapping[str, object] | None = None,
    irradiance_mw_cm2: float | None = None,
) -> Figure:
    """Build the J-V figure of :func:`plot_jv` and return it (not saved)."""
    if not curves:
        raise ValueError("plot_jv needs at least one curve")
    arrays = []
    for label, voltage, current_density in curves:
        voltage_v = np.asarray(voltage, dtype=float).ravel()
        current_density_ma_cm2 = np.asarray(current_density, dtype=float).ravel()
        if voltage_v.shape != current_density_ma_cm2.shape:
            raise ValueError(f"curve {label!r}: voltage and current density differ in length")
        # drawn in voltage order: a steady-state J-V measured out of order would zig-zag (a
        # scanned curve is monotonic in V already, so its line is unchanged)
        order = np.argsort(voltage_v, kind="stable")
        arrays.append((str(label), voltage_v[order], current_density_ma_cm2[order]))

    figure = _new_figure()
    axes = figure.add_subplot()
    axes.axhline(0.0, color="0.4", linewidth=0.8)
    axes.axvline(0.0, color="0.4", linewidth=0.8)
    for label, voltage_v, current_density_ma_cm2 in arrays:
        v_plot, j_plot = decimate(voltage_v, current_density_ma_cm2)
        axes.plot(v_plot, j_plot, marker=".", markersize=3, linewidth=1.4, label=label)

    jsc_ma_cm2 = _jsc_estimate_ma_cm2(arrays, metrics)
    if math.isfinite(jsc_ma_cm2) and jsc_ma_cm2 > 0:
        axes.set_ylim(-0.1 * jsc_ma_cm2, 1.1 * jsc_ma_cm2)
    all_v = np.concatenate([v for _, v, _ in arrays])
    all_v = all_v[np.isfinite(all_v)]
    if all_v.size:
        low_v, high_v = min(float(all_v.min()), 0.0), float(all_v.max())
        margin_v = 0.02 * (high_v - low_v) if high_v > low_v else 0.05
        axes.set_xlim(low_v - margin_v, high_v + margin_v)

    axes.set_xlabel("Voltage [V]")
    axes.set_ylabel("Current density [mA/cm²]")
    full_title = title
    if irradiance_mw_cm2 is not None:
        full_title += f"\n{irradiance_mw_cm2:g} mW/cm² ({irradiance_mw_cm2 / 100.0:.3g} sun)"
    axes.set_title(full_title)
    axes.grid(True, linewidth=0.4, alpha=0.5)
    axes.legend(loc="upper right")

    if metrics:
        text, _ = _metrics_text([label for label, _, _ in arrays], metrics)
        axes.text(
            0.02,
            0.03,
            text,
            transform=axes.transAxes,
            family="monospace",
            fontsize=7.5,
            verticalalignment="bottom",
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
        )
    return figure


def plot_jv(
    curves: list[tuple[str, np.ndarray, np.ndarray]],
    path: Path,
    *,
    title: str,
    metrics: dict[str, dict[str, float]] | None = None,
    irradiance_mw_cm2: float | None = None,
) -> Path:
    """Draw J-V curves (J in mA/cm², photovoltaic sign, against V) into a 150-dpi PNG.

    Parameters
    ----------
    curves
        ``(label, voltage [V], current density [mA/cm²])`` per curve, e.g. ``"reverse"`` and
        ``"forward"``; all go on one set of axes.
    path
        The PNG file to write (its folder is created if missing).
    title
        The figure title (sample, step...).
    metrics
        Per curve label, its metrics with the names of docs/contracts.md, "Summary JSON"
        (``voc_v``, ``jsc_ma_cm2``, ``ff`` [fraction], ``pce_pct``), printed as a table (FF
        in %). A ``hysteresis_index`` [fraction], at the top level or in a curve's dict, is
        printed below it.
    irradiance_mw_cm2
        The irradiance of the measurement, shown under the title.

    The axes cross at 0; J runs from -0.1 to 1.1 × Jsc (Jsc from the metrics, else
    interpolated at 0 V) when Jsc is positive, else matplotlib's autoscale; V covers the data
    and 0. Returns ``path``.
    """
    figure = jv_figure(curves, title=title, metrics=metrics, irradiance_mw_cm2=irradiance_mw_cm2)
    return _save(figure, path)


def _time_axis(time_s: NDArray[np.float64]) -> tuple[float, str]:
    """The divisor and unit that make a time axis readable (s, min, h or days)."""
    finite = time_s[np.isfinite(time_s)]
    span_s = float(finite.max() - min(finite.min(), 0.0)) if finite.size else 0.0
    if span_s >= 3.0 * 86400.0:
        return 86400.0, "d"
    if span_s >= 3.0 * 3600.0:
        return 3600.0, "h"
    if span_s >= 3.0 * 60.0:
        return 60.0, "min"
    return 1.0, "s"


def timeseries_figure(
    time_s: ArrayLike,
    values: ArrayLike,
    *,
    ylabel: str,
    title: str,
    max_points: int = 5000,
) -> Figure:
    """Build the figure of :func:`plot_timeseries` and return it (not saved)."""
    time_plot_s, values_plot = decimate(time_s, values, max_points=max_points)
    divisor, unit = _time_axis(time_plot_s)
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.plot(time_plot_s / divisor, values_plot, linewidth=1.0)
    axes.set_xlabel(f"Time [{unit}]")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, linewidth=0.4, alpha=0.5)
    return figure


def plot_timeseries(
    time_s: ArrayLike,
    values: ArrayLike,
    path: Path,
    *,
    ylabel: str,
    title: str,
    max_points: int = 5000,
) -> Path:
    """Draw a (decimated) time series into a 150-dpi PNG; return ``path``.

    ``time_s`` is in seconds; the axis is shown in s, min, h or days, whichever suits the
    span. ``ylabel`` should carry the unit (``"PCE [%]"``). At most ``max_points`` points are
    drawn (:func:`decimate` keeps every bucket's extremes).
    """
    figure = timeseries_figure(time_s, values, ylabel=ylabel, title=title, max_points=max_points)
    return _save(figure, path)
