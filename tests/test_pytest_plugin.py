"""labctl's pytest plugin (labctl.testing), run as a lab would: a test file of its own."""

from __future__ import annotations

import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


def _plugin_args() -> list[str]:
    """Load the plugin through its entry point when labctl is installed with it, else by
    module name (a checkout on PYTHONPATH)."""
    if any(ep.value == "labctl.testing" for ep in entry_points(group="pytest11")):
        return []
    return ["-p", "labctl.testing"]


def _run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_lab=source)
    return pytester.runpytest(*_plugin_args(), "-q", "-p", "no:cacheprovider", *args)


def test_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"labctl": "labctl.testing"}
    installed = [ep for ep in entry_points(group="pytest11") if ep.name == "labctl"]
    assert all(ep.value == "labctl.testing" for ep in installed)


LAB_SCRIPT_TEST = '''
import pyvisa
import pytest

from labctl import clock


def measure_isc(resource_manager, resource):
    """The lab's own script: short-circuit current with plain SCPI."""
    smu = resource_manager.open_resource(resource, read_termination="\\n")
    smu.write("*RST")
    smu.write(":SOUR:FUNC VOLT")
    smu.write(":SOUR:VOLT 0")
    smu.write(":SENS:CURR:PROT 0.01")
    smu.write(":OUTP ON")
    reading = smu.query(":READ?")
    smu.write(":OUTP OFF")
    return float(reading.split(",")[1])


CELL_ONLY = {  # no lamp, no shutter: the cell is lit at the nominal irradiance
    "station": "cell-only",
    "instruments": {"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"}},
    "simulation": {"device": {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8}},
}


def test_isc_matches_the_cell(labsim_station):
    sim = labsim_station(CELL_ONLY)
    isc_a = measure_isc(sim.resource_manager(), "GPIB0::24::INSTR")
    truth = sim.truth.cell("smu")
    assert truth.irradiance_mw_cm2 == 100.0 and truth.isc_a > 1e-3
    assert isc_a == pytest.approx(-truth.isc_a, rel=1e-3)
    assert sim.faults.errors("smu") == []
    assert clock.active() is sim.bench.clock


def test_the_default_station_starts_dark(labsim, labsim_truth):
    assert labsim_truth.irradiance_mw_cm2() == 0.0  # lamp off, shutter closed
    assert labsim_truth.cell().voc_v == 0.0
    assert labsim_truth.cell(irradiance_mw_cm2=100.0).voc_v > 1.0


def test_the_clock_moves_and_restarts(labsim_clock):
    assert labsim_clock.now_s() == 0.0
    assert labsim_clock.advance(3600.0) == 3600.0
    assert labsim_clock.advance_to(10.0) == 3600.0


def test_a_dead_smu_times_out(labsim_rm, labsim_faults, labsim_clock):
    smu = labsim_rm.open_resource("GPIB0::24::INSTR", timeout=5000)
    with labsim_faults.during("smu", "dead"):
        with pytest.raises(pyvisa.errors.VisaIOError):
            smu.query("*IDN?")
    assert labsim_clock.now_s() == pytest.approx(5.0)
    assert smu.query("*IDN?").startswith("KEITHLEY")
    with pytest.raises(ValueError, match="unknown fault"):
        labsim_faults.inject("smu", "on_fire")


def test_station_from_a_dict(labsim_station):
    sim = labsim_station({
        "station": "lab-dict",
        "simulated": True,
        "instruments": {"smu": {"driver": "keithley2450",
                                "resource": "USB0::0x05E6::0x2450::1::INSTR"}},
        "simulation": {"device": {"kind": "solar_cell", "jph_ma_cm2": 20.0}},
    })
    assert sim.path.is_file()
    assert "MODEL 2450" in sim.instruments["smu"].identity
    roles = sim.roles()
    roles.smu.configure_voc_mode(compliance_v=2.0)
    roles.smu.enable_output()
    voc_v = roles.smu.read().voltage_v
    assert voc_v == pytest.approx(sim.truth.cell().voc_v, abs=2e-3)
    assert sim.truth.cell(irradiance_mw_cm2=0.0).pmax_mw_cm2 == 0.0


def test_changes_to_the_default_station(labsim_station):
    sim = labsim_station(simulation={"light": {"irradiance_mw_cm2": 50.0}})
    assert sim.config.simulation.light.irradiance_mw_cm2 == 50.0
    assert "lamp" in sim.config.instruments


def test_benches_are_fresh_in_every_test(labsim, labsim_instruments):
    assert labsim.clock.now_s() < 0.01  # opening the drivers takes a few commands
    assert set(labsim_instruments) >= {"smu", "ref_smu", "shutter"}
'''


def test_fixtures_run_a_labs_test_file(pytester: pytest.Pytester) -> None:
    from labctl import clock

    before = clock.active()
    result = _run(pytester, LAB_SCRIPT_TEST)
    result.assert_outcomes(passed=7)
    assert clock.active() is before  # every fixture restored the clock


def test_default_station_from_the_ini_option(pytester: pytest.Pytester) -> None:
    real = ROOT / "configs" / "stations" / "bench-real.yaml"  # a real bench's file
    pytester.makeini(f"[pytest]\nlabsim_station = {real}\n")
    result = _run(pytester, f'''
from pathlib import Path

def test_it(labsim):
    assert labsim.path == Path({str(real)!r})
    assert not labsim.config.simulated and labsim.station.simulated
    assert labsim.instruments
''')
    result.assert_outcomes(passed=1)


def test_teardown_forgets_the_benches(pytester: pytest.Pytester) -> None:
    result = _run(pytester, '''
import pytest
from labctl.sim import bench

def test_one(labsim):
    labsim.clock.advance(5.0)
    labsim.resource_manager()
    assert bench._benches

def test_two():
    assert not bench._benches and not bench._memory_benches
''')
    result.assert_outcomes(passed=2)


def test_a_station_config_in_memory(pytester: pytest.Pytester, smu_station: Path) -> None:
    result = _run(pytester, f'''
import pyvisa
from labctl.station import load_station

def test_it(labsim_station):
    config = load_station({str(smu_station)!r})
    config._path = None  # as if built in code
    sim = labsim_station(config)
    assert sim.path is None and sim.spec.startswith("memory:")
    rm = pyvisa.ResourceManager(sim.visa_library)
    assert rm.visalib.bench is sim.bench
    assert sim.instruments["smu2420"].identity.startswith("KEITHLEY")
''')
    result.assert_outcomes(passed=1)
