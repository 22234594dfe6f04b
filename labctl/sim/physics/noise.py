"""Measurement noise: a device model wrapped so that what an SMU reads from it is noisy.

:class:`NoisyDevice` stands between an SMU emulator and its device model. The values the
emulator reads (currents of a staircase or an instantaneous curve, voltages at a current) carry
Gaussian noise whose level follows :class:`labctl.station.simulation.NoiseSim` and the SMU's present
measurement range and NPLC (docs/simulation.md §6). The device's integrated state is never
touched by the noise: every stateful call is forwarded with exact arguments (a hold at a voltage
the wrapper itself returned with noise is held at the exact voltage), and the noise only alters
the returned copies.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from labctl.sim.physics.common import FloatArray, as_result
from labctl.sim.physics.model import DeviceModel
from labctl.station.simulation import NoiseSim

__all__ = ["MeasurementSettings", "NoisyDevice", "auto_range", "noise_sigma"]

#: Fraction above full scale a range still measures (Keithley SMUs: 105 % of range).
OVER_RANGE = 1.05


@dataclass(frozen=True)
class MeasurementSettings:
    """How the SMU measures right now.

    Parameters
    ----------
    current_range_a : float or None
        Fixed current measurement range [A]; None for auto range.
    voltage_range_v : float or None
        Fixed voltage measurement range [V]; None for auto range.
    current_ranges_a : sequence of float
        The SMU's current ranges [A], ascending (what auto range chooses from).
    voltage_ranges_v : sequence of float
        The SMU's voltage ranges [V], ascending.
    nplc_current : float
        Integration time of current readings [power-line cycles], > 0.
    nplc_voltage : float
        Integration time of voltage readings [power-line cycles], > 0.
    """

    current_range_a: float | None = None
    voltage_range_v: float | None = None
    current_ranges_a: Sequence[float] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    voltage_ranges_v: Sequence[float] = (0.2, 2.0, 20.0, 200.0)
    nplc_current: float = 1.0
    nplc_voltage: float = 1.0


def auto_range(value: ArrayLike, ranges: Sequence[float]) -> float | FloatArray:
    """The lowest range that holds ``|value|`` (up to 105 % of full scale); the top one above.

    Parameters
    ----------
    value : array_like
        Reading(s), in the unit of ``ranges``.
    ranges : sequence of float
        Full scales, ascending.
    """
    table = np.asarray(ranges, dtype=float)
    index = np.searchsorted(table * OVER_RANGE, np.abs(np.asarray(value, dtype=float)))
    return as_result(table[np.minimum(index, table.size - 1)])


def _auto_range_scalar(value: float, ranges: Sequence[float]) -> float:
    """Scalar twin of :func:`auto_range` (no numpy overhead for single readings)."""
    magnitude = abs(value)
    for full_scale in ranges:
        if magnitude <= full_scale * OVER_RANGE:
            return float(full_scale)
    return float(ranges[-1])


def noise_sigma(value: ArrayLike, range_: ArrayLike, rel: float, range_fraction: float,
                floor: float, nplc: float) -> float | FloatArray:
    """Standard deviation of a reading: ``sqrt((rel*|x|)^2 + (fraction*range)^2 + floor^2)``
    divided by ``sqrt(nplc)``, in the unit of ``value``."""
    x = np.asarray(value, dtype=float)
    r = np.asarray(range_, dtype=float)
    variance = (rel * x) ** 2 + (range_fraction * r) ** 2 + floor**2
    return as_result(np.sqrt(variance / nplc))


class NoisyDevice:
    """A device model whose readings carry measurement noise (see the module docstring).

    Parameters
    ----------
    device : DeviceModel
        The exact model; its state is what the bench integrates. Reachable as ``.device``;
        every attribute the wrapper does not define is the device's.
    noise : labctl.station.simulation.NoiseSim
        Noise levels and seed.
    settings : callable
        Returns the SMU's present :class:`MeasurementSettings` at each reading.
    stream : str
        Name of the random stream (the SMU's name): with the seed it fixes the generator.
    """

    def __init__(self, device: DeviceModel, noise: NoiseSim,
                 settings: Callable[[], MeasurementSettings], stream: str) -> None:
        self.device = device
        self.noise = noise
        self.settings = settings
        self.stream = stream
        self._rng = self._new_generator()
        #: The last voltage returned with noise and its exact value [V].
        self._noisy_voltage: tuple[float, float] | None = None

    def _new_generator(self) -> np.random.Generator:
        return np.random.default_rng([self.noise.seed, zlib.crc32(self.stream.encode())])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.device, name)

    @property
    def area_cm2(self) -> float:
        """Area of the wrapped device [cm^2]."""
        return self.device.area_cm2

    # --- noise -----------------------------------------------------------------------------
    def _normal(self, shape: tuple[int, ...]) -> float | FloatArray:
        return float(self._rng.standard_normal()) if shape == () else \
            self._rng.standard_normal(shape)

    def _noisy_current_density(self, j_a_cm2: ArrayLike) -> float | FloatArray:
        area_cm2 = self.device.area_cm2
        settings = self.settings()
        n = self.noise
        if isinstance(j_a_cm2, float):  # a single reading: math, not numpy (~10x faster)
            current_a = j_a_cm2 * area_cm2
            range_a = settings.current_range_a
            if range_a is None:
                range_a = _auto_range_scalar(current_a, settings.current_ranges_a)
            sigma_a = math.sqrt(((n.current_rel * current_a) ** 2
                                 + (n.current_range_fraction * range_a) ** 2
                                 + n.current_floor_a**2) / settings.nplc_current)
            return j_a_cm2 + sigma_a * float(self._rng.standard_normal()) / area_cm2
        j = np.asarray(j_a_cm2, dtype=float)
        current_a = j * area_cm2
        range_arr = settings.current_range_a
        if range_arr is None:
            range_arr = auto_range(current_a, settings.current_ranges_a)
        sigma = noise_sigma(current_a, range_arr, n.current_rel, n.current_range_fraction,
                            n.current_floor_a, settings.nplc_current)
        return as_result(j + np.asarray(sigma) * self._normal(j.shape) / area_cm2)

    def _noisy_voltage_v(self, voltage_v: ArrayLike) -> float | FloatArray:
        v = np.asarray(voltage_v, dtype=float)
        settings = self.settings()
        range_v = settings.voltage_range_v
        if range_v is None:
            range_v = auto_range(np.where(np.isfinite(v), v, 0.0), settings.voltage_ranges_v)
        n = self.noise
        sigma_v = noise_sigma(np.where(np.isfinite(v), v, 0.0), range_v, n.voltage_rel,
                              n.voltage_range_fraction, n.voltage_floor_v,
                              settings.nplc_voltage)
        noisy = as_result(v + np.asarray(sigma_v) * self._normal(v.shape))
        if isinstance(noisy, float) and math.isfinite(noisy):
            self._noisy_voltage = (noisy, float(v))
        return noisy

    def _exact_voltage_v(self, voltage_v: float) -> float:
        """The exact voltage behind one this wrapper returned with noise (else unchanged)."""
        if self._noisy_voltage is not None and voltage_v == self._noisy_voltage[0]:
            return self._noisy_voltage[1]
        return voltage_v

    # --- what the SMU reads ------------------------------------------------------------------
    def current_density_a_cm2(self, voltage_v: ArrayLike,
                              irradiance_mw_cm2: float) -> float | FloatArray:
        """The device's current density [A/cm^2] with current noise."""
        exact = self.device.current_density_a_cm2(voltage_v, irradiance_mw_cm2)
        return self._noisy_current_density(exact)

    def voltage_at_current_density_v(self, j_a_cm2: ArrayLike,
                                     irradiance_mw_cm2: float) -> float | FloatArray:
        """The device's voltage [V] at a current density, with voltage noise."""
        exact = self.device.voltage_at_current_density_v(j_a_cm2, irradiance_mw_cm2)
        return self._noisy_voltage_v(exact)

    def staircase(self, voltages_v: ArrayLike, settle_s: ArrayLike, point_s: ArrayLike,
                  irradiance_mw_cm2: float) -> FloatArray:
        """The device's staircase (state advanced exactly), readings with current noise."""
        exact = self.device.staircase(voltages_v, settle_s, point_s, irradiance_mw_cm2)
        if exact.size == 1:  # a single reading: the scalar path
            return np.array([self._noisy_current_density(float(exact[0]))])
        return np.asarray(self._noisy_current_density(exact), dtype=float)

    # --- state: forwarded exactly ----------------------------------------------------------
    def hold(self, voltage_v: float, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Hold the device at ``voltage_v`` [V] (the exact value if it was a noisy reading)."""
        self.device.hold(self._exact_voltage_v(voltage_v), duration_s, irradiance_mw_cm2)

    def float_open_circuit(self, duration_s: float, irradiance_mw_cm2: float) -> None:
        """Let the device float at open circuit for ``duration_s`` [s]."""
        self.device.float_open_circuit(duration_s, irradiance_mw_cm2)

    def state_dict(self) -> dict[str, Any]:
        """Where the noise sequence has got to (the wrapped device keeps its own state)."""
        return {"rng": self._rng.bit_generator.state}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue the noise sequence from a state :meth:`state_dict` gave."""
        try:
            self._rng.bit_generator.state = state["rng"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a noise state: {exc!r}") from None
        self._noisy_voltage = None

    def reset(self) -> None:
        """Reset the device and restart the noise sequence (a power cycle)."""
        self.device.reset()
        self._rng = self._new_generator()
        self._noisy_voltage = None
