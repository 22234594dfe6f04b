"""MPP-tracking and stability analysis: pure functions on numpy arrays.

One series is a pair of 1-D arrays (time, value) in time order; nothing here reads a file, and
nothing needs more memory than the arrays given (vectorised, no copies of whole runs beyond one
boolean mask), so 10^6-row runs are analysed as they are.

- Stabilized value and settling time (docs/methods.md §2.1, §3): the stabilized value is the
  mean over a final window in which the series has settled; the settling time is when the series
  enters +-``tolerance_pct`` of that value and stays there.
- T95, T80 and Ts80 (Khenkin et al., Nat. Energy 2020, DOI 10.1038/s41560-019-0529-5): the
  time at which the value first falls to 95 % / 80 % of its initial value, and to 80 % of the
  value after the burn-in, ``E_s``; all are counted from the start of the ageing.
- Tracking efficiency (simulation only): measured energy over the energy at the device's true
  steady-state maximum power point at each moment (docs/methods.md §3; static and dynamic
  variants as EN 50530).
- Figures: :func:`decimate_minmax` and :class:`MinMaxDecimator` keep the smallest and largest
  value of each bin, so a 1000 h series stays readable (and its spikes visible) in a few thousand
  points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["MinMaxDecimator", "decimate_minmax", "pce_stabilized_pct", "ripple_pct",
           "settling_time_s", "t80_h", "t95_h", "t_fraction_h", "tracking_efficiency",
           "ts80_h"]

#: Default final window: the last 10 % of the series.
DEFAULT_WINDOW_FRACTION = 0.1


def _series(time_s: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(time_s, dtype=float)
    v = np.asarray(values, dtype=float)
    if t.ndim != 1 or t.shape != v.shape or t.size == 0:
        raise ValueError("time and values must be 1-D arrays of the same, non-zero length")
    return t, v


def _window_start_s(t: np.ndarray, window_s: float | None, window_fraction: float) -> float:
    length = window_s if window_s is not None else window_fraction * (t[-1] - t[0])
    return float(t[-1] - max(length, 0.0))


def _settled_index(values: np.ndarray, final_value: float, tolerance_pct: float) -> int | None:
    """Index from which every value is within the band; None: the last one is outside."""
    outside = np.abs(values - final_value) > tolerance_pct / 100.0 * abs(final_value)
    if not outside.any():
        return 0
    last = int(outside.size - 1 - np.argmax(outside[::-1]))
    return None if last == outside.size - 1 else last + 1


def pce_stabilized_pct(time_s: ArrayLike, pce_pct: ArrayLike, window_s: float | None = None,
                       window_fraction: float = DEFAULT_WINDOW_FRACTION,
                       tolerance_pct: float = 1.0) -> float:
    """Stabilized PCE [%]: the mean over the final window in which the PCE has settled.

    The window is the last ``window_s`` (default: the last ``window_fraction`` of the run); if
    the series settles (enters and stays within +-``tolerance_pct`` of the mean) only inside the
    window, the window starts there instead (settled on the mean of the window, or on the
    mean of its later half over all of that half); a series that drifts through the window
    gives the window's mean. Works for any series (power too); docs/methods.md §2.1.
    """
    t, v = _series(time_s, pce_pct)
    window_start = _window_start_s(t, window_s, window_fraction)
    first = int(np.searchsorted(t, window_start))
    mean = float(np.mean(v[first:]))
    start = _settled_index(v, mean, tolerance_pct)
    if start is not None:
        return float(np.mean(v[max(start, first):]))
    half = first + (v.size - first) // 2  # a late step: settled over the window's later half?
    start = _settled_index(v, float(np.mean(v[half:])), tolerance_pct)
    if start is not None and start <= half:
        return float(np.mean(v[max(start, first):]))
    return mean  # drifting: the window's mean


def settling_time_s(time_s: ArrayLike, values: ArrayLike, final_value: float | None = None,
                    tolerance_pct: float = 1.0,
                    window_fraction: float = DEFAULT_WINDOW_FRACTION) -> float:
    """Time [s] from the first sample until the series enters and stays within
    +-``tolerance_pct`` of ``final_value`` (default: :func:`pce_stabilized_pct` of the series);
    0 when it starts inside the band, NaN when its last sample is outside it
    (docs/methods.md §3)."""
    t, v = _series(time_s, values)
    final = (pce_stabilized_pct(t, v, window_fraction=window_fraction,
                                tolerance_pct=tolerance_pct)
             if final_value is None else float(final_value))
    start = _settled_index(v, final, tolerance_pct)
    return float("nan") if start is None else float(t[start] - t[0])


def t_fraction_h(time_h: ArrayLike, values: ArrayLike, fraction: float,
                 reference: float | None = None, after_h: float | None = None) -> float:
    """First time [h] at which ``values`` falls to ``fraction`` of ``reference`` (default: the
    first value), interpolated linearly between samples; only samples at or after ``after_h``
    count. NaN if it never does. The T_x of Khenkin et al. 2020, :doi:`10.1038/s41560-019-0529-5`
    (docs/methods.md §2.2)."""
    t, v = _series(time_h, values)
    ref = float(v[0]) if reference is None else float(reference)
    level = fraction * ref
    below = v <= level
    if after_h is not None:
        below &= t >= after_h
    if not below.any():
        return float("nan")
    k = int(np.argmax(below))
    if k == 0 or (after_h is not None and t[k - 1] < after_h) or v[k - 1] == v[k]:
        return float(t[k])
    return float(t[k - 1] + (v[k - 1] - level) / (v[k - 1] - v[k]) * (t[k] - t[k - 1]))


def t95_h(time_h: ArrayLike, values: ArrayLike, reference: float | None = None) -> float:
    """T95 [h]: time to 95 % of the initial value, :doi:`10.1038/s41560-019-0529-5`."""
    return t_fraction_h(time_h, values, 0.95, reference)


def t80_h(time_h: ArrayLike, values: ArrayLike, reference: float | None = None) -> float:
    """T80 [h]: time to 80 % of the initial value, :doi:`10.1038/s41560-019-0529-5`."""
    return t_fraction_h(time_h, values, 0.80, reference)


def ts80_h(time_h: ArrayLike, values: ArrayLike, burn_in_h: float) -> float:
    """Ts80 [h]: time, from the start, to 80 % of ``E_s``, the value at the end of the burn-in
    (``burn_in_h``, interpolated), Khenkin et al., Nat. Energy 2020,
    :doi:`10.1038/s41560-019-0529-5`."""
    t, v = _series(time_h, values)
    e_s = float(np.interp(burn_in_h, t, v))
    return t_fraction_h(t, v, 0.80, reference=e_s, after_h=burn_in_h)


def tracking_efficiency(time_s: ArrayLike, power_w: ArrayLike, true_power_w: ArrayLike,
                        since_s: float | None = None) -> float:
    """Measured energy over the energy at the true steady-state maximum power [fraction]
    (trapezoids; from ``since_s`` on if given). Above 1 while a poled cell gives more than its
    steady-state power. docs/methods.md §3 (the static/dynamic efficiency of EN 50530)."""
    t, p = _series(time_s, power_w)
    _, p_true = _series(time_s, true_power_w)
    if since_s is not None:
        keep = t >= since_s
        t, p, p_true = t[keep], p[keep], p_true[keep]
    true_energy = float(np.trapezoid(p_true, t))
    return float(np.trapezoid(p, t)) / true_energy if true_energy > 0 else float("nan")


def ripple_pct(time_s: ArrayLike, values: ArrayLike,
               window_fraction: float = DEFAULT_WINDOW_FRACTION) -> float:
    """Standard deviation over the mean in the final window [%] (docs/methods.md §3)."""
    t, v = _series(time_s, values)
    window = v[t >= _window_start_s(t, None, window_fraction)]
    mean = float(np.mean(window))
    return float(np.std(window)) / abs(mean) * 100.0 if mean else float("nan")


def decimate_minmax(time_s: ArrayLike, values: ArrayLike,
                    n_bins: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and the largest value of each of ``n_bins`` bins of equal sample count, in
    time order (at most ``2*n_bins`` points); the series itself when it is shorter. For the
    power/PCE figures of long runs (docs/methods.md §2.2): a spike survives, unlike in a
    mean per bin."""
    t, v = _series(time_s, values)
    if t.size <= 2 * n_bins:
        return t.copy(), v.copy()
    per_bin = -(-t.size // n_bins)
    bins = -(-t.size // per_bin)
    padded = np.full(bins * per_bin, np.nan)
    padded[:v.size] = v
    blocks = padded.reshape(bins, per_bin)
    filled = np.where(np.isnan(blocks), np.inf, blocks)
    lo = np.argmin(filled, axis=1)
    hi = np.argmax(np.where(np.isnan(blocks), -np.inf, blocks), axis=1)
    first, second = np.minimum(lo, hi), np.maximum(lo, hi)
    offsets = np.arange(bins) * per_bin
    index = np.column_stack([offsets + first, offsets + second]).ravel()
    return t[index], v[index]


class MinMaxDecimator:
    """Streaming min/max decimation into bins of ``bin_s`` [s]: feed chunks as a run goes,
    memory grows with the number of bins only (a 1000 h run with 30 min bins: 2000 bins);
    the streaming form of :func:`decimate_minmax` (docs/methods.md §2.2)."""

    def __init__(self, bin_s: float) -> None:
        if not bin_s > 0:
            raise ValueError("bin_s must be > 0")
        self.bin_s = float(bin_s)
        self._bins: dict[int, list[float]] = {}  # bin -> [t_min, v_min, t_max, v_max]

    def update(self, time_s: ArrayLike, values: ArrayLike) -> None:
        """Add a chunk of samples (any length, time order)."""
        t, v = _series(time_s, values)
        keys = np.floor(t / self.bin_s).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        ends = np.r_[starts[1:], keys.size]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            lo = start + int(np.argmin(v[start:end]))
            hi = start + int(np.argmax(v[start:end]))
            entry = self._bins.setdefault(int(keys[start]), [t[lo], v[lo], t[hi], v[hi]])
            if v[lo] < entry[1]:
                entry[0], entry[1] = t[lo], v[lo]
            if v[hi] > entry[3]:
                entry[2], entry[3] = t[hi], v[hi]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(time, value) of every bin's minimum and maximum, in time order."""
        points = sorted((e[0], e[1]) for entry in self._bins.values()
                        for e in ((entry[0], entry[1]), (entry[2], entry[3])))
        if not points:
            return np.empty(0), np.empty(0)
        data = np.array(points)
        return data[:, 0], data[:, 1]
