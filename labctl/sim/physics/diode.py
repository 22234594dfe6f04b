"""The single-diode equation, solved exactly with the Lambert W function.

``J = Jph - J0*(exp((V + J*Rs)/(n*Vt)) - 1) - (V + J*Rs)/Rsh`` in the photovoltaic sign
(J > 0 at short circuit under light), current densities in A/cm^2 and area-normalised
resistances in Ohm cm^2 (docs/simulation.md §1).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from labctl.sim.physics.common import (
    BOLTZMANN_J_K,
    ELEMENTARY_CHARGE_C,
    FloatArray,
    as_result,
)

__all__ = ["diode_current_density_a_cm2", "diode_voltage_v", "open_circuit_voltage_v"]

# W(x) for log(x) above this is computed from log(x) by Newton's method (no overflow);
# below it by scipy.special.lambertw. From log(x) >= 3 the iteration started at
# log(x) - log(log(x)) reaches machine precision in 4 steps; 5 are taken.
_LOG_LAMBERTW_SWITCH = 3.0
_LOG_LAMBERTW_STEPS = 5



def _lambertw_of_exp(log_x: FloatArray) -> FloatArray:
    """Principal branch W0(exp(log_x)) for any real log_x, never overflowing.

    For log_x > 3 solves w + ln(w) = log_x by Newton's method,
    w <- w * (1 - ln(w) + log_x) / (1 + w), from w = log_x - ln(log_x), as pvlib's
    ``pvlib.ivtools.utils._log_lambertw`` does; otherwise calls ``scipy.special.lambertw``.
    """
    log_x = np.asarray(log_x, dtype=float)
    w = np.empty_like(log_x)
    large = log_x > _LOG_LAMBERTW_SWITCH
    small = ~large
    if np.any(small):
        with np.errstate(under="ignore"):
            w[small] = special.lambertw(np.exp(log_x[small])).real
    if np.any(large):
        big = log_x[large]
        finite = np.isfinite(big)
        guess = np.where(finite, big, 2.0 * _LOG_LAMBERTW_SWITCH)
        wl = guess - np.log(guess)
        for _ in range(_LOG_LAMBERTW_STEPS):
            wl = wl * (1.0 - np.log(wl) + guess) / (1.0 + wl)
        w[large] = np.where(finite, wl, np.inf)
    return w


def _lambertw_of_exp_scalar(log_x: float) -> float:
    """Scalar twin of :func:`_lambertw_of_exp` for single readings (no numpy overhead).

    Newton's method on w + ln(w) = log_x above the switch, Halley's method on w·e^w = x
    below it; both converge to machine precision in a few steps.
    """
    if log_x > _LOG_LAMBERTW_SWITCH:
        if math.isinf(log_x):
            return math.inf
        w = log_x - math.log(log_x)
        for _ in range(_LOG_LAMBERTW_STEPS):
            w = w * (1.0 - math.log(w) + log_x) / (1.0 + w)
        return w
    if log_x < -700.0:
        return 0.0 if math.isinf(log_x) else math.exp(log_x)
    x = math.exp(log_x)
    w = math.log1p(x)
    for _ in range(20):
        ew = math.exp(w)
        f = w * ew - x
        step = f / (ew * (w + 1.0) - (w + 2.0) * f / (2.0 * w + 2.0))
        w -= step
        if abs(step) <= 1e-16 * max(abs(w), 1e-300):
            break
    return w


def _diode_current_density_scalar(v: float, jph: float, j0: float, n: float, rs: float,
                                  rsh: float, t: float) -> float:
    """Scalar twin of :func:`diode_current_density_a_cm2` (same equations, math module)."""
    gsh = 1.0 / rsh if rsh != 0.0 else math.inf
    nvt = n * t * (BOLTZMANN_J_K / ELEMENTARY_CHARGE_C)
    if rs == 0.0:
        try:
            diode = j0 * math.expm1(v / nvt)
        except OverflowError:
            diode = math.inf
        return jph - diode - gsh * v
    denominator = 1.0 + rs * gsh
    exponent = (rs * (jph + j0) + v) / (nvt * denominator)
    log_x = (math.log(rs * j0 / (nvt * denominator)) if j0 > 0 else -math.inf) + exponent
    w = _lambertw_of_exp_scalar(log_x)
    return (jph + j0 - v * gsh) / denominator - nvt / rs * w


def _all_scalars(values: tuple[ArrayLike, ...]) -> bool:
    return all(isinstance(v, float | int) for v in values)


def _diode_arrays(
    *values: ArrayLike,
) -> tuple[FloatArray, ...]:
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))


def diode_current_density_a_cm2(
    voltage_v: ArrayLike,
    jph_a_cm2: ArrayLike,
    j0_a_cm2: ArrayLike,
    ideality: ArrayLike,
    rs_ohm_cm2: ArrayLike,
    rsh_ohm_cm2: ArrayLike,
    temperature_k: ArrayLike = 298.15,
) -> float | FloatArray:
    """Current density of the single-diode equation at given voltages (explicit Lambert-W form).

    Solves ``J = Jph - J0*(exp((V + J*Rs)/(n*Vt)) - 1) - (V + J*Rs)/Rsh`` for J with the
    closed form of Jain and Kapoor [1]_ (eq. 2), as ``pvlib.pvsystem.i_from_v`` does [2]_, and
    additionally handles overflow of the Lambert-W argument by working with its logarithm, so
    forward biases of tens of volts are exact (pvlib returns NaN there).

    Parameters
    ----------
    voltage_v : array_like
        Terminal voltage [V].
    jph_a_cm2 : array_like
        Photocurrent density [A/cm^2].
    j0_a_cm2 : array_like
        Diode saturation current density [A/cm^2], >= 0.
    ideality : array_like
        Diode ideality factor [unitless], > 0.
    rs_ohm_cm2 : array_like
        Series resistance [Ohm cm^2], >= 0; 0 uses the explicit equation.
    rsh_ohm_cm2 : array_like
        Shunt resistance [Ohm cm^2], > 0; ``numpy.inf`` for no shunt.
    temperature_k : array_like, default 298.15
        Cell temperature [K], > 0.

    Returns
    -------
    float or numpy.ndarray
        Current density [A/cm^2], photovoltaic sign, broadcast over the inputs; a float when
        every input is a scalar. With ``rs_ohm_cm2 = 0`` a forward bias large enough to
        overflow ``exp`` gives ``-inf``, the exact floating-point answer.

    References
    ----------
    .. [1] A. Jain, A. Kapoor, "Exact analytical solutions of the parameters of real solar
       cells using Lambert W-function", Sol. Energy Mater. Sol. Cells 81 (2004) 269-277,
       doi:10.1016/j.solmat.2003.11.018
    .. [2] pvlib-python, ``pvlib.singlediode._lambertw_i_from_v``, doi:10.21105/joss.00884
    """
    scalars = (voltage_v, jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2, temperature_k)
    if _all_scalars(scalars):
        return _diode_current_density_scalar(*(float(x) for x in scalars))
    v, jph, j0, n, rs, rsh, t = _diode_arrays(
        voltage_v, jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2, temperature_k
    )
    with np.errstate(divide="ignore"):
        gsh = 1.0 / rsh  # Rsh = inf -> Gsh = 0
    nvt = n * t * (BOLTZMANN_J_K / ELEMENTARY_CHARGE_C)
    j = np.empty(v.shape, dtype=float)

    explicit = rs == 0.0
    if np.any(explicit):
        e = explicit
        with np.errstate(over="ignore"):
            j[e] = jph[e] - j0[e] * np.expm1(v[e] / nvt[e]) - gsh[e] * v[e]

    implicit = ~explicit
    if np.any(implicit):
        i = implicit
        denominator = 1.0 + rs[i] * gsh[i]
        with np.errstate(divide="ignore"):  # J0 = 0 -> log(0) = -inf -> W = 0
            log_x = np.log(rs[i] * j0[i] / (nvt[i] * denominator)) + (
                rs[i] * (jph[i] + j0[i]) + v[i]
            ) / (nvt[i] * denominator)
        w = _lambertw_of_exp(log_x)
        j[i] = (jph[i] + j0[i] - v[i] * gsh[i]) / denominator - nvt[i] / rs[i] * w
    return as_result(j)


def diode_voltage_v(
    current_density_a_cm2: ArrayLike,
    jph_a_cm2: ArrayLike,
    j0_a_cm2: ArrayLike,
    ideality: ArrayLike,
    rs_ohm_cm2: ArrayLike,
    rsh_ohm_cm2: ArrayLike,
    temperature_k: ArrayLike = 298.15,
) -> float | FloatArray:
    """Terminal voltage of the single-diode equation at given current densities.

    The inverse of :func:`diode_current_density_a_cm2`: the closed form of Jain and Kapoor
    [1]_ (eq. 3) as in ``pvlib.pvsystem.v_from_i`` [2]_, with the Lambert-W argument handled
    in log space. Where the W term is large, ``V = n*Vt*ln(Gsh*n*Vt*W/J0) - J*Rs`` (which
    follows from ``W + ln W = ln x``) replaces the difference of two large numbers of eq. 3,
    so high shunt resistances lose no precision. ``rsh_ohm_cm2 = inf`` uses the explicit
    ``V = n*Vt*ln(1 + (Jph - J)/J0) - J*Rs``.

    Parameters
    ----------
    current_density_a_cm2 : array_like
        Current density [A/cm^2], photovoltaic sign.
    jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2, temperature_k : array_like
        As in :func:`diode_current_density_a_cm2`; here ``j0_a_cm2 > 0``.

    Returns
    -------
    float or numpy.ndarray
        Voltage [V]. Without a shunt the current cannot exceed ``Jph + J0`` at any voltage;
        such currents give ``-inf`` (the voltage diverges; an SMU would hit its compliance).

    References
    ----------
    .. [1] A. Jain, A. Kapoor, Sol. Energy Mater. Sol. Cells 81 (2004) 269-277,
       doi:10.1016/j.solmat.2003.11.018
    .. [2] pvlib-python, ``pvlib.singlediode._lambertw_v_from_i``, doi:10.21105/joss.00884
    """
    j, jph, j0, n, rs, rsh, t = _diode_arrays(
        current_density_a_cm2, jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2,
        temperature_k,
    )
    with np.errstate(divide="ignore"):
        gsh = 1.0 / rsh
    nvt = n * t * (BOLTZMANN_J_K / ELEMENTARY_CHARGE_C)
    v = np.empty(j.shape, dtype=float)

    explicit = gsh == 0.0
    if np.any(explicit):
        e = explicit
        ratio = (jph[e] - j[e]) / j0[e]
        with np.errstate(divide="ignore", invalid="ignore"):
            v_explicit = nvt[e] * np.log1p(ratio) - j[e] * rs[e]
        v[e] = np.where(ratio > -1.0, v_explicit, -np.inf)

    implicit = ~explicit
    if np.any(implicit):
        i = implicit
        scale_v = nvt[i]
        log_prefactor = np.log(j0[i] / (gsh[i] * scale_v))
        drive = (jph[i] + j0[i] - j[i]) / (gsh[i] * scale_v)
        w = _lambertw_of_exp(log_prefactor + drive)
        with np.errstate(divide="ignore", invalid="ignore"):
            v_log = scale_v * (np.log(w) - log_prefactor)
        v_direct = scale_v * (drive - w)
        v[i] = np.where(w > 1.0, v_log, v_direct) - j[i] * rs[i]
    return as_result(v)


def open_circuit_voltage_v(
    jph_a_cm2: ArrayLike,
    j0_a_cm2: ArrayLike,
    ideality: ArrayLike,
    rs_ohm_cm2: ArrayLike,
    rsh_ohm_cm2: ArrayLike,
    temperature_k: ArrayLike = 298.15,
) -> float | FloatArray:
    """Open-circuit voltage of the single-diode equation (J = 0).

    Parameters
    ----------
    jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2, temperature_k : array_like
        As in :func:`diode_voltage_v` (``rs_ohm_cm2`` does not matter at J = 0).

    Returns
    -------
    float or numpy.ndarray
        Voc [V]; 0 in the dark.
    """
    voc = np.asarray(diode_voltage_v(
        0.0, jph_a_cm2, j0_a_cm2, ideality, rs_ohm_cm2, rsh_ohm_cm2, temperature_k
    ))
    dark = np.broadcast_to(np.asarray(jph_a_cm2, dtype=float), voc.shape) == 0.0
    return as_result(np.where(dark, 0.0, voc))  # exact 0 rather than a rounding residue
