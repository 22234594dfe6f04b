"""A bare Si photodiode read by an SMU as the bench's irradiance sensor.

The SMU holds the photodiode at 0 V (photovoltaic mode) and measures its current
(docs/instruments.md §4.2). Irradiance follows from the responsivity and the active area,
E = I / (R·A), or -- the usual practice with broadband light -- from a 1-sun calibration
against a reference cell, E = 100 mW/cm² · I / I_1sun. Both constants are stored with every
reading by the procedures that use it.
"""

from __future__ import annotations

import threading

from instruments.roles import IrradianceSensor
from instruments.smu import SmuReading, SourceMeter

#: Current limit while reading the photodiode [A]: a 13 mm² diode gives ~6 mA at 1 sun.
DEFAULT_COMPLIANCE_A = 0.02


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

    def configure(self) -> None:
        """Hold the photodiode at 0 V and switch the SMU output on."""
        with self.lock:
            self.smu.configure_voltage_source(level_v=0.0, compliance_a=DEFAULT_COMPLIANCE_A,
                                              nplc=self.nplc)
            self.smu.enable_output()
            self._configured = True

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
        """Measure the irradiance at the photodiode [mW/cm²]."""
        return self.irradiance_from_current_mw_cm2(self.read().current_a)

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
        return ", ".join(parts)

    def shutdown(self) -> None:
        """Switch the SMU output off."""
        self._configured = False
        self.smu.shutdown()
