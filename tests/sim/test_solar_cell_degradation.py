"""Series-resistance and J0 growth of the simulated cell, its state across a resume, and the
fast steady-state maximum power point."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labctl.sim.physics import SolarCell
from labctl.station.simulation import SolarCellDevice

SUN = 100.0


def test_rs_and_j0_growth_equal_a_fresh_cell_with_the_grown_values():
    cell = SolarCell(SolarCellDevice(rs_growth_ohm_cm2_per_h=1.5, j0_growth_per_h=0.4))
    cell.hold(1.0, 2 * 3600.0, SUN)  # 2 sun h
    grown = SolarCell(SolarCellDevice(rs_ohm_cm2=3.0 + 3.0, j0_ma_cm2=1e-12 * math.exp(0.8)))
    v = np.linspace(0.0, 1.1, 23)
    np.testing.assert_allclose(cell.steady_state_current_density_a_cm2(v, SUN),
                               grown.steady_state_current_density_a_cm2(v, SUN), rtol=1e-12)
    assert cell.series_resistance_ohm_cm2 == pytest.approx(6.0)


def test_degradation_keys_move_vmpp_by_more_than_30_mv():
    cell = SolarCell(SolarCellDevice(rs_growth_ohm_cm2_per_h=2.0, j0_growth_per_h=0.5))
    fresh_vmpp = cell.steady_state_mpp(SUN)[0]
    cell.hold(0.95, 3600.0, SUN)
    aged_vmpp, _, aged_pmax = cell.steady_state_mpp(SUN)
    assert fresh_vmpp - aged_vmpp > 0.030
    # Independent check of the maximum: a dense grid of the steady-state curve.
    v = np.linspace(aged_vmpp - 0.01, aged_vmpp + 0.01, 20001)
    p = v * cell.steady_state_current_density_a_cm2(v, SUN)
    assert float(v[np.argmax(p)]) == pytest.approx(aged_vmpp, abs=2e-6)
    assert float(p.max()) == pytest.approx(aged_pmax, rel=1e-9)


def test_warm_started_mpp_matches_a_cold_solution():
    params = SolarCellDevice(rs_growth_ohm_cm2_per_h=1.0, j0_growth_per_h=0.3)
    warm = SolarCell(params)
    for _ in range(50):
        warm.hold(0.9, 60.0, SUN)
        warm.steady_state_mpp(SUN)
    cold = SolarCell(params)
    cold.load_state(warm.state_dict())
    assert warm.steady_state_mpp(SUN) == pytest.approx(cold.steady_state_mpp(SUN), rel=1e-12)
    assert warm.steady_state_mpp(0.0) == (0.0, 0.0, 0.0)


def test_state_round_trip_continues_the_cell():
    params = SolarCellDevice(ion_tau_s=30.0, ion_amplitude=0.3, rs_growth_ohm_cm2_per_h=1.0,
                             burn_in_fraction=0.1, burn_in_tau_h=1.0)
    original = SolarCell(params)
    original.hold(0.8, 1800.0, SUN)
    resumed = SolarCell(params)
    resumed.load_state(original.state_dict())
    assert resumed.age_s == 1800.0
    for cell in (original, resumed):
        cell.hold(1.0, 5.0, SUN)
    assert resumed.current_density_a_cm2(1.0, SUN) == original.current_density_a_cm2(1.0, SUN)
    assert resumed.state_dict() == original.state_dict()
    legacy = {k: v for k, v in original.state_dict().items() if k != "age_s"}
    resumed.load_state(legacy)  # a state saved before age_s existed
    assert resumed.age_s == 0.0
    with pytest.raises(ValueError):
        resumed.load_state({"ion_memory_v": 0.1})
