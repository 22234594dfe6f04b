"""What the light-path drivers share: their error class and strict validators.

The role interfaces (:class:`LightSource`, :class:`Shutter`) live in :mod:`instruments.roles`;
they are re-exported here for code that imports them from this module.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from instruments.roles import LightSource, Shutter

__all__ = [
    "LightError",
    "LightSource",
    "Shutter",
    "strict_integer_range",
    "strict_finite_range",
]


class LightError(RuntimeError):
    """A light-path instrument reported an error or did not reach the requested state."""


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
