"""A dark single-carrier device for space-charge-limited current (SCLC)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from labctl.sim.physics.common import (
    BOLTZMANN_J_K,
    ELEMENTARY_CHARGE_C,
    VACUUM_PERMITTIVITY_F_CM,
    FloatArray,
    as_result,
    staircase_times,
)
from labctl.station.simulation import SingleCarrierDevice as SingleCarrierConfig

__all__ = ["SingleCarrierDevice", "SingleCarrierParams"]


SingleCarrierParams = SingleCarrierConfig
"""The device's parameters: the validated ``simulation.device`` model of kind single_carrier
(:class:`labctl.station.simulation.SingleCarrierDevice`, one definition of every field, its unit,
default and range). The name is kept for callers that built ``SingleCarrierParams(...)``."""


class SingleCarrierDevice:
    """A dark single-carrier device: ohmic, trap-filled limit, then Mott-Gurney.

    Construction (docs/simulation.md §4), for V > 0, in current magnitude:

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
    params : labctl.station.simulation.SingleCarrierDevice, optional
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

    def __init__(self, params: SingleCarrierConfig | None = None) -> None:
        self.params = params if params is not None else SingleCarrierConfig()
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
        return as_result(np.sign(v) * j)

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
        return as_result(-np.asarray(self.sclc_current_density_a_cm2(voltage_v)))

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
        return as_result(out)

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
        voltages, _, _ = staircase_times(voltages_v, settle_s, point_s)
        return np.asarray(self.current_density_a_cm2(voltages))
