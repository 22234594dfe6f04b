"""Each SMU model's ranges are kept once, in its limits (``instruments.smu``): the emulators'
range choice and range queries and the noise model's auto range all read that table."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvisa

from instruments.smu import KEITHLEY_2400_LIMITS, KEITHLEY_2420_LIMITS, KEITHLEY_2450_LIMITS
from labctl.sim.bench import bench_for, smu_measurement_settings

RESOURCES = {"smu": "GPIB0::24::INSTR", "smu2420": "GPIB0::25::INSTR",
             "ref_smu": "USB0::0x05E6::0x2450::04412345::INSTR"}
LIMITS = {"smu": KEITHLEY_2400_LIMITS, "smu2420": KEITHLEY_2420_LIMITS,
          "ref_smu": KEITHLEY_2450_LIMITS}


def _open(station: Path, name: str):
    rm = pyvisa.ResourceManager(f"{station}@labsim")
    return rm.open_resource(RESOURCES[name], read_termination="\n", write_termination="\n")


def test_the_three_models_have_their_own_tables() -> None:
    assert KEITHLEY_2400_LIMITS.current_ranges_a[0] == 1e-6
    assert KEITHLEY_2420_LIMITS.current_ranges_a[-1] == 3.0
    assert KEITHLEY_2420_LIMITS.voltage_ranges_v[-1] == 60.0
    assert KEITHLEY_2450_LIMITS.current_ranges_a[0] == 1e-8
    assert KEITHLEY_2450_LIMITS.voltage_ranges_v[0] == 0.02
    for limits in LIMITS.values():
        for table in (limits.current_ranges_a, limits.voltage_ranges_v,
                      limits.resistance_ranges_ohm):
            assert list(table) == sorted(table) and len(set(table)) == len(table)
    assert KEITHLEY_2400_LIMITS.range_readings((1e-4, 20.0)) == (1.05e-4, 21.0)


# (instrument, header, value sent, what the range query reads)
CASES = [
    ("smu", ":SENS:CURR:RANG", 2e-6, 1.05e-5),        # 10 uA range, its full scale
    ("smu2420", ":SENS:CURR:RANG", 2e-6, 1.05e-5),    # the 2420's lowest range is 10 uA
    ("smu2420", ":SENS:CURR:RANG", 2.0, 3.15),        # its 3 A range
    ("smu", ":SOUR:VOLT:RANG", 60.0, 210.0),
    ("smu2420", ":SOUR:VOLT:RANG", 60.0, 63.0),       # the 2420's 60 V range
    ("ref_smu", ":SENS:CURR:RANG", 2e-8, 1e-7),       # the 2450 reads the range itself
    ("ref_smu", ":SOUR:VOLT:RANG", 60.0, 200.0),
]


@pytest.mark.parametrize(("name", "header", "sent", "reads"), CASES)
def test_range_queries_follow_the_models_limits(smu_station: Path, name: str, header: str,
                                                sent: float, reads: float) -> None:
    smu = _open(smu_station, name)
    smu.write(f"{header} {sent}")
    assert float(smu.query(f"{header}?")) == pytest.approx(reads)
    assert smu.query(":SYST:ERR?").startswith("0,")


@pytest.mark.parametrize("name", list(RESOURCES))
def test_the_noise_model_reads_the_same_tables(smu_station: Path, name: str) -> None:
    _open(smu_station, name)
    settings = smu_measurement_settings(bench_for(smu_station).instruments[name])
    assert tuple(settings.current_ranges_a) == LIMITS[name].current_ranges_a
    assert tuple(settings.voltage_ranges_v) == LIMITS[name].voltage_ranges_v
