"""The roles a procedure talks to: SMU, light source, shutter, attenuator, irradiance sensor.

Procedures use these interfaces, never a concrete model and never ``getattr`` probing, so an
arc lamp on a Newport 69907 and a G2V Pico LED are interchangeable where a procedure only needs
light, and a PM100 replaces a photodiode on an SMU by editing the station file
(docs/architecture.md, "Layout"; docs/contracts.md, "Semantics").

Semantics shared by every implementation:

- every role object has :attr:`Identified.identity`, a read-only property (str) that says what
  the instrument is (it may query the instrument);
- :meth:`LightSource.turn_on` ignites (or switches on) the source and, with ``wait=True``,
  waits through :mod:`labctl.clock` until its output is stable (an arc lamp's ignition and
  warm-up take their time on the clock; an LED is stable at once);
- :meth:`LightSource.shutdown` leaves the source in its end-of-run state. It does **not**
  switch an arc lamp off (:attr:`LightSource.is_arc_lamp`: lamps are not cycled per
  measurement); an LED goes off. :meth:`LightSource.turn_off` switches a source off on purpose;
- :meth:`Shutter.shutdown` closes the shutter; runs close the shutter when they end;
- :meth:`Attenuator.describe` and :meth:`IrradianceSensor.calibration_description` give the
  one-line texts the CSV header records.

:class:`SourceMeter` lives in :mod:`instruments.smu` and is re-exported here.
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from instruments.smu import SourceMeter

__all__ = [
    "Attenuator",
    "Identified",
    "IrradianceReading",
    "IrradianceSensor",
    "LightSource",
    "Shutter",
    "SourceMeter",
]


class Identified(abc.ABC):
    """Anything a station opens: it can say what it is."""

    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """Get what the instrument is (str, read-only; may query the instrument)."""


class LightSource(Identified):
    """A source of light for the device under test (arc-lamp supply or LED source).

    Implementations carry ``lock`` (a :class:`threading.RLock`) like every labctl instrument
    and set :attr:`is_arc_lamp` (a class attribute is enough).
    """

    lock: threading.RLock
    #: True when :meth:`set_relative_intensity` is supported (an LED source).
    has_programmable_intensity: ClassVar[bool] = False

    @property
    @abc.abstractmethod
    def is_arc_lamp(self) -> bool:
        """Get whether the source is an arc lamp (bool): an arc lamp is not switched off per
        measurement, so darkness needs a shutter, and :meth:`shutdown` leaves it burning."""

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

    @property
    def fault(self) -> bool:
        """Get whether the source reports a fault (bool; False for a source that reports
        none)."""
        return False

    #: True when :meth:`scale_output` can adjust the output (an arc-lamp supply's power).
    has_adjustable_output: ClassVar[bool] = False

    def scale_output(self, factor: float) -> float:
        """Multiply the output by about ``factor`` (> 0) within the source's limits and
        resolution (an arc-lamp supply: its power or current preset); return the factor
        applied.

        :raises NotImplementedError: the source cannot adjust its output this way.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot adjust its output")

    def set_relative_intensity(self, fraction: float) -> None:
        """Set the output relative to the nominal (1.0 = nominal irradiance).

        :raises NotImplementedError: the source has no programmable intensity (an arc lamp);
            the message says to use the attenuator.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no programmable intensity; use the attenuator"
        )

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Leave the source in its end-of-run state (an arc lamp is left burning, an LED is
        switched off)."""


class Shutter(Identified):
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
        """Get whether the shutter is open (bool, read back from the instrument)."""

    def shutdown(self) -> None:
        """Close the shutter (the safe state at the end of a run)."""
        self.close()


class Attenuator(Identified):
    """Neutral-density attenuation in the beam, made of wheels whose slots have known ODs."""

    #: The wheels, in beam (station) order; each has a ``name``.
    wheels: Sequence[Any]
    #: Optical density of each slot of each wheel, slot 1 first, in station order.
    od_per_slot: Sequence[Sequence[float]]

    @abc.abstractmethod
    def available_ods(self) -> list[float]:
        """Get the distinct total optical densities the attenuator can make, ascending."""

    @property
    @abc.abstractmethod
    def od(self) -> float:
        """Get the present total optical density (float; read from the wheels)."""

    @abc.abstractmethod
    def set_od(self, target_od: float) -> float:
        """Move to the setting closest to ``target_od`` (float, >= 0); return the OD reached.

        :raises ValueError: before anything moves, for a negative or non-finite target.
        """

    def describe(self) -> str:
        """Get the wheels and the OD of each slot in one line, for the CSV header, e.g.
        ``"wheel_a, wheel_b (OD per slot: [0, 1, 2, 3, 4, 5]; [0, 0.5, 1, 1.5, 2, 3])"``."""
        names = ", ".join(str(wheel.name) for wheel in self.wheels)
        slots = "; ".join(
            "[" + ", ".join(f"{od:g}" for od in table) + "]" for table in self.od_per_slot
        )
        return f"{names} (OD per slot: {slots})"

    def shutdown(self) -> None:
        """Leave the attenuator as it is (the shutter makes the beam safe)."""


@dataclass(frozen=True)
class IrradianceReading:
    """One irradiance reading: the irradiance [mW/cm²], the sensor's raw and dark-corrected
    signal (A for a photodiode; NaN when the sensor gives none), the NPLC used (NaN: none),
    and whether the reading was below the sensor's noise floor."""

    irradiance_mw_cm2: float
    current_a: float = math.nan
    photocurrent_a: float = math.nan
    nplc: float = math.nan
    below_noise_floor: bool = False


class IrradianceSensor(Identified):
    """A sensor that measures the irradiance at the device plane."""

    @abc.abstractmethod
    def irradiance_mw_cm2(self) -> float:
        """Measure the irradiance [mW/cm²]."""

    def measure_dark(self) -> float:
        """Measure the sensor's dark signal (the caller has closed the shutter) and subtract
        it from later readings; returns it (A), 0 for a sensor that zeroes itself."""
        return 0.0

    def reading(self) -> IrradianceReading:
        """Measure the irradiance with what the sensor knows about the reading (dark offset
        subtracted, below its noise floor or not)."""
        return IrradianceReading(float(self.irradiance_mw_cm2()))

    @abc.abstractmethod
    def calibration_description(self) -> str:
        """Get the constants that turn the reading into irradiance, in one line for the CSV
        header, as ``name=value`` pairs joined by ``", "`` (may query the instrument)."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Leave the sensor safe at the end of a run (e.g. its SMU output off)."""
