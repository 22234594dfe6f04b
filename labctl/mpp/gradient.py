"""``gradient``: gradient ascent with momentum on the power density.

As the open implementation (greyltc/centralcontrol ``mppt.py``, docs/methods.md §3) uses it:
``dV = alpha * dP/dV (/ dt) + momentum * dV_prev`` on ``P = V*I/area`` [W/cm^2], the step's
magnitude clipped to ``min_step_v``..``max_step_v``, a first step of ``first_step_v``, one
reading ``dwell_s`` after each move, and the voltage kept at or above 0.1 mV.
"""

from __future__ import annotations

import math
from typing import Any

from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["GradientTracker"]


class GradientTracker(Tracker):
    """Gradient ascent with momentum (baseline: alpha 1.5, momentum 0.1, 1-100 mV, 0.5 s)."""

    name = "gradient"

    def __init__(self, alpha: float = 1.5, momentum: float = 0.1, min_step_v: float = 0.001,
                 max_step_v: float = 0.1, dwell_s: float = 0.5, first_step_v: float = 0.01,
                 area_cm2: float = 1.0, time_scaling: bool = True) -> None:
        if not (alpha > 0 and dwell_s > 0 and area_cm2 > 0 and 0 < min_step_v <= max_step_v):
            raise ValueError("alpha, dwell_s, area_cm2 must be > 0; 0 < min_step_v <= max_step_v")
        self.alpha = float(alpha)
        self.momentum = float(momentum)
        self.min_step_v = float(min_step_v)
        self.max_step_v = float(max_step_v)
        self.dwell_s = float(dwell_s)
        self.first_step_v = float(first_step_v)
        self.area_cm2 = float(area_cm2)
        self.time_scaling = bool(time_scaling)
        self._setpoint_v = 0.0
        self._step_v = 0.0
        self._previous: tuple[float, float, float] | None = None  # time, V, P density
        self._moves = 0

    @property
    def moves(self) -> int:
        return self._moves

    def start(self, start_v: float) -> Command:
        self._setpoint_v = max(1e-4, float(start_v))
        return Command(self._setpoint_v, self.dwell_s)

    def _next_step_v(self, reading: Reading) -> float:
        power = reading.voltage_v * reading.current_a / self.area_cm2
        previous = self._previous
        self._previous = (reading.time_s, reading.voltage_v, power)
        if previous is None:
            return self.first_step_v
        dv = reading.voltage_v - previous[1]
        if dv == 0.0:
            return self.first_step_v
        gradient = (power - previous[2]) / dv
        if self.time_scaling:
            gradient /= max(reading.time_s - previous[0], 1e-9)
        step = self.alpha * gradient + self.momentum * self._step_v
        size = min(max(abs(step), self.min_step_v), self.max_step_v)
        return math.copysign(size, step) if step != 0.0 else self.min_step_v

    def update(self, reading: Reading) -> Command:
        self._step_v = self._next_step_v(reading)
        self._setpoint_v = max(1e-4, self._setpoint_v + self._step_v)
        self._moves += 1
        return Command(self._setpoint_v, self.dwell_s)

    def state(self) -> TrackerState:
        return TrackerState(self._setpoint_v, self._step_v, self.dwell_s, None)

    def parameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "momentum": self.momentum, "min_step_v": self.min_step_v,
                "max_step_v": self.max_step_v, "dwell_s": self.dwell_s,
                "first_step_v": self.first_step_v, "area_cm2": self.area_cm2,
                "time_scaling": self.time_scaling}

    def snapshot(self) -> dict[str, Any]:
        return {"setpoint_v": self._setpoint_v, "step_v": self._step_v, "moves": self._moves}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._step_v = float(snapshot.get("step_v", 0.0))
        self._moves = int(snapshot.get("moves", 0))
