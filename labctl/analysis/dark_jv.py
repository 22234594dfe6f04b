"""Ideality factor and saturation current from the exponential region of a dark J-V
(docs/methods.md §4.2, the second route to n besides light-intensity Voc).

Pure functions on numpy arrays. In the dark a cell is a diode with series and shunt
resistance, J = J0·(exp(q(V − J·Rs)/(n·kT)) − 1) + V/Rsh; between the shunt-dominated low
bias and the series-resistance roll-off the current is exponential and
n = (q/kT)·dV/d ln J is at its lowest and nearly constant (the local-ideality method of
Wetzelaer et al., *Appl. Phys. Lett.* 99, 153506 (2011), doi:10.1063/1.3651752). The
function removes the shunt current (Rsh from the slope around 0 V), computes the local n
over three-point windows, takes the longest run of points whose n stays within
:data:`PLATEAU_FRACTION` (the exponential region), and fits ln J against V over it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["PLATEAU_FRACTION", "dark_diode_fit"]

#: Points of the exponential region have a local n within this fraction of the minimum.
PLATEAU_FRACTION = 0.15
#: Bias range around 0 V whose slope gives the shunt conductance [V].
SHUNT_RANGE_V = 0.1
#: Fewest points of the exponential region.
MIN_POINTS = 4
#: k/q [V/K].
BOLTZMANN_V_PER_K = 8.617333262e-5
#: Local ideality below this is an artefact of the shunt subtraction, not a diode.
MIN_LOCAL_N = 0.8


def _three_point_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope over each point and its two neighbours (two at the ends)."""
    lo = np.clip(np.arange(x.size) - 1, 0, x.size - 1)
    hi = np.clip(np.arange(x.size) + 1, 0, x.size - 1)
    idx = np.stack([lo, np.arange(x.size), hi])
    xs, ys = x[idx], y[idx]
    dx = xs - xs.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dx * (ys - ys.mean(axis=0))).sum(axis=0) / (dx * dx).sum(axis=0)


def _flattest_run(local_n: np.ndarray) -> tuple[int, int] | None:
    """The longest run of finite local n whose largest is within PLATEAU_FRACTION of its
    smallest (ties: the lower n); None when no run has MIN_POINTS points."""
    best: tuple[int, float, int, int] | None = None
    size = local_n.size
    for first in range(size):
        if not np.isfinite(local_n[first]):
            continue
        low = high = float(local_n[first])
        last = first
        while last + 1 < size and np.isfinite(local_n[last + 1]):
            value = float(local_n[last + 1])
            if max(high, value) > (1 + PLATEAU_FRACTION) * min(low, value):
                break
            low, high, last = min(low, value), max(high, value), last + 1
        key = (last - first + 1, -low)
        if best is None or key > (best[0], -best[1]):
            best = (last - first + 1, low, first, last)
    if best is None or best[0] < MIN_POINTS:
        return None
    return best[2], best[3]


def _injection_ma_cm2(voltage_v: np.ndarray, j_ma_cm2: np.ndarray) -> np.ndarray:
    """Forward current positive: a dark J-V in the photovoltaic sign has J < 0 in forward
    bias; either sign is accepted (the one that makes the forward current positive)."""
    forward = voltage_v > 0
    if forward.any() and np.nanmedian(j_ma_cm2[forward]) < 0:
        return -j_ma_cm2
    return j_ma_cm2


def dark_diode_fit(voltage_v: ArrayLike, j_ma_cm2: ArrayLike, temperature_k: float = 298.15
                   ) -> tuple[dict[str, float], list[str]]:
    """n and J0 of a dark J-V (docs/methods.md §4.2; doi:10.1063/1.3651752):
    ``({"ideality_dark", "j0_dark_ma_cm2", "dark_fit_v_min", "dark_fit_v_max"},
    warnings)`` of a dark J-V; NaNs with a warning when no exponential region is found."""
    v = np.asarray(voltage_v, dtype=float)
    j = np.asarray(j_ma_cm2, dtype=float)
    keep = np.isfinite(v) & np.isfinite(j)
    v, j = v[keep], j[keep]
    order = np.argsort(v, kind="stable")
    v, j = v[order], _injection_ma_cm2(v[order], j[order])
    nan = {"ideality_dark": np.nan, "j0_dark_ma_cm2": np.nan,
           "dark_fit_v_min": np.nan, "dark_fit_v_max": np.nan}
    near_zero = np.abs(v) <= SHUNT_RANGE_V
    shunt_ms_cm2 = 0.0
    if np.unique(v[near_zero]).size >= 2:
        shunt_ms_cm2 = max(0.0, float(np.polyfit(v[near_zero], j[near_zero], 1)[0]))
    diode = j - shunt_ms_cm2 * v
    usable = (v > 0) & (diode > 0)
    if usable.sum() < MIN_POINTS:
        return nan, ["dark J-V: too few forward-bias points above the shunt current for n "
                     "and J0"]
    vu, ln_j = v[usable], np.log(diode[usable])
    spacing = float(np.median(np.diff(vu))) if vu.size > 1 else 0.0
    slope = _three_point_slopes(vu, ln_j) if spacing > 0 else np.full(vu.shape, np.nan)
    vt = BOLTZMANN_V_PER_K * float(temperature_k)
    with np.errstate(divide="ignore", invalid="ignore"):
        local_n = 1.0 / (slope * vt)
    local_n[~(local_n >= MIN_LOCAL_N)] = np.nan  # flat, falling or sub-ideal: no diode
    run = _flattest_run(local_n)
    if run is None:
        return nan, [f"dark J-V: no exponential region of {MIN_POINTS} points or more (local "
                     f"n constant within {PLATEAU_FRACTION:.0%})"]
    first, last = run
    fit_slope, fit_intercept = np.polyfit(vu[first:last + 1], ln_j[first:last + 1], 1)
    metrics = {"ideality_dark": float(1.0 / (fit_slope * vt)),
               "j0_dark_ma_cm2": float(np.exp(fit_intercept)),
               "dark_fit_v_min": float(vu[first]), "dark_fit_v_max": float(vu[last])}
    return metrics, []
