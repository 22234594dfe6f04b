"""SCLC analysis (docs/methods.md §5): V_TFL, N_trap and the Mott-Gurney mobility from curves
of the simulated device's construction, the reported values reproduced, warnings for curves
the method cannot read, and one batch call for many curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labctl.analysis.sclc import (
    REGIME_CHILD,
    REGIME_OHMIC,
    REGIME_TRAP_FILLING,
    disagreement_warnings,
    minimum_trap_density_cm3,
    sclc_analysis,
    sclc_metrics,
    trap_density_cm3,
)
from labctl.sim.physics import SingleCarrierDevice
from labctl.station.simulation import SingleCarrierDevice as Params

VOLTAGES_V = np.geomspace(1e-3, 5.0, 75)

#: The reported pairs (docs/methods.md §5.4) imply eps_r/L^2 = N*q/(2*eps0*V_TFL)
#: = 1.229e10 cm^-2 for both; at L = 500 nm that is eps_r = 30.72.
REPORTED_THICKNESS_NM, REPORTED_EPS_R = 500.0, 30.72


def _curve(**params: float) -> tuple[np.ndarray, SingleCarrierDevice]:
    device = SingleCarrierDevice(Params(**params))
    return np.asarray(device.sclc_current_density_a_cm2(VOLTAGES_V)), device


@pytest.mark.parametrize(("v_tfl_v", "n_trap_cm3", "mobility_cm2_vs"), [
    (0.24, 3.26e15, 0.73e-4), (0.14, 1.9e15, 2.85e-4)])
def test_the_reported_values_are_reproduced(v_tfl_v: float, n_trap_cm3: float,
                                            mobility_cm2_vs: float) -> None:
    assert float(trap_density_cm3(v_tfl_v, REPORTED_THICKNESS_NM, REPORTED_EPS_R)) == \
        pytest.approx(n_trap_cm3, rel=0.01)
    j, device = _curve(thickness_nm=REPORTED_THICKNESS_NM, eps_r=REPORTED_EPS_R,
                       trap_density_cm3=n_trap_cm3, mobility_cm2_vs=mobility_cm2_vs,
                       conductivity_s_cm=1e-10)
    assert device.v_tfl_v == pytest.approx(v_tfl_v, rel=0.01)
    metrics, warnings = sclc_metrics(VOLTAGES_V, j, thickness_nm=REPORTED_THICKNESS_NM,
                                     eps_r=REPORTED_EPS_R)
    assert metrics["v_tfl_v"] == pytest.approx(v_tfl_v, rel=0.02)
    assert metrics["n_trap_cm3"] == pytest.approx(n_trap_cm3, rel=0.02)
    assert metrics["mobility_cm2_vs"] == pytest.approx(mobility_cm2_vs, rel=0.02)
    # N_trap / N_t,min = q V_TFL / (2 pi^2 kT): 0.47 and 0.28, an artefact warning
    assert any("minimum apparent trap density" in w for w in warnings)


@pytest.mark.parametrize("params", [
    {}, {"trap_density_cm3": 3e15, "thickness_nm": 1000},
    {"mobility_cm2_vs": 1e-2, "thickness_nm": 2000, "trap_density_cm3": 5e14},
], ids=["default", "thick", "fast"])
def test_the_device_parameters_come_back(params: dict) -> None:
    j, device = _curve(**params)
    thickness_nm = params.get("thickness_nm", 500.0)
    result = sclc_analysis(VOLTAGES_V * 4, np.asarray(device.sclc_current_density_a_cm2(
        VOLTAGES_V * 4)), thickness_nm=thickness_nm, eps_r=30.0)
    assert float(result.v_tfl_v) == pytest.approx(device.v_tfl_v, rel=0.1)
    assert float(result.n_trap_cm3) == pytest.approx(device.params.trap_density_cm3, rel=0.1)
    assert float(result.mobility_cm2_vs) == pytest.approx(device.params.mobility_cm2_vs,
                                                          rel=0.03)
    regimes = set(np.asarray(result.regime).tolist())
    assert {REGIME_OHMIC, REGIME_TRAP_FILLING, REGIME_CHILD} <= regimes
    assert float(result.n_trap_min_cm3) == pytest.approx(
        device.minimum_apparent_trap_density_cm3, rel=1e-6)


def test_either_sign_order_and_polarity_give_the_same_numbers() -> None:
    j, _ = _curve()
    base, _ = sclc_metrics(VOLTAGES_V, j, thickness_nm=500, eps_r=30)
    for v, jj in ((VOLTAGES_V, -j), (VOLTAGES_V[::-1], j[::-1]), (-VOLTAGES_V, -j)):
        metrics, warnings = sclc_metrics(v, jj, thickness_nm=500, eps_r=30)
        assert metrics["v_tfl_v"] == pytest.approx(base["v_tfl_v"], rel=1e-9)
        assert metrics["mobility_cm2_vs"] == pytest.approx(base["mobility_cm2_vs"], rel=1e-9)
    _, warnings = sclc_metrics(VOLTAGES_V, -j, thickness_nm=500, eps_r=30)
    assert any("photovoltaic" in w for w in warnings)


def test_a_batch_call_agrees_with_single_curves() -> None:
    rng = np.random.default_rng(3)
    densities = rng.uniform(8e15, 3e16, 6)
    curves = np.stack([_curve(trap_density_cm3=n)[0] for n in densities])
    curves[2, :5] = np.nan                                     # a shorter curve
    batch = sclc_analysis(np.tile(VOLTAGES_V, (6, 1)), curves, thickness_nm=500, eps_r=30)
    assert batch.v_tfl_v.shape == (6,)
    for k in range(6):
        one = sclc_analysis(VOLTAGES_V, curves[k], thickness_nm=500, eps_r=30)
        assert float(one.n_trap_cm3) == pytest.approx(batch.n_trap_cm3[k], rel=1e-12)
    assert np.allclose(batch.n_trap_cm3, densities, rtol=0.1)


def test_noisy_shunted_and_trap_free_curves_warn_and_never_crash() -> None:
    j, _ = _curve()
    rng = np.random.default_rng(7)
    noisy = j * (1 + 0.02 * rng.standard_normal(j.shape))
    metrics, _ = sclc_metrics(VOLTAGES_V, noisy, thickness_nm=500, eps_r=30)
    assert metrics["n_trap_cm3"] == pytest.approx(1e16, rel=0.2)
    assert metrics["mobility_cm2_vs"] == pytest.approx(1e-3, rel=0.25)
    shunted = j + 0.2 * VOLTAGES_V                            # a 5 Ω·cm² shunt
    metrics, warnings = sclc_metrics(VOLTAGES_V, shunted, thickness_nm=500, eps_r=30)
    assert math.isnan(metrics["v_tfl_v"]) and any("slope > 2" in w for w in warnings)
    trap_free, _ = _curve(trap_density_cm3=0.0)
    metrics, warnings = sclc_metrics(VOLTAGES_V, trap_free, thickness_nm=500, eps_r=30)
    assert math.isnan(metrics["n_trap_cm3"]) and any("slope > 2" in w for w in warnings)
    assert metrics["mobility_cm2_vs"] == pytest.approx(1e-3, rel=0.03)
    ohmic_only = 1e-6 * VOLTAGES_V
    metrics, warnings = sclc_metrics(VOLTAGES_V, ohmic_only, thickness_nm=500, eps_r=30)
    assert math.isnan(metrics["mobility_cm2_vs"]) and any("no Child region" in w
                                                          for w in warnings)
    for junk in (np.zeros_like(j), np.full_like(j, np.nan), rng.standard_normal(j.shape)):
        metrics, warnings = sclc_metrics(VOLTAGES_V, junk, thickness_nm=500, eps_r=30)
        assert warnings


def test_a_built_in_voltage_is_taken_off_before_the_child_fit() -> None:
    j, _ = _curve(trap_density_cm3=0.0)
    shifted_v = VOLTAGES_V + 0.3                              # the same J at V + V_bi
    without = sclc_metrics(shifted_v, j, thickness_nm=500, eps_r=30)[0]["mobility_cm2_vs"]
    corrected = sclc_metrics(shifted_v, j, thickness_nm=500, eps_r=30,
                             built_in_v=0.3)[0]["mobility_cm2_vs"]
    assert corrected == pytest.approx(1e-3, rel=0.03)
    assert abs(without / 1e-3 - 1) > abs(corrected / 1e-3 - 1)


def test_disagreeing_sweeps_warn() -> None:
    assert disagreement_warnings({"dc": {"v_tfl_v": 0.5}, "pulsed": {"v_tfl_v": 0.75}})
    assert not disagreement_warnings({"dc": {"v_tfl_v": 0.7}, "pulsed": {"v_tfl_v": 0.75}})
    assert not disagreement_warnings({"dc": {"v_tfl_v": math.nan}, "up": {"v_tfl_v": 1.0}})
    assert float(minimum_trap_density_cm3(500, 30)) == pytest.approx(6.73e15, rel=0.01)
