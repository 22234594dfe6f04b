"""Station files: which instruments a bench has and, for simulation, the device under test.

A station YAML (see ``configs/stations/``) is validated into a :class:`StationConfig` by
:func:`load_station`; every problem is an :class:`~labctl.yamlio.InputError` naming the file, the
line and the field, raised before any instrument is touched.

Procedures find instruments by *role*, never by model (DESIGN.md, "Semantics"): the SMU wired to
the device under test is the one named ``smu`` (or the one a step names), the light source is the
lamp supply or LED source, the attenuator is the filter wheels in station order, the irradiance
sensor is the photodiode or power meter. The role helpers on :class:`StationConfig` answer those
questions.

The models of the ``simulation:`` block are in :mod:`labctl.sim.config`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pyvisa import rname

from labctl.models import InstrumentName, StrictModel, Text
from labctl.sim.config import (
    Device,
    LightSim,
    SimulationConfig,
    SingleCarrierDevice,
    SolarCellDevice,
)
from labctl.yamlio import (
    FileBacked,
    InputError,
    format_field,
    load_yaml,
    located_error,
    validate_model,
)

__all__ = [
    "DEFAULT_DUT_SMU",
    "DRIVER_ROLES",
    "Device",
    "G2VPicoConfig",
    "InstrumentConfig",
    "InstrumentConfigType",
    "Keithley2400Config",
    "Keithley2420Config",
    "Keithley2450Config",
    "LightSim",
    "Newport69907Config",
    "Newport69920Config",
    "SimulationConfig",
    "SingleCarrierDevice",
    "SmuConfig",
    "SmuLimits",
    "SmuPhotodiodeConfig",
    "SolarCellDevice",
    "StationConfig",
    "StrictModel",
    "Text",
    "ThorlabsFW102CConfig",
    "ThorlabsFW212CConfig",
    "ThorlabsPM100Config",
    "ThorlabsSC10Config",
    "VisaInstrumentConfig",
    "canonical_resource",
    "load_station",
    "normalize_resource",
]

#: Name of the SMU wired to the device under test unless a step names another.
DEFAULT_DUT_SMU = "smu"


# ---------------------------------------------------------------------------------------------
# Instruments


@dataclass(frozen=True)
class SmuLimits:
    """Source limits of an SMU model, with the combined high-voltage/high-current envelope."""

    max_voltage_v: float
    max_current_a: float
    #: Above this |V| the current is limited to ``high_voltage_max_current_a``.
    high_current_max_voltage_v: float
    high_voltage_max_current_a: float

    def max_current_at_a(self, voltage_v: float) -> float:
        """The largest compliance allowed while sourcing up to ``|voltage_v|``."""
        if abs(voltage_v) > self.high_current_max_voltage_v:
            return self.high_voltage_max_current_a
        return self.max_current_a


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
    """Common base of instrument entries. ``role`` is what procedures look it up by."""

    role: ClassVar[str] = ""
    driver: str


class VisaInstrumentConfig(InstrumentConfig):
    """An instrument reached through a VISA resource."""

    resource: Text = Field(
        description="VISA resource name, e.g. GPIB0::24::INSTR, ASRL3::INSTR or COM3."
    )
    timeout_ms: int | None = Field(
        None, ge=100, le=600_000, description="VISA timeout override (ms)."
    )

    @field_validator("resource")
    @classmethod
    def _valid_resource(cls, value: str) -> str:
        return normalize_resource(value)


class SmuConfig(VisaInstrumentConfig):
    """A source-measure unit."""

    role: ClassVar[str] = "smu"
    limits: ClassVar[SmuLimits]


class Keithley2400Config(SmuConfig):
    """Keithley 2400 SourceMeter (±210 V, ±1.05 A; 1 A only up to 21 V)."""

    driver: Literal["keithley2400"]
    limits: ClassVar[SmuLimits] = SmuLimits(210.0, 1.05, 21.0, 0.105)


class Keithley2420Config(SmuConfig):
    """Keithley 2420 SourceMeter (±63 V, ±3.15 A; 3 A only up to 21 V)."""

    driver: Literal["keithley2420"]
    limits: ClassVar[SmuLimits] = SmuLimits(63.0, 3.15, 21.0, 1.05)


class Keithley2450Config(SmuConfig):
    """Keithley 2450 SourceMeter (±210 V, ±1.05 A; 1 A only up to 21 V)."""

    driver: Literal["keithley2450"]
    limits: ClassVar[SmuLimits] = SmuLimits(210.0, 1.05, 21.0, 0.105)


class Newport69907Config(VisaInstrumentConfig):
    """Newport/Oriel 69907 arc-lamp power supply (RS-232)."""

    role: ClassVar[str] = "light_source"
    driver: Literal["newport69907"]


class Newport69920Config(VisaInstrumentConfig):
    """Newport/Oriel 69920 arc-lamp power supply (RS-232)."""

    role: ClassVar[str] = "light_source"
    driver: Literal["newport69920"]


class G2VPicoConfig(VisaInstrumentConfig):
    """G2V Pico LED solar simulator (JSON over TCP, e.g. TCPIP0::10.0.0.5::50000::SOCKET)."""

    role: ClassVar[str] = "light_source"
    driver: Literal["g2v_pico"]
    pico_id: Text = Field(description="The unit's 16-character Pico ID.")

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

    role: ClassVar[str] = "shutter"
    driver: Literal["thorlabs_sc10"]


OpticalDensity = Annotated[float, Field(ge=0, le=10)]


class _FilterWheelConfig(VisaInstrumentConfig):
    role: ClassVar[str] = "filter_wheel"
    slots: ClassVar[int] = 6
    od: list[OpticalDensity] = Field(
        description="Optical density of each slot, slot 1 first (0 = open)."
    )

    @field_validator("od")
    @classmethod
    def _one_per_slot(cls, value: list[float]) -> list[float]:
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

    role: ClassVar[str] = "irradiance_sensor"
    driver: Literal["thorlabs_pm100"]
    wavelength_nm: float = Field(
        520.0, ge=400, le=1100, description="Correction wavelength of the sensor head (nm)."
    )


class SmuPhotodiodeConfig(InstrumentConfig):
    """A Si photodiode read photovoltaically (0 V) by one of the station's SMUs."""

    role: ClassVar[str] = "irradiance_sensor"
    driver: Literal["smu_photodiode"]
    smu: str = Field(description="Name of the station SMU that reads the photodiode.")
    responsivity_a_per_w: float = Field(
        gt=0, le=10, description="Responsivity at the working wavelength/spectrum (A/W)."
    )
    area_mm2: float = Field(gt=0, le=1e5, description="Active area of the photodiode (mm²).")
    one_sun_current_a: float | None = Field(
        None,
        gt=0,
        le=10,
        description="Photodiode current at 100 mW/cm² (1-sun calibration, A); "
        "None = use responsivity and area.",
    )


_DRIVER_CLASSES: tuple[type[InstrumentConfig], ...] = (
    Keithley2400Config,
    Keithley2420Config,
    Keithley2450Config,
    Newport69907Config,
    Newport69920Config,
    ThorlabsSC10Config,
    ThorlabsFW102CConfig,
    ThorlabsFW212CConfig,
    G2VPicoConfig,
    ThorlabsPM100Config,
    SmuPhotodiodeConfig,
)


def _driver_name(cls: type[InstrumentConfig]) -> str:
    return cls.model_fields["driver"].annotation.__args__[0]  # type: ignore[union-attr]


#: Any instrument entry, selected by ``driver``.
InstrumentConfigType = Annotated[
    Union[_DRIVER_CLASSES],  # noqa: UP007
    Field(discriminator="driver"),
]

#: driver name -> role ("smu", "light_source", "shutter", "filter_wheel", "irradiance_sensor").
DRIVER_ROLES: dict[str, str] = {_driver_name(c): c.role for c in _DRIVER_CLASSES}


# ---------------------------------------------------------------------------------------------
# Station


class StationConfig(StrictModel, FileBacked):
    """A validated station file. ``path`` is the resolved file it came from (set by
    :func:`load_station`; not a YAML key)."""

    station: Text = Field(min_length=1, description="Station name, e.g. bench-1.")
    instruments: dict[InstrumentName, InstrumentConfigType] = Field(
        description="Instruments by name, in station order."
    )
    simulated: bool = Field(False, description="Run on the simulated bench (same as --sim).")
    simulation: SimulationConfig = Field(
        default_factory=SimulationConfig,
        description="The simulated bench; defaults to the DESIGN.md example values.",
    )


    @field_validator("instruments")
    @classmethod
    def _not_empty(cls, value: dict[str, InstrumentConfig]) -> dict[str, InstrumentConfig]:
        if not value:
            raise ValueError("list at least one instrument")
        return value

    @model_validator(mode="after")
    def _cross_check(self, info: ValidationInfo) -> Self:
        smus = self.smu_names()
        for name, inst in self.instruments.items():
            if isinstance(inst, SmuPhotodiodeConfig):
                if inst.smu not in self.instruments:
                    raise located_error(
                        f"no instrument named {inst.smu!r} in this station "
                        f"(SMUs: {', '.join(smus) or 'none'})",
                        ("instruments", name, "smu"),
                    )
                if inst.smu not in smus:
                    raise located_error(
                        f"{inst.smu!r} is a {self.instruments[inst.smu].driver}, not an SMU "
                        f"(SMUs: {', '.join(smus) or 'none'})",
                        ("instruments", name, "smu"),
                    )
                if inst.smu == DEFAULT_DUT_SMU:
                    raise located_error(
                        f"{DEFAULT_DUT_SMU!r} is the SMU wired to the device under test; "
                        "the photodiode needs an SMU of its own",
                        ("instruments", name, "smu"),
                    )
        devices = self.simulation.devices
        if devices is not None:
            readers = set(self.photodiode_smus())
            for smu_name in devices:
                if smu_name not in smus:
                    raise located_error(
                        f"{smu_name!r} is not an SMU of this station "
                        f"(SMUs: {', '.join(smus) or 'none'})",
                        ("simulation", "devices", smu_name),
                    )
                if smu_name in readers:
                    raise located_error(
                        f"{smu_name!r} reads the photodiode {self.photodiode_smus()[smu_name]!r}; "
                        "it cannot also carry a device",
                        ("simulation", "devices", smu_name),
                    )
        seen: dict[str, str] = {}
        for name, inst in self.instruments.items():
            if not isinstance(inst, VisaInstrumentConfig):
                continue
            key = canonical_resource(inst.resource).upper()
            if key in seen:
                raise located_error(
                    f"{inst.resource} is already the resource of {seen[key]!r}; "
                    "two instruments cannot share a resource",
                    ("instruments", name, "resource"),
                )
            seen[key] = name
        self._keep_file(info.context)
        return self

    # -- file --------------------------------------------------------------------------------

    def describe_source(self) -> str:
        """``"bench-1 (configs/stations/x.yaml)"``, for error messages."""
        return f"{self.station} ({self.source})" if self._path else self.station

    def _error(self, reason: str, at: tuple[Any, ...] = ()) -> InputError:
        return InputError(
            reason,
            file=self.source if self._path else "<station>",
            line=self.lines.line(at) if self._lines else None,
            field=format_field(at) or None,
        )

    # -- roles --------------------------------------------------------------------------------

    def role_of(self, name: str) -> str:
        """Role of instrument ``name`` (see :data:`DRIVER_ROLES`)."""
        return DRIVER_ROLES[self.instruments[name].driver]

    def names_with_role(self, role: str) -> list[str]:
        """Instruments with ``role``, in station order."""
        return [n for n, inst in self.instruments.items() if inst.role == role]

    def smu_names(self) -> list[str]:
        """All SMUs (Keithley 2400/2420/2450), in station order."""
        return self.names_with_role("smu")

    def dut_smu(self, name: str | None = None) -> str:
        """The SMU wired to the device under test: ``name`` if given, else the one named
        ``smu``. Raises InputError when the station has no such SMU."""
        wanted = name or DEFAULT_DUT_SMU
        smus = self.smu_names()
        if wanted not in smus:
            detail = (
                f"has {wanted!r} but it is a {self.instruments[wanted].driver}, not an SMU"
                if wanted in self.instruments
                else f"has no SMU named {wanted!r}"
            )
            raise self._error(
                f"the station {self.describe_source()} {detail} "
                f"(SMUs: {', '.join(smus) or 'none'})",
                ("instruments",),
            )
        return wanted

    def light_source(self) -> str | None:
        """The lamp supply (Newport 69907/69920) or LED source (G2V Pico), first in station
        order; None if there is none."""
        names = self.names_with_role("light_source")
        return names[0] if names else None

    def has_programmable_intensity(self) -> bool:
        """True when the light source can set its intensity (the G2V Pico LED)."""
        source = self.light_source()
        return source is not None and isinstance(self.instruments[source], G2VPicoConfig)

    def shutter(self) -> str | None:
        """The shutter controller (Thorlabs SC10), or None."""
        names = self.names_with_role("shutter")
        return names[0] if names else None

    def attenuator(self) -> list[str]:
        """The filter wheels that form the attenuator, in station order (empty if none)."""
        return self.names_with_role("filter_wheel")

    def irradiance_sensor(self) -> str | None:
        """The photodiode or power meter, first in station order; None if there is none."""
        names = self.names_with_role("irradiance_sensor")
        return names[0] if names else None

    def photodiode_smus(self) -> dict[str, str]:
        """``{smu name: photodiode name}`` for every SMU that reads a photodiode."""
        return {
            inst.smu: name
            for name, inst in self.instruments.items()
            if isinstance(inst, SmuPhotodiodeConfig)
        }

    def device_for_smu(self, name: str) -> SolarCellDevice | SingleCarrierDevice | None:
        """The simulated device on SMU ``name``: ``simulation.devices[name]`` when ``devices``
        is given, else ``simulation.device`` for the SMU named ``smu``; None otherwise."""
        if self.simulation.devices is not None:
            return self.simulation.devices.get(name)
        if name == DEFAULT_DUT_SMU and name in self.smu_names():
            return self.simulation.device
        return None

    def smu_limits(self, name: str) -> SmuLimits:
        """Source limits of SMU ``name``."""
        inst = self.instruments[name]
        if not isinstance(inst, SmuConfig):
            raise KeyError(f"{name!r} is not an SMU")
        return inst.limits

    def visa_instruments(self) -> Iterable[tuple[str, VisaInstrumentConfig]]:
        """``(name, config)`` of every instrument opened through VISA, in station order."""
        for name, inst in self.instruments.items():
            if isinstance(inst, VisaInstrumentConfig):
                yield name, inst


def load_station(path: str | os.PathLike[str]) -> StationConfig:
    """Read and validate a station file.

    Raises:
        InputError: one line with the file, the line and the field of the first problem.
    """
    data, lines = load_yaml(path)
    config = validate_model(StationConfig, data, path, lines)
    config.path = path
    config._lines = lines
    return config


