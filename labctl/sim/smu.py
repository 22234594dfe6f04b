"""What every simulated source-measure unit shares: the wiring to its device model.

The emulators of the 2400-series and the 2450 differ in their command sets, reply formats and
timing; both drive the device under test through :class:`SmuEngine`, which

- keeps the device model up to date between operations (output on: held at the source value;
  output off: floating at open circuit) -- :meth:`SmuEngine.sync`,
- runs a train of source-delay-measure points (a fixed level, a staircase or a list) against
  the model on the bench clock, with compliance clamping as the instrument does it --
  :meth:`SmuEngine.measure_points`.

Currents are in the SMU's sign: current delivered by an illuminated cell flows into HI and
reads negative (reference/instruments.md §9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from labctl.sim.bench import Bench
    from labctl.sim.physics import DeviceModel

#: Leakage of open leads (what an SMU reads with nothing connected) [ohm].
OPEN_LEADS_OHM = 1e13


@dataclass
class Points:
    """Result of a train of source-delay-measure points."""

    voltage_v: np.ndarray       # terminal voltage (measured)
    current_a: np.ndarray       # SMU sign
    source_value: np.ndarray    # programmed source value (V or A)
    time_s: np.ndarray          # bench time at each measurement
    in_compliance: np.ndarray   # bool


class SmuEngine:
    """Couples an SMU emulator to the device model wired to it."""

    def __init__(self, bench: Bench, name: str) -> None:
        self.bench = bench
        self.name = name
        self.reset()

    @property
    def dut(self) -> DeviceModel | None:
        return self.bench.duts.get(self.name)

    def reset(self) -> None:
        self.output_on = False
        self.source_function = "VOLT"
        self.level = 0.0
        self.compliance = 1.05e-4
        self._dut_time_s = self.bench.clock.now_s()

    # --- state between operations --------------------------------------------------------
    def configure(self, *, output_on: bool, source_function: str, level: float,
                  compliance: float) -> None:
        """Change what the outputs do, after bringing the device up to the instrument's now."""
        self.sync(self.bench.clock.now_s())
        self.output_on = output_on
        self.source_function = source_function
        self.level = level
        self.compliance = compliance

    def sync(self, t_s: float) -> None:
        """Advance the device model to ``t_s`` under the present output condition."""
        dut = self.dut
        duration_s = t_s - self._dut_time_s
        if duration_s <= 0:
            return
        if dut is not None:
            irradiance = self.bench.irradiance_mw_cm2(self._dut_time_s)
            if self.output_on:
                voltage_v = self._held_voltage_v(dut, irradiance)
                dut.hold(voltage_v, duration_s, irradiance)
            else:
                dut.float_open_circuit(duration_s, irradiance)
        self._dut_time_s = t_s

    def _held_voltage_v(self, dut: DeviceModel, irradiance: float) -> float:
        if self.source_function == "VOLT":
            current_a = -dut.current_density_a_cm2(self.level, irradiance) * dut.area_cm2
            if abs(current_a) <= self.compliance:
                return self.level
            limit_a = np.sign(current_a) * self.compliance
            return float(dut.voltage_at_current_density_v(-limit_a / dut.area_cm2, irradiance))
        voltage_v = float(dut.voltage_at_current_density_v(-self.level / dut.area_cm2, irradiance))
        return float(np.clip(voltage_v, -self.compliance, self.compliance))

    # --- measurement ---------------------------------------------------------------------
    def measure_points(self, source_values: np.ndarray, *, start_s: float, settle_s: float,
                       point_s: float, source_function: str, compliance: float) -> Points:
        """Source each value, wait ``settle_s``, measure; each point lasts ``point_s``.

        The device is brought to ``start_s`` first. After the train the output holds the last
        source value (the caller sets the level it returns to).
        """
        self.sync(start_s)
        source_values = np.asarray(source_values, dtype=float)
        n_points = source_values.size
        times_s = start_s + np.arange(n_points) * point_s + settle_s
        dut = self.dut
        irradiance = self.bench.irradiance_mw_cm2(start_s)
        if source_function == "VOLT":
            voltage_v = source_values.copy()
            if dut is None:
                current_a = voltage_v / OPEN_LEADS_OHM
            else:
                j_a_cm2 = dut.staircase(voltage_v, settle_s, point_s, irradiance)
                current_a = -np.asarray(j_a_cm2, dtype=float) * dut.area_cm2
            clamped = np.abs(current_a) > compliance
            if np.any(clamped):
                current_a = np.where(clamped, np.sign(current_a) * compliance, current_a)
                if dut is not None:
                    for k in np.flatnonzero(clamped):
                        voltage_v[k] = dut.voltage_at_current_density_v(
                            -current_a[k] / dut.area_cm2, irradiance)
            self._dut_time_s = start_s + n_points * point_s
        else:
            current_a = source_values.copy()
            voltage_v = np.empty(n_points)
            clamped = np.zeros(n_points, dtype=bool)
            for k, level_a in enumerate(source_values):
                if dut is None:
                    v = np.inf if level_a > 0 else (-np.inf if level_a < 0 else 0.0)
                    dut_v = v
                else:
                    j_a_cm2 = -level_a / dut.area_cm2
                    dut_v = float(dut.voltage_at_current_density_v(j_a_cm2, irradiance))
                    dut.hold(float(np.clip(dut_v, -compliance, compliance)), settle_s, irradiance)
                    dut_v = float(dut.voltage_at_current_density_v(j_a_cm2, irradiance))
                if abs(dut_v) > compliance:
                    clamped[k] = True
                    voltage_v[k] = np.sign(dut_v) * compliance
                    if dut is None:
                        current_a[k] = voltage_v[k] / OPEN_LEADS_OHM
                    else:
                        current_a[k] = -dut.current_density_a_cm2(
                            voltage_v[k], irradiance) * dut.area_cm2
                else:
                    voltage_v[k] = dut_v
                if dut is not None:
                    dut.hold(float(voltage_v[k]), max(point_s - settle_s, 0.0), irradiance)
            self._dut_time_s = start_s + n_points * point_s
        return Points(voltage_v=voltage_v, current_a=np.asarray(current_a, dtype=float),
                      source_value=source_values, time_s=times_s, in_compliance=clamped)
