"""A reference photodiode read by an SMU."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from labctl.sim.physics.common import (
    FloatArray,
    as_result,
    check_positive,
    staircase_times,
    thermal_voltage_v,
)
from labctl.sim.physics.diode import diode_voltage_v
from labctl.station.simulation import PhotodiodeSim

__all__ = ["Photodiode"]


class Photodiode:
    """A reference photodiode read by an SMU (usually at 0 V).

    ``I = R*E*A + I_dark - I0*(exp(V/Vt) - 1)``: photocurrent from the responsivity R [A/W],
    the irradiance E [W/m^2] and the area A [m^2], a constant dark current (as a real
    photodiode's offset, which the SMU reads at 0 V too) and an ideal diode (n = 1) that
    matters only in forward bias. Photovoltaic sign: the generated current is positive.

    Parameters
    ----------
    responsivity_a_per_w : float
        Responsivity to the lamp spectrum [A/W], > 0 (the station's ``smu_photodiode`` entry).
    area_mm2 : float
        Active area [mm^2], > 0 (idem).
    params : labctl.station.simulation.PhotodiodeSim, optional
        Dark current, saturation current and temperature (``simulation.photodiode``; their
        units, defaults and ranges are defined there).
    """

    def __init__(self, responsivity_a_per_w: float, area_mm2: float,
                 params: PhotodiodeSim | None = None) -> None:
        check_positive("responsivity_a_per_w", responsivity_a_per_w)
        check_positive("area_mm2", area_mm2)
        self.responsivity_a_per_w = responsivity_a_per_w
        self.area_mm2 = area_mm2
        self.params = params if params is not None else PhotodiodeSim()

    @property
    def dark_current_a(self) -> float:
        """Dark current [A]."""
        return self.params.dark_current_a

    @property
    def saturation_current_a(self) -> float:
        """Diode saturation current I0 [A]."""
        return self.params.saturation_current_a

    @property
    def temperature_k(self) -> float:
        """Temperature [K]."""
        return self.params.temperature_k

    @property
    def area_cm2(self) -> float:
        """Active area [cm^2]."""
        return self.area_mm2 * 1e-2

    def photocurrent_a(self, irradiance_mw_cm2: ArrayLike) -> float | FloatArray:
        """Short-circuit current ``R*E*A + I_dark`` [A] at an irradiance [mW/cm^2].

        E [W/m^2] = 10 * irradiance [mW/cm^2]; A [m^2] = 1e-6 * area [mm^2].
        """
        e_w_m2 = 10.0 * np.asarray(irradiance_mw_cm2, dtype=float)
        return as_result(self.responsivity_a_per_w * e_w_m2 * self.area_mm2 * 1e-6
                       + self.dark_current_a)

    def current_a(self, voltage_v: ArrayLike, irradiance_mw_cm2: float) -> float | FloatArray:
        """Terminal current [A], photovoltaic sign, at a bias [V] and irradiance [mW/cm^2]."""
        v = np.asarray(voltage_v, dtype=float)
        vt = float(thermal_voltage_v(self.temperature_k))
        with np.errstate(over="ignore"):
            diode = self.saturation_current_a * np.expm1(v / vt)
        return as_result(self.photocurrent_a(irradiance_mw_cm2) - diode)

    def current_density_a_cm2(
        self, voltage_v: ArrayLike, irradiance_mw_cm2: float
    ) -> float | FloatArray:
        """Current density [A/cm^2], photovoltaic sign: :meth:`current_a` / area."""
        return as_result(np.asarray(self.current_a(voltage_v, irradiance_mw_cm2)) / self.area_cm2)

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
        voltages, _, _ = staircase_times(voltages_v, settle_s, point_s)
        return np.asarray(self.current_density_a_cm2(voltages, irradiance_mw_cm2))
