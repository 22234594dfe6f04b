"""The instrument registry: one entry per station driver name.

An entry holds everything labctl knows about a kind of instrument: the model that validates its
station entry, the driver class that talks to it, the emulator that stands in for it on the
simulated bench, the roles it can fill, and -- read from the driver class, so they exist once --
its limits. The station file (:mod:`labctl.station.config`), the opened station
(:mod:`labctl.opened_station`) and the simulated bench (:mod:`labctl.sim.bench`) all look
drivers up here; none of them names a model. See docs/adding-an-instrument.md.

Classes are named as ``"module:Class"`` strings and imported on first use, so validating a
station file does not import every driver and the simulated bench is imported only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from typing import Any

from labctl.registry.instrument_configs import (
    G2VPicoConfig,
    InstrumentConfig,
    Keithley2400Config,
    Keithley2420Config,
    Keithley2450Config,
    Newport69907Config,
    Newport69920Config,
    SmuPhotodiodeConfig,
    ThorlabsFW102CConfig,
    ThorlabsFW212CConfig,
    ThorlabsPM100Config,
    ThorlabsSC10Config,
)

__all__ = [
    "ROLES",
    "InstrumentEntry",
    "OpenContext",
    "instrument_entries",
    "instrument_entry",
    "load_object",
]

#: The roles procedures talk to (the interfaces are in ``instruments/roles.py``).
ROLES = ("smu", "light_source", "shutter", "filter_wheel", "irradiance_sensor")


def load_object(spec: str) -> Any:
    """The object named by ``"package.module:Name"``."""
    module_name, _, attribute = spec.partition(":")
    return getattr(import_module(module_name), attribute)


@dataclass(frozen=True)
class OpenContext:
    """What an opener needs besides the instrument's own entry."""

    #: The PyVISA library of the simulated bench, or None for the real bus.
    visa_library: Any | None = None
    line_frequency_hz: float = 50.0
    #: Instruments of the station opened so far, by name (for instruments built on others).
    opened: Mapping[str, Any] = field(default_factory=dict)


def _open_visa(entry: InstrumentEntry, config: Any, context: OpenContext) -> Any:
    """Open a VISA instrument: ``DriverClass(resource, visa_library=..., timeout=..., ...)``."""
    kwargs: dict[str, Any] = dict(config.driver_options())
    if context.visa_library is not None:
        kwargs["visa_library"] = context.visa_library
    if getattr(config, "timeout_ms", None):
        kwargs["timeout"] = config.timeout_ms
    if "smu" in entry.roles:
        kwargs["line_frequency_hz"] = float(context.line_frequency_hz)
    return entry.driver()(config.resource, **kwargs)


def _open_smu_photodiode(entry: InstrumentEntry, config: Any, context: OpenContext) -> Any:
    """A photodiode is read by one of the station's SMUs, opened before it."""
    return entry.driver()(
        context.opened[config.smu], config.responsivity_a_per_w, config.area_mm2,
        one_sun_current_a=config.one_sun_current_a)


@dataclass(frozen=True)
class InstrumentEntry:
    """Everything about one station driver name."""

    driver_name: str
    config_model: type[InstrumentConfig]
    #: ``"module:Class"`` of the labctl driver.
    driver_class: str
    #: ``"module:Class"`` of the simulated bench's emulator; None when the instrument is built
    #: on another one (a photodiode read by an SMU).
    emulator_class: str | None
    roles: frozenset[str]
    #: How the opened station opens it.
    opener: Callable[[InstrumentEntry, Any, OpenContext], Any] = _open_visa
    #: Names of the station instruments it needs opened first (from its config entry).
    depends_on: Callable[[Any], list[str]] = lambda config: []

    def driver(self) -> type:
        """The driver class (imported on first use)."""
        return load_object(self.driver_class)

    def emulator(self) -> type:
        """The emulator class of the simulated bench."""
        if self.emulator_class is None:
            raise ValueError(f"{self.driver_name} has no emulator of its own "
                             "(it is built on another instrument of the station)")
        return load_object(self.emulator_class)

    @property
    def limits(self) -> Any | None:
        """The driver's limits (e.g. :class:`instruments.smu.SmuLimits`), None if it has none."""
        return getattr(self.driver(), "limits", None)

    def open(self, config: Any, context: OpenContext) -> Any:
        return self.opener(self, config, context)


def _entry(config: type[InstrumentConfig], driver: str, emulator: str | None,
           *roles: str, **extra: Any) -> InstrumentEntry:
    name = config.model_fields["driver"].annotation.__args__[0]  # type: ignore[union-attr]
    return InstrumentEntry(name, config, driver, emulator, frozenset(roles), **extra)


_BUILT_IN: tuple[InstrumentEntry, ...] = (
    _entry(Keithley2400Config, "instruments.keithley24xx:Keithley2400SMU",
           "labctl.sim.keithley24xx:Keithley2400Emulator", "smu"),
    _entry(Keithley2420Config, "instruments.keithley24xx:Keithley2420SMU",
           "labctl.sim.keithley24xx:Keithley2420Emulator", "smu"),
    _entry(Keithley2450Config, "instruments.keithley2450:Keithley2450SMU",
           "labctl.sim.keithley2450:Keithley2450Emulator", "smu"),
    _entry(Newport69907Config, "instruments.newport:Newport69907",
           "labctl.sim.newport:Newport69907Emulator", "light_source"),
    _entry(Newport69920Config, "instruments.newport:Newport69920",
           "labctl.sim.newport:Newport69920Emulator", "light_source"),
    _entry(G2VPicoConfig, "instruments.g2v:G2VPico", "labctl.sim.g2v:PicoEmulator",
           "light_source"),
    _entry(ThorlabsSC10Config, "instruments.thorlabs:SC10", "labctl.sim.thorlabs:SC10Emulator",
           "shutter"),
    _entry(ThorlabsFW102CConfig, "instruments.thorlabs:FW102C",
           "labctl.sim.thorlabs:FW102CEmulator", "filter_wheel"),
    _entry(ThorlabsFW212CConfig, "instruments.thorlabs:FW212C",
           "labctl.sim.thorlabs:FW212CEmulator", "filter_wheel"),
    _entry(ThorlabsPM100Config, "instruments.thorlabs:PM100",
           "labctl.sim.thorlabs:PM100Emulator", "irradiance_sensor"),
    _entry(SmuPhotodiodeConfig, "instruments.photodiode:SmuPhotodiode", None,
           "irradiance_sensor", opener=_open_smu_photodiode,
           depends_on=lambda config: [config.smu]),
)


@cache
def _entries() -> dict[str, InstrumentEntry]:
    return {entry.driver_name: entry for entry in _BUILT_IN}


def instrument_entries() -> dict[str, InstrumentEntry]:
    """Every registered driver name and its entry, in registration order."""
    return dict(_entries())


def instrument_entry(driver_name: str) -> InstrumentEntry:
    """The entry of a station driver name (KeyError naming the known ones)."""
    try:
        return _entries()[driver_name]
    except KeyError:
        known = ", ".join(_entries())
        raise KeyError(f"no instrument driver {driver_name!r} (known: {known})") from None
