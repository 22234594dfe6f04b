"""What the SMU emulator needs from a device under test: the :class:`DeviceModel` protocol."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from numpy.typing import ArrayLike

from labctl.sim.physics.common import FloatArray

__all__ = ["DeviceModel"]


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
