"""Role interfaces of the light path: a light source and a shutter.

Procedures talk to these roles, never to a concrete model (DESIGN.md, "Layout"), so an arc lamp
on a Newport 69907 and a G2V Pico LED are interchangeable where a procedure only needs light.

Semantics (DESIGN.md, "Semantics"):

- :meth:`LightSource.turn_on` ignites (or switches on) the source and, with ``wait=True``, waits
  through :mod:`labctl.clock` until its output is stable (an arc lamp's ignition and warm-up take
  their time on the clock; an LED is stable at once).
- :meth:`LightSource.shutdown` leaves the source safe for the end of a run. It does **not**
  switch an arc lamp off: lamps are not cycled per measurement. Use :meth:`LightSource.turn_off`
  to switch a source off on purpose.
- :meth:`Shutter.shutdown` closes the shutter; runs close the shutter when they end.
"""

from __future__ import annotations

import abc
import math
import numbers
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "LightError",
    "LightSource",
    "Shutter",
    "strict_integer_range",
    "strict_finite_range",
]


class LightError(RuntimeError):
    """A light-path instrument reported an error or did not reach the requested state."""


class LightSource(abc.ABC):
    """A source of light for the device under test (arc-lamp supply or LED source).

    Implementations carry ``lock`` (a :class:`threading.RLock`) like every labctl instrument.
    """

    lock: threading.RLock
    #: True when :meth:`set_relative_intensity` is supported (an LED source).
    has_programmable_intensity: ClassVar[bool] = False

    @abc.abstractmethod
    def turn_on(self, wait: bool = True) -> None:
        """Switch the source on; with ``wait`` block (through labctl.clock) until it is stable."""

    @abc.abstractmethod
    def turn_off(self) -> None:
        """Switch the source off."""

    def stable_at_s(self) -> float | None:
        """Get the labctl-clock time [s] at which the output is stable after ``turn_on``, or
        None when it is stable already (an LED; a lamp found burning). A caller that must stay
        interruptible turns on with ``wait=False`` and waits for this time itself."""
        return None

    @property
    @abc.abstractmethod
    def is_on(self) -> bool:
        """Get whether the source gives light (bool)."""

    def set_relative_intensity(self, fraction: float) -> None:
        """Set the output relative to the nominal (1.0 = nominal irradiance).

        :raises NotImplementedError: the source has no programmable intensity (an arc lamp).
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no programmable intensity; use the attenuator"
        )

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Leave the source safe at the end of a run (an arc lamp is left burning)."""


class Shutter(abc.ABC):
    """A shutter in the beam. Implementations carry ``lock`` (a :class:`threading.RLock`)."""

    lock: threading.RLock

    @abc.abstractmethod
    def open(self) -> None:
        """Open the shutter (no change if it is open already)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the shutter (no change if it is closed already)."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """Get whether the shutter is open (bool)."""

    def shutdown(self) -> None:
        """Close the shutter (the safe state at the end of a run)."""
        self.close()


# --- helpers shared by the light-path drivers ----------------------------------------------------


def strict_integer_range(value: Any, values: Sequence[int]) -> int:
    """Validate an integer setting: refuse booleans, non-integral numbers and values outside
    ``[min(values), max(values)]`` (pymeasure validator signature; never clamps)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif math.isfinite(float(value)) and float(value).is_integer():
        number = int(value)
    else:
        raise ValueError(f"{value!r} is not an integer")
    low, high = min(values), max(values)
    if not low <= number <= high:
        raise ValueError(f"{number} is not in the range [{low}, {high}]")
    return number


def strict_finite_range(value: Any, values: Sequence[float]) -> float:
    """Validate a real setting: refuse booleans, NaN/inf and values outside
    ``[min(values), max(values)]`` (pymeasure validator signature; never clamps)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    low, high = min(values), max(values)
    if not low <= number <= high:
        raise ValueError(f"{number:g} is not in the range [{low:g}, {high:g}]")
    return number
