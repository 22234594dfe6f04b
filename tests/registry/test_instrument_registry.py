"""The instrument registry: one entry per driver name, used by the station, the opened station
and the simulated bench."""

from __future__ import annotations

from typing import Any

import pytest

from instruments.smu import SourceMeter
from labctl.opened_station import open_station
from labctl.registry.instruments import ROLES, instrument_entries, instrument_entry
from labctl.sim.emulators import emulator_class
from labctl.sim.scpi import ScpiDevice
from labctl.station import StationConfig
from labctl.station.config import DRIVER_ROLES


def test_every_entry_is_whole() -> None:
    entries = instrument_entries()
    assert set(DRIVER_ROLES) == set(entries)
    for name, entry in entries.items():
        assert entry.config_model.model_fields["driver"].annotation.__args__ == (name,)
        assert entry.roles and entry.roles <= set(ROLES), name
        cls = entry.driver()
        if entry.emulator_class is not None:
            assert issubclass(entry.emulator(), ScpiDevice), name
            assert emulator_class(name) is entry.emulator()
        if "smu" in entry.roles:
            assert issubclass(cls, SourceMeter)
            assert entry.limits is cls.limits and entry.limits.max_voltage_v > 0
        else:
            assert entry.limits is None


def test_limits_exist_once() -> None:
    """The station, the driver and the emulator read the same limits object."""
    station = StationConfig.model_validate({"station": "s", "instruments": {
        "smu": {"driver": "keithley2420", "resource": "GPIB0::24::INSTR"}}})
    limits = station.smu_limits("smu")
    assert limits is instrument_entry("keithley2420").driver().limits
    assert limits is instrument_entry("keithley2420").emulator().limits
    assert limits.max_current_at_a(20.0) == pytest.approx(3.15)
    assert limits.max_current_at_a(30.0) == pytest.approx(1.05)


def test_an_unknown_driver_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: keithley2400, "):
        instrument_entry("keithley6517")


MEMORY_STATION = {"station": "mem", "instruments": {
    "pd": {"driver": "smu_photodiode", "smu": "ref", "responsivity_a_per_w": 0.45,
           "area_mm2": 13},
    "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
    "ref": {"driver": "keithley2450", "resource": "GPIB0::25::INSTR"}}}


def test_a_station_built_in_memory_opens_simulated_photodiode_after_its_smu() -> None:
    """No file: the bench is built from the StationConfig object; the photodiode (listed
    first) is opened after the SMU that reads it."""
    station = StationConfig.model_validate(MEMORY_STATION)
    with open_station(station, simulated=True) as opened:
        assert list(opened.instruments) == ["ref", "pd", "smu"]
        identities = opened.identities()
        assert "MODEL 2400" in identities["smu"]
        assert identities["pd"].startswith("Si photodiode on ")
        assert opened.roles().irradiance_sensor is opened.instruments["pd"]


def test_the_photodiode_reads_the_true_irradiance(labsim_station: Any) -> None:
    """Through the fixtures labctl ships for labs: the registry-built photodiode reads the
    irradiance the bench delivers."""
    sim = labsim_station(MEMORY_STATION)
    sensor = sim.roles().irradiance_sensor
    assert sensor.irradiance_mw_cm2() == pytest.approx(sim.truth.irradiance_mw_cm2(), rel=1e-3)
    assert sim.faults.errors("ref") == []
