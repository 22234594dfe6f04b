"""The role interfaces: every driver implements its role completely, and every driver class in
``instruments/`` has ``identity`` as a read-only property."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from pymeasure.instruments import Instrument

import instruments
from instruments import roles
from instruments.attenuator import Attenuator
from instruments.g2v import G2VPico
from instruments.newport import Newport69907, Newport69920
from instruments.photodiode import SmuPhotodiode
from instruments.smu import SourceMeter
from instruments.thorlabs import FW102C, FW212C, PM100, SC10, FilterWheel
from labctl.registry.instruments import instrument_entries

#: Each role and the driver classes that play it.
ROLE_DRIVERS: dict[type, list[type]] = {
    roles.LightSource: [Newport69907, Newport69920, G2VPico],
    roles.Shutter: [SC10],
    roles.Attenuator: [Attenuator],
    roles.IrradianceSensor: [SmuPhotodiode, PM100],
}

def _driver_classes() -> list[type]:
    """Every public concrete class defined in instruments/ that is an instrument or a role."""
    found: list[type] = []
    for info in pkgutil.iter_modules(instruments.__path__):
        module = importlib.import_module(f"instruments.{info.name}")
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and cls.__module__ == module.__name__
                and not name.startswith("_")
                and issubclass(cls, (Instrument, roles.Identified, SourceMeter))
                and not inspect.isabstract(cls)
            ):
                found.append(cls)
    return found


DRIVERS = _driver_classes()
SMU_DRIVERS = [cls for cls in DRIVERS if issubclass(cls, SourceMeter)]
OTHER_DRIVERS = [cls for cls in DRIVERS if not issubclass(cls, SourceMeter)]


def _assert_read_only_identity(cls: type) -> None:
    identity = inspect.getattr_static(cls, "identity")
    assert isinstance(identity, property), f"{cls.__name__}.identity is not a property"
    if identity.fset is not None:  # a pymeasure measurement: its setter refuses
        with pytest.raises(LookupError, match="can not be set"):
            identity.fset(None, "other")
    assert identity.fget is not None and not getattr(identity, "__isabstractmethod__", False)


def test_the_role_module_re_exports_the_smu_interface() -> None:
    assert roles.SourceMeter is SourceMeter


def test_the_search_finds_the_drivers_of_every_module() -> None:
    names = {cls.__name__ for cls in DRIVERS}
    assert {"Newport69907", "G2VPico", "SC10", "FW102C", "FW212C", "PM100", "Attenuator",
            "SmuPhotodiode", "Keithley2400SMU", "Keithley2450SMU"} <= names


@pytest.mark.parametrize(
    ("role", "driver"),
    [(role, driver) for role, drivers in ROLE_DRIVERS.items() for driver in drivers],
    ids=lambda item: item.__name__,
)
def test_every_driver_implements_its_role_completely(role: type, driver: type) -> None:
    assert issubclass(driver, role)
    assert issubclass(driver, roles.Identified)
    assert not inspect.isabstract(driver), sorted(driver.__abstractmethods__)


@pytest.mark.parametrize("driver", OTHER_DRIVERS, ids=lambda cls: cls.__name__)
def test_identity_is_a_read_only_property(driver: type) -> None:
    _assert_read_only_identity(driver)


@pytest.mark.parametrize("driver", SMU_DRIVERS, ids=lambda cls: cls.__name__)
def test_smu_identity_is_a_read_only_property(driver: type) -> None:
    _assert_read_only_identity(driver)


#: The interface a registry role stands for.
ROLE_INTERFACES = {"smu": SourceMeter, "light_source": roles.LightSource,
                   "shutter": roles.Shutter, "filter_wheel": roles.Identified,
                   "irradiance_sensor": roles.IrradianceSensor}


def test_every_registered_driver_implements_the_interfaces_of_its_roles() -> None:
    entries = instrument_entries()
    assert len(entries) == 11
    for name, entry in entries.items():
        cls = entry.driver()
        assert entry.roles, name
        for role in entry.roles:
            assert issubclass(cls, ROLE_INTERFACES[role]), (name, role)
        if not issubclass(cls, SourceMeter):
            assert issubclass(cls, roles.Identified), name


def test_arc_lamps_and_leds_say_what_they_are() -> None:
    assert Newport69907.is_arc_lamp and Newport69920.is_arc_lamp
    assert not Newport69907.has_programmable_intensity
    assert not G2VPico.is_arc_lamp
    assert G2VPico.has_programmable_intensity
    assert issubclass(FW102C, FilterWheel) and issubclass(FW212C, FilterWheel)


# --- the interfaces themselves -------------------------------------------------------------------


class _Led(roles.LightSource):
    is_arc_lamp = False

    def __init__(self) -> None:
        self.on = False

    @property
    def identity(self) -> str:
        return "test LED"

    @property
    def is_on(self) -> bool:
        return self.on

    def turn_on(self, wait: bool = True) -> None:
        self.on = True

    def turn_off(self) -> None:
        self.on = False

    def shutdown(self) -> None:
        self.turn_off()


def test_a_light_source_must_say_whether_it_is_an_arc_lamp() -> None:
    class NoKind(roles.LightSource):
        identity = "x"  # type: ignore[assignment]
        is_on = True  # type: ignore[assignment]

        def turn_on(self, wait: bool = True) -> None: ...

        def turn_off(self) -> None: ...

        def shutdown(self) -> None: ...

    assert "is_arc_lamp" in NoKind.__abstractmethods__
    with pytest.raises(TypeError):
        NoKind()  # type: ignore[abstract]


def test_light_source_defaults() -> None:
    led = _Led()
    assert led.stable_at_s() is None
    assert led.fault is False
    assert led.has_programmable_intensity is False
    with pytest.raises(NotImplementedError, match="_Led has no programmable intensity"):
        led.set_relative_intensity(0.5)


def test_identity_cannot_be_set_on_an_interface_implementation() -> None:
    led = _Led()
    with pytest.raises(AttributeError):
        led.identity = "other"  # type: ignore[misc]
    assert led.identity == "test LED"


def test_shutter_shutdown_closes() -> None:
    class Blade(roles.Shutter):
        identity = "blade"  # type: ignore[assignment]

        def __init__(self) -> None:
            self.calls: list[str] = []

        @property
        def is_open(self) -> bool:
            return self.calls[-1:] == ["open"]

        def open(self) -> None:
            self.calls.append("open")

        def close(self) -> None:
            self.calls.append("close")

    blade = Blade()
    blade.open()
    assert blade.is_open
    blade.shutdown()
    assert blade.calls == ["open", "close"] and not blade.is_open


def test_role_interfaces_cannot_be_instantiated() -> None:
    for role in (roles.LightSource, roles.Shutter, roles.Attenuator, roles.IrradianceSensor,
                 roles.Identified):
        with pytest.raises(TypeError):
            role()  # type: ignore[abstract]
