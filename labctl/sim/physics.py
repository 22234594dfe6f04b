"""Pure device models of the simulated bench.

Solar cell (single diode with a mobile-ion transient and optional degradation), single-carrier
device for space-charge-limited current (SCLC), photodiode and arc lamp. Nothing here talks to
an instrument, reads a clock or touches a file: time enters every stateful method as an
argument, so the models are exact, deterministic and fast.

Units: voltages [V], current densities [A/cm^2], area-normalised resistances [Ohm cm^2],
irradiance at the device [mW/cm^2], times [s] (degradation time constants [h]).

Sign convention: every device model returns current densities in the *photovoltaic* sign,
positive when the device delivers current to the external circuit (J > 0 at short circuit under
light; a resistor or a dark diode at V > 0 gives J < 0). The SMU emulator flips the sign, as a
real SMU reports generated current as negative.

Models follow ``/work/shared/reference/simulation-physics.md``; the individual functions cite
their sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import constants, optimize, special

__all__ = [
    "BOLTZMANN_J_K",
    "ELEMENTARY_CHARGE_C",
    "REFERENCE_IRRADIANCE_MW_CM2",
    "VACUUM_PERMITTIVITY_F_CM",
    "ArcLamp",
    "DeviceModel",
    "Photodiode",
    "SingleCarrierDevice",
    "SingleCarrierParams",
    "SolarCell",
    "SolarCellParams",
    "diode_current_density_a_cm2",
    "diode_voltage_v",
    "open_circuit_voltage_v",
    "thermal_voltage_v",
]

FloatArray = NDArray[np.float64]

BOLTZMANN_J_K: float = constants.k
"""Boltzmann constant [J/K]."""
ELEMENTARY_CHARGE_C: float = constants.e
"""Elementary charge [C]."""
VACUUM_PERMITTIVITY_F_CM: float = constants.epsilon_0 * 1e-2
"""Vacuum permittivity [F/cm]."""
REFERENCE_IRRADIANCE_MW_CM2: float = 100.0
"""One sun [mW/cm^2]: the irradiance at which a cell delivers ``jph_ma_cm2``."""

# W(x) for log(x) above this is computed from log(x) by Newton's method (no overflow);
# below it by scipy.special.lambertw. From log(x) >= 3 the iteration started at
# log(x) - log(log(x)) reaches machine precision in 4 steps; 5 are taken.
_LOG_LAMBERTW_SWITCH = 3.0
_LOG_LAMBERTW_STEPS = 5


def _result(value: FloatArray) -> float | FloatArray:
    """A 0-d result as a Python float, anything else as the array."""
    return float(value) if value.ndim == 0 else value


def thermal_voltage_v(temperature_k: ArrayLike) -> float | FloatArray:
    """Thermal voltage k*T/q.

    Parameters
    ----------
    temperature_k : array_like
        Device temperature [K], > 0.

    Returns
    -------
    float or numpy.ndarray
        Thermal voltage [V] (0.025693 V at 298.15 K).
    """
    return _result(np.asarray(temperature_k, dtype=float) * BOLTZMANN_J_K / ELEMENTARY_CHARGE_C)


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
    return _result(j)


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
    return _result(v)


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
    return _result(np.where(dark, 0.0, voc))  # exact 0 rather than a rounding residue


def _as_1d(values: ArrayLike, size: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(f"{name} must be a scalar or have one value per point ({size})")
    return array


def _staircase_times(
    voltages_v: ArrayLike, settle_s: ArrayLike, point_s: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    voltages = np.asarray(voltages_v, dtype=float)
    if voltages.ndim != 1:
        raise ValueError("voltages_v must be one-dimensional")
    settle = _as_1d(settle_s, voltages.size, "settle_s")
    point = _as_1d(point_s, voltages.size, "point_s")
    if np.any(settle < 0.0) or np.any(point < settle):
        raise ValueError("staircase times need 0 <= settle_s <= point_s")
    return voltages, settle, point


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


@runtime_checkable
class DeviceModel(Protocol):
    """What the SMU emulator needs from a device under test.

    Current densities are in the photovoltaic sign (positive when the device delivers
    current); the device current is ``current_density * area_cm2``. Times are passed in; a
    model never reads a clock. Stateless devices implement ``hold``, ``float_open_circuit``
    and ``reset`` as no-ops.
    """

    @property
    def area_cm2(self) -> float:
        """Area that turns current density into current [cm^2]."""
        ...

    def current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Instantaneous current density [A/cm^2] at the terminal voltage(s) [V]."""
        ...

    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Advance the state by ``duration_s`` [s] with the voltage held."""
        ...

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Advance the state by ``duration_s`` [s] with the output off (open circuit)."""
        ...

    def staircase(
        self,
        voltages_v: ArrayLike,
        settle_s: ArrayLike,
        point_s: ArrayLike,
        irradiance_mw_cm2: float,
    ) -> FloatArray:
        """Hardware staircase sweep: current density [A/cm^2] read at each step."""
        ...

    def voltage_at_current_density_v(
        self, j_a_cm2: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Terminal voltage [V] at which the present curve carries ``j_a_cm2``."""
        ...

    def reset(self) -> None:
        """Return to the initial state."""
        ...


# --------------------------------------------------------------------------------------------
# Solar cell
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SolarCellParams:
    """Parameters of the simulated solar cell (``simulation.device`` with kind solar_cell).

    Field names are the configuration keys (DESIGN.md, contract).

    Parameters
    ----------
    area_cm2 : float
        Device area [cm^2], > 0: current = current density * area.
    jph_ma_cm2 : float
        Photocurrent density at 100 mW/cm^2 [mA/cm^2], >= 0.
    j0_ma_cm2 : float
        Diode saturation current density [mA/cm^2], > 0.
    ideality : float
        Diode ideality factor [unitless], > 0.
    rs_ohm_cm2 : float
        Series resistance [Ohm cm^2], >= 0.
    rsh_ohm_cm2 : float
        Shunt resistance [Ohm cm^2], > 0 (``inf`` for none).
    temperature_k : float
        Cell temperature [K], > 0.
    ion_tau_s : float
        Time constant of the mobile-ion memory [s], >= 0 (0: ions follow at once).
    ion_amplitude : float
        Ion modulation of the collection efficiency [1/V], >= 0 (0: no hysteresis).
    burn_in_fraction : float
        Fraction of Jph lost to burn-in under prolonged light [fraction], in [0, 1].
    burn_in_tau_h : float
        Burn-in (and dark-recovery) time constant [h], > 0.
    loss_pct_per_1000h : float
        Linear loss of Jph per 1000 h of 1-sun illumination [%], >= 0.
    dark_recovery_fraction : float
        Part of the burn-in that recovers in the dark [fraction], in [0, 1].
    """

    area_cm2: float = 0.09
    jph_ma_cm2: float = 19.8
    j0_ma_cm2: float = 1.0e-12
    ideality: float = 1.5
    rs_ohm_cm2: float = 3.0
    rsh_ohm_cm2: float = 3000.0
    temperature_k: float = 298.15
    ion_tau_s: float = 5.0
    ion_amplitude: float = 0.0
    burn_in_fraction: float = 0.0
    burn_in_tau_h: float = 100.0
    loss_pct_per_1000h: float = 0.0
    dark_recovery_fraction: float = 0.0

    def __post_init__(self) -> None:
        for name in ("area_cm2", "j0_ma_cm2", "ideality", "rsh_ohm_cm2", "temperature_k",
                     "burn_in_tau_h"):
            _check_positive(name, getattr(self, name))
        for name in ("jph_ma_cm2", "rs_ohm_cm2", "ion_tau_s", "ion_amplitude",
                     "burn_in_fraction", "loss_pct_per_1000h", "dark_recovery_fraction"):
            _check_non_negative(name, getattr(self, name))
        for name in ("burn_in_fraction", "dark_recovery_fraction"):
            if getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be <= 1, got {getattr(self, name)!r}")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The accepted keys [names], in declaration order."""
        return tuple(f.name for f in fields(cls))


class SolarCell:
    """A solar cell: single diode at steady state, a mobile-ion transient, slow degradation.

    Steady state is the single-diode equation with Jph proportional to irradiance. Mobile
    ions are one state ``s`` [V] (simulation-physics.md section 2): ``ds/dt = (V - s)/tau`` and
    the photocurrent is collected with efficiency ``eta = clip(1 - a*(V - s)/(1 V), 0, 1 + a)``,
    so ``J = eta*Jph - J0*(exp((V + J*Rs)/(n*Vt)) - 1) - (V + J*Rs)/Rsh``. With ``s = V``
    (settled), eta = 1 and the curve is exactly the single-diode one. Every update of ``s`` for a
    constant voltage is the exact exponential. Degradation (section 3) scales Jph.

    The state is advanced only by :meth:`hold`, :meth:`float_open_circuit` and
    :meth:`staircase`, each given its duration; the model never reads a clock.

    Parameters
    ----------
    params : SolarCellParams, optional
        Device parameters; the DESIGN.md example values by default.

    Notes
    -----
    Initial state: ``s = 0 V`` (as after storage in the dark), no light exposure.

    Degradation: the light dose ``D`` [sun h] grows by ``duration * G/100`` while lit. The
    burn-in loss ``b`` relaxes toward ``burn_in_fraction`` with ``1 - exp(-dD/burn_in_tau_h)``,
    so from a fresh cell ``b = burn_in_fraction*(1 - exp(-D/burn_in_tau_h))``. Of each increment
    of ``b`` the part ``dark_recovery_fraction`` is recoverable: in the dark (G = 0) it decays
    with ``burn_in_tau_h`` (wall time), the rest is permanent. Jph is multiplied by
    ``max(0, 1 - b - loss_pct_per_1000h/100 * D/1000)``. Within one staircase Jph is held at
    its value at the start of the sweep.
    """

    def __init__(self, params: SolarCellParams | None = None) -> None:
        self.params = params if params is not None else SolarCellParams()
        self._ion_memory_v = 0.0
        self._light_dose_sun_h = 0.0
        self._burn_in_permanent = 0.0
        self._burn_in_recoverable = 0.0
        self.reset()

    # --- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to the initial state: ion memory 0 V, no light exposure, no degradation."""
        self._ion_memory_v = 0.0
        self._light_dose_sun_h = 0.0
        self._burn_in_permanent = 0.0
        self._burn_in_recoverable = 0.0

    def equilibrate_open_circuit(self, irradiance_mw_cm2: float) -> None:
        """Set the ions as after a long rest at open circuit (Voc-poled under light, 0 V in
        the dark), without ageing the cell: the state of a cell that has sat on the bench
        before the first measurement."""
        self._ion_memory_v = (self.steady_state_open_circuit_voltage_v(irradiance_mw_cm2)
                              if irradiance_mw_cm2 > 0 else 0.0)

    @property
    def area_cm2(self) -> float:
        """Device area [cm^2]."""
        return self.params.area_cm2

    @property
    def ion_memory_v(self) -> float:
        """Present ionic memory ``s`` [V]: the voltage the ions have settled to."""
        return self._ion_memory_v

    @property
    def light_dose_sun_h(self) -> float:
        """Accumulated illumination [h at 1 sun = 100 mW/cm^2]."""
        return self._light_dose_sun_h

    @property
    def degradation_factor(self) -> float:
        """Present multiplier of the photocurrent [fraction], 1 for a fresh cell."""
        p = self.params
        burn_in = self._burn_in_permanent + self._burn_in_recoverable
        linear = p.loss_pct_per_1000h / 100.0 * self._light_dose_sun_h / 1000.0
        if burn_in == 0.0 and linear == 0.0:
            return 1.0
        return max(0.0, 1.0 - burn_in - linear)

    def _age(self, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Advance the degradation state by ``duration_s`` at constant irradiance."""
        p = self.params
        if duration_s <= 0.0:
            return
        if irradiance_mw_cm2 > 0.0:
            dose_h = duration_s / 3600.0 * irradiance_mw_cm2 / REFERENCE_IRRADIANCE_MW_CM2
            self._light_dose_sun_h += dose_h
            if p.burn_in_fraction > 0.0:
                burn_in = self._burn_in_permanent + self._burn_in_recoverable
                increment = (p.burn_in_fraction - burn_in) * -math.expm1(-dose_h / p.burn_in_tau_h)
                self._burn_in_recoverable += p.dark_recovery_fraction * increment
                self._burn_in_permanent += (1.0 - p.dark_recovery_fraction) * increment
        elif self._burn_in_recoverable > 0.0:
            self._burn_in_recoverable *= math.exp(-duration_s / 3600.0 / p.burn_in_tau_h)

    def _ion_decay(self, duration_s: ArrayLike) -> FloatArray:
        """exp(-duration/tau) [unitless]; 0 for tau = 0 (ions follow at once)."""
        duration = np.asarray(duration_s, dtype=float)
        if self.params.ion_tau_s == 0.0:
            return np.where(duration > 0.0, 0.0, 1.0)
        return np.exp(-duration / self.params.ion_tau_s)

    # --- curves --------------------------------------------------------------------------

    def _diode_args(self) -> tuple[float, float, float, float, float]:
        p = self.params
        return (p.j0_ma_cm2 * 1e-3, p.ideality, p.rs_ohm_cm2, p.rsh_ohm_cm2, p.temperature_k)

    def jph_a_cm2(self, irradiance_mw_cm2: ArrayLike) -> float | FloatArray:
        """Photocurrent density [A/cm^2] at an irradiance [mW/cm^2], degradation included.

        ``jph_ma_cm2 * 1e-3 * G / 100 * degradation_factor``.
        """
        g = np.asarray(irradiance_mw_cm2, dtype=float)
        jph = (
            self.params.jph_ma_cm2 * 1e-3 * g / REFERENCE_IRRADIANCE_MW_CM2
            * self.degradation_factor
        )
        return _result(jph)

    def collection_efficiency(self, voltage_v: ArrayLike) -> float | FloatArray:
        """Ion-modulated collection efficiency eta [fraction] at the present ion state.

        ``clip(1 - a*(V - s)/(1 V), 0, 1 + a)`` (simulation-physics.md section 2).
        """
        a = self.params.ion_amplitude
        v = np.asarray(voltage_v, dtype=float)
        return _result(np.clip(1.0 - a * (v - self._ion_memory_v), 0.0, 1.0 + a))

    def current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Instantaneous current density at the present ion state.

        Parameters
        ----------
        voltage_v : array_like
            Terminal voltage(s) [V].
        irradiance_mw_cm2 : float
            Irradiance at the device [mW/cm^2], >= 0.

        Returns
        -------
        float or numpy.ndarray
            Current density [A/cm^2], photovoltaic sign; the state is not changed.
        """
        eta = self.collection_efficiency(voltage_v)
        jph = eta * self.jph_a_cm2(irradiance_mw_cm2)
        return diode_current_density_a_cm2(voltage_v, jph, *self._diode_args())

    def steady_state_current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Settled current density (eta = 1): the single-diode curve [A/cm^2].

        Parameters
        ----------
        voltage_v : array_like
            Terminal voltage(s) [V].
        irradiance_mw_cm2 : float
            Irradiance at the device [mW/cm^2].
        """
        jph = self.jph_a_cm2(irradiance_mw_cm2)
        return diode_current_density_a_cm2(voltage_v, jph, *self._diode_args())

    def steady_state_open_circuit_voltage_v(self, irradiance_mw_cm2: float) -> float:
        """Settled open-circuit voltage [V] at an irradiance [mW/cm^2]; 0 in the dark."""
        jph = self.jph_a_cm2(irradiance_mw_cm2)
        return float(open_circuit_voltage_v(jph, *self._diode_args()))

    def steady_state_mpp(self, irradiance_mw_cm2: float) -> tuple[float, float, float]:
        """The true steady-state maximum power point.

        Solves ``d(V*J)/dV = J + V*dJ/dV = 0`` on (0, Voc) with Brent's method, using the
        analytic ``dJ/dV = -(J0'/(n Vt) + 1/Rsh)/(1 + Rs*(J0'/(n Vt) + 1/Rsh))`` with
        ``J0' = J0*exp((V + J*Rs)/(n*Vt))``; the result is accurate to about 1e-14 relative.

        Parameters
        ----------
        irradiance_mw_cm2 : float
            Irradiance at the device [mW/cm^2].

        Returns
        -------
        tuple of float
            ``(vmpp_v, jmpp_a_cm2, pmax_w_cm2)``: voltage [V], current density [A/cm^2] and
            power density [W/cm^2] at the maximum power point; zeros in the dark.
        """
        jph = float(self.jph_a_cm2(irradiance_mw_cm2))
        j0, n, rs, rsh, t = self._diode_args()
        voc = self.steady_state_open_circuit_voltage_v(irradiance_mw_cm2)
        if jph <= 0.0 or voc <= 0.0:
            return 0.0, 0.0, 0.0
        nvt = n * float(thermal_voltage_v(t))
        gsh = 0.0 if math.isinf(rsh) else 1.0 / rsh

        def power_slope(v: float) -> float:
            j = float(diode_current_density_a_cm2(v, jph, j0, n, rs, rsh, t))
            conductance = j0 / nvt * math.exp((v + j * rs) / nvt) + gsh
            return j - v * conductance / (1.0 + rs * conductance)

        vmpp = optimize.brentq(power_slope, 0.0, voc, xtol=1e-16, rtol=4.0 * np.finfo(float).eps)
        jmpp = float(diode_current_density_a_cm2(vmpp, jph, j0, n, rs, rsh, t))
        return vmpp, jmpp, vmpp * jmpp

    def voltage_at_current_density_v(
        self, j_a_cm2: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Terminal voltage where the instantaneous curve carries a given current density.

        Used for current-source mode (Voc: ``j_a_cm2 = 0``) and for a voltage source held at its
        current compliance. Closed form: eta is piecewise linear in V (constant ``1 + a`` for
        ``V <= s - 1``, ``1 + a*s - a*V`` between, 0 for ``V >= s + 1/a``); in the linear piece
        the extra term ``-a*Jph*V`` acts as a conductance, and with ``Vd = V + J*Rs``
        ``J*(1 - a*Jph*Rs) = (1 + a*s)*Jph - (a*Jph + 1/Rsh)*Vd - J0*(exp(Vd/(n Vt)) - 1)``,
        a single-diode equation in ``Vd`` without series resistance, solved by
        :func:`diode_voltage_v`. J(V) decreases monotonically (a >= 0), so exactly one piece
        is consistent. The state is not changed.

        Parameters
        ----------
        j_a_cm2 : array_like
            Current density [A/cm^2], photovoltaic sign.
        irradiance_mw_cm2 : float
            Irradiance at the device [mW/cm^2].

        Returns
        -------
        float or numpy.ndarray
            Voltage [V]; ``-inf`` where an unshunted cell cannot carry that much reverse current.
        """
        a = self.params.ion_amplitude
        s = self._ion_memory_v
        jph = float(self.jph_a_cm2(irradiance_mw_cm2))
        j0, n, rs, rsh, t = self._diode_args()
        j = np.asarray(j_a_cm2, dtype=float)
        if a == 0.0 or jph == 0.0:
            return diode_voltage_v(j, jph, j0, n, rs, rsh, t)
        gsh = 0.0 if math.isinf(rsh) else 1.0 / rsh
        vd_linear = diode_voltage_v(
            j * (1.0 - a * jph * rs), (1.0 + a * s) * jph, j0, n, 0.0, 1.0 / (a * jph + gsh), t
        )
        v_linear = np.asarray(vd_linear) - j * rs
        v_high = np.asarray(diode_voltage_v(j, (1.0 + a) * jph, j0, n, rs, rsh, t))
        v_low = np.asarray(diode_voltage_v(j, 0.0, j0, n, rs, rsh, t))
        v = np.where(v_linear < s - 1.0, v_high, np.where(v_linear > s + 1.0 / a, v_low, v_linear))
        return _result(v)

    # --- time evolution ------------------------------------------------------------------

    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Advance the state with the voltage held constant.

        ``s <- V + (s - V)*exp(-duration/tau)`` (exact); degradation integrates the light.

        Parameters
        ----------
        voltage_v : float
            Held terminal voltage [V].
        duration_s : float
            Duration [s], >= 0.
        irradiance_mw_cm2 : float
            Irradiance during the hold [mW/cm^2], >= 0.
        """
        _check_non_negative("duration_s", duration_s)
        decay = float(self._ion_decay(duration_s))
        self._ion_memory_v = voltage_v + (self._ion_memory_v - voltage_v) * decay
        self._age(duration_s, irradiance_mw_cm2)

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Advance the state with the output off (the cell floats at open circuit).

        The ions relax toward the steady-state Voc at this irradiance (0 V in the dark):
        ``s <- Voc + (s - Voc)*exp(-duration/tau)``. This exponential is exact for the fixed
        point and the time constant; the true terminal voltage on the way is the Voc of the
        present eta, which approaches the same value.

        Parameters
        ----------
        duration_s : float
            Duration [s], >= 0.
        irradiance_mw_cm2 : float
            Irradiance [mW/cm^2], >= 0.
        """
        _check_non_negative("duration_s", duration_s)
        target_v = self.steady_state_open_circuit_voltage_v(irradiance_mw_cm2)
        decay = float(self._ion_decay(duration_s))
        self._ion_memory_v = target_v + (self._ion_memory_v - target_v) * decay
        self._age(duration_s, irradiance_mw_cm2)

    def staircase(
        self,
        voltages_v: ArrayLike,
        settle_s: ArrayLike,
        point_s: ArrayLike,
        irradiance_mw_cm2: float,
    ) -> FloatArray:
        """A hardware staircase sweep: set, settle, read, finish the point; for each step.

        For step k the voltage ``voltages_v[k]`` is applied, the ions evolve for
        ``settle_s[k]`` (the source delay), the current density is read with the state of that
        moment, and the ions evolve for the rest of ``point_s[k]``. The ion recurrence runs
        as a scalar loop; the current densities are then computed in one vectorised call.

        Parameters
        ----------
        voltages_v : array_like
            Step voltages [V], one-dimensional.
        settle_s : array_like
            Time from setting each voltage to its reading [s]: scalar or one per step, >= 0.
        point_s : array_like
            Total time of each step [s]: scalar or one per step, >= ``settle_s``.
        irradiance_mw_cm2 : float
            Irradiance during the sweep [mW/cm^2].

        Returns
        -------
        numpy.ndarray
            Current density per step [A/cm^2], photovoltaic sign. The state is left at the
            end of the last step.
        """
        voltages, settle, point = _staircase_times(voltages_v, settle_s, point_s)
        decay_settle = self._ion_decay(settle).tolist()
        decay_rest = self._ion_decay(point - settle).tolist()
        memory_at_reading = np.empty(voltages.size)
        s = self._ion_memory_v
        for k, v in enumerate(voltages.tolist()):
            s = v + (s - v) * decay_settle[k]
            memory_at_reading[k] = s
            s = v + (s - v) * decay_rest[k]
        a = self.params.ion_amplitude
        if voltages.size == 1:  # a single reading: the scalar path is ~20x faster
            v0 = float(voltages[0])
            eta0 = min(max(1.0 - a * (v0 - float(memory_at_reading[0])), 0.0), 1.0 + a)
            jph0 = eta0 * float(self.jph_a_cm2(irradiance_mw_cm2))
            j = np.array([diode_current_density_a_cm2(v0, jph0, *self._diode_args())])
        else:
            eta = np.clip(1.0 - a * (voltages - memory_at_reading), 0.0, 1.0 + a)
            jph = eta * self.jph_a_cm2(irradiance_mw_cm2)
            j = np.asarray(diode_current_density_a_cm2(voltages, jph, *self._diode_args()))
        self._ion_memory_v = s
        self._age(float(np.sum(point)), irradiance_mw_cm2)
        return j


# --------------------------------------------------------------------------------------------
# Single-carrier device (SCLC)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SingleCarrierParams:
    """Parameters of the simulated single-carrier device (kind single_carrier).

    Parameters
    ----------
    area_cm2 : float
        Device area [cm^2], > 0.
    thickness_nm : float
        Active-layer thickness L [nm], > 0.
    eps_r : float
        Relative permittivity [unitless], > 0.
    mobility_cm2_vs : float
        Carrier mobility [cm^2/(V s)], > 0.
    trap_density_cm3 : float
        Trap density N_t [1/cm^3], >= 0.
    conductivity_s_cm : float
        Ohmic (background) conductivity [S/cm], >= 0.
    temperature_k : float
        Temperature [K], > 0.
    """

    area_cm2: float = 0.09
    thickness_nm: float = 500.0
    eps_r: float = 30.0
    mobility_cm2_vs: float = 1e-3
    trap_density_cm3: float = 1e16
    conductivity_s_cm: float = 1e-9
    temperature_k: float = 298.15

    def __post_init__(self) -> None:
        for name in ("area_cm2", "thickness_nm", "eps_r", "mobility_cm2_vs", "temperature_k"):
            _check_positive(name, getattr(self, name))
        for name in ("trap_density_cm3", "conductivity_s_cm"):
            _check_non_negative(name, getattr(self, name))
        if self.trap_density_cm3 > 0.0 and self.conductivity_s_cm == 0.0:
            raise ValueError(
                "conductivity_s_cm must be > 0 when trap_density_cm3 > 0: the trap-filling "
                "rise starts from the ohmic current at V_TFL"
            )


class SingleCarrierDevice:
    """A dark single-carrier device: ohmic, trap-filled limit, then Mott-Gurney.

    Construction (simulation-physics.md section 4), for V > 0, in current magnitude:

    - ohmic ``J = sigma*V/L`` up to ``V_TFL = q*N_t*L^2/(2*eps0*eps_r)``;
    - from the ohmic current at V_TFL a steep power law ``J = J_ohm(V_TFL)*(V/V_TFL)^m``
      until it meets the trap-free Mott-Gurney (Child) law ``J = (9/8)*eps*mu*V^2/L^3`` [1]_;
    - then Mott-Gurney.

    The two corners are rounded by a soft maximum (minimum) in ln J, each over about 2 % of V
    (``width = 0.02*slope change`` in ln J), so the derivatives stay finite and the steepest
    tangent is the power law itself: the tangent construction on ln J-ln V returns V_TFL.
    The exponent is ``m = max(9, 2 + ln(J_child/J_ohm at V_TFL)/ln 2.5)``, so the Child law is
    reached by 2.5*V_TFL at the latest and the region above 3*V_TFL is trap-free, as an SCLC
    analysis assumes. When ``sigma >= (9/8)*eps*mu*V_TFL/L^2`` the ohmic current at V_TFL
    already exceeds the Child current and there is no trap-filling rise: ohmic and Child,
    soft maximum. J is odd in V. The device is dark: irradiance is ignored.

    Parameters
    ----------
    params : SingleCarrierParams, optional
        Device parameters; the defaults give V_TFL = 0.754 V.

    References
    ----------
    .. [1] N. F. Mott, R. W. Gurney, Electronic Processes in Ionic Crystals, Oxford (1940).
    .. [2] V. M. Le Corre, E. A. Duijnstee, O. El Tambouli, J. M. Ball, H. J. Snaith, J. Lim,
       L. J. A. Koster, "Revealing Charge Carrier Mobility and Defect Densities in Metal
       Halide Perovskites via Space-Charge-Limited Current Measurements", ACS Energy Lett. 6
       (2021) 1087-1094, doi:10.1021/acsenergylett.0c02599
    """

    ROUNDING_FRACTION = 0.02
    """Width of the rounded corners as a fraction of V [fraction]."""
    MIN_TFL_EXPONENT = 9.0
    """Smallest exponent m of the trap-filling rise [unitless]."""
    CHILD_REACHED_BY = 2.5
    """The Child law is reached by this multiple of V_TFL at the latest [unitless]."""

    def __init__(self, params: SingleCarrierParams | None = None) -> None:
        self.params = params if params is not None else SingleCarrierParams()
        p = self.params
        self._ln_ohm_a_cm2_v = math.log(p.conductivity_s_cm / self.thickness_cm) if (
            p.conductivity_s_cm > 0.0) else -math.inf
        self._ln_child_a_cm2_v2 = math.log(
            9.0 / 8.0 * self.permittivity_f_cm * p.mobility_cm2_vs / self.thickness_cm**3
        )

    @property
    def area_cm2(self) -> float:
        """Device area [cm^2]."""
        return self.params.area_cm2

    @property
    def thickness_cm(self) -> float:
        """Layer thickness L [cm]."""
        return self.params.thickness_nm * 1e-7

    @property
    def permittivity_f_cm(self) -> float:
        """Absolute permittivity eps0*eps_r [F/cm]."""
        return VACUUM_PERMITTIVITY_F_CM * self.params.eps_r

    @property
    def v_tfl_v(self) -> float:
        """Trap-filled-limit voltage ``q*N_t*L^2/(2*eps0*eps_r)`` [V]."""
        p = self.params
        return (
            ELEMENTARY_CHARGE_C * p.trap_density_cm3 * self.thickness_cm**2
            / (2.0 * self.permittivity_f_cm)
        )

    @property
    def minimum_apparent_trap_density_cm3(self) -> float:
        """Lowest trap density SCLC can resolve, ``4*pi^2*kT/q^2*eps/L^2`` [1/cm^3].

        Le Corre et al. 2021 (class reference [2]); it corresponds to V_TFL = 2*pi^2*kT/q.
        """
        kt_j = BOLTZMANN_J_K * self.params.temperature_k
        return (
            4.0 * math.pi**2 * kt_j / ELEMENTARY_CHARGE_C**2
            * self.permittivity_f_cm / self.thickness_cm**2
        )

    @property
    def shows_trap_filling(self) -> bool:
        """Whether the trap-filling rise is visible: ``sigma < (9/8)*eps*mu*V_TFL/L^2``."""
        v_tfl = self.v_tfl_v
        if v_tfl <= 0.0:
            return False
        return self._ln_ohm_a_cm2_v + math.log(v_tfl) < self._ln_child_a_cm2_v2 + 2.0 * math.log(
            v_tfl
        )

    @property
    def tfl_exponent(self) -> float:
        """Exponent m of the trap-filling power law [unitless] (nan without the rise)."""
        if not self.shows_trap_filling:
            return math.nan
        ln_ratio = self._ln_child_a_cm2_v2 + math.log(self.v_tfl_v) - self._ln_ohm_a_cm2_v
        return max(self.MIN_TFL_EXPONENT, 2.0 + ln_ratio / math.log(self.CHILD_REACHED_BY))

    def _ln_current_density(self, ln_v: FloatArray) -> FloatArray:
        """ln of the current-density magnitude [ln(A/cm^2)] at ln|V| [ln V]."""
        ln_ohm = self._ln_ohm_a_cm2_v + ln_v
        ln_child = self._ln_child_a_cm2_v2 + 2.0 * ln_v
        delta = self.ROUNDING_FRACTION
        if not self.shows_trap_filling:
            return delta * np.logaddexp(ln_ohm / delta, ln_child / delta)
        m = self.tfl_exponent
        ln_v_tfl = math.log(self.v_tfl_v)
        ln_steep = self._ln_ohm_a_cm2_v + ln_v_tfl + m * (ln_v - ln_v_tfl)
        width_upper = delta * (m - 2.0)
        rise = -width_upper * np.logaddexp(-ln_steep / width_upper, -ln_child / width_upper)
        width_lower = delta * (m - 1.0)
        return width_lower * np.logaddexp(ln_ohm / width_lower, rise / width_lower)

    def sclc_current_density_a_cm2(self, voltage_v: ArrayLike) -> float | FloatArray:
        """Injected current density in the load sign (J > 0 for V > 0) [A/cm^2].

        This is the quantity of the SCLC literature; :meth:`current_density_a_cm2` is its
        negative (photovoltaic sign, as for every device model).

        Parameters
        ----------
        voltage_v : array_like
            Applied voltage [V].
        """
        v = np.asarray(voltage_v, dtype=float)
        magnitude = np.abs(v)
        with np.errstate(divide="ignore"):
            ln_v = np.log(magnitude)
        j = np.where(magnitude > 0.0, np.exp(self._ln_current_density(ln_v)), 0.0)
        return _result(np.sign(v) * j)

    def current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float = 0.0
    ) -> float | FloatArray:
        """Current density in the photovoltaic sign [A/cm^2]: ``-sclc_current_density_a_cm2``.

        Parameters
        ----------
        voltage_v : array_like
            Applied voltage [V].
        irradiance_mw_cm2 : float, default 0
            Ignored (dark device) [mW/cm^2].
        """
        return _result(-np.asarray(self.sclc_current_density_a_cm2(voltage_v)))

    def voltage_at_current_density_v(
        self, j_a_cm2: ArrayLike, irradiance_mw_cm2: float = 0.0
    ) -> float | FloatArray:
        """Voltage at which the device carries a current density (photovoltaic sign).

        Solves the monotonic ln J(ln V) with Brent's method for each value.

        Parameters
        ----------
        j_a_cm2 : array_like
            Current density [A/cm^2], photovoltaic sign.
        irradiance_mw_cm2 : float, default 0
            Ignored [mW/cm^2].

        Returns
        -------
        float or numpy.ndarray
            Voltage [V].
        """
        injected = -np.asarray(j_a_cm2, dtype=float)
        out = np.zeros(injected.shape)
        flat_in = injected.reshape(-1)
        flat_out = out.reshape(-1)
        for index, value in enumerate(flat_in.tolist()):
            if value == 0.0 or not math.isfinite(value):
                flat_out[index] = value  # 0 -> 0 V, +-inf -> +-inf V, nan -> nan
                continue
            target = math.log(abs(value))

            def residual(ln_v: float, target: float = target) -> float:
                return float(self._ln_current_density(np.asarray(ln_v))) - target

            low, high = -40.0, 10.0
            while residual(low) > 0.0:
                low -= 40.0
            while residual(high) < 0.0:
                high += 10.0
            ln_v = optimize.brentq(residual, low, high, xtol=1e-14, rtol=4.0 * np.finfo(float).eps)
            flat_out[index] = math.copysign(math.exp(ln_v), value)
        return _result(out)

    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float = 0.0) -> None:
        """No state to advance (no ion option yet)."""

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float = 0.0) -> None:
        """No state to advance."""

    def reset(self) -> None:
        """No state to reset."""

    def staircase(
        self,
        voltages_v: ArrayLike,
        settle_s: ArrayLike,
        point_s: ArrayLike,
        irradiance_mw_cm2: float = 0.0,
    ) -> FloatArray:
        """Current density at each step [A/cm^2], photovoltaic sign (stateless device).

        Parameters as in :meth:`SolarCell.staircase`; the times are only validated.
        """
        voltages, _, _ = _staircase_times(voltages_v, settle_s, point_s)
        return np.asarray(self.current_density_a_cm2(voltages))


# --------------------------------------------------------------------------------------------
# Photodiode
# --------------------------------------------------------------------------------------------


@dataclass
class Photodiode:
    """A reference photodiode read by an SMU (usually at 0 V).

    ``I = R*E*A + I_dark - I0*(exp(V/Vt) - 1)``: photocurrent from the responsivity R [A/W],
    the irradiance E [W/m^2] and the area A [m^2], a constant dark current (as a real
    photodiode's offset, which the SMU reads at 0 V too) and an ideal diode (n = 1) that
    matters only in forward bias. Photovoltaic sign: the generated current is positive.

    Parameters
    ----------
    responsivity_a_per_w : float
        Responsivity to the lamp spectrum [A/W], > 0.
    area_mm2 : float
        Active area [mm^2], > 0.
    dark_current_a : float, default 1e-9
        Dark current [A].
    saturation_current_a : float, default 1e-11
        Diode saturation current I0 [A].
    temperature_k : float, default 298.15
        Temperature [K].
    """

    responsivity_a_per_w: float
    area_mm2: float
    dark_current_a: float = 1e-9
    saturation_current_a: float = 1e-11
    temperature_k: float = 298.15

    def __post_init__(self) -> None:
        for name in ("responsivity_a_per_w", "area_mm2", "saturation_current_a",
                     "temperature_k"):
            _check_positive(name, getattr(self, name))

    @property
    def area_cm2(self) -> float:
        """Active area [cm^2]."""
        return self.area_mm2 * 1e-2

    def photocurrent_a(self, irradiance_mw_cm2: ArrayLike) -> float | FloatArray:
        """Short-circuit current ``R*E*A + I_dark`` [A] at an irradiance [mW/cm^2].

        E [W/m^2] = 10 * irradiance [mW/cm^2]; A [m^2] = 1e-6 * area [mm^2].
        """
        e_w_m2 = 10.0 * np.asarray(irradiance_mw_cm2, dtype=float)
        return _result(self.responsivity_a_per_w * e_w_m2 * self.area_mm2 * 1e-6
                       + self.dark_current_a)

    def current_a(self, voltage_v: ArrayLike, irradiance_mw_cm2: float) -> float | FloatArray:
        """Terminal current [A], photovoltaic sign, at a bias [V] and irradiance [mW/cm^2]."""
        v = np.asarray(voltage_v, dtype=float)
        vt = float(thermal_voltage_v(self.temperature_k))
        with np.errstate(over="ignore"):
            diode = self.saturation_current_a * np.expm1(v / vt)
        return _result(self.photocurrent_a(irradiance_mw_cm2) - diode)

    def current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Current density [A/cm^2], photovoltaic sign: :meth:`current_a` / area."""
        return _result(np.asarray(self.current_a(voltage_v, irradiance_mw_cm2)) / self.area_cm2)

    def voltage_at_current_density_v(
        self, j_a_cm2: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Voltage [V] at a current density [A/cm^2] (``-inf`` beyond the reverse limit)."""
        generated_a = float(self.photocurrent_a(irradiance_mw_cm2))
        i0 = self.saturation_current_a
        return diode_voltage_v(
            np.asarray(j_a_cm2, dtype=float) * self.area_cm2, generated_a, i0, 1.0, 0.0,
            np.inf, self.temperature_k,
        )

    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float) -> None:
        """No state to advance."""

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float) -> None:
        """No state to advance."""

    def reset(self) -> None:
        """No state to reset."""

    def staircase(
        self,
        voltages_v: ArrayLike,
        settle_s: ArrayLike,
        point_s: ArrayLike,
        irradiance_mw_cm2: float,
    ) -> FloatArray:
        """Current density at each step [A/cm^2] (stateless device)."""
        voltages, _, _ = _staircase_times(voltages_v, settle_s, point_s)
        return np.asarray(self.current_density_a_cm2(voltages, irradiance_mw_cm2))


# --------------------------------------------------------------------------------------------
# Arc lamp
# --------------------------------------------------------------------------------------------


class ArcLamp:
    """Output of an arc lamp on a 69907/69920 supply, as a function of (given) time.

    After ``start(t)`` the lamp ignites for ``ignition_s`` with no output; then the relative
    output approaches 1 exponentially from ``relative_start`` with ``warmup_tau_s``, plus a
    linear drift of ``drift_pct_per_h`` counted from ignition; after ``stop`` it is 0.
    A restart begins a new ignition and warm-up (simulation-physics.md section 5).

    Parameters
    ----------
    relative_start : float, default 0.8
        Output right after ignition relative to the setpoint [fraction], >= 0.
    warmup_tau_s : float, default 300
        Warm-up time constant [s], > 0.
    ignition_s : float, default 5
        Time from START to light [s], >= 0.
    drift_pct_per_h : float, default 0
        Linear drift of the output after ignition [%/h] (negative: the lamp fades).
    """

    def __init__(
        self,
        relative_start: float = 0.8,
        warmup_tau_s: float = 300.0,
        ignition_s: float = 5.0,
        drift_pct_per_h: float = 0.0,
    ) -> None:
        _check_non_negative("relative_start", relative_start)
        _check_positive("warmup_tau_s", warmup_tau_s)
        _check_non_negative("ignition_s", ignition_s)
        self.relative_start = relative_start
        self.warmup_tau_s = warmup_tau_s
        self.ignition_s = ignition_s
        self.drift_pct_per_h = drift_pct_per_h
        self._start_s: float | None = None
        self._stop_s: float | None = None

    def start(self, t_s: float) -> None:
        """Switch the lamp on at time ``t_s`` [s]; ignored while it is already on."""
        if self.is_on(t_s):
            return
        self._start_s = t_s
        self._stop_s = None

    def stop(self, t_s: float) -> None:
        """Switch the lamp off at time ``t_s`` [s]; ignored while it is off."""
        if self.is_on(t_s):
            self._stop_s = t_s

    def is_on(self, t_s: float) -> bool:
        """Whether the supply is on at time ``t_s`` [s] (igniting or burning)."""
        if self._start_s is None or t_s < self._start_s:
            return False
        return self._stop_s is None or t_s < self._stop_s

    def _ignition_end_s(self, t_s: float) -> float | None:
        """End of the present ignition [s], or None while the supply is off at ``t_s``."""
        if not self.is_on(t_s) or self._start_s is None:
            return None
        return self._start_s + self.ignition_s

    def is_ignited(self, t_s: float) -> bool:
        """Whether the lamp gives light at time ``t_s`` [s]."""
        ignition_end_s = self._ignition_end_s(t_s)
        return ignition_end_s is not None and t_s >= ignition_end_s

    def relative_output(self, t_s: float) -> float:
        """Output relative to the setpoint [fraction] at time ``t_s`` [s]; 0 when dark."""
        ignition_end_s = self._ignition_end_s(t_s)
        if ignition_end_s is None or t_s < ignition_end_s:
            return 0.0
        since_ignition_s = t_s - ignition_end_s
        warmup = 1.0 - (1.0 - self.relative_start) * math.exp(-since_ignition_s / self.warmup_tau_s)
        drift = self.drift_pct_per_h / 100.0 * since_ignition_s / 3600.0
        return max(0.0, warmup + drift)
