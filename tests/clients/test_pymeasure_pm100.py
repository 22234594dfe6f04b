"""pymeasure's own ThorlabsPM100USB driver against the simulated PM100 through @labsim.

Every public property and method of the driver class is found by introspection and falls in
one of three lists: CHECKS (it talks to the instrument; the value must be in the instrument's
range and no error may be queued), REFUSED (the real instrument or the driver refuses it; the
test checks it fails that way) and SKIPS (not an instrument exchange, with the reason). A
member pymeasure adds later and no list names fails the enumeration test.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import pyvisa

from instruments.newport import Newport69907
from instruments.thorlabs import SC10
from labctl.sim.bench import Bench
from labctl.sim.thorlabs import SI_HEAD_RANGE_NM, PM100Emulator

pm100usb = pytest.importorskip("pymeasure.instruments.thorlabs.thorlabspm100usb")
ThorlabsPM100USB = pm100usb.ThorlabsPM100USB

METER = "USB0::0x1313::0x8078::P0012345::INSTR"
LAMP = "ASRL1::INSTR"
SHUTTER = "ASRL2::INSTR"
HEAD_MAX_W = 0.5  # S121C top range

STATION = {
    "station": "pymeasure-pm100",
    "simulated": True,
    "instruments": {
        "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "lamp": {"driver": "newport69907", "resource": LAMP},
        "shutter": {"driver": "thorlabs_sc10", "resource": SHUTTER},
        "photodiode": {"driver": "thorlabs_pm100", "resource": METER, "wavelength_nm": 550},
    },
    "simulation": {"device": {"kind": "solar_cell", "area_cm2": 0.09},
                   "light": {"irradiance_mw_cm2": 100.0}},
}


@pytest.fixture
def rm(labsim_station: Any) -> pyvisa.ResourceManager:
    """The bench's resource manager, through the fixtures labctl ships for labs (the clock
    is the bench's; everything is closed after the test)."""
    return labsim_station(STATION).resource_manager()


@pytest.fixture
def emulator(rm: pyvisa.ResourceManager) -> PM100Emulator:
    bench: Bench = rm.visalib.bench
    device = bench.instruments["photodiode"]
    assert isinstance(device, PM100Emulator)
    return device


@pytest.fixture
def meter(rm: pyvisa.ResourceManager, emulator: PM100Emulator) -> Any:
    lib = rm.visalib
    Newport69907(LAMP, visa_library=lib, warmup_s=3600.0).turn_on(wait=True)
    SC10(SHUTTER, visa_library=lib).open()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # SCPIUnknownMixin's notice
        driver = ThorlabsPM100USB(METER, visa_library=lib, timeout=10_000)
    assert not emulator.errors and not emulator.unhandled
    return driver


def _in_range_w(value: float) -> bool:
    return 0.0 < value <= HEAD_MAX_W


def _set_wavelength(meter: Any) -> bool:
    meter.wavelength = 800
    in_range = meter.wavelength == pytest.approx(800.0)
    meter.wavelength = 2000  # the driver truncates to the head's range
    return in_range and meter.wavelength == pytest.approx(SI_HEAD_RANGE_NM[1])


#: Members that exchange messages with the instrument -> a check returning True when the
#: answer is what the instrument gives (and in its range).
CHECKS: dict[str, Callable[[Any], bool]] = {
    "id": lambda m: m.id.startswith("Thorlabs,PM100D,"),
    "complete": lambda m: m.complete == "1",
    "status": lambda m: 0 <= int(m.status) <= 255,
    "next_error": lambda m: int(m.next_error[0]) == 0,
    "power": lambda m: _in_range_w(m.power),
    "wavelength": _set_wavelength,
    "wavelength_min": lambda m: m.wavelength_min == pytest.approx(SI_HEAD_RANGE_NM[0]),
    "wavelength_max": lambda m: m.wavelength_max == pytest.approx(SI_HEAD_RANGE_NM[1]),
    "ask": lambda m: m.ask("SYST:SENS:IDN?").startswith("S121C,"),
    "values": lambda m: _in_range_w(m.values("MEAS:POW?")[0]),
    "write": lambda m: m.write("SENS:AVER:COUN 5") is None and m.ask("SENS:AVER?") == "5\n",
    "read": lambda m: m.write("*OPC?") is None and m.read() == "1\n",
    "write_bytes": lambda m: m.write_bytes(b"*OPC?\n") is None and m.read() == "1\n",
    "read_bytes": lambda m: m.write("*OPC?") is None and m.read_bytes(2) == b"1\n",
    "clear": lambda m: m.clear() is None,
    "reset": lambda m: m.reset() is None and m.ask("SENS:AVER?") == "1\n",
    "check_errors": lambda m: m.check_errors() == [],
    "check_get_errors": lambda m: m.check_get_errors() == [],
    "check_set_errors": lambda m: m.check_set_errors() == [],
    "shutdown": lambda m: m.shutdown() is None and m.isShutdown,
    "wait_for": lambda m: m.wait_for() is None,  # no delay given: no sleep
}

#: Members the instrument (or the driver, for this head) refuses -> why.
REFUSED: dict[str, str] = {
    "options": "*OPT? is not among the PM100D's common commands ⚠: -113, no reply, timeout",
    "energy": "the S121C is not an energy sensor (flags 289): the driver raises before sending",
}

#: Members that are not instrument exchanges, or need data the PM100 does not have -> why.
SKIPS: dict[str, str] = {
    "binary_values": "the PM100 sends no binary blocks (ASCII replies only)",
    "read_binary_values": "the PM100 sends no binary blocks (ASCII replies only)",
    "write_binary_values": "the PM100 accepts no binary blocks",
    "control": "property factory of pymeasure, no instrument exchange",
    "measurement": "property factory of pymeasure, no instrument exchange",
    "setting": "property factory of pymeasure, no instrument exchange",
    "add_child": "channel machinery; the PM100 has one input",
    "remove_child": "channel machinery; the PM100 has one input",
    "get_channels": "channel machinery; the PM100 has one input",
    "get_channel_pairs": "channel machinery; the PM100 has one input",
    "BaseChannelCreator": "channel machinery; the PM100 has one input",
    "ChannelCreator": "channel machinery; the PM100 has one input",
    "MultiChannelCreator": "channel machinery; the PM100 has one input",
}


def _public_members() -> list[str]:
    return sorted(name for name, _ in inspect.getmembers(ThorlabsPM100USB)
                  if not name.startswith("_"))


def test_every_member_is_checked_refused_or_skipped_with_a_reason() -> None:
    listed = set(CHECKS) | set(REFUSED) | set(SKIPS)
    assert not set(CHECKS) & set(REFUSED) and not set(CHECKS) & set(SKIPS)
    assert set(_public_members()) == listed


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_supported_member_answers_in_range_with_no_error(
    name: str, meter: Any, emulator: PM100Emulator
) -> None:
    assert CHECKS[name](meter), name
    assert list(emulator.errors) == [], name
    assert emulator.unhandled == [], name


def test_options_is_refused_as_the_instrument_would(
    meter: Any, emulator: PM100Emulator, rm: pyvisa.ResourceManager
) -> None:
    bench: Bench = rm.visalib.bench
    start_s, start_wall_s = bench.clock.now_s(), time.monotonic()
    with pytest.raises(pyvisa.errors.VisaIOError):
        _ = meter.options
    assert bench.clock.now_s() - start_s == pytest.approx(10.0)  # the VISA timeout, virtual
    assert time.monotonic() - start_wall_s < 1.0
    [(code, message)] = meter.check_errors()
    assert int(code) == -113 and "Undefined header" in message


def test_energy_is_refused_by_the_driver_for_a_power_head(
    meter: Any, emulator: PM100Emulator
) -> None:
    sent = len(emulator.traffic)
    with pytest.raises(AttributeError, match="not an energy sensor"):
        _ = meter.energy
    assert len(emulator.traffic) == sent  # nothing reached the instrument
    assert meter.is_power_sensor and meter.wavelength_settable


@pytest.mark.parametrize("name", sorted(SKIPS))
def test_skipped_member(name: str) -> None:
    pytest.skip(SKIPS[name])
