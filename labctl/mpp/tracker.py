"""The interface between an MPP tracker and the loop that drives it.

The loop does, until the run ends::

    command = tracker.start(start_v)
    while running:
        smu.set_voltage(command.setpoint_v)     # only when it changed
        clock.sleep(command.wait_s)
        reading = Reading(time_s=..., voltage_v=..., current_a=...)
        command = tracker.update(reading)

``Reading.current_a`` is in the photovoltaic sign convention of the tracker: *generated* current
positive (``-I`` of the SMU), so power ``voltage_v * current_a`` is positive near the MPP.
A tracker sees nothing but readings: in simulation the device's true maximum power is read by
the runner into a simulation-only column, never by the tracker.

:meth:`Tracker.state` is written to the CSV beside every logged row; :meth:`Tracker.snapshot`
and :meth:`Tracker.restore` carry a tracker across a resume (JSON-serialisable values only).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

__all__ = ["Command", "Reading", "Tracker", "TrackerState"]


@dataclass(frozen=True)
class Reading:
    """One SMU reading taken after a command's wait."""

    #: Time on the labctl clock [s].
    time_s: float
    #: Voltage the SMU measured [V].
    voltage_v: float
    #: Generated current, photovoltaic sign (positive near the MPP) [A].
    current_a: float

    @property
    def power_w(self) -> float:
        return self.voltage_v * self.current_a


@dataclass(frozen=True)
class Command:
    """What the loop does next: hold ``setpoint_v`` for ``wait_s``, then read."""

    setpoint_v: float
    wait_s: float


@dataclass(frozen=True)
class TrackerState:
    """The tracker's state as logged in the CSV (``None`` where it does not apply)."""

    setpoint_v: float
    step_v: float | None
    dwell_s: float | None
    #: Steady-state current the tracker predicts at the set-point (photovoltaic sign) [A].
    predicted_current_a: float | None


class Tracker(abc.ABC):
    """A maximum-power-point tracker."""

    #: The ``algorithm`` key of the ``mpp`` step.
    name: str = ""

    @abc.abstractmethod
    def start(self, start_v: float) -> Command:
        """Begin at ``start_v`` (V); the first command."""

    @abc.abstractmethod
    def update(self, reading: Reading) -> Command:
        """The reading taken after the last command's wait; the next command."""

    @abc.abstractmethod
    def state(self) -> TrackerState:
        """The state to log beside a row."""

    @abc.abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The algorithm's parameters, for the CSV header and the summary."""

    @property
    def moves(self) -> int:
        """How many times the set-point changed (for the mean move interval)."""
        return 0

    def snapshot(self) -> dict[str, Any]:
        """JSON-serialisable state to continue after a resume (default: nothing)."""
        return {}

    def restore(self, snapshot: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Continue from :meth:`snapshot`'s value (called before :meth:`start`)."""
