"""Constants and small helpers shared by the device models of the simulated bench.

Units: voltages [V], current densities [A/cm^2], times [s], temperatures [K].
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import constants

__all__ = [
    "BOLTZMANN_J_K",
    "ELEMENTARY_CHARGE_C",
    "REFERENCE_IRRADIANCE_MW_CM2",
    "VACUUM_PERMITTIVITY_F_CM",
    "FloatArray",
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


def as_result(value: FloatArray) -> float | FloatArray:
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
    return as_result(np.asarray(temperature_k, dtype=float) * BOLTZMANN_J_K / ELEMENTARY_CHARGE_C)



def as_1d(values: ArrayLike, size: int, name: str) -> FloatArray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise ValueError(f"{name} must be a scalar or have one value per point ({size})")
    return array


def staircase_times(
    voltages_v: ArrayLike, settle_s: ArrayLike, point_s: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    voltages = np.asarray(voltages_v, dtype=float)
    if voltages.ndim != 1:
        raise ValueError("voltages_v must be one-dimensional")
    settle = as_1d(settle_s, voltages.size, "settle_s")
    point = as_1d(point_s, voltages.size, "point_s")
    if np.any(settle < 0.0) or np.any(point < settle):
        raise ValueError("staircase times need 0 <= settle_s <= point_s")
    return voltages, settle, point


def check_non_negative(name: str, value: float) -> None:
    if not value >= 0.0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


def check_positive(name: str, value: float) -> None:
    if not value > 0.0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
