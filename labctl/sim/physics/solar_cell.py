"""A solar cell: single diode at steady state, a mobile-ion transient, slow degradation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize

from labctl.sim.physics.common import (
    REFERENCE_IRRADIANCE_MW_CM2,
    FloatArray,
    as_result,
    check_non_negative,
    staircase_times,
    thermal_voltage_v,
)
from labctl.sim.physics.diode import (
    diode_current_density_a_cm2,
    diode_voltage_v,
    open_circuit_voltage_v,
)
from labctl.station.simulation import SolarCellDevice

__all__ = ["SolarCell", "SolarCellParams"]


SolarCellParams = SolarCellDevice
"""The cell's parameters: the validated ``simulation.device`` model itself (one definition of
every field, its unit, default and range; :class:`labctl.station.simulation.SolarCellDevice`). The
name is kept for callers that built ``SolarCellParams(...)``; ``kind`` is ignored here."""


class SolarCell:
    """A solar cell: single diode at steady state, a mobile-ion transient, slow degradation.

    Steady state is the single-diode equation with Jph proportional to irradiance. Mobile
    ions are one state ``s`` [V] (docs/simulation.md §2): ``ds/dt = (V - s)/tau`` and
    the photocurrent is collected with efficiency ``eta = clip(1 - a*(V - s)/(1 V), 0, 1 + a)``,
    so ``J = eta*Jph - J0*(exp((V + J*Rs)/(n*Vt)) - 1) - (V + J*Rs)/Rsh``. With ``s = V``
    (settled), eta = 1 and the curve is exactly the single-diode one. Every update of ``s`` for a
    constant voltage is the exact exponential. Degradation (docs/simulation.md §3) scales Jph.

    The state is advanced only by :meth:`hold`, :meth:`float_open_circuit` and
    :meth:`staircase`, each given its duration; the model never reads a clock.

    Parameters
    ----------
    params : labctl.station.simulation.SolarCellDevice, optional
        Device parameters, validated (ranges, units and meanings are documented there); the
        defaults are the example cell of docs/contracts.md, "Configuration files".

    Notes
    -----
    Initial state: ``s = 0 V`` (as after storage in the dark), no light exposure.

    Degradation: the light dose ``D`` [sun h] grows by ``duration * G/100`` while lit. The
    burn-in loss ``b`` relaxes toward ``burn_in_fraction`` with ``1 - exp(-dD/burn_in_tau_h)``,
    so from a fresh cell ``b = burn_in_fraction*(1 - exp(-D/burn_in_tau_h))``. Of each increment
    of ``b`` the part ``dark_recovery_fraction`` is recoverable: in the dark (G = 0) it decays
    with ``burn_in_tau_h`` (wall time), the rest is permanent. Jph is multiplied by
    ``max(0, 1 - b - loss_pct_per_1000h/100 * D/1000)``. Within one staircase Jph is held at
    its value at the start of the sweep. The series resistance grows as
    ``rs_ohm_cm2 + rs_growth_ohm_cm2_per_h * D`` and the saturation current as
    ``j0_ma_cm2 * exp(j0_growth_per_h * D)``: these move Vmpp (by about ``Jmpp * dRs`` and
    ``n*Vt`` per e-fold of J0), which photocurrent loss alone barely does (docs/simulation.md §3).

    :meth:`state_dict` holds everything that evolves (ion memory, light dose, burn-in, age), so
    :meth:`load_state` continues a cell across a resume.
    """

    def __init__(self, params: SolarCellDevice | None = None) -> None:
        self.params = params if params is not None else SolarCellDevice()
        self._ion_memory_v = 0.0
        self._light_dose_sun_h = 0.0
        self._burn_in_permanent = 0.0
        self._burn_in_recoverable = 0.0
        self._age_s = 0.0
        self._mpp_key: tuple[float, ...] | None = None
        self._mpp_value = (0.0, 0.0, 0.0)
        self.reset()

    # --- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Return to the initial state: ion memory 0 V, no light exposure, no degradation."""
        self._ion_memory_v = 0.0
        self._light_dose_sun_h = 0.0
        self._burn_in_permanent = 0.0
        self._burn_in_recoverable = 0.0
        self._age_s = 0.0

    def state_dict(self) -> dict[str, float]:
        """The cell's state as plain numbers (ion memory [V], light dose [sun h], burn-in
        losses [fraction], age [s] of evolved time): what a cell keeps between two sessions on
        the bench. The light dose also carries the Rs and J0 growth."""
        return {"ion_memory_v": self._ion_memory_v, "light_dose_sun_h": self._light_dose_sun_h,
                "burn_in_permanent": self._burn_in_permanent,
                "burn_in_recoverable": self._burn_in_recoverable, "age_s": self._age_s}

    def load_state(self, state: dict[str, float]) -> None:
        """Take back a state :meth:`state_dict` gave (ValueError: a key is missing).

        ``age_s`` may be absent (a state saved before it existed): the age is then 0."""
        try:
            values = {key: float(state[key]) for key in self.state_dict() if key != "age_s"}
            values["age_s"] = float(state.get("age_s", 0.0))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a solar-cell state: {exc!r}") from None
        self._age_s = values["age_s"]
        self._ion_memory_v = values["ion_memory_v"]
        self._light_dose_sun_h = values["light_dose_sun_h"]
        self._burn_in_permanent = values["burn_in_permanent"]
        self._burn_in_recoverable = values["burn_in_recoverable"]

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
    def age_s(self) -> float:
        """Time the cell has been evolved (held, floated, swept) since :meth:`reset` [s]."""
        return self._age_s

    @property
    def series_resistance_ohm_cm2(self) -> float:
        """Present series resistance [ohm cm^2]: ``rs_ohm_cm2 + rs_growth_ohm_cm2_per_h * D``."""
        p = self.params
        return p.rs_ohm_cm2 + p.rs_growth_ohm_cm2_per_h * self._light_dose_sun_h

    @property
    def saturation_current_density_a_cm2(self) -> float:
        """Present diode saturation current density [A/cm^2]: ``J0 * exp(j0_growth_per_h * D)``
        (the exponent is capped at 700 to stay finite)."""
        p = self.params
        growth = p.j0_growth_per_h * self._light_dose_sun_h
        return p.j0_ma_cm2 * 1e-3 * (math.exp(min(growth, 700.0)) if growth else 1.0)

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
        self._age_s += duration_s
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
        return (self.saturation_current_density_a_cm2, p.ideality, self.series_resistance_ohm_cm2,
                p.rsh_ohm_cm2, p.temperature_k)

    def jph_a_cm2(self, irradiance_mw_cm2: ArrayLike) -> float | FloatArray:
        """Photocurrent density [A/cm^2] at an irradiance [mW/cm^2], degradation included.

        ``jph_ma_cm2 * 1e-3 * G / 100 * degradation_factor``.
        """
        g = np.asarray(irradiance_mw_cm2, dtype=float)
        jph = (
            self.params.jph_ma_cm2 * 1e-3 * g / REFERENCE_IRRADIANCE_MW_CM2
            * self.degradation_factor
        )
        return as_result(jph)

    def collection_efficiency(self, voltage_v: ArrayLike) -> float | FloatArray:
        """Ion-modulated collection efficiency eta [fraction] at the present ion state.

        ``clip(1 - a*(V - s)/(1 V), 0, 1 + a)`` (docs/simulation.md §2).
        """
        a = self.params.ion_amplitude
        v = np.asarray(voltage_v, dtype=float)
        return as_result(np.clip(1.0 - a * (v - self._ion_memory_v), 0.0, 1.0 + a))

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

        Solves ``d(V*J)/dV = J + V*dJ/dV = 0`` on (0, Voc), using the analytic
        ``dJ/dV = -(J0'/(n Vt) + 1/Rsh)/(1 + Rs*(J0'/(n Vt) + 1/Rsh))`` with
        ``J0' = J0*exp((V + J*Rs)/(n*Vt))``; the result is accurate to about 1e-14 relative.
        Fast for a caller that asks at every logged point: the last answer is kept (same
        irradiance and degradation state: no work), and a changed state starts a secant
        iteration from the last Vmpp (about five evaluations); Brent's method on (0, Voc) is the
        fallback and the first solution.

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
        args = self._diode_args()
        key = (jph, *args)
        if key == self._mpp_key:
            return self._mpp_value
        if jph <= 0.0:
            result = (0.0, 0.0, 0.0)
        else:
            vmpp = self._vmpp_secant(jph, args) if self._mpp_value[0] > 0.0 else None
            if vmpp is None:
                vmpp = self._vmpp_brent(jph, args)
            if vmpp is None:
                result = (0.0, 0.0, 0.0)
            else:
                jmpp = float(diode_current_density_a_cm2(vmpp, jph, *args))
                result = (vmpp, jmpp, vmpp * jmpp)
        self._mpp_key, self._mpp_value = key, result
        return result

    @staticmethod
    def _power_slope_fn(jph: float, args: tuple[float, float, float, float, float]
                        ) -> Callable[[float], float]:
        """d(V*J)/dV of the steady-state curve as a function of V."""
        j0, n, rs, rsh, t = args
        nvt = n * float(thermal_voltage_v(t))
        gsh = 0.0 if math.isinf(rsh) else 1.0 / rsh

        def power_slope(v: float) -> float:
            j = float(diode_current_density_a_cm2(v, jph, j0, n, rs, rsh, t))
            conductance = j0 / nvt * math.exp(min((v + j * rs) / nvt, 700.0)) + gsh
            return j - v * conductance / (1.0 + rs * conductance)

        return power_slope

    def _vmpp_brent(self, jph: float, args: tuple[float, float, float, float, float]
                    ) -> float | None:
        voc = float(open_circuit_voltage_v(jph, *args))
        if voc <= 0.0:
            return None
        slope = self._power_slope_fn(jph, args)
        return float(optimize.brentq(slope, 0.0, voc, xtol=1e-16,
                                     rtol=4.0 * np.finfo(float).eps))

    def _vmpp_secant(self, jph: float, args: tuple[float, float, float, float, float]
                     ) -> float | None:
        """Secant iteration from the last Vmpp; None when it does not converge cleanly."""
        slope = self._power_slope_fn(jph, args)
        v0 = self._mpp_value[0]
        v1 = v0 * (1.0 + 1e-4)
        f0, f1 = slope(v0), slope(v1)
        for _ in range(12):
            if f1 == f0:
                break
            v2 = v1 - f1 * (v1 - v0) / (f1 - f0)
            if not 0.0 < v2 < 2.0 * v0 + 1.0:
                return None
            if abs(v2 - v1) <= 1e-15 * max(1.0, abs(v2)) or f1 == 0.0:
                return v2
            v0, f0, v1, f1 = v1, f1, v2, slope(v2)
            if abs(v1 - v0) <= 4e-16 * abs(v1):
                return v1
        return v1 if f1 == 0.0 or abs(f1) < 1e-13 * jph else None

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
        return as_result(v)

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
        check_non_negative("duration_s", duration_s)
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
        check_non_negative("duration_s", duration_s)
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
        voltages, settle, point = staircase_times(voltages_v, settle_s, point_s)
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
