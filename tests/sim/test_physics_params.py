"""The simulated devices' parameters are defined once, by the validated ``simulation:`` models.

Every field of ``SolarCellDevice``, ``SingleCarrierDevice`` and ``PhotodiodeSim`` must reach the
physics (changing it changes what the model computes), and an out-of-range value must be refused
when a station file is loaded, with labctl's one-line InputError naming the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from labctl.sim import physics
from labctl.sim.bench import Bench
from labctl.station import StationConfig, load_station
from labctl.station.simulation import PhotodiodeSim, SingleCarrierDevice, SolarCellDevice
from labctl.yamlio import InputError

ONE_SUN = 100.0

#: A cell with every optional mechanism active, so that every field matters.
ACTIVE_CELL: dict[str, Any] = {
    "ion_amplitude": 0.2, "ion_tau_s": 2.0, "burn_in_fraction": 0.1, "burn_in_tau_h": 20.0,
    "loss_pct_per_1000h": 5.0, "dark_recovery_fraction": 0.5,
}


def _cell_observables(params: SolarCellDevice) -> np.ndarray:
    """Currents [A] of a fast sweep, then after 50 h lit and 20 h dark, and a Voc [V]."""
    cell = physics.SolarCell(params)
    cell.equilibrate_open_circuit(ONE_SUN)
    voltages_v = np.linspace(1.1, -0.1, 25)
    first = cell.staircase(voltages_v, 0.01, 0.02, ONE_SUN) * cell.area_cm2
    cell.hold(0.8, 50 * 3600.0, ONE_SUN)
    cell.float_open_circuit(20 * 3600.0, 0.0)
    second = cell.staircase(voltages_v, 0.01, 0.02, ONE_SUN) * cell.area_cm2
    voc_v = cell.voltage_at_current_density_v(0.0, ONE_SUN)
    return np.concatenate([first, second, [voc_v]])


def _changed(value: float) -> float:
    return value * 1.3 if value != 0 else 0.1


@pytest.mark.parametrize("field", [f for f in SolarCellDevice.model_fields if f != "kind"])
def test_every_solar_cell_field_reaches_the_physics(field: str) -> None:
    base = SolarCellDevice(**ACTIVE_CELL)
    changed = base.model_copy(update={field: _changed(getattr(base, field))})
    changed = SolarCellDevice.model_validate(changed.model_dump())  # still in range
    before, after = _cell_observables(base), _cell_observables(changed)
    assert np.all(np.isfinite(before)) and np.all(np.isfinite(after))
    assert np.max(np.abs(after - before)) > 1e-9 * np.max(np.abs(before)), field


#: A single-carrier device with mobile ions, so that the ion fields matter too.
ACTIVE_SCLC: dict[str, Any] = {"ion_density_cm3": 4e15, "ion_tau_s": 2.0}


def _sclc_observables(params: SingleCarrierDevice) -> np.ndarray:
    """Currents [A] of the settled-free curve, then of a DC staircase (the ions follow)."""
    device = physics.SingleCarrierDevice(params)
    voltages_v = np.geomspace(0.01, 20.0, 30)
    current_a = -np.asarray(device.current_density_a_cm2(voltages_v)) * device.area_cm2
    swept_a = -device.staircase(voltages_v, 0.05, 0.1) * device.area_cm2
    return np.concatenate([current_a, swept_a, [device.minimum_apparent_trap_density_cm3]])


@pytest.mark.parametrize("field", [f for f in SingleCarrierDevice.model_fields if f != "kind"])
def test_every_single_carrier_field_reaches_the_physics(field: str) -> None:
    base = SingleCarrierDevice(**ACTIVE_SCLC)
    changed = SingleCarrierDevice.model_validate(
        {**base.model_dump(), field: _changed(getattr(base, field))})
    before, after = _sclc_observables(base), _sclc_observables(changed)
    relative = np.abs(after - before) / np.abs(before)
    assert np.max(relative) > 1e-6, field


@pytest.mark.parametrize("field", list(PhotodiodeSim.model_fields))
def test_every_photodiode_field_reaches_the_physics(field: str) -> None:
    base = PhotodiodeSim()
    changed = PhotodiodeSim.model_validate({**base.model_dump(), field: _changed(getattr(base,
                                                                                      field))})
    voltages_v = np.array([-1.0, 0.0, 0.3, 0.5])

    def currents(params: PhotodiodeSim) -> np.ndarray:
        diode = physics.Photodiode(responsivity_a_per_w=0.45, area_mm2=13.0, params=params)
        return np.asarray(diode.current_a(voltages_v, 0.0))

    assert np.max(np.abs(currents(changed) - currents(base))) > 1e-15, field


def test_the_bench_hands_the_validated_models_to_the_physics() -> None:
    station = StationConfig.model_validate({
        "station": "params",
        "instruments": {
            "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
            "smu_b": {"driver": "keithley2400", "resource": "GPIB0::25::INSTR"},
            "ref_smu": {"driver": "keithley2450",
                        "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
            "photodiode": {"driver": "smu_photodiode", "smu": "ref_smu",
                           "responsivity_a_per_w": 0.45, "area_mm2": 13},
        },
        "simulation": {
            "devices": {"smu": {"kind": "solar_cell", "ion_tau_s": 0.0, "ion_amplitude": 0.1},
                        "smu_b": {"kind": "single_carrier", "thickness_nm": 300.0}},
            "photodiode": {"dark_current_a": 2e-9},
        },
    })
    bench = Bench(station)
    sim = station.simulation
    assert sim.devices is not None
    assert bench.duts["smu"].params is sim.devices["smu"]
    assert bench.duts["smu_b"].params is sim.devices["smu_b"]
    assert bench.duts["ref_smu"].params is sim.photodiode
    assert bench.duts["ref_smu"].dark_current_a == 2e-9


def test_ion_tau_zero_is_accepted_and_means_ions_follow_at_once() -> None:
    cell = physics.SolarCell(SolarCellDevice(ion_tau_s=0.0, ion_amplitude=0.3))
    cell.hold(0.5, 1e-3, ONE_SUN)
    assert cell.ion_memory_v == 0.5
    j = cell.staircase(np.array([0.9, 0.2]), 0.0, 0.01, ONE_SUN)
    steady = cell.steady_state_current_density_a_cm2(np.array([0.9, 0.2]), ONE_SUN)
    # at the reading the ions still sit at the previous step's voltage (settle 0 s) ...
    assert j[0] != pytest.approx(steady[0], rel=1e-6)
    # ... and a settle time of any length makes them follow exactly
    j_settled = cell.staircase(np.array([0.9, 0.2]), 1e-6, 0.01, ONE_SUN)
    np.testing.assert_allclose(j_settled, steady, rtol=1e-12)


def _station_file(tmp_path: Path, device: dict[str, Any] | None = None,
                  photodiode: dict[str, Any] | None = None) -> Path:
    simulation: dict[str, Any] = {}
    if device is not None:
        simulation["device"] = device
    if photodiode is not None:
        simulation["photodiode"] = photodiode
    data = {"station": "ranges",
            "instruments": {"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"}},
            "simulation": simulation}
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


OUT_OF_RANGE_CELL = [
    ("area_cm2", 0.0), ("area_cm2", 2000.0), ("jph_ma_cm2", -1.0), ("jph_ma_cm2", 150.0),
    ("j0_ma_cm2", 0.0), ("j0_ma_cm2", 1.0), ("ideality", 0.2), ("ideality", 11.0),
    ("rs_ohm_cm2", -0.1), ("rsh_ohm_cm2", 0.0), ("rsh_ohm_cm2", math.nan),
    ("temperature_k", 0.0), ("temperature_k", 600.0), ("ion_tau_s", -1.0),
    ("ion_amplitude", -0.1), ("ion_amplitude", 1.5), ("burn_in_fraction", 1.2),
    ("burn_in_tau_h", 0.0), ("loss_pct_per_1000h", -1.0), ("dark_recovery_fraction", 2.0),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE_CELL)
def test_out_of_range_cell_values_are_refused_on_load(tmp_path: Path, field: str,
                                                      value: float) -> None:
    path = _station_file(tmp_path, device={"kind": "solar_cell", field: value})
    with pytest.raises(InputError) as caught:
        load_station(path)
    assert caught.value.field == f"simulation.device.{field}", str(caught.value)


OUT_OF_RANGE_SCLC = [
    ("thickness_nm", 0.0), ("eps_r", -3.0), ("mobility_cm2_vs", 0.0),
    ("trap_density_cm3", -1.0), ("conductivity_s_cm", -1e-9), ("temperature_k", 501.0),
    ("area_cm2", -1.0),
]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE_SCLC)
def test_out_of_range_single_carrier_values_are_refused_on_load(tmp_path: Path, field: str,
                                                                value: float) -> None:
    path = _station_file(tmp_path, device={"kind": "single_carrier", field: value})
    with pytest.raises(InputError) as caught:
        load_station(path)
    assert caught.value.field == f"simulation.device.{field}", str(caught.value)


@pytest.mark.parametrize(("field", "value"), [("dark_current_a", -1e-9),
                                              ("saturation_current_a", 0.0),
                                              ("temperature_k", -5.0)])
def test_out_of_range_photodiode_values_are_refused_on_load(tmp_path: Path, field: str,
                                                            value: float) -> None:
    path = _station_file(tmp_path, photodiode={field: value})
    with pytest.raises(InputError) as caught:
        load_station(path)
    assert caught.value.field == f"simulation.photodiode.{field}", str(caught.value)


def test_in_range_edges_load(tmp_path: Path) -> None:
    device = {"kind": "solar_cell", "ion_tau_s": 0.0, "rs_ohm_cm2": 0.0, "rsh_ohm_cm2": math.inf,
              "jph_ma_cm2": 0.0, "burn_in_fraction": 1.0}
    station = load_station(_station_file(tmp_path, device=device))
    assert station.simulation.device == SolarCellDevice(**device)
