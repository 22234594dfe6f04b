"""Drive a tracker on the physics model of a solar cell in virtual time (benchmarks, tests).

No bench, no SMU emulator, no clock: the loop of :mod:`labctl.mpp.tracker` runs directly on
:class:`labctl.sim.physics.SolarCell` (``hold`` then ``current_density_a_cm2``), and logs the
delivered power and the true steady-state maximum power (``steady_state_mpp``) every
``log_interval_s`` and at every move, so energies integrate the transients the tracker causes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labctl.mpp.tracker import Reading, Tracker
from labctl.sim.physics import SolarCell

__all__ = ["DriveResult", "drive"]


@dataclass(frozen=True)
class DriveResult:
    """The logged series of one driven run (photovoltaic sign, whole device)."""

    time_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    power_w: np.ndarray
    true_power_w: np.ndarray
    true_vmpp_v: np.ndarray
    moves: int
    readings: int
    duration_s: float

    @property
    def mean_move_interval_s(self) -> float:
        """Run duration over the number of moves [s]; inf when it never moved."""
        return self.duration_s / self.moves if self.moves else float("inf")


def drive(tracker: Tracker, cell: SolarCell, irradiance_fn: Callable[[float], float],
          duration_s: float, start_v: float, log_interval_s: float = 0.5,
          noise_rel: float = 0.0, seed: int = 0) -> DriveResult:
    """Run ``tracker`` on ``cell`` for ``duration_s`` of virtual time from ``start_v``.

    ``irradiance_fn(t_s)`` gives the irradiance [mW/cm^2] (taken at the start of each logged
    interval); ``noise_rel`` adds Gaussian noise of that relative size to the readings the
    tracker sees (not to the logged power).
    """
    area = cell.area_cm2
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, float, float, float, float]] = []

    def log(t_s: float, voltage_v: float) -> float:
        g = irradiance_fn(t_s)
        current = float(cell.current_density_a_cm2(voltage_v, g)) * area
        vmpp, _, pmax = cell.steady_state_mpp(g)
        rows.append((t_s, voltage_v, current, pmax * area, vmpp))
        return current

    t = 0.0
    command = tracker.start(start_v)
    voltage = command.setpoint_v
    log(t, voltage)
    readings = 0
    while t < duration_s - 1e-9:
        end = min(t + max(command.wait_s, 1e-6), duration_s)
        while t < end - 1e-12:
            dt = min(log_interval_s, end - t)
            cell.hold(voltage, dt, irradiance_fn(t))
            t += dt
            current = log(t, voltage)
        if noise_rel:
            current *= 1.0 + noise_rel * float(rng.standard_normal())
        command = tracker.update(Reading(t, voltage, current))
        readings += 1
        if command.setpoint_v != voltage:
            voltage = command.setpoint_v
            log(t, voltage)
    data = np.array(rows, dtype=float).reshape(-1, 5)
    return DriveResult(time_s=data[:, 0], voltage_v=data[:, 1], current_a=data[:, 2],
                       power_w=data[:, 1] * data[:, 2], true_power_w=data[:, 3],
                       true_vmpp_v=data[:, 4], moves=tracker.moves, readings=readings,
                       duration_s=t)
