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

One module per model: :mod:`~labctl.sim.physics.diode` (the single-diode equation by Lambert
W), :mod:`~labctl.sim.physics.solar_cell`, :mod:`~labctl.sim.physics.single_carrier` (SCLC),
:mod:`~labctl.sim.physics.photodiode`, :mod:`~labctl.sim.physics.lamp` (arc lamp output),
:mod:`~labctl.sim.physics.model` (the protocol the SMU emulators drive) and
:mod:`~labctl.sim.physics.noise` (measurement noise on what an SMU reads). Every public name is
re-exported here, so ``from labctl.sim import physics; physics.SolarCell()`` works.

Models follow docs/simulation.md; the individual functions cite their sources.
"""

from __future__ import annotations

from labctl.sim.physics.common import (
    BOLTZMANN_J_K,
    ELEMENTARY_CHARGE_C,
    REFERENCE_IRRADIANCE_MW_CM2,
    VACUUM_PERMITTIVITY_F_CM,
    thermal_voltage_v,
)
from labctl.sim.physics.diode import (
    diode_current_density_a_cm2,
    diode_voltage_v,
    open_circuit_voltage_v,
)
from labctl.sim.physics.lamp import ArcLamp
from labctl.sim.physics.model import DeviceModel
from labctl.sim.physics.noise import MeasurementSettings, NoisyDevice
from labctl.sim.physics.photodiode import Photodiode
from labctl.sim.physics.single_carrier import SingleCarrierDevice, SingleCarrierParams
from labctl.sim.physics.solar_cell import SolarCell, SolarCellParams

__all__ = [
    "BOLTZMANN_J_K",
    "ELEMENTARY_CHARGE_C",
    "REFERENCE_IRRADIANCE_MW_CM2",
    "VACUUM_PERMITTIVITY_F_CM",
    "ArcLamp",
    "DeviceModel",
    "MeasurementSettings",
    "NoisyDevice",
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
