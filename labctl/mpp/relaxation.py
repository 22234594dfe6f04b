"""Fit of a current relaxation ``I(t) = I_inf + A*exp(-t/tau)`` to the readings after a move.

Mobile ions make the current relax after every voltage step; predicting ``I_inf`` from the
first part of the transient instead of waiting for it is the predictive perturb-and-observe of
Cimaroli et al., J. Mater. Chem. C 2017, DOI 10.1039/C7TC03482B; measuring the transient
first to choose the dwell is Rakocevic et al., Sol. RRL 2019, DOI 10.1002/solr.201800287
(docs/methods.md §3). With ``tau`` known the model is linear in ``(I_inf, A)`` (least squares,
with the standard error of ``I_inf``); with ``tau`` free it is found on a logarithmic grid
(vectorised) refined by Brent's method in ``log(tau)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

__all__ = ["RelaxationFit", "fit_relaxation"]

_GRID_POINTS = 49
#: Relative floor of the residual scatter used for the standard error (float round-off).
_RELATIVE_NOISE_FLOOR = 1e-12


@dataclass(frozen=True)
class RelaxationFit:
    """The fitted relaxation; ``tau_s`` is the given or fitted time constant [s]."""

    current_inf_a: float
    amplitude_a: float
    tau_s: float
    #: Standard error of ``current_inf_a`` [A] (from the residual scatter).
    current_inf_se_a: float
    rms_a: float
    #: The best ``tau`` was the grid's longest: the transient is slower than the data span.
    tau_at_upper_edge: bool = False
    #: The best ``tau`` was the grid's shortest: the transient is over before the first point.
    tau_at_lower_edge: bool = False


def _linear_fit(t: np.ndarray, y: np.ndarray, tau_s: float) -> tuple[float, float, float, float]:
    """(I_inf, A, se of I_inf, rms) for a fixed tau."""
    x = np.exp(-t / tau_s)
    n = t.size
    x_mean, y_mean = float(x.mean()), float(y.mean())
    sxx = float(np.sum((x - x_mean) ** 2))
    if n < 2 or sxx <= 1e-300:
        return y_mean, 0.0, float(np.std(y)) / max(1.0, np.sqrt(n)), float(np.std(y))
    slope = float(np.sum((x - x_mean) * (y - y_mean))) / sxx
    intercept = y_mean - slope * x_mean
    residual = y - intercept - slope * x
    dof = max(n - 2, 1)
    sigma = max(float(np.sqrt(np.sum(residual**2) / dof)),
                _RELATIVE_NOISE_FLOOR * abs(y_mean))
    se = sigma * float(np.sqrt(1.0 / n + x_mean**2 / sxx))
    return intercept, slope, se, float(np.sqrt(np.mean(residual**2)))


def _ssr(t: np.ndarray, y: np.ndarray, tau_s: float) -> float:
    x = np.exp(-t / tau_s)
    x_c = x - x.mean()
    y_c = y - y.mean()
    sxx = float(x_c @ x_c)
    return float(y_c @ y_c) - (float(x_c @ y_c) ** 2 / sxx if sxx > 1e-300 else 0.0)


def _grid_fit(t: np.ndarray, y: np.ndarray) -> tuple[float, int, np.ndarray, np.ndarray]:
    """Sum of squared residuals over a tau grid: (best tau, its index, grid, ssr)."""
    span = float(t[-1])
    first = float(t[0]) if t[0] > 0 else span / 100.0
    taus = np.geomspace(first / 5.0, span * 20.0, _GRID_POINTS)
    x = np.exp(-t[None, :] / taus[:, None])
    x_c = x - x.mean(axis=1, keepdims=True)
    y_c = y - y.mean()
    sxx = np.sum(x_c**2, axis=1)
    sxy = x_c @ y_c
    with np.errstate(divide="ignore", invalid="ignore"):
        ssr = np.sum(y_c**2) - np.where(sxx > 1e-300, sxy**2 / sxx, 0.0)
    k = int(np.argmin(ssr))
    return float(taus[k]), k, taus, ssr


def fit_relaxation(time_s: ArrayLike, current_a: ArrayLike,
                   tau_s: float | None = None) -> RelaxationFit:
    """Fit ``I(t) = I_inf + A*exp(-t/tau)``; ``time_s`` counted from the move (> 0).

    Parameters
    ----------
    time_s, current_a : array_like
        Reading times since the voltage step [s] (increasing) and currents [A].
    tau_s : float, optional
        Known time constant [s]; fitted (needs >= 4 readings) when omitted.
    """
    t = np.asarray(time_s, dtype=float)
    y = np.asarray(current_a, dtype=float)
    if t.size == 0:
        raise ValueError("no readings to fit")
    if tau_s is not None or t.size < 4:
        tau = float(tau_s) if tau_s is not None else max(float(t[-1]), 1e-9)
        i_inf, amp, se, rms = _linear_fit(t, y, tau)
        return RelaxationFit(i_inf, amp, tau, se, rms)
    tau, k, taus, ssr = _grid_fit(t, y)
    if 0 < k < taus.size - 1:  # refine between the grid neighbours (Brent, in log tau)
        result = optimize.minimize_scalar(
            lambda log_tau: _ssr(t, y, math.exp(log_tau)), method="bounded",
            bounds=(math.log(taus[k - 1]), math.log(taus[k + 1])),
            options={"xatol": 1e-6})
        tau = math.exp(float(result.x))
    i_inf, amp, se, rms = _linear_fit(t, y, tau)
    return RelaxationFit(i_inf, amp, tau, se, rms, tau_at_upper_edge=k == taus.size - 1,
                         tau_at_lower_edge=k == 0)
