"""The simulated single-carrier device's optional mobile ions (docs/simulation.md §4): none
changes nothing; settled ions lower the V_TFL a DC sweep sees, with up/down hysteresis; a
short pulse from a 0 V rest sees the true one; the state survives a resume of the bench."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.runner import Runner
from labctl.sim.bench import STATE_FILE_NAME, bench_for, forget_benches, read_state_file
from labctl.sim.physics import SingleCarrierDevice
from labctl.station.simulation import SingleCarrierDevice as Params

VOLTAGES_V = np.geomspace(0.05, 5.0, 41)


def _steepest_v(voltages_v: np.ndarray, j: np.ndarray) -> float:
    slope = np.gradient(np.log(np.abs(j)), np.log(voltages_v))
    return float(voltages_v[np.argmax(slope)])


def test_without_ions_the_device_is_stateless() -> None:
    device = SingleCarrierDevice(Params())
    before = np.asarray(device.current_density_a_cm2(VOLTAGES_V))
    device.hold(3.0, 100.0)
    swept = device.staircase(VOLTAGES_V, 0.05, 0.1)
    assert np.array_equal(swept, before)
    assert np.array_equal(np.asarray(device.current_density_a_cm2(VOLTAGES_V)), before)


def test_settled_ions_lower_the_trap_filled_limit_and_a_rest_restores_it() -> None:
    params = Params(ion_density_cm3=5e15, ion_tau_s=1.0)
    device = SingleCarrierDevice(params)
    true_v = device.v_tfl_v
    assert device.ion_voltage_v == pytest.approx(true_v / 2)       # n_ion = n_t / 2
    fresh = np.asarray(device.current_density_a_cm2(VOLTAGES_V))
    device.hold(2.0, 20.0)                                         # 20 tau at 2 V: settled
    assert device.ion_memory_v == pytest.approx(2.0, abs=1e-6)
    assert float(device.effective_v_tfl_v(1.0)) == pytest.approx(true_v / 2)
    assert float(device.effective_v_tfl_v(-1.0)) == pytest.approx(true_v)  # other polarity
    poled = np.asarray(device.current_density_a_cm2(VOLTAGES_V))
    assert _steepest_v(VOLTAGES_V, poled) < 0.7 * _steepest_v(VOLTAGES_V, fresh)
    device.hold(0.0, 20.0)                                         # rest at 0 V
    assert np.allclose(device.current_density_a_cm2(VOLTAGES_V), fresh, rtol=1e-6)
    device.hold(2.0, 20.0)
    device.float_open_circuit(20.0)                                # open circuit: 0 V too
    assert device.ion_memory_v == pytest.approx(0.0, abs=1e-6)


def test_a_dc_sweep_is_hysteretic_and_a_short_pulse_is_not() -> None:
    device = SingleCarrierDevice(Params(ion_density_cm3=6e15, ion_tau_s=0.3))
    up = device.staircase(VOLTAGES_V, 0.05, 0.07)
    down = device.staircase(VOLTAGES_V[::-1], 0.05, 0.07)[::-1]
    true_v = device.v_tfl_v
    up_v, down_v = _steepest_v(VOLTAGES_V, up), _steepest_v(VOLTAGES_V, down)
    assert down_v < up_v and down_v < 0.75 * true_v               # hysteresis, shifted
    device.reset()
    pulses = []
    for voltage in VOLTAGES_V:                                     # 10 ms pulses, 1 s rests
        device.hold(0.0, 1.0)
        pulses.append(device.staircase([voltage], 0.008, 0.01)[0])
    without_ions = np.asarray(SingleCarrierDevice(Params()).current_density_a_cm2(VOLTAGES_V))
    assert np.max(np.abs(np.asarray(pulses) / without_ions - 1)) < 0.5     # the trap physics
    assert np.max(np.abs(down / without_ions - 1)) > 10.0                  # DC: far from it


def test_the_ion_state_is_saved_with_the_bench(tmp_path: Path,
                                               write_station: Callable[..., Path]) -> None:
    station = write_station(simulation={"device": {"kind": "single_carrier",
                                                   "ion_density_cm3": 5e15, "ion_tau_s": 50.0}})
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "I-1", "area_cm2": 0.09}, "steps": [
        {"sclc": {"thickness_nm": 500, "eps_r": 30, "direction": "forward", "nplc": 0.01,
                  "points_per_decade": 4, "dwell_s": 0.2}}]}))
    summary = Runner(path, station, out_dir=tmp_path / "r", show_progress=False).run()
    assert summary["status"] == "ok", summary.get("error")
    live = bench_for(station).models["smu"].state_dict()
    assert live["ion_memory_v"] > 0.01                             # poled by the sweep
    folder = next((tmp_path / "r").iterdir())
    saved = read_state_file(folder / STATE_FILE_NAME)
    assert saved["models"]["smu"] == live
    forget_benches()                                               # a new process
    fresh = bench_for(station)
    assert fresh.models["smu"].state_dict() != live
    fresh.restore_state(saved)
    assert fresh.models["smu"].state_dict() == live
    with pytest.raises(ValueError, match="single-carrier state"):
        fresh.models["smu"].load_state({})
