"""A bare Si photodiode read by an SMU as the bench's irradiance sensor.

The SMU holds the photodiode at 0 V (photovoltaic mode) and measures its current
(docs/instruments.md §4.2). Irradiance follows from the responsivity and the active area,
E = I / (R·A), or -- the usual practice with broadband light -- from a 1-sun calibration
against a reference cell, E = 100 mW/cm² · I / I_1sun. Both constants are stored with every
reading by the procedures that use it.

Over 7 decades of irradiance (docs/methods.md §4.1) the photocurrent goes from mA to tens of
pA, below the diode's own dark current. :class:`SmuPhotodiode` therefore

- reads with the SMU's current **auto range** (the lowest range that holds the reading: 10 nA
  on a 2450, 1 µA on a 2400), so every level is read on the range made for it;
- raises the integration time to :data:`LOW_LIGHT_NPLC` when the photocurrent is below
  :data:`LOW_LIGHT_CURRENT_A` (the first reading at the new NPLC is discarded, the settling of
  a range and integration change);
- subtracts the **dark current** measured with the shutter closed (:meth:`measure_dark`, the
  caller closes the shutter), and
- flags a reading whose dark-corrected current is below the **noise floor**:
  max(5 × the spread of the dark readings, 1e-4 × the SMU's lowest current range).
"""

from __future__ import annotations

import math
import statistics
import threading

from instruments.roles import IrradianceReading, IrradianceSensor
from instruments.smu import SmuReading, SourceMeter

#: Current limit while reading the photodiode [A]: a 13 mm² diode gives ~6 mA at 1 sun.
DEFAULT_COMPLIANCE_A = 0.02
#: Below this photocurrent the NPLC is raised [A].
LOW_LIGHT_CURRENT_A = 1e-7
#: Integration time at low light [power-line cycles].
LOW_LIGHT_NPLC = 10.0
#: Readings averaged for the dark current.
DARK_READINGS = 5
#: Noise floor: this many standard deviations of the dark readings ...
NOISE_FLOOR_SIGMAS = 5.0
#: ... and at least this fraction of the SMU's lowest current range.
NOISE_FLOOR_RANGE_FRACTION = 1e-4


class SmuPhotodiode(IrradianceSensor):
    """Irradiance sensor made of a photodiode and the SMU that reads it.

    Parameters
    ----------
    smu : SourceMeter
        The SMU wired to the photodiode.
    responsivity_a_per_w : float
        Effective responsivity [A/W] (> 0).
    area_mm2 : float
        Active area [mm²] (> 0).
    one_sun_current_a : float or None
        Photocurrent at 100 mW/cm² from a calibration [A]; when given it takes precedence over
        responsivity × area.
    nplc : float
        Integration time of each reading [power-line cycles].
    """

    def __init__(self, smu: SourceMeter, responsivity_a_per_w: float, area_mm2: float,
                 one_sun_current_a: float | None = None, nplc: float = 1.0) -> None:
        if responsivity_a_per_w <= 0 or area_mm2 <= 0:
            raise ValueError("photodiode responsivity and area must be positive")
        self.smu = smu
        self.responsivity_a_per_w = responsivity_a_per_w
        self.area_mm2 = area_mm2
        self.one_sun_current_a = one_sun_current_a
        self.nplc = nplc
        self.lock = threading.RLock()
        self._configured = False
        self._configured_nplc = nplc
        #: Dark current (SMU sign) measured with the shutter closed [A]; 0 until measured.
        self.dark_current_a = 0.0
        #: Dark-corrected currents below this are flagged [A].
        self.noise_floor_a = self._range_floor_a()

    def _range_floor_a(self) -> float:
        ranges = getattr(getattr(self.smu, "limits", None), "current_ranges_a", ()) or (1e-6,)
        return NOISE_FLOOR_RANGE_FRACTION * float(min(ranges))

    def configure(self, nplc: float | None = None) -> None:
        """Hold the photodiode at 0 V (current auto range) and switch the SMU output on."""
        with self.lock:
            nplc = self.nplc if nplc is None else nplc
            self.smu.configure_voltage_source(level_v=0.0, compliance_a=DEFAULT_COMPLIANCE_A,
                                              nplc=nplc)  # current: auto range
            self.smu.enable_output()
            self._configured = True
            self._configured_nplc = nplc

    def measure_dark(self, readings: int = DARK_READINGS) -> float:
        """Measure the dark current [A] at :data:`LOW_LIGHT_NPLC` (the caller has closed the
        shutter) and the noise floor from its spread; both are used from now on."""
        with self.lock:
            self.configure(LOW_LIGHT_NPLC)
            self.smu.read()  # the range and integration settle
            values = [float(self.smu.read().current_a) for _ in range(max(2, readings))]
            self.dark_current_a = statistics.fmean(values)
            spread_a = statistics.stdev(values)
            self.noise_floor_a = max(NOISE_FLOOR_SIGMAS * spread_a, self._range_floor_a())
            return self.dark_current_a

    def reading(self) -> IrradianceReading:
        """Measure the irradiance: dark current subtracted, NPLC raised at low light,
        flagged below the noise floor."""
        with self.lock:
            if not self._configured:
                self.configure()
            raw_a = float(self.smu.read().current_a)
            low = abs(raw_a - self.dark_current_a) < LOW_LIGHT_CURRENT_A
            wanted = LOW_LIGHT_NPLC if low else self.nplc
            if not math.isclose(wanted, self._configured_nplc):
                self.configure(wanted)
                self.smu.read()  # discarded: settling after the change
                raw_a = float(self.smu.read().current_a)
            photocurrent_a = raw_a - self.dark_current_a
            return IrradianceReading(
                irradiance_mw_cm2=self.irradiance_from_current_mw_cm2(photocurrent_a),
                current_a=raw_a, photocurrent_a=photocurrent_a, nplc=self._configured_nplc,
                below_noise_floor=abs(photocurrent_a) < self.noise_floor_a)

    def read(self) -> SmuReading:
        """Measure the photodiode: one SMU reading at 0 V (its ``current_a`` in the SMU sign,
        photocurrent negative)."""
        with self.lock:
            if not self._configured:
                self.configure()
            return self.smu.read()

    def irradiance_from_current_mw_cm2(self, current_a: float) -> float:
        """Irradiance [mW/cm²] for a photocurrent magnitude [A]."""
        photocurrent_a = abs(current_a)
        if self.one_sun_current_a:
            return 100.0 * photocurrent_a / self.one_sun_current_a
        irradiance_w_m2 = photocurrent_a / (self.responsivity_a_per_w * self.area_mm2 * 1e-6)
        return irradiance_w_m2 / 10.0

    def irradiance_mw_cm2(self) -> float:
        """Measure the irradiance at the photodiode [mW/cm²] (dark current subtracted once
        :meth:`measure_dark` has run)."""
        return self.irradiance_from_current_mw_cm2(self.read().current_a - self.dark_current_a)

    @property
    def identity(self) -> str:
        """Get a description of the sensor: the SMU's identity, responsivity and area (str)."""
        return (f"Si photodiode on {self.smu.identity} (R = {self.responsivity_a_per_w} A/W, "
                f"A = {self.area_mm2} mm²)")

    def calibration_description(self) -> str:
        """Get the constants of the conversion (str): responsivity, area and, when
        calibrated, the 1-sun photocurrent."""
        parts = [f"responsivity_a_per_w={self.responsivity_a_per_w}",
                 f"area_mm2={self.area_mm2}"]
        if self.one_sun_current_a is not None:
            parts.append(f"one_sun_current_a={self.one_sun_current_a}")
        if self.dark_current_a:
            parts.append(f"dark_current_a={self.dark_current_a:.4g}")
            parts.append(f"noise_floor_a={self.noise_floor_a:.3g}")
        return ", ".join(parts)

    def shutdown(self) -> None:
        """Switch the SMU output off."""
        self._configured = False
        self.smu.shutdown()
