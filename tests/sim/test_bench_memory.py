"""A bench built from a StationConfig object: no file, opened through ``{spec}@labsim``."""

from __future__ import annotations

from pathlib import Path

import pytest
import pyvisa

from labctl.sim.bench import Bench, bench_for, forget_benches, register_bench
from labctl.station import StationConfig

IN_MEMORY = {
    "station": "in-memory",
    "instruments": {
        "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "ref_smu": {"driver": "keithley2450",
                    "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
    },
    "simulation": {"device": {"kind": "solar_cell", "jph_ma_cm2": 21.0}},
}


def _config() -> StationConfig:
    return StationConfig.model_validate(IN_MEMORY)


def test_a_station_built_in_memory_opens_through_labsim() -> None:
    config = _config()
    spec = register_bench(config)
    rm = pyvisa.ResourceManager(f"{spec}@labsim")
    try:
        assert sorted(rm.list_resources()) == sorted(
            ["GPIB0::24::INSTR", "USB0::0x05E6::0x2450::04412345::0::INSTR"])
        smu = rm.open_resource("GPIB0::24::INSTR", write_termination="\n",
                               read_termination="\n")
        assert "MODEL 2400" in smu.query("*IDN?")
        ref = rm.open_resource("USB0::0x05E6::0x2450::04412345::INSTR",
                               write_termination="\n", read_termination="\n")
        assert "MODEL 2450" in ref.query("*IDN?")
        assert rm.visalib.bench.station is config
        assert rm.visalib.bench.duts["smu"].params.jph_ma_cm2 == 21.0
    finally:
        rm.close()


def test_one_bench_per_registered_object() -> None:
    config = _config()
    spec = register_bench(config)
    assert register_bench(config) == spec
    assert bench_for(spec) is bench_for(config)
    other = register_bench(_config())  # an equal but distinct object: its own bench
    assert other != spec and bench_for(other) is not bench_for(spec)
    first = pyvisa.ResourceManager(f"{spec}@labsim")
    second = pyvisa.ResourceManager(f"{spec}@labsim")
    assert first.visalib.bench is second.visalib.bench is bench_for(spec)


def test_bench_is_built_from_the_config_object() -> None:
    bench = Bench(_config())
    assert set(bench.instruments) == {"smu", "ref_smu"}
    assert bench.duts["ref_smu"] is None  # nothing wired to the 2450


def test_unknown_or_forgotten_spec_is_an_error() -> None:
    spec = register_bench(_config())
    forget_benches()
    with pytest.raises(ValueError, match="no simulated bench is registered"):
        bench_for(spec)
    assert register_bench(_config()) != spec  # specs are not reused


def test_station_files_keep_working(smu_station: Path) -> None:
    rm = pyvisa.ResourceManager(f"{smu_station}@labsim")
    assert rm.visalib.bench is bench_for(smu_station)
    assert rm.visalib.bench.station.path == smu_station.resolve()
