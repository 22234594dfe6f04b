"""``fixed_voltage``: hold one voltage and log its current (stabilized power output).

The stabilized power output at a fixed voltage (docs/methods.md §2.1): the set-point never
moves; every reading is taken ``dwell_s`` after the previous one.
"""

from __future__ import annotations

from typing import Any

from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["FixedVoltageTracker"]


class FixedVoltageTracker(Tracker):
    """Hold ``start_v`` for the whole run; read every ``dwell_s``."""

    name = "fixed_voltage"

    def __init__(self, dwell_s: float = 1.0) -> None:
        if not dwell_s > 0.0:
            raise ValueError(f"dwell_s must be > 0, not {dwell_s!r}")
        self.dwell_s = float(dwell_s)
        self._setpoint_v = 0.0
        self._last_current_a: float | None = None

    def start(self, start_v: float) -> Command:
        self._setpoint_v = float(start_v)
        return Command(self._setpoint_v, self.dwell_s)

    def update(self, reading: Reading) -> Command:
        self._last_current_a = reading.current_a
        return Command(self._setpoint_v, self.dwell_s)

    def state(self) -> TrackerState:
        return TrackerState(self._setpoint_v, None, self.dwell_s, None)

    def parameters(self) -> dict[str, Any]:
        return {"dwell_s": self.dwell_s}

    def snapshot(self) -> dict[str, Any]:
        return {"setpoint_v": self._setpoint_v}

    def restore(self, snapshot: dict[str, Any]) -> None:
        # The set-point is the step's start_v again at start(); nothing else to carry.
        self._setpoint_v = float(snapshot.get("setpoint_v", self._setpoint_v))
