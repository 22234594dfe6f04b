"""Station files: which instruments a bench has and, for simulation, the device under test.

A station YAML (see ``configs/stations/``) is validated into a :class:`StationConfig` by
:func:`load_station`; every problem is an :class:`~labctl.yamlio.InputError` naming the file, the
line and the field, raised before any instrument is touched.

Procedures find instruments by *role*, never by model (docs/contracts.md, "Semantics"): the SMU
wired to the device under test is the one named ``smu`` (or the one a step names), the light
source is the lamp supply or LED source, the attenuator is the filter wheels in station order, the
irradiance sensor is the photodiode or power meter. The role helpers on :class:`StationConfig`
answer those questions.

The models of the ``simulation:`` block are in :mod:`labctl.station.simulation`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Annotated, Any, Self, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator

from labctl.models import InstrumentName, StrictModel, Text
from labctl.registry.instrument_configs import *  # noqa: F403
from labctl.registry.instrument_configs import (
    G2VPicoConfig,
    InstrumentConfig,
    SmuPhotodiodeConfig,
    VisaInstrumentConfig,
    canonical_resource,
)
from labctl.registry.instrument_configs import __all__ as _instrument_configs
from labctl.registry.instruments import instrument_entries, instrument_entry
from labctl.station.simulation import (
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
    *_instrument_configs,
    "DEFAULT_DUT_SMU",
    "DRIVER_ROLES",
    "Device",
    "InstrumentConfigType",
    "LightSim",
    "SimulationConfig",
    "SingleCarrierDevice",
    "SolarCellDevice",
    "StationConfig",
    "StrictModel",
    "Text",
    "load_station",
]

#: Name of the SMU wired to the device under test unless a step names another.
DEFAULT_DUT_SMU = "smu"


#: Any instrument entry, selected by ``driver`` (the models of the instrument registry).
InstrumentConfigType = Annotated[
    Union[tuple(e.config_model for e in instrument_entries().values())],  # noqa: UP007
    Field(discriminator="driver"),
]

#: driver name -> its first role ("smu", "light_source", "shutter", "filter_wheel",
#: "irradiance_sensor"); the registry holds the full set.
DRIVER_ROLES: dict[str, str] = {
    name: sorted(entry.roles)[0] for name, entry in instrument_entries().items()
}


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
    log_traffic: bool = Field(
        False, description="Write every exchange with every instrument to traffic.log in the "
        "run folder (same as labctl run --log-traffic).")
    simulation: SimulationConfig = Field(
        default_factory=SimulationConfig,
        description="The simulated bench; defaults to the example values of docs/contracts.md.",
    )
    notify_command: list[Text] | None = Field(
        None, description="A command run (no shell) with the summary.json path as its last "
        "argument when a run ends failed or aborted, e.g. [notify-send, labctl] or a string "
        "split as a shell would; its failure is logged, never changes the run's exit status.")
    lamp_off_after_idle_min: float | None = Field(
        None, gt=0, le=10080, description="After `labctl run` ends, wait this many idle "
        "minutes (0 < N <= 10080, one week) on the labctl clock, then switch the arc lamp off; "
        "null = leave it lit. Ctrl-C during the wait leaves it lit.")

    calibration_dir: Text | None = Field(
        None, description="Folder of the stored attenuator calibrations (`labctl run` of a "
        "`calibrate` step writes one dated YAML file per calibration), relative to the "
        "station file; null = beside the station file.")
    calibration_max_age_days: float | None = Field(
        30.0, gt=0, le=3650, description="`labctl validate` warns when the calibration in use "
        "is older than this (days), >0…3650; null = never.")

    @field_validator("notify_command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            import shlex

            try:
                value = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"cannot split the command line: {exc}") from None
        if isinstance(value, list) and not value:
            raise ValueError("give the command to run (or leave notify_command out)")
        return value


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
        """Instruments that can fill ``role``, in station order."""
        return [n for n, inst in self.instruments.items()
                if role in instrument_entry(inst.driver).roles]

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

    def smu_limits(self, name: str) -> Any:
        """Source limits of SMU ``name`` (the driver's :class:`instruments.smu.SmuLimits`)."""
        if name not in self.smu_names():
            raise KeyError(f"{name!r} is not an SMU")
        return instrument_entry(self.instruments[name].driver).limits

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


