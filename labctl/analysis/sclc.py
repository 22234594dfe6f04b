"""Space-charge-limited current (SCLC) analysis of single-carrier devices (docs/methods.md §5).

Pure functions on numpy arrays, vectorised over curves: :func:`sclc_analysis` takes one curve
(shape ``(n,)``) or a batch (``(curves, n)``, NaN-padded where curves are shorter) and
returns arrays of per-curve results in one call.

The method (docs/methods.md §5.2-5.3):

- the local log-log slope ``d ln J / d ln V`` by a least-squares line over a sliding window
  of points (:func:`log_log_slope`);
- V_TFL where the tangent to the ohmic region (a line fitted to the points below the
  steepest point whose slope is 1 within ``ohmic_tolerance``) meets the tangent at the
  steepest point, taken only when its slope exceeds 2 by more than ``child_tolerance``
  (as kostergroup/pySIMsalabim ``aux_funcs/SCLC_funcs.py`` does);
- ``N_trap = 2*eps0*eps_r*V_TFL/(q*L^2)``;
- the Mott-Gurney mobility ``mu = 8*J*L^3/(9*eps0*eps_r*V^2)`` from a fit of
  ``ln J = ln c + 2 ln V`` over the Child region (slope 2 within ``child_tolerance``, above
  the steepest point), optionally with ``V - V_bi`` for a built-in voltage;
- the minimum apparent trap density ``N_t,min = 4*pi^2*(kT/q^2)*(eps0*eps_r/L^2)`` of
  V. M. Le Corre et al., "Revealing Charge Carrier Mobility and Defect Densities in Metal Halide
  Perovskites via Space-Charge-Limited Current Measurements", ACS Energy Lett. 6, 1087-1094
  (2021), doi:10.1021/acsenergylett.0c02599 (eq. 3): a trap density near it is an artefact of
  the geometry, and the analysis warns.

Warnings go beside the metrics, never instead of them: N_trap within
:data:`NEAR_MINIMUM_FACTOR` of N_t,min; no slope above 2; no Child region; two sweeps of one
device (DC and pulsed, up and down) disagreeing (:func:`disagreement_warnings`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "CHILD_TOLERANCE",
    "DISAGREEMENT_TOLERANCE",
    "NEAR_MINIMUM_FACTOR",
    "OHMIC_TOLERANCE",
    "REGIME_CHILD",
    "REGIME_NAMES",
    "REGIME_OHMIC",
    "REGIME_OTHER",
    "REGIME_TRAP_FILLING",
    "SCLCResult",
    "curve_warnings",
    "disagreement_warnings",
    "log_log_slope",
    "minimum_trap_density_cm3",
    "mott_gurney_mobility_cm2_vs",
    "sclc_analysis",
    "sclc_metrics",
    "trap_density_cm3",
]

#: Elementary charge [C], vacuum permittivity [F/cm], Boltzmann constant [J/K] (CODATA 2018).
ELEMENTARY_CHARGE_C = 1.602176634e-19
VACUUM_PERMITTIVITY_F_CM = 8.8541878128e-14
BOLTZMANN_J_K = 1.380649e-23

#: The Child region: slope 2 within this [unitless].
CHILD_TOLERANCE = 0.25
#: The ohmic region: slope 1 within this [unitless].
OHMIC_TOLERANCE = 0.3
#: Warn when N_trap is below this multiple of the minimum apparent trap density [unitless].
NEAR_MINIMUM_FACTOR = 3.0
#: Two sweeps of one device disagree when V_TFL or mobility differ by more than this
#: fraction of their mean [fraction].
DISAGREEMENT_TOLERANCE = 0.2
#: Points of the sliding window of the local slope (odd) [points].
SLOPE_WINDOW_POINTS = 3

#: Regime codes of :attr:`SCLCResult.regime`.
REGIME_OTHER, REGIME_OHMIC, REGIME_TRAP_FILLING, REGIME_CHILD = 0, 1, 2, 3
REGIME_NAMES = {REGIME_OTHER: "other", REGIME_OHMIC: "ohmic",
                REGIME_TRAP_FILLING: "trap filling", REGIME_CHILD: "Child"}


def trap_density_cm3(v_tfl_v: ArrayLike, thickness_nm: ArrayLike, eps_r: ArrayLike) -> np.ndarray:
    """``N_trap = 2*eps0*eps_r*V_TFL/(q*L^2)`` [1/cm^3] (docs/methods.md §5.3)."""
    thickness_cm = np.asarray(thickness_nm, dtype=float) * 1e-7
    return (2.0 * VACUUM_PERMITTIVITY_F_CM * np.asarray(eps_r, dtype=float)
            * np.asarray(v_tfl_v, dtype=float) / (ELEMENTARY_CHARGE_C * thickness_cm**2))


def mott_gurney_mobility_cm2_vs(j_a_cm2: ArrayLike, voltage_v: ArrayLike, thickness_nm: ArrayLike,
                                eps_r: ArrayLike) -> np.ndarray:
    """``mu = 8*J*L^3/(9*eps0*eps_r*V^2)`` [cm^2/(V s)] (docs/methods.md §5.3)."""
    thickness_cm = np.asarray(thickness_nm, dtype=float) * 1e-7
    return (8.0 * np.asarray(j_a_cm2, dtype=float) * thickness_cm**3
            / (9.0 * VACUUM_PERMITTIVITY_F_CM * np.asarray(eps_r, dtype=float)
               * np.asarray(voltage_v, dtype=float) ** 2))


def minimum_trap_density_cm3(thickness_nm: ArrayLike, eps_r: ArrayLike,
                             temperature_k: ArrayLike = 298.15) -> np.ndarray:
    """Minimum apparent trap density ``4*pi^2*(kT/q^2)*(eps0*eps_r/L^2)`` [1/cm^3]
    (Le Corre et al. 2021, doi:10.1021/acsenergylett.0c02599, eq. 3)."""
    thickness_cm = np.asarray(thickness_nm, dtype=float) * 1e-7
    kt_j = BOLTZMANN_J_K * np.asarray(temperature_k, dtype=float)
    return (4.0 * np.pi**2 * kt_j / ELEMENTARY_CHARGE_C**2
            * VACUUM_PERMITTIVITY_F_CM * np.asarray(eps_r, dtype=float) / thickness_cm**2)


def _window_sums(values: np.ndarray, half: int) -> np.ndarray:
    """Sum over ``[k-half, k+half]`` along the last axis (truncated at the ends)."""
    padded = np.concatenate([np.zeros((*values.shape[:-1], 1)), np.cumsum(values, axis=-1)],
                            axis=-1)
    n = values.shape[-1]
    upper = np.minimum(np.arange(n) + half + 1, n)
    lower = np.maximum(np.arange(n) - half, 0)
    return padded[..., upper] - padded[..., lower]


def log_log_slope(voltage_v: ArrayLike, j_a_cm2: ArrayLike,
                  window_points: int = SLOPE_WINDOW_POINTS) -> np.ndarray:
    """Local slope ``d ln|J| / d ln|V|`` [unitless] along the last axis.

    A least-squares line over a sliding window of ``window_points`` (odd) points; points with
    V = 0, J = 0 or NaN are left out (their slope is NaN).
    """
    x, y = _log_curve(np.asarray(voltage_v, dtype=float), np.asarray(j_a_cm2, dtype=float))
    return _slope(x, y, window_points)


def _log_curve(voltage_v: np.ndarray, j_a_cm2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(np.abs(voltage_v))
        y = np.log(np.abs(j_a_cm2))
    bad = ~(np.isfinite(x) & np.isfinite(y))
    return np.where(bad, np.nan, x), np.where(bad, np.nan, y)


def _slope(x: np.ndarray, y: np.ndarray, window_points: int) -> np.ndarray:
    if window_points < 2 or window_points % 2 == 0:
        raise ValueError(f"window_points must be odd and at least 3, got {window_points}")
    half = window_points // 2
    valid = np.isfinite(x) & np.isfinite(y)
    w = valid.astype(float)
    x0, y0 = np.where(valid, x, 0.0), np.where(valid, y, 0.0)
    n = _window_sums(w, half)
    sx, sy = _window_sums(x0, half), _window_sums(y0, half)
    sxx, sxy = _window_sums(x0 * x0, half), _window_sums(x0 * y0, half)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    return np.where(valid & (n >= 2), slope, np.nan)


@dataclass(frozen=True)
class SCLCResult:
    """Per-curve results of :func:`sclc_analysis` (arrays of shape ``(curves,)`` for a batch,
    0-d for one curve; the last two have the curves' shape)."""

    v_tfl_v: np.ndarray
    n_trap_cm3: np.ndarray
    mobility_cm2_vs: np.ndarray
    n_trap_min_cm3: np.ndarray
    max_slope: np.ndarray
    #: The tangents in ln-ln form: ``ln J = intercept + slope * ln V`` (NaN when absent).
    ohmic_slope: np.ndarray
    ohmic_intercept: np.ndarray
    tfl_slope: np.ndarray
    tfl_intercept: np.ndarray
    #: Points in the Child region used for the mobility.
    child_points: np.ndarray
    #: How the input's sign was read: True where J was flipped (photovoltaic sign).
    flipped: np.ndarray
    slope: np.ndarray
    regime: np.ndarray


def _oriented(voltage_v: np.ndarray, j_a_cm2: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The injection branch with V > 0 and J > 0: a negative-polarity sweep mirrored, the
    photovoltaic sign (J < 0 at V > 0) flipped. Returns (V, J, flipped)."""
    positive = np.sum(voltage_v > 0, axis=-1, keepdims=True)
    negative = np.sum(voltage_v < 0, axis=-1, keepdims=True)
    polarity = np.where(negative > positive, -1.0, 1.0)
    v = voltage_v * polarity
    j = j_a_cm2 * polarity
    # more negative than positive currents on the V > 0 side: the photovoltaic sign
    flipped = (np.sum((v > 0) & (j < 0), axis=-1, keepdims=True)
               > np.sum((v > 0) & (j > 0), axis=-1, keepdims=True))
    j = np.where(flipped, -j, j)
    keep = (v > 0) & (j > 0)
    return np.where(keep, v, np.nan), np.where(keep, j, np.nan), flipped[..., 0]


def _line_fit(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                       np.ndarray]:
    """Least-squares ``y = a + b*x`` over ``mask`` along the last axis: (b, a, count)."""
    w = mask & np.isfinite(x) & np.isfinite(y)
    n = w.sum(axis=-1)
    x0, y0 = np.where(w, x, 0.0), np.where(w, y, 0.0)
    sx, sy = x0.sum(axis=-1), y0.sum(axis=-1)
    sxx, sxy = (x0 * x0).sum(axis=-1), (x0 * y0).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
        a = (sy - b * sx) / n
    return np.where(n >= 2, b, np.nan), np.where(n >= 2, a, np.nan), n


def sclc_analysis(voltage_v: ArrayLike, j_a_cm2: ArrayLike, *, thickness_nm: ArrayLike,
                  eps_r: ArrayLike, temperature_k: ArrayLike = 298.15,
                  built_in_v: ArrayLike = 0.0, child_tolerance: float = CHILD_TOLERANCE,
                  ohmic_tolerance: float = OHMIC_TOLERANCE,
                  window_points: int = SLOPE_WINDOW_POINTS) -> SCLCResult:
    """V_TFL, N_trap and the Mott-Gurney mobility of one curve or a batch of curves.

    Parameters
    ----------
    voltage_v, j_a_cm2 : array_like
        Voltage [V] and current density [A/cm^2], shape ``(n,)`` or ``(curves, n)``; either
        sign convention (injection positive, or photovoltaic: J < 0 at V > 0) and either
        polarity; NaN for missing points.
    thickness_nm, eps_r, temperature_k : array_like
        Layer thickness L [nm], relative permittivity, temperature [K]: scalars or one per
        curve.
    built_in_v : array_like, default 0
        Built-in voltage [V]: the Child fit uses ``(V - V_bi)^2`` (pySIMsalabim's option).
    child_tolerance, ohmic_tolerance : float
        Half-widths of the slope-2 and slope-1 regions [unitless].
    window_points : int
        Points of the sliding window of the local slope (odd).
    """
    v_in = np.atleast_2d(np.asarray(voltage_v, dtype=float))
    j_in = np.atleast_2d(np.asarray(j_a_cm2, dtype=float))
    if v_in.shape != j_in.shape:
        raise ValueError(f"voltage_v {v_in.shape} and j_a_cm2 {j_in.shape} differ in shape")
    single = np.ndim(voltage_v) == 1
    v, j, flipped = _oriented(v_in, j_in)
    v_bi = np.asarray(built_in_v, dtype=float).reshape(-1, 1) if np.ndim(built_in_v) else (
        float(built_in_v))
    v = np.where(v - v_bi > 0, v - v_bi, np.nan)
    x, y = _log_curve(v, j)
    # in ascending |V| (a return sweep runs down), missing points last; results come back in
    # the input's order
    order = np.argsort(np.where(np.isfinite(x), x, np.inf), axis=-1, kind="stable")
    x, y = np.take_along_axis(x, order, -1), np.take_along_axis(y, order, -1)
    slope = _slope(x, y, window_points)
    parts = _tangents(x, y, slope, child_tolerance, ohmic_tolerance)
    inverse = np.argsort(order, axis=-1)
    slope_in_order = np.take_along_axis(slope, inverse, -1)
    regime_in_order = np.take_along_axis(parts["regime"], inverse, -1)
    thickness = np.broadcast_to(np.asarray(thickness_nm, dtype=float), flipped.shape)
    eps = np.broadcast_to(np.asarray(eps_r, dtype=float), flipped.shape)
    temperature = np.broadcast_to(np.asarray(temperature_k, dtype=float), flipped.shape)
    v_tfl = parts["v_tfl_v"]
    # mobility from ln c = mean(ln J - 2 ln V) over the Child region: J = c*V^2
    child = parts["regime"] == REGIME_CHILD
    count = child.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_c = np.where(child, y - 2.0 * x, 0.0).sum(axis=-1) / count
        mobility = np.where(count > 0, mott_gurney_mobility_cm2_vs(np.exp(ln_c), 1.0, thickness,
                                                                   eps), np.nan)
    result = SCLCResult(
        v_tfl_v=v_tfl, n_trap_cm3=trap_density_cm3(v_tfl, thickness, eps),
        mobility_cm2_vs=mobility,
        n_trap_min_cm3=minimum_trap_density_cm3(thickness, eps, temperature),
        max_slope=parts["max_slope"], ohmic_slope=parts["ohmic_slope"],
        ohmic_intercept=parts["ohmic_intercept"], tfl_slope=parts["tfl_slope"],
        tfl_intercept=parts["tfl_intercept"], child_points=count, flipped=flipped,
        slope=slope_in_order, regime=regime_in_order)
    if single:
        return SCLCResult(**{name: getattr(result, name)[0] for name in
                             SCLCResult.__dataclass_fields__})
    return result


def _tangents(x: np.ndarray, y: np.ndarray, slope: np.ndarray, child_tolerance: float,
              ohmic_tolerance: float) -> dict[str, np.ndarray]:
    """The steepest point, the ohmic and trap-filling tangents, their intersection and the
    regime of every point (vectorised over curves)."""
    n = x.shape[-1]
    index = np.arange(n)
    finite = np.isfinite(slope)
    has_slope = finite.any(axis=-1)
    steepest = np.argmax(np.where(finite, slope, -np.inf), axis=-1)
    rows = np.arange(x.shape[0])
    max_slope = np.where(has_slope, slope[rows, steepest], np.nan)
    rising = max_slope > 2.0 + child_tolerance
    before = index < steepest[:, None]
    ohmic_mask = before & (np.abs(slope - 1.0) <= ohmic_tolerance)
    ohmic_slope, ohmic_intercept, ohmic_count = _line_fit(x, y, ohmic_mask)
    # without slope-1 points below the rise: the tangent at the flattest point below it
    flattest = np.argmin(np.where(before & finite, slope, np.inf), axis=-1)
    has_flat = (before & finite).any(axis=-1)
    flat_slope = slope[rows, flattest]
    flat_intercept = y[rows, flattest] - flat_slope * x[rows, flattest]
    use_flat = (ohmic_count < 2) & has_flat
    ohmic_slope = np.where(use_flat, flat_slope, ohmic_slope)
    ohmic_intercept = np.where(use_flat, flat_intercept, ohmic_intercept)
    tfl_slope = np.where(rising, max_slope, np.nan)
    tfl_intercept = np.where(rising, y[rows, steepest] - max_slope * x[rows, steepest], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_v_tfl = (ohmic_intercept - tfl_intercept) / (tfl_slope - ohmic_slope)
        v_tfl = np.exp(ln_v_tfl)
    v_tfl = np.where(np.isfinite(v_tfl) & (v_tfl > 0), v_tfl, np.nan)
    after = index > steepest[:, None]
    regime = np.full(x.shape, REGIME_OTHER, dtype=np.int8)
    regime[ohmic_mask] = REGIME_OHMIC
    regime[(slope > 2.0 + child_tolerance) & rising[:, None]] = REGIME_TRAP_FILLING
    child = (np.abs(slope - 2.0) <= child_tolerance) & (after | ~rising[:, None])
    regime[child] = REGIME_CHILD
    return {"v_tfl_v": v_tfl, "max_slope": max_slope, "ohmic_slope": ohmic_slope,
            "ohmic_intercept": ohmic_intercept, "tfl_slope": tfl_slope,
            "tfl_intercept": tfl_intercept, "regime": regime}


def curve_warnings(result: SCLCResult, index: int | None = None) -> list[str]:
    """The warnings of one curve of ``result`` (``index`` in a batch, None for one curve)."""
    def pick(name: str) -> float:
        value = np.asarray(getattr(result, name))
        return float(value if index is None else value[index])

    warnings: list[str] = []
    max_slope = pick("max_slope")
    if not np.isfinite(max_slope):
        return ["no usable points (V and J must be non-zero and finite)"]
    if not max_slope > 2.0 + CHILD_TOLERANCE:
        warnings.append(f"no region with slope > 2 (steepest {max_slope:.2f}): no trap-filling "
                        "rise, so no V_TFL (a trap-free, conductive or shunted device)")
    elif not np.isfinite(pick("v_tfl_v")):
        warnings.append("no ohmic region below the trap-filling rise: no V_TFL")
    if pick("child_points") == 0:
        warnings.append("no Child region (slope 2 ± "
                        f"{CHILD_TOLERANCE:g}): no Mott-Gurney mobility")
    n_trap, n_min = pick("n_trap_cm3"), pick("n_trap_min_cm3")
    if np.isfinite(n_trap) and n_trap < NEAR_MINIMUM_FACTOR * n_min:
        warnings.append(f"N_trap {n_trap:.3g} cm⁻³ is within {NEAR_MINIMUM_FACTOR:g}× the "
                        f"minimum apparent trap density {n_min:.3g} cm⁻³ (Le Corre et al. 2021): "
                        "it may be an artefact of the geometry")
    return warnings


def sclc_metrics(voltage_v: ArrayLike, j_a_cm2: ArrayLike, **options: float
                 ) -> tuple[dict[str, float], list[str]]:
    """Metrics ``v_tfl_v``, ``n_trap_cm3``, ``mobility_cm2_vs`` (and ``n_trap_min_cm3``,
    ``max_slope``) of one curve, with its warnings; ``options`` as :func:`sclc_analysis`."""
    result = sclc_analysis(voltage_v, j_a_cm2, **options)  # type: ignore[arg-type]
    metrics = {name: float(getattr(result, name)) for name in
               ("v_tfl_v", "n_trap_cm3", "mobility_cm2_vs", "n_trap_min_cm3", "max_slope")}
    warnings = curve_warnings(result)
    warnings.append("sign: " + ("photovoltaic (J < 0 under injection), flipped" if
                                bool(result.flipped) else "injection positive (SMU sign)"))
    return metrics, warnings


def disagreement_warnings(metrics: dict[str, dict[str, float]],
                          tolerance: float = DISAGREEMENT_TOLERANCE) -> list[str]:
    """Warnings for sweeps of one device (label -> metrics: DC and pulsed, up and down) whose
    V_TFL or mobility differ by more than ``tolerance`` of their mean."""
    warnings = []
    labels = list(metrics)
    for name, unit in (("v_tfl_v", "V"), ("mobility_cm2_vs", "cm²/V·s")):
        for a_index, a in enumerate(labels):
            for b in labels[a_index + 1:]:
                va, vb = float(metrics[a].get(name, np.nan)), float(metrics[b].get(name,
                                                                                      np.nan))
                if not (np.isfinite(va) and np.isfinite(vb)):
                    continue
                spread = abs(va - vb) / (0.5 * (va + vb))
                if spread > tolerance:
                    warnings.append(
                        f"{name} {va:.3g} {unit} ({a}) and {vb:.3g} {unit} ({b}) differ by "
                        f"{100 * spread:.0f} % (> {100 * tolerance:g} %): mobile ions or "
                        "hysteresis; the classical analysis is not reliable (docs/methods.md §5.5)")
    return warnings
