"""Ideality factor and Jsc power law from light-intensity-dependent Voc and Jsc
(docs/methods.md §4).

Pure functions on numpy arrays. Voc = (n·kT/q)·ln(J_ph/J_0 + 1) (Jia et al., *Nature
Communications* 2025, eq. 5, doi:10.1038/s41467-025-63618-5), so the ideality factor is the
slope of Voc against ln(irradiance) in units of kT/q:

- :func:`global_ideality`: one straight-line fit over a range (``ideality``); by default over
  every point not flagged as shunt-dominated;
- :func:`local_ideality`: the slope over a sliding window of ``window_decades`` centred on each
  point (``ideality_local``), which resolves regimes such as the n ≈ 2 / 4 / 1 pattern of
  Hao et al., *Nature Energy* 5, 79 (2020), doi:10.1038/s41560-019-0535-7;
- :func:`find_regimes`: segments of near-constant n (an optimal piecewise-linear segmentation
  of Voc against ln Φ, a BIC-like penalty per segment), each with its range and n;
- :func:`shunt_dominated`: the low-light points where Voc falls towards the shunt line
  Voc ≈ J_ph·R_sh: there d ln Voc / d ln Φ tends to 1, while a diode gives n·kT/(q·Voc)
  (0.05 for n = 1.5 at 0.8 V); points from the low-light end whose windowed elasticity
  exceeds :data:`SHUNT_ELASTICITY` are flagged (a warning, not fitted);
- :func:`jsc_power_law`: Jsc ∝ Φ^α from a log-log fit (``alpha``, docs/methods.md §4.3);
- J0 from the measured Jsc: Voc = (n·kT/q)·ln(Jsc/J0) fitted against ln Jsc over the fitted
  points (``j0_ma_cm2``, mA/cm², the unit of the Jsc column).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "BOLTZMANN_V_PER_K",
    "SHUNT_ELASTICITY",
    "analyze_intensity",
    "find_regimes",
    "global_ideality",
    "jsc_power_law",
    "local_ideality",
    "shunt_dominated",
    "thermal_voltage_v",
    "voc_elasticity",
    "windowed_slopes",
]

#: k/q [V/K].
BOLTZMANN_V_PER_K = 8.617333262e-5
#: d ln Voc / d ln Φ above which a low-light point counts as shunt-dominated.
SHUNT_ELASTICITY = 0.25
#: Smallest noise assumed on Voc by the segmentation [V].
VOC_NOISE_FLOOR_V = 0.3e-3
#: Penalty per segment of :func:`find_regimes`, in units of ln(points) (BIC: parameters).
SEGMENT_PENALTY = 3.0
#: Adjacent regimes whose n differ by less than this fraction are one regime.
REGIME_MERGE_FRACTION = 0.15
ONE_SUN_MW_CM2 = 100.0


def thermal_voltage_v(temperature_k: float) -> float:
    """kT/q [V] at ``temperature_k`` [K]."""
    return BOLTZMANN_V_PER_K * float(temperature_k)


def _sorted_valid(irradiance_mw_cm2: ArrayLike, values: ArrayLike
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order, ln Φ, values) of the finite points with Φ > 0, sorted by irradiance."""
    phi = np.asarray(irradiance_mw_cm2, dtype=float)
    y = np.asarray(values, dtype=float)
    index = np.flatnonzero(np.isfinite(phi) & (phi > 0) & np.isfinite(y))
    order = index[np.argsort(phi[index], kind="stable")]
    return order, np.log(phi[order]), y[order]


def windowed_slopes(x: ArrayLike, y: ArrayLike, half_width: float,
                    min_points: int = 3) -> np.ndarray:
    """Least-squares slope dy/dx over the points within ``half_width`` of each point's x
    (vectorised: one masked fit per point), widened to the ``min_points`` nearest points
    where fewer fall in (the ends of a sparse series); NaN with fewer points in all."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.size < min_points:
        return np.full(xs.shape, np.nan)
    distance = np.abs(xs[:, None] - xs[None, :])
    nearest = np.sort(distance, axis=1)[:, min_points - 1]
    reach = np.maximum(half_width * (1 + 1e-6), nearest * (1 + 1e-9))
    inside = distance <= reach[:, None]
    count = inside.sum(axis=1)
    safe = np.maximum(count, 1)
    mean_x = (inside * xs).sum(axis=1) / safe
    mean_y = (inside * ys).sum(axis=1) / safe
    dx = xs[None, :] - mean_x[:, None]
    dy = ys[None, :] - mean_y[:, None]
    sxx = (inside * dx * dx).sum(axis=1)
    sxy = (inside * dx * dy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = sxy / sxx
    slope[(count < min_points) | ~(sxx > 0)] = np.nan
    return slope


def local_ideality(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike, window_decades: float = 1.0,
                   temperature_k: float = 298.15) -> np.ndarray:
    """n(Φ) at each point, in the input order: the slope of Voc against ln Φ over the points
    within ±``window_decades``/2 of it, over kT/q; NaN where under 3 points fall in."""
    order, ln_phi, voc = _sorted_valid(irradiance_mw_cm2, voc_v)
    out = np.full(np.shape(np.asarray(voc_v)), np.nan)
    if order.size:
        half = 0.5 * float(window_decades) * np.log(10.0)
        out[order] = windowed_slopes(ln_phi, voc, half) / thermal_voltage_v(temperature_k)
    return out


def voc_elasticity(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike,
                   window_decades: float = 1.0) -> np.ndarray:
    """d ln Voc / d ln Φ over the same window as :func:`local_ideality` (input order): n·kT/
    (q·Voc) for a diode, 1 on the shunt line Voc = J_ph·R_sh; NaN for Voc ≤ 0."""
    voc = np.asarray(voc_v, dtype=float)
    positive = np.where(voc > 0, voc, np.nan)
    order, ln_phi, ln_voc = _sorted_valid(irradiance_mw_cm2, np.log(positive))
    out = np.full(voc.shape, np.nan)
    if order.size:
        half = 0.5 * float(window_decades) * np.log(10.0)
        out[order] = windowed_slopes(ln_phi, ln_voc, half)
    return out


def shunt_dominated(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike,
                    window_decades: float = 1.0,
                    threshold: float = SHUNT_ELASTICITY) -> np.ndarray:
    """Mask (input order) of the low-light points dominated by the shunt: from the lowest
    irradiance up, each point whose Voc elasticity exceeds ``threshold`` (or whose Voc is not
    positive), up to the first point that is not."""
    voc = np.asarray(voc_v, dtype=float)
    elasticity = voc_elasticity(irradiance_mw_cm2, voc, window_decades)
    order, _, _ = _sorted_valid(irradiance_mw_cm2, voc)
    mask = np.zeros(voc.shape, dtype=bool)
    for index in order:
        if voc[index] > 0 and not elasticity[index] > threshold:
            break
        mask[index] = True
    return mask


def global_ideality(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike,
                    use: ArrayLike | None = None, temperature_k: float = 298.15
                    ) -> tuple[float, float]:
    """(n, Voc at 1 sun [V]) of one straight-line fit of Voc against ln(Φ / 1 sun) over the
    points where ``use`` is true (all by default); NaNs with fewer than 2 distinct points."""
    phi = np.asarray(irradiance_mw_cm2, dtype=float)
    voc = np.asarray(voc_v, dtype=float)
    keep = np.isfinite(phi) & (phi > 0) & np.isfinite(voc)
    if use is not None:
        keep &= np.asarray(use, dtype=bool)
    if np.unique(phi[keep]).size < 2:
        return np.nan, np.nan
    slope, intercept = np.polyfit(np.log(phi[keep] / ONE_SUN_MW_CM2), voc[keep], 1)
    return float(slope / thermal_voltage_v(temperature_k)), float(intercept)


def jsc_power_law(irradiance_mw_cm2: ArrayLike, jsc_ma_cm2: ArrayLike,
                  use: ArrayLike | None = None) -> float:
    """alpha of Jsc ∝ Φ^alpha (log-log fit over the points with Φ, Jsc > 0); NaN without two."""
    phi = np.asarray(irradiance_mw_cm2, dtype=float)
    jsc = np.asarray(jsc_ma_cm2, dtype=float)
    keep = np.isfinite(phi) & (phi > 0) & np.isfinite(jsc) & (jsc > 0)
    if use is not None:
        keep &= np.asarray(use, dtype=bool)
    if np.unique(phi[keep]).size < 2:
        return np.nan
    return float(np.polyfit(np.log(phi[keep]), np.log(jsc[keep]), 1)[0])


def _segment_costs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SSE of a straight-line fit over points i..j (inclusive) for every i <= j."""
    def cum(values: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(values)])

    sx, sy, sxx, sxy, syy = (cum(v) for v in (x, y, x * x, x * y, y * y))
    i, j = np.triu_indices(x.size)
    n = (j - i + 1).astype(float)
    mx = (sx[j + 1] - sx[i]) / n
    my = (sy[j + 1] - sy[i]) / n
    cxx = sxx[j + 1] - sxx[i] - n * mx * mx
    cxy = sxy[j + 1] - sxy[i] - n * mx * my
    cyy = syy[j + 1] - syy[i] - n * my * my
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = np.where(cxx > 0, cyy - cxy * cxy / np.where(cxx > 0, cxx, 1.0), cyy)
    cost = np.full((x.size, x.size), np.inf)
    cost[i, j] = np.maximum(sse, 0.0)
    return cost


def _noise_v(y: np.ndarray) -> float:
    """Voc noise from the second differences (robust: median absolute deviation)."""
    if y.size < 5:
        return VOC_NOISE_FLOOR_V
    d2 = np.diff(y, 2) / np.sqrt(6.0)
    mad = float(np.median(np.abs(d2 - np.median(d2)))) * 1.4826
    return max(mad, VOC_NOISE_FLOOR_V)


def _segmentation(x: np.ndarray, y: np.ndarray, min_points: int, min_span: float
                  ) -> list[tuple[int, int]]:
    """Optimal segments (first, last index) minimising SSE/σ² + penalty·ln N per segment."""
    n = x.size
    cost = _segment_costs(x, y) / _noise_v(y) ** 2
    first, last = np.indices((n, n))
    short = (last - first + 1 < min_points) | (x[last] - x[first] < min_span)
    cost[short] = np.inf
    penalty = SEGMENT_PENALTY * np.log(max(n, 2))
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(n + 1, dtype=int)
    for end in range(1, n + 1):
        totals = best[:end] + cost[:end, end - 1] + penalty
        k = int(np.argmin(totals))
        best[end], start[end] = totals[k], k
    if not np.isfinite(best[n]):
        return [(0, n - 1)]
    segments = []
    end = n
    while end > 0:
        segments.append((int(start[end]), end - 1))
        end = int(start[end])
    return segments[::-1]


def find_regimes(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike, temperature_k: float = 298.15,
                 min_points: int = 3, min_decades: float = 0.5) -> list[dict[str, float]]:
    """Segments of near-constant ideality, low light first: ``{"sun_min", "sun_max", "n",
    "points"}`` each; neighbours whose n differ by under 15 % are merged."""
    order, ln_phi, voc = _sorted_valid(irradiance_mw_cm2, voc_v)
    if order.size < max(2, min_points):
        return []
    segments = _segmentation(ln_phi, voc, min_points, min_decades * np.log(10.0))
    vt = thermal_voltage_v(temperature_k)

    def fit(a: int, b: int) -> float:
        return float(np.polyfit(ln_phi[a:b + 1], voc[a:b + 1], 1)[0] / vt)

    merged: list[list[int]] = []
    for a, b in segments:
        if merged:
            previous = fit(*merged[-1])
            if abs(fit(a, b) - previous) < REGIME_MERGE_FRACTION * abs(previous):
                merged[-1][1] = b
                continue
        merged.append([a, b])
    suns = np.exp(ln_phi) / ONE_SUN_MW_CM2
    return [{"sun_min": float(suns[a]), "sun_max": float(suns[b]), "n": fit(a, b),
             "points": int(b - a + 1)} for a, b in merged]


def _j0_ma_cm2(voc: np.ndarray, jsc: np.ndarray | None, use: np.ndarray, vt: float
               ) -> float:
    """J0 from Voc = n·kT/q·ln(Jsc/J0): a line through Voc against ln Jsc (its slope is the
    diode's n even when alpha ≠ 1), J0 = exp(−intercept / (n·kT/q))."""
    if jsc is None:
        return np.nan
    keep = use & np.isfinite(jsc) & (jsc > 0) & np.isfinite(voc)
    if np.unique(jsc[keep]).size < 2:
        return np.nan
    slope, intercept = np.polyfit(np.log(jsc[keep]), voc[keep], 1)
    if not slope > 0:
        return np.nan
    return float(np.exp(-intercept / slope))


def analyze_intensity(irradiance_mw_cm2: ArrayLike, voc_v: ArrayLike,
                      jsc_ma_cm2: ArrayLike | None = None, temperature_k: float = 298.15,
                      window_decades: float = 1.0,
                      fit_range_sun: tuple[float, float] | None = None
                      ) -> tuple[dict[str, Any], list[str]]:
    """Every metric of an intensity series and its warnings (docs/contracts.md, "Summary
    JSON": ``ideality``, ``ideality_local``, ``alpha``, ``j0_ma_cm2``; plus ``regimes``,
    ``fit_range_sun``, ``shunt_dominated_points``).

    ``fit_range_sun`` (low, high) bounds the global fit; by default every point that is not
    shunt-dominated.
    """
    phi = np.asarray(irradiance_mw_cm2, dtype=float)
    voc = np.asarray(voc_v, dtype=float)
    jsc = None if jsc_ma_cm2 is None else np.asarray(jsc_ma_cm2, dtype=float)
    if jsc is not None and not np.isfinite(jsc).any():
        jsc = None
    warnings: list[str] = []
    valid = np.isfinite(phi) & (phi > 0) & np.isfinite(voc)
    shunt = shunt_dominated(phi, voc, window_decades)
    if fit_range_sun is None:
        use = valid & ~shunt
    else:
        low, high = (ONE_SUN_MW_CM2 * float(s) for s in fit_range_sun)
        use = valid & (phi >= low * (1 - 1e-9)) & (phi <= high * (1 + 1e-9))
    if shunt.any():
        warnings.append(
            f"{int(shunt.sum())} low-light point(s) up to "
            f"{phi[shunt].max() / ONE_SUN_MW_CM2:.3g} sun are shunt-dominated (Voc towards "
            "J_ph·R_sh); they are not fitted")
    if (~valid).any():
        warnings.append(f"{int((~valid).sum())} point(s) without a positive irradiance or a "
                        "finite Voc were left out")
    vt = thermal_voltage_v(temperature_k)
    n, _ = global_ideality(phi, voc, use, temperature_k)
    if not np.isfinite(n):
        warnings.append("fewer than two irradiance levels to fit: no ideality factor")
    local = local_ideality(phi, voc, window_decades, temperature_k)
    order = np.argsort(np.where(valid, phi, np.inf), kind="stable")
    ideality_local = [{"sun": float(phi[i] / ONE_SUN_MW_CM2), "n": float(local[i])}
                      for i in order if valid[i] and np.isfinite(local[i])]
    regimes = find_regimes(phi[use], voc[use], temperature_k)
    alpha = np.nan if jsc is None else jsc_power_law(phi, jsc, use)
    j0 = _j0_ma_cm2(voc, jsc, use, vt)
    if jsc is None:
        warnings.append("no Jsc column: alpha and j0_ma_cm2 need the short-circuit current")
    fitted = phi[use] / ONE_SUN_MW_CM2
    metrics: dict[str, Any] = {
        "ideality": n,
        "ideality_local": ideality_local,
        "alpha": alpha,
        "j0_ma_cm2": j0,
        "regimes": regimes,
        "fit_range_sun": ([float(fitted.min()), float(fitted.max())] if fitted.size
                          else [np.nan, np.nan]),
        "shunt_dominated_points": int(shunt.sum()),
    }
    return metrics, warnings
