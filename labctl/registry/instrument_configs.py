"""The instrument entries of a station file: one validated model per driver name.

Each model holds what a station file may say about one instrument (its VISA resource and the
driver's own keys). What a driver *is* -- its class, emulator, roles and limits -- is in the
instrument registry, :mod:`labctl.registry.instruments`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator
from pyvisa import rname

from labctl.models import StrictModel, Text

__all__ = [
    "G2VPicoConfig",
    "InstrumentConfig",
    "Keithley2400Config",
    "Keithley2420Config",
    "Keithley2450Config",
    "Newport69907Config",
    "Newport69920Config",
    "SmuConfig",
    "SmuPhotodiodeConfig",
    "ThorlabsFW102CConfig",
    "ThorlabsFW212CConfig",
    "ThorlabsPM100Config",
    "ThorlabsSC10Config",
    "VisaInstrumentConfig",
    "canonical_resource",
    "normalize_resource",
]


def normalize_resource(value: str) -> str:
    """Check a VISA resource name and return it in the form labctl stores.

    ``COM3`` (any case) becomes ``ASRL3::INSTR``; a lower-case interface type (``gpib0``) and
    resource class (``::instr``) are upper-cased. Raises ValueError when PyVISA cannot parse
    the name.
    """
    text = value.strip()
    com = re.fullmatch(r"(?i)com(\d+)", text)
    if com:
        text = f"ASRL{int(com.group(1))}::INSTR"
    parts = text.split("::")
    parts[0] = re.sub(r"^[A-Za-z]+", lambda m: m.group(0).upper(), parts[0])
    if len(parts) > 1 and parts[-1].upper() in {"INSTR", "SOCKET", "RAW", "INTFC", "BACKPLANE"}:
        parts[-1] = parts[-1].upper()
    text = "::".join(parts)
    example = "e.g. 'GPIB0::24::INSTR', 'ASRL3::INSTR', 'COM3'"
    try:
        parsed = rname.parse_resource_name(text)
    except Exception:  # noqa: BLE001 - pyvisa raises several types
        raise ValueError(f"not a VISA resource name: {value!r} ({example})") from None
    if isinstance(parsed, rname.GPIBInstr):
        address = str(parsed.primary_address)
        if not address.isdigit() or not 0 <= int(address) <= 30:
            raise ValueError(
                f"not a VISA resource name: {value!r} (GPIB addresses are 0-30; {example})"
            )
    return text


def canonical_resource(value: str) -> str:
    """PyVISA's canonical spelling of a resource name (for comparing two names)."""
    return str(rname.parse_resource_name(normalize_resource(value)))


class InstrumentConfig(StrictModel):
    """Common base of instrument entries; ``driver`` selects the registry entry."""

    driver: str

    def driver_options(self) -> dict[str, Any]:
        """Keyword arguments of this entry that the driver's constructor takes."""
        return {}


class VisaInstrumentConfig(InstrumentConfig):
    """An instrument reached through a VISA resource."""

    resource: Text = Field(
        description="VISA resource name, e.g. GPIB0::24::INSTR, ASRL3::INSTR or COM3."
    )
    timeout_ms: int | None = Field(
        None, ge=100, le=600_000, description="VISA timeout override (ms), 100…600000."
    )

    @field_validator("resource")
    @classmethod
    def _valid_resource(cls, value: str) -> str:
        return normalize_resource(value)


class SmuConfig(VisaInstrumentConfig):
    """A source-measure unit (its limits are the driver's: ``instrument_entry(d).limits``)."""


class Keithley2400Config(SmuConfig):
    """Keithley 2400 SourceMeter (±210 V, ±1.05 A; 1 A only up to 21 V)."""

    driver: Literal["keithley2400"]


class Keithley2420Config(SmuConfig):
    """Keithley 2420 SourceMeter (±63 V, ±3.15 A; 3 A only up to 21 V)."""

    driver: Literal["keithley2420"]


class Keithley2450Config(SmuConfig):
    """Keithley 2450 SourceMeter (±210 V, ±1.05 A; 1 A only up to 21 V)."""

    driver: Literal["keithley2450"]


class Newport69907Config(VisaInstrumentConfig):
    """Newport/Oriel 69907 arc-lamp power supply (RS-232)."""

    driver: Literal["newport69907"]


class Newport69920Config(VisaInstrumentConfig):
    """Newport/Oriel 69920 arc-lamp power supply (RS-232)."""

    driver: Literal["newport69920"]


class G2VPicoConfig(VisaInstrumentConfig):
    """G2V Pico LED solar simulator (JSON over TCP, e.g. TCPIP0::10.0.0.5::50000::SOCKET)."""

    driver: Literal["g2v_pico"]
    pico_id: Text = Field(description="The unit's 16-character Pico ID.")

    def driver_options(self) -> dict[str, Any]:
        return {"pico_id": self.pico_id}

    @field_validator("pico_id")
    @classmethod
    def _sixteen_chars(cls, value: str) -> str:
        if len(value) != 16:
            raise ValueError(
                f"must be the 16-character Pico ID (got {value!r}, {len(value)} characters)"
            )
        return value


class ThorlabsSC10Config(VisaInstrumentConfig):
    """Thorlabs SC10 shutter controller."""

    driver: Literal["thorlabs_sc10"]


OpticalDensity = Annotated[float, Field(ge=0, le=10)]


class _FilterWheelConfig(VisaInstrumentConfig):
    slots: ClassVar[int] = 6
    od: list[OpticalDensity] = Field(
        description="Optical density of each slot, slot 1 first (0 = open), 0…10."
    )
    true_od: list[OpticalDensity] | None = Field(
        None, description="Simulation only: the optical density each slot really has (ND "
        "glass differs from its nominal value), slot 1 first, 0…10; None = the nominal `od`. "
        "The simulated wheel attenuates by these; labctl uses `od` or a stored calibration."
    )

    @field_validator("od", "true_od")
    @classmethod
    def _one_per_slot(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return value
        if len(value) != cls.slots:
            raise ValueError(
                f"must list the optical density of each of the {cls.slots} slots "
                f"(got {len(value)} values)"
            )
        return value


class ThorlabsFW102CConfig(_FilterWheelConfig):
    """Thorlabs FW102C six-slot filter wheel."""

    driver: Literal["thorlabs_fw102c"]
    slots: ClassVar[int] = 6


class ThorlabsFW212CConfig(_FilterWheelConfig):
    """Thorlabs FW212C twelve-slot filter wheel."""

    driver: Literal["thorlabs_fw212c"]
    slots: ClassVar[int] = 12


class ThorlabsPM100Config(VisaInstrumentConfig):
    """Thorlabs PM100 optical power meter."""

    driver: Literal["thorlabs_pm100"]
    wavelength_nm: float = Field(
        520.0, ge=400, le=1100,
        description="Correction wavelength of the sensor head (nm), 400…1100."
    )

    def driver_options(self) -> dict[str, Any]:
        return {"wavelength_nm": self.wavelength_nm}


class SmuPhotodiodeConfig(InstrumentConfig):
    """A Si photodiode read photovoltaically (0 V) by one of the station's SMUs."""

    driver: Literal["smu_photodiode"]
    smu: str = Field(description="Name of the station SMU that reads the photodiode.")
    # R = QE·λ/(1239.8 nm·V): a Si diode with QE = 1 gives 0.89 A/W at 1100 nm, its
    # longest working wavelength, so no photodiode read at 0 V exceeds 1 A/W.
    responsivity_a_per_w: float = Field(
        gt=0, le=1, description="Responsivity at the working wavelength/spectrum (A/W), "
        ">0…1 (QE·λ/1239.8 nm: 0.89 A/W at 1100 nm for a perfect Si diode)."
    )
    # 1e4 mm² (10 cm × 10 cm) is larger than any Si photodiode sold
    area_mm2: float = Field(gt=0, le=1e4,
                            description="Active area of the photodiode (mm²), >0…1e4.")
    one_sun_current_a: float | None = Field(
        None,
        gt=0,
        le=10,
        description="Photodiode current at 100 mW/cm² (1-sun calibration, A), >0…10; "
        "None = use responsivity and area.",
    )


