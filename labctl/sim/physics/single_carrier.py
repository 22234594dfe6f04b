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
    check_non_negative,
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

    Mobile ions (optional, ``ion_density_cm3`` > 0; docs/simulation.md §4): one state ``s``
    [V], the bias the ions have settled to, ``ds/dt = (V - s)/tau`` (exact exponential per
    held interval, as the solar cell's, ``tau = ion_tau_s``). Ions settled at a bias of the
    sign of V screen the traps: the trap-filled limit seen at V is
    ``V_TFL0 - V_ion*clip(s*sign(V)/V_TFL0, 0, 1)`` with ``V_ion = q*n_ion*L^2/(2*eps)``
    (the kink of [2] then gives only q*(n_t - n_ion)*L^2/(2*eps) once the ions have settled).
    A slow DC sweep therefore shows a lower V_TFL and up/down hysteresis, while a short pulse
    from a 0 V rest (s near 0) sees V_TFL0. Without ions ``s`` changes nothing.

    Parameters
    ----------
    params : labctl.station.simulation.SingleCarrierDevice, optional
        Device parameters; the defaults give V_TFL = 0.754 V.

    Notes
    -----
    Initial state: ``s = 0 V`` (as after storage with the leads open).

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
        self._ion_memory_v = 0.0

    # --- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to the initial state: ion memory 0 V."""
        self._ion_memory_v = 0.0

    def state_dict(self) -> dict[str, float]:
        """The device's state as plain numbers (ion memory [V]): what it keeps between two
        sessions on the bench."""
        return {"ion_memory_v": self._ion_memory_v}

    def load_state(self, state: dict[str, float]) -> None:
        """Take back a state :meth:`state_dict` gave (ValueError: a key is missing)."""
        try:
            self._ion_memory_v = float(state["ion_memory_v"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a single-carrier state: {exc!r}") from None

    @property
    def ion_memory_v(self) -> float:
        """Present ionic memory ``s`` [V]: the bias the ions have settled to."""
        return self._ion_memory_v

    @property
    def has_ions(self) -> bool:
        """Whether the device has mobile ions that screen traps."""
        return self.params.ion_density_cm3 > 0.0 and self.v_tfl_v > 0.0

    def _ion_decay(self, duration_s: ArrayLike) -> FloatArray:
        """exp(-duration/tau) [unitless]; 0 for tau = 0 (ions follow at once)."""
        duration = np.asarray(duration_s, dtype=float)
        if self.params.ion_tau_s == 0.0:
            return np.where(duration > 0.0, 0.0, 1.0)
        return np.exp(-duration / self.params.ion_tau_s)

    # --- geometry and derived quantities --------------------------------------------------

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

    def _density_voltage_v(self, density_cm3: float) -> float:
        """``q*n*L^2/(2*eps0*eps_r)`` [V] of a space-charge density [1/cm^3]."""
        return (ELEMENTARY_CHARGE_C * density_cm3 * self.thickness_cm**2
                / (2.0 * self.permittivity_f_cm))

    @property
    def v_tfl_v(self) -> float:
        """Trap-filled-limit voltage ``q*N_t*L^2/(2*eps0*eps_r)`` [V] (without ions)."""
        return self._density_voltage_v(self.params.trap_density_cm3)

    @property
    def ion_voltage_v(self) -> float:
        """Largest screening of V_TFL by settled ions, ``q*n_ion*L^2/(2*eps)`` [V]."""
        return self._density_voltage_v(self.params.ion_density_cm3)

    def effective_v_tfl_v(self, voltage_v: ArrayLike, ion_memory_v: ArrayLike | None = None
                          ) -> float | FloatArray:
        """The trap-filled limit seen at ``voltage_v`` with the ions at ``ion_memory_v`` (the
        present state by default) [V]: ``V_TFL0 - V_ion*clip(s*sign(V)/V_TFL0, 0, 1)``."""
        v_tfl = self.v_tfl_v
        s = self._ion_memory_v if ion_memory_v is None else ion_memory_v
        if not self.has_ions:
            return as_result(np.full(np.shape(np.asarray(voltage_v) + np.asarray(s)), v_tfl))
        poled = np.clip(np.asarray(s, dtype=float) * np.sign(voltage_v) / v_tfl, 0.0, 1.0)
        return as_result(v_tfl - self.ion_voltage_v * poled)

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

    def _rise_visible(self, v_tfl_v: float) -> bool:
        if v_tfl_v <= 0.0:
            return False
        return self._ln_ohm_a_cm2_v + math.log(v_tfl_v) < self._ln_child_a_cm2_v2 + 2.0 * math.log(
            v_tfl_v
        )

    @property
    def shows_trap_filling(self) -> bool:
        """Whether the trap-filling rise is visible: ``sigma < (9/8)*eps*mu*V_TFL/L^2``."""
        return self._rise_visible(self.v_tfl_v)

    @property
    def tfl_exponent(self) -> float:
        """Exponent m of the trap-filling power law [unitless] (nan without the rise)."""
        if not self.shows_trap_filling:
            return math.nan
        ln_ratio = self._ln_child_a_cm2_v2 + math.log(self.v_tfl_v) - self._ln_ohm_a_cm2_v
        return max(self.MIN_TFL_EXPONENT, 2.0 + ln_ratio / math.log(self.CHILD_REACHED_BY))

    # --- curves --------------------------------------------------------------------------

    def _ln_current_density(self, ln_v: FloatArray, v_tfl_v: ArrayLike | None = None
                            ) -> FloatArray:
        """ln of the current-density magnitude [ln(A/cm^2)] at ln|V| [ln V], with the
        trap-filled limit ``v_tfl_v`` [V] (one value, or one per voltage; default V_TFL0)."""
        ln_v = np.asarray(ln_v, dtype=float)
        v_tfl = np.broadcast_to(np.asarray(self.v_tfl_v if v_tfl_v is None else v_tfl_v,
                                           dtype=float), ln_v.shape)
        ln_ohm = self._ln_ohm_a_cm2_v + ln_v
        ln_child = self._ln_child_a_cm2_v2 + 2.0 * ln_v
        delta = self.ROUNDING_FRACTION
        plain = delta * np.logaddexp(ln_ohm / delta, ln_child / delta)
        with np.errstate(divide="ignore"):
            ln_v_tfl = np.log(np.where(v_tfl > 0.0, v_tfl, 1.0))
        visible = (v_tfl > 0.0) & (
            self._ln_ohm_a_cm2_v + ln_v_tfl < self._ln_child_a_cm2_v2 + 2.0 * ln_v_tfl)
        if not np.any(visible):
            return plain
        ln_ratio = np.where(visible, self._ln_child_a_cm2_v2 + ln_v_tfl - self._ln_ohm_a_cm2_v,
                            0.0)
        m = np.maximum(self.MIN_TFL_EXPONENT, 2.0 + ln_ratio / math.log(self.CHILD_REACHED_BY))
        ln_steep = self._ln_ohm_a_cm2_v + ln_v_tfl + m * (ln_v - ln_v_tfl)
        width_upper = delta * (m - 2.0)
        rise = -width_upper * np.logaddexp(-ln_steep / width_upper, -ln_child / width_upper)
        width_lower = delta * (m - 1.0)
        trapped = width_lower * np.logaddexp(ln_ohm / width_lower, rise / width_lower)
        return np.where(visible, trapped, plain)

    def _injected_a_cm2(self, voltage_v: ArrayLike, ion_memory_v: ArrayLike | None = None
                        ) -> FloatArray:
        v = np.asarray(voltage_v, dtype=float)
        magnitude = np.abs(v)
        with np.errstate(divide="ignore"):
            ln_v = np.log(magnitude)
        v_tfl = self.effective_v_tfl_v(v, ion_memory_v) if self.has_ions else None
        j = np.where(magnitude > 0.0, np.exp(self._ln_current_density(ln_v, v_tfl)), 0.0)
        return np.sign(v) * j

    def sclc_current_density_a_cm2(self, voltage_v: ArrayLike) -> float | FloatArray:
        """Injected current density in the load sign (J > 0 for V > 0) [A/cm^2], at the
        present ion state.

        This is the quantity of the SCLC literature; :meth:`current_density_a_cm2` is its
        negative (photovoltaic sign, as for every device model).

        Parameters
        ----------
        voltage_v : array_like
            Applied voltage [V].
        """
        return as_result(self._injected_a_cm2(voltage_v))

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
        return as_result(-self._injected_a_cm2(voltage_v))

    def voltage_at_current_density_v(
        self, j_a_cm2: ArrayLike, irradiance_mw_cm2: float = 0.0
    ) -> float | FloatArray:
        """Voltage at which the device carries a current density (photovoltaic sign), at the
        present ion state.

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
            v_tfl = float(self.effective_v_tfl_v(math.copysign(1.0, value)))

            def residual(ln_v: float, target: float = target, v_tfl: float = v_tfl) -> float:
                return float(self._ln_current_density(np.asarray(ln_v), v_tfl)) - target

            low, high = -40.0, 10.0
            while residual(low) > 0.0:
                low -= 40.0
            while residual(high) < 0.0:
                high += 10.0
            ln_v = optimize.brentq(residual, low, high, xtol=1e-14, rtol=4.0 * np.finfo(float).eps)
            flat_out[index] = math.copysign(math.exp(ln_v), value)
        return as_result(out)

    # --- time evolution ------------------------------------------------------------------

    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float = 0.0) -> None:
        """Advance the ions with the voltage held: ``s <- V + (s - V)*exp(-duration/tau)``."""
        check_non_negative("duration_s", duration_s)
        decay = float(self._ion_decay(duration_s))
        self._ion_memory_v = voltage_v + (self._ion_memory_v - voltage_v) * decay

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float = 0.0) -> None:
        """Advance the ions with the output off: a dark device floats at 0 V, so ``s``
        relaxes toward 0."""
        self.hold(0.0, duration_s)

    def staircase(
        self,
        voltages_v: ArrayLike,
        settle_s: ArrayLike,
        point_s: ArrayLike,
        irradiance_mw_cm2: float = 0.0,
    ) -> FloatArray:
        """Current density at each step [A/cm^2], photovoltaic sign.

        Each voltage is held ``settle_s`` before its reading and ``point_s`` in all; the ions
        follow point by point (exact exponentials), the reading sees the ions of its moment.
        Parameters as in :meth:`SolarCell.staircase`.
        """
        voltages, settle, point = staircase_times(voltages_v, settle_s, point_s)
        if not self.has_ions:
            return np.asarray(self.current_density_a_cm2(voltages))
        before = self._ion_decay(settle)
        after = self._ion_decay(point - settle)
        memory = np.empty(voltages.size)
        s = self._ion_memory_v
        for k in range(voltages.size):
            s = voltages[k] + (s - voltages[k]) * before[k]
            memory[k] = s
            s = voltages[k] + (s - voltages[k]) * after[k]
        self._ion_memory_v = float(s)
        return -self._injected_a_cm2(voltages, memory)
