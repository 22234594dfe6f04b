"""Measurement noise on the simulated SMU readings (``simulation.noise``).

Readings go through raw SCPI on the 2400 emulator and the @labsim backend, from stations built
in memory, so what is tested is what a driver would read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import pyvisa

from labctl.sim import physics
from labctl.sim.bench import register_bench
from labctl.sim.physics import MeasurementSettings, NoisyDevice
from labctl.sim.physics.noise import auto_range, noise_sigma
from labctl.station import StationConfig
from labctl.station.simulation import NoiseSim, SimulationConfig

R2400 = "GPIB0::24::INSTR"
AREA_CM2 = 0.09
ONE_SUN = 100.0


def _station(noise: Any = None, **device: Any) -> StationConfig:
    simulation: dict[str, Any] = {"device": {"kind": "solar_cell", "area_cm2": AREA_CM2,
                                             **device}}
    if noise is not None:
        simulation["noise"] = noise
    return StationConfig.model_validate({
        "station": "noise",
        "instruments": {"smu": {"driver": "keithley2400", "resource": R2400}},
        "simulation": simulation,
    })


def _open(station: StationConfig) -> tuple[pyvisa.ResourceManager, Any]:
    rm = pyvisa.ResourceManager(f"{register_bench(station)}@labsim")
    smu = rm.open_resource(R2400, read_termination="\n", write_termination="\n",
                           timeout=60000)
    smu.write(":FORM:ELEM VOLT,CURR")
    return rm, smu


def _currents_at(smu: Any, voltage_v: float, n: int) -> np.ndarray:
    smu.write(":OUTP OFF")  # the source function changes only with the output off
    smu.write(f":SOUR:FUNC VOLT;:SOUR:VOLT {voltage_v};:SENS:CURR:PROT 0.1;:OUTP ON")
    return np.array([float(smu.query(":READ?").split(",")[1]) for _ in range(n)])


def _voltages_at(smu: Any, current_a: float, n: int) -> np.ndarray:
    smu.write(":OUTP OFF")
    smu.write(f":SOUR:FUNC CURR;:SOUR:CURR {current_a};:SENS:VOLT:PROT 2;:OUTP ON")
    smu.write(":SENS:FUNC 'VOLT'")
    return np.array([float(smu.query(":READ?").split(",")[0]) for _ in range(n)])


# --- the configuration ---------------------------------------------------------------------------


def test_noise_key_stays_backward_compatible() -> None:
    assert SimulationConfig.model_validate({}).noise is None
    assert SimulationConfig.model_validate({"noise": False}).noise is None
    assert SimulationConfig.model_validate({"noise": True}).noise == NoiseSim()
    custom = SimulationConfig.model_validate({"noise": {"seed": 4, "current_rel": 1e-3}}).noise
    assert custom == NoiseSim(seed=4, current_rel=1e-3)
    with pytest.raises(ValueError, match="current_rel"):
        SimulationConfig.model_validate({"noise": {"current_rel": -1.0}})


# --- reproducibility -----------------------------------------------------------------------------


def test_a_seeded_noisy_bench_reads_the_same_twice_and_another_seed_differently() -> None:
    noise = {"seed": 7, "current_rel": 1e-3}
    _, first = _open(_station(noise))
    _, second = _open(_station(noise))  # a second, independent bench
    _, other = _open(_station({**noise, "seed": 8}))
    a, b, c = (_currents_at(smu, 0.3, 20) for smu in (first, second, other))
    assert np.array_equal(a, b)
    assert not np.any(a == c)
    assert np.std(a) > 0


def test_a_reset_device_restarts_its_noise_sequence() -> None:
    rm, _ = _open(_station({"seed": 3, "current_rel": 1e-3}))
    noisy = rm.visalib.bench.duts["smu"]
    assert isinstance(noisy, NoisyDevice)
    voltages_v = np.linspace(0.0, 1.0, 11)
    before = noisy.staircase(voltages_v, 0.0, 0.01, ONE_SUN)
    noisy.reset()
    assert np.array_equal(noisy.staircase(voltages_v, 0.0, 0.01, ONE_SUN), before)


# --- level ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("nplc", "fixed_range_a"), [(1.0, None), (4.0, None), (0.1, 0.1)])
def test_current_noise_matches_the_configured_level(nplc: float,
                                                    fixed_range_a: float | None) -> None:
    noise = NoiseSim(seed=11, current_rel=5e-4, current_range_fraction=1e-4,
                     current_floor_a=2e-8)
    rm, smu = _open(_station(noise.model_dump()))
    smu.write(f":SENS:CURR:NPLC {nplc}")
    if fixed_range_a is not None:
        smu.write(f":SENS:CURR:RANG {fixed_range_a}")
    readings_a = _currents_at(smu, 0.0, 400)
    cell = rm.visalib.bench.models["smu"]
    exact_a = -cell.current_density_a_cm2(0.0, ONE_SUN) * AREA_CM2  # about -1.78 mA
    range_a = fixed_range_a if fixed_range_a is not None else 1e-2  # auto: the 10 mA range
    expected_sigma_a = np.sqrt((5e-4 * exact_a) ** 2 + (1e-4 * range_a) ** 2
                               + 2e-8**2) / np.sqrt(nplc)
    assert np.mean(readings_a) == pytest.approx(exact_a, abs=4 * expected_sigma_a / 20)
    assert np.std(readings_a, ddof=1) == pytest.approx(expected_sigma_a, rel=0.2)


def test_voltage_noise_matches_the_configured_level() -> None:
    noise = NoiseSim(seed=5, voltage_rel=1e-4, voltage_range_fraction=2e-5, voltage_floor_v=0)
    rm, smu = _open(_station(noise.model_dump()))
    readings_v = _voltages_at(smu, 0.0, 400)  # Voc, about 1.18 V: the 2 V range
    cell = rm.visalib.bench.models["smu"]
    voc_v = cell.steady_state_open_circuit_voltage_v(ONE_SUN)
    expected_sigma_v = np.hypot(1e-4 * voc_v, 2e-5 * 2.0)
    assert np.mean(readings_v) == pytest.approx(voc_v, abs=1e-4)
    assert np.std(readings_v, ddof=1) == pytest.approx(expected_sigma_v, rel=0.2)


# --- noise off, and the device's state -----------------------------------------------------------


@pytest.mark.parametrize("noise", [None, False])
def test_without_noise_readings_are_exact(noise: Any) -> None:
    rm, smu = _open(_station(noise))
    assert rm.visalib.bench.duts["smu"] is rm.visalib.bench.models["smu"]
    readings_a = _currents_at(smu, 0.5, 5)
    cell = rm.visalib.bench.models["smu"]
    exact_a = -cell.current_density_a_cm2(0.5, ONE_SUN) * AREA_CM2
    assert np.all(readings_a == readings_a[0])
    assert readings_a[0] == pytest.approx(exact_a, rel=1e-6)  # the reply's 7 digits


def _run_sequence(smu: Any) -> None:
    """A staircase sweep, a held voltage, a current-sourced Voc: all advance the ion state."""
    smu.write(":SOUR:FUNC VOLT;:SENS:CURR:PROT 0.1;:SOUR:VOLT:MODE SWE;"
              ":SOUR:VOLT:STAR 1.2;:SOUR:VOLT:STOP -0.1;:SOUR:SWE:POIN 27;:TRIG:COUN 27")
    smu.write(":OUTP ON")
    smu.query(":READ?")
    smu.write(":SOUR:VOLT:MODE FIXED;:TRIG:COUN 1")
    _currents_at(smu, 0.8, 5)
    _voltages_at(smu, 0.0, 5)
    _voltages_at(smu, -1e-3, 5)
    assert smu.query(":SYST:ERR?").startswith("0,")


def test_noise_does_not_change_the_integrated_state() -> None:
    states = []
    for noise in (None, {"seed": 2, "current_rel": 1e-2, "voltage_rel": 1e-2}):
        rm, smu = _open(_station(noise, ion_amplitude=0.3, ion_tau_s=2.0))
        _run_sequence(smu)
        bench = rm.visalib.bench
        states.append((bench.models["smu"].ion_memory_v, bench.clock.now_s()))
    assert states[0][1] == states[1][1]
    assert states[1][0] == pytest.approx(states[0][0], rel=1e-12, abs=1e-15)


# --- the wrapper and its helpers ---------------------------------------------------------------


def test_auto_range_picks_the_lowest_range_that_holds_the_reading() -> None:
    ranges = (1e-6, 1e-5, 1e-4)
    assert auto_range(5e-7, ranges) == 1e-6
    assert auto_range(-1.04e-6, ranges) == 1e-6  # 105 % of full scale
    assert auto_range(1.06e-6, ranges) == 1e-5
    assert auto_range(1.0, ranges) == 1e-4
    np.testing.assert_array_equal(auto_range(np.array([0.0, 2e-5]), ranges), [1e-6, 1e-4])
    assert noise_sigma(2.0, 10.0, 0.5, 0.1, 0.0, 4.0) == pytest.approx(np.sqrt(2.0) / 2.0)


def test_wrapper_noise_shrinks_with_nplc_and_forwards_everything_else() -> None:
    cell = physics.SolarCell()
    settings = {"value": MeasurementSettings(current_range_a=1e-2, nplc_current=1.0)}
    noise = NoiseSim(seed=1, current_rel=0.0, current_range_fraction=1e-4, current_floor_a=0.0)
    noisy = NoisyDevice(cell, noise, lambda: settings["value"], stream="smu")
    voltages_v = np.zeros(4000)
    exact = cell.steady_state_current_density_a_cm2(voltages_v, ONE_SUN)
    spread_1 = np.std((noisy.staircase(voltages_v, 0.0, 0.0, ONE_SUN) - exact) * AREA_CM2)
    settings["value"] = MeasurementSettings(current_range_a=1e-2, nplc_current=10.0)
    spread_10 = np.std((noisy.staircase(voltages_v, 0.0, 0.0, ONE_SUN) - exact) * AREA_CM2)
    assert spread_1 == pytest.approx(1e-6, rel=0.05)
    assert spread_10 == pytest.approx(1e-6 / np.sqrt(10.0), rel=0.05)
    assert noisy.params is cell.params and noisy.area_cm2 == cell.area_cm2
    noisy.hold(0.7, 1e6, ONE_SUN)
    assert cell.ion_memory_v == pytest.approx(0.7)


@pytest.mark.parametrize(("field", "value", "expected_sigma"), [
    ("current_rel", 1e-3, 1e-3 * 1.782e-3), ("current_range_fraction", 1e-4, 1e-4 * 1e-2),
    ("current_floor_a", 3e-7, 3e-7), ("voltage_rel", 1e-3, 1e-3 * 0.6),
    ("voltage_range_fraction", 1e-4, 1e-4 * 2.0), ("voltage_floor_v", 4e-5, 4e-5),
])
def test_every_noise_level_field_sets_its_part_of_sigma(field: str, value: float,
                                                        expected_sigma: float) -> None:
    zero = {f: 0.0 for f in NoiseSim.model_fields if f != "seed"}
    noise = NoiseSim.model_validate({**zero, field: value, "seed": 9})
    cell = physics.SolarCell()
    noisy = NoisyDevice(cell, noise, MeasurementSettings, stream="smu")  # auto range, 1 NPLC
    if field.startswith("current"):
        exact_a = cell.current_density_a_cm2(0.0, ONE_SUN) * AREA_CM2  # 1.782 mA: 10 mA range
        readings = [noisy.current_density_a_cm2(0.0, ONE_SUN) * AREA_CM2 for _ in range(2000)]
        assert exact_a == pytest.approx(1.782e-3, rel=1e-3)
    else:  # 0.6 V on a dark diode: the 2 V range
        j_a_cm2 = cell.current_density_a_cm2(0.6, 0.0)
        readings = [noisy.voltage_at_current_density_v(j_a_cm2, 0.0) for _ in range(2000)]
    assert np.std(readings, ddof=1) == pytest.approx(expected_sigma, rel=0.1)
