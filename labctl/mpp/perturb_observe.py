"""``perturb_observe``: the classic hill climb with a fixed step and dwell.

Each cycle moves the set-point by ``step_v`` in the present direction, waits ``settle_s`` and
compares the power read with the previous cycle's; a drop turns the direction round. This is
the baseline of the open implementations (docs/methods.md §3): it reads the power ``settle_s``
after each move, so with mobile ions it compares currents that have not settled.
"""

from __future__ import annotations

from typing import Any

from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["PerturbObserveTracker"]


class PerturbObserveTracker(Tracker):
    """Perturb and observe with step ``step_v`` [V] and dwell ``settle_s`` [s]."""

    name = "perturb_observe"

    def __init__(self, step_v: float = 0.01, settle_s: float = 1.0,
                 min_v: float = 0.0) -> None:
        if not step_v > 0.0 or not settle_s > 0.0:
            raise ValueError("step_v and settle_s must be > 0")
        self.step_v = float(step_v)
        self.settle_s = float(settle_s)
        self.min_v = float(min_v)
        self._setpoint_v = 0.0
        self._direction = 1.0
        self._last_power_w: float | None = None
        self._last_current_a: float | None = None
        self._moves = 0

    @property
    def moves(self) -> int:
        return self._moves

    def start(self, start_v: float) -> Command:
        self._setpoint_v = float(start_v)
        return Command(self._setpoint_v, self.settle_s)

    def update(self, reading: Reading) -> Command:
        power_w = reading.power_w
        if self._last_power_w is not None and power_w < self._last_power_w:
            self._direction = -self._direction
        self._last_power_w = power_w
        self._last_current_a = reading.current_a
        self._setpoint_v = max(self.min_v, self._setpoint_v + self._direction * self.step_v)
        self._moves += 1
        return Command(self._setpoint_v, self.settle_s)

    def state(self) -> TrackerState:
        return TrackerState(self._setpoint_v, self._direction * self.step_v, self.settle_s, None)

    def parameters(self) -> dict[str, Any]:
        return {"step_v": self.step_v, "settle_s": self.settle_s}

    def snapshot(self) -> dict[str, Any]:
        return {"setpoint_v": self._setpoint_v, "direction": self._direction,
                "last_power_w": self._last_power_w, "moves": self._moves}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self._direction = float(snapshot.get("direction", 1.0))
        power = snapshot.get("last_power_w")
        self._last_power_w = None if power is None else float(power)
        self._moves = int(snapshot.get("moves", 0))
