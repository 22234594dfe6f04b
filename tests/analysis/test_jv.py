"""Tests of labctl.analysis.jv against an independent implementation of the single-diode model.

Truth comes from pvlib (``pvsystem.singlediode`` for Voc, Isc, Pmp, Vmp; ``pvsystem.i_from_v``
for the curves and, by central differences, for the slopes behind R_s and R_sh), in per-area
units: A/cm^2 and Ohm cm^2 are passed to pvlib as "A" and "Ohm". Curves are sampled on a
10 mV grid from -0.1 to 1.5 V.

Tolerances (issue acceptance, noiseless): Voc 0.5 mV, Jsc 0.05 %, PCE 0.1 % (relative).
With Gaussian noise of 0.01 mA/cm^2 on J: Voc 0.5 mV, Jsc 0.15 %, PCE and FF 0.3 %, R_s 10 %,
about 1.5-2x the largest errors seen over 2,000-4,000 random noisy curves of the same
population (0.30 mV, 0.074 %, 0.19 %, 0.21 %, 4.1 %).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from pvlib import pvsystem

from labctl.analysis.jv import (
    METRIC_NAMES,
    analyze_jv,
    detect_sign_convention,
    fill_factor,
    hysteresis_index,
    hysteresis_index_08voc,
    jv_metrics,
    pce_pct,
    rectify_jv_curve,
)

THERMAL_VOLTAGE_V = 1.380649e-23 * 298.15 / 1.602176634e-19
GRID_V = np.round(np.arange(-0.1, 1.5 + 0.005, 0.01), 10)
NOISE_MA_CM2 = 0.01


def single_diode_population(n_random: int = 48, seed: int = 7) -> dict[str, np.ndarray]:
    """Single-diode parameters [A/cm^2, Ohm cm^2, V] spanning Voc 0.8-1.3 V, FF 0.5-0.85+.

    J0 is chosen from a target Voc and the ideality; four corner cells pin the extremes.
    """
    rng = np.random.default_rng(seed)
    voc_target_v = np.concatenate([rng.uniform(0.8, 1.3, n_random), [0.8, 0.8, 1.3, 1.3]])
    ideality = np.concatenate([rng.uniform(1.0, 2.0, n_random), [2.0, 1.0, 2.0, 1.0]])
    rs_ohm_cm2 = np.concatenate([10 ** rng.uniform(np.log10(0.2), 1.0, n_random),
                                 [11.0, 0.3, 10.0, 0.3]])
    rsh_ohm_cm2 = np.concatenate([10 ** rng.uniform(np.log10(200.0), 5.0, n_random),
                                  [170.0, 5e4, 300.0, 5e4]])
    jph_a_cm2 = np.concatenate([rng.uniform(15.0, 25.0, n_random), [18.0, 22.0, 15.0, 20.0]])
    jph_a_cm2 = jph_a_cm2 * 1e-3
    nvth_v = ideality * THERMAL_VOLTAGE_V
    j0_a_cm2 = jph_a_cm2 / np.expm1(voc_target_v / nvth_v)
    return {"jph": jph_a_cm2, "j0": j0_a_cm2, "rs": rs_ohm_cm2, "rsh": rsh_ohm_cm2,
            "nvth": nvth_v}


def curve_ma_cm2(params: dict[str, np.ndarray], voltage_v: np.ndarray) -> np.ndarray:
    """J [mA/cm^2, photovoltaic sign] from pvlib's i_from_v, one row per cell."""
    current_a_cm2 = pvsystem.i_from_v(
        np.atleast_2d(voltage_v), params["jph"][:, None], params["j0"][:, None],
        params["rs"][:, None], params["rsh"][:, None], params["nvth"][:, None])
    return 1e3 * current_a_cm2


def slope_ma_cm2_per_v(params: dict[str, np.ndarray], voltage_v: np.ndarray) -> np.ndarray:
    """dJ/dV [mA/cm^2 / V] of the exact curves at one voltage per cell (central difference)."""
    step_v = 1e-6
    args = (params["jph"], params["j0"], params["rs"], params["rsh"], params["nvth"])
    high = pvsystem.i_from_v(voltage_v + step_v, *args)
    low = pvsystem.i_from_v(voltage_v - step_v, *args)
    return 1e3 * (high - low) / (2 * step_v)


@pytest.fixture(scope="module")
def population() -> dict[str, np.ndarray]:
    params = single_diode_population()
    exact = pvsystem.singlediode(params["jph"], params["j0"], params["rs"], params["rsh"],
                                 params["nvth"])
    truth = {
        "voc_v": np.asarray(exact["v_oc"]),
        "jsc_ma_cm2": 1e3 * np.asarray(exact["i_sc"]),
        "pmax_mw_cm2": 1e3 * np.asarray(exact["p_mp"]),
        "vmpp_v": np.asarray(exact["v_mp"]),
    }
    truth["ff"] = truth["pmax_mw_cm2"] / (truth["voc_v"] * truth["jsc_ma_cm2"])
    truth["jmpp_ma_cm2"] = truth["pmax_mw_cm2"] / truth["vmpp_v"]
    truth["rs_ohm_cm2"] = -1e3 / slope_ma_cm2_per_v(params, truth["voc_v"])
    truth["rsh_ohm_cm2"] = -1e3 / slope_ma_cm2_per_v(params, np.zeros_like(truth["voc_v"]))
    return {"params": params, "truth": truth, "current": curve_ma_cm2(params, GRID_V)}


def relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(a) / np.asarray(b) - 1.0)


def test_population_spans_the_required_range(population):
    truth = population["truth"]
    assert truth["voc_v"].min() < 0.81 and truth["voc_v"].max() > 1.28
    assert truth["ff"].min() < 0.52 and truth["ff"].max() > 0.85
    assert np.all(truth["voc_v"] < GRID_V[-1] - 0.1)  # every curve crosses J = 0 in the scan


def test_noiseless_accuracy(population):
    truth = population["truth"]
    result = analyze_jv(GRID_V, population["current"])
    assert np.max(np.abs(result.voc_v - truth["voc_v"])) < 0.5e-3
    assert np.max(relative(result.jsc_ma_cm2, truth["jsc_ma_cm2"])) < 0.05e-2
    assert np.max(relative(result.pce_pct, truth["pmax_mw_cm2"])) < 0.1e-2  # 100 mW/cm^2
    assert np.max(relative(result.pmax_mw_cm2, truth["pmax_mw_cm2"])) < 0.1e-2
    assert np.max(relative(result.ff, truth["ff"])) < 0.1e-2
    assert np.max(np.abs(result.vmpp_v - truth["vmpp_v"])) < 1e-3
    assert np.max(relative(result.jmpp_ma_cm2, truth["jmpp_ma_cm2"])) < 0.2e-2
    assert all(w == [] for w in result.warnings)


def test_noiseless_resistances_are_the_inverse_slopes(population):
    truth = population["truth"]
    result = analyze_jv(GRID_V, population["current"])
    # R_s: the cubic through 4 points follows the exponential at Voc to < 0.5 %
    assert np.max(relative(result.rs_ohm_cm2, truth["rs_ohm_cm2"])) < 0.5e-2
    # R_sh: a quadratic over +-0.1 V; the diode's curvature biases the slope of very large
    # shunts (> 1e4 Ohm cm^2) by up to ~10 %
    moderate = truth["rsh_ohm_cm2"] < 1e4
    assert np.max(relative(result.rsh_ohm_cm2, truth["rsh_ohm_cm2"])[moderate]) < 0.5e-2
    assert np.max(relative(result.rsh_ohm_cm2, truth["rsh_ohm_cm2"])) < 0.15


def test_noisy_accuracy(population):
    truth = population["truth"]
    rng = np.random.default_rng(11)
    noisy = population["current"] + NOISE_MA_CM2 * rng.standard_normal(
        population["current"].shape)
    result = analyze_jv(GRID_V, noisy)
    assert np.max(np.abs(result.voc_v - truth["voc_v"])) < 0.5e-3
    assert np.max(relative(result.jsc_ma_cm2, truth["jsc_ma_cm2"])) < 0.15e-2
    assert np.max(relative(result.pce_pct, truth["pmax_mw_cm2"])) < 0.3e-2
    assert np.max(relative(result.ff, truth["ff"])) < 0.3e-2
    # R_s from a steep slope survives the noise; R_sh of large shunts does not
    assert np.max(relative(result.rs_ohm_cm2, truth["rs_ohm_cm2"])) < 10e-2
    assert not any("photocurrent" in text for w in result.warnings for text in w)


@pytest.mark.parametrize("smu_sign", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_sign_convention_and_direction(population, smu_sign, reverse):
    truth = population["truth"]
    voltage = GRID_V[::-1] if reverse else GRID_V
    current = population["current"][:, ::-1] if reverse else population["current"]
    current = -current if smu_sign else current
    result = analyze_jv(voltage, current)
    reference = analyze_jv(GRID_V, population["current"])
    for name in METRIC_NAMES:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=1e-12)
    assert np.max(np.abs(result.voc_v - truth["voc_v"])) < 0.5e-3
    assert np.all(result.jsc_ma_cm2 > 0)
    expected = "smu" if smu_sign else "photovoltaic"
    assert list(result.sign_convention) == [expected] * truth["voc_v"].size
    assert list(result.scan_direction) == ["reverse" if reverse else "forward"] * truth[
        "voc_v"].size
    if smu_sign:
        assert all(any("SMU sign" in text for text in w) for w in result.warnings)
    else:
        assert all(w == [] for w in result.warnings)


def test_shuffled_points_give_the_same_metrics(population):
    rng = np.random.default_rng(3)
    order = rng.permutation(GRID_V.size)
    current = population["current"][0]
    shuffled = analyze_jv(GRID_V[order], current[order])
    ordered = analyze_jv(GRID_V, current)
    for name in METRIC_NAMES:
        assert shuffled[name] == pytest.approx(ordered[name], rel=1e-12)


def test_forced_sign_convention(population):
    current = population["current"][0]
    forced = analyze_jv(GRID_V, -current, sign_convention="smu")
    automatic = analyze_jv(GRID_V, current)
    assert forced.voc_v == pytest.approx(automatic.voc_v, rel=1e-12)
    assert forced.sign_convention == "smu"
    assert forced.warnings == []  # nothing was assumed
    with pytest.raises(ValueError, match="sign_convention"):
        analyze_jv(GRID_V, current, sign_convention="positive")


def test_detect_sign_convention_light_and_dark():
    params = single_diode_population(n_random=2)
    light = curve_ma_cm2(params, GRID_V)
    dark = curve_ma_cm2({**params, "jph": np.zeros_like(params["jph"])}, GRID_V)
    assert list(detect_sign_convention(GRID_V, light)) == ["photovoltaic"] * 6
    assert list(detect_sign_convention(GRID_V, -light)) == ["smu"] * 6
    assert list(detect_sign_convention(GRID_V, dark)) == ["photovoltaic"] * 6
    assert list(detect_sign_convention(GRID_V, -dark)) == ["smu"] * 6
    assert detect_sign_convention(GRID_V, light[0]) == "photovoltaic"


def test_batch_with_nan_padding_equals_loop(population):
    rng = np.random.default_rng(5)
    currents = population["current"][:12]
    curves = []
    for row, current in enumerate(currents):
        keep = GRID_V.size - 3 * row  # different lengths, all still crossing J = 0
        voltage_v, current_ma_cm2 = GRID_V[:keep], current[:keep]
        if row % 3 == 1:
            voltage_v, current_ma_cm2 = voltage_v[::-1], current_ma_cm2[::-1]
        if row % 4 == 2:
            current_ma_cm2 = -current_ma_cm2
        current_ma_cm2 = current_ma_cm2 + NOISE_MA_CM2 * rng.standard_normal(keep)
        curves.append((voltage_v, current_ma_cm2))
    voltage_batch = np.full((len(curves), GRID_V.size), np.nan)
    current_batch = np.full((len(curves), GRID_V.size), np.nan)
    for row, (voltage_v, current_ma_cm2) in enumerate(curves):
        start = row % 2  # padding at the start of some rows, at the end of all
        voltage_batch[row, start:start + voltage_v.size] = voltage_v
        current_batch[row, start:start + voltage_v.size] = current_ma_cm2
    batch = analyze_jv(voltage_batch, current_batch)
    assert batch.voc_v.shape == (len(curves),)
    for row, (voltage_v, current_ma_cm2) in enumerate(curves):
        single = analyze_jv(voltage_v, current_ma_cm2)
        for name in METRIC_NAMES:
            assert batch[name][row] == pytest.approx(single[name], rel=1e-10, nan_ok=True)
        assert batch.sign_convention[row] == single.sign_convention
        assert batch.scan_direction[row] == single.scan_direction
        assert batch.warnings[row] == single.warnings


def test_voc_beyond_the_scan_gives_nan_and_a_warning(population):
    truth = population["truth"]
    row = int(np.argmax(truth["voc_v"]))  # Voc ~ 1.3 V
    keep = GRID_V <= 0.7
    result = analyze_jv(GRID_V[keep], population["current"][row, keep])
    assert np.isnan(result.voc_v) and np.isnan(result.ff) and np.isnan(result.rs_ohm_cm2)
    assert any("does not cross zero" in text for text in result.warnings)
    assert result.jsc_ma_cm2 == pytest.approx(truth["jsc_ma_cm2"][row], rel=0.05e-2)
    # the largest power is the last point: no maximum inside the scan either
    assert np.isnan(result.pmax_mw_cm2) and np.isnan(result.pce_pct)
    assert any("edge of the scan" in text for text in result.warnings)


@pytest.mark.parametrize("noise_ma_cm2", [0.0, NOISE_MA_CM2])
@pytest.mark.parametrize("smu_sign", [False, True])
def test_dark_curve_gives_nan_and_a_warning(noise_ma_cm2, smu_sign):
    params = single_diode_population(n_random=1)
    dark = curve_ma_cm2({**params, "jph": np.zeros_like(params["jph"])}, GRID_V)
    dark = dark + noise_ma_cm2 * np.random.default_rng(2).standard_normal(dark.shape)
    result = analyze_jv(GRID_V, -dark if smu_sign else dark)
    for name in ("voc_v", "ff", "pce_pct", "pmax_mw_cm2", "vmpp_v", "jmpp_ma_cm2", "rs_ohm_cm2"):
        assert np.all(np.isnan(result[name])), name
    assert all(any("no photocurrent" in text for text in w) for w in result.warnings)
    assert np.all(np.abs(result.jsc_ma_cm2) < 5 * noise_ma_cm2 + 1e-6)
    assert list(result.sign_convention) == ["smu" if smu_sign else "photovoltaic"] * 5


def test_no_v0_in_the_scan_gives_nan_jsc(population):
    truth = population["truth"]
    keep = GRID_V >= 0.1
    result = analyze_jv(GRID_V[keep], population["current"][0, keep])
    assert np.isnan(result.jsc_ma_cm2) and np.isnan(result.ff) and np.isnan(result.rsh_ohm_cm2)
    assert any("V = 0" in text for text in result.warnings)
    assert abs(result.voc_v - truth["voc_v"][0]) < 0.5e-3
    assert result.pmax_mw_cm2 == pytest.approx(truth["pmax_mw_cm2"][0], rel=0.1e-2)


def test_degenerate_curves_never_raise():
    cases = [
        ([], []),
        ([0.1], [1.0]),
        ([0.0, 0.1, 0.2], [1.0, 0.5, -1.0]),
        ([np.nan] * 5, [np.nan] * 5),
        ([0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0, 5.0]),
        ([0.0, 0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 0.0, 0.0]),
    ]
    for voltage_v, current_ma_cm2 in cases:
        result = analyze_jv(np.asarray(voltage_v, dtype=float),
                            np.asarray(current_ma_cm2, dtype=float))
        assert np.isnan(result.voc_v) and np.isnan(result.pce_pct)
        assert result.warnings


def test_local_fit_beats_the_largest_sample(population):
    # on a coarse 50 mV grid the largest sampled power misses Pmax by ~0.3 %; the local fit
    # (a quartic through the five samples around it) by ~0.04 % (medians)
    truth = population["truth"]
    coarse_v = np.round(np.arange(-0.1, 1.5 + 0.025, 0.05), 10)
    current = curve_ma_cm2(population["params"], coarse_v)
    result = analyze_jv(coarse_v, current)
    sampled = np.max(coarse_v * current, axis=1)
    fit_error = relative(result.pmax_mw_cm2, truth["pmax_mw_cm2"])
    sample_error = relative(sampled, truth["pmax_mw_cm2"])
    assert np.median(fit_error) < np.median(sample_error) / 5


def test_definitions_of_ff_and_pce(population):
    result = analyze_jv(GRID_V, population["current"], irradiance_mw_cm2=80.0)
    np.testing.assert_allclose(result.pce_pct, result.pmax_mw_cm2 / 80.0 * 100.0, rtol=1e-14)
    np.testing.assert_allclose(
        result.ff, result.pmax_mw_cm2 / (result.voc_v * result.jsc_ma_cm2), rtol=1e-14)
    np.testing.assert_allclose(result.jmpp_ma_cm2 * result.vmpp_v, result.pmax_mw_cm2,
                               rtol=1e-14)
    assert fill_factor(15.0, 1.0, 20.0) == pytest.approx(0.75)
    assert pce_pct(18.0) == pytest.approx(18.0)
    assert pce_pct(9.0, 50.0) == pytest.approx(18.0)
    assert np.isnan(pce_pct(9.0, 0.0))


def test_irradiance_per_curve_and_invalid(population):
    currents = population["current"][:3]
    result = analyze_jv(GRID_V, currents, irradiance_mw_cm2=[100.0, 50.0, 0.0])
    assert result.pce_pct[1] == pytest.approx(2 * result.pmax_mw_cm2[1] / 100 * 100)
    assert np.isnan(result.pce_pct[2]) and np.isfinite(result.pmax_mw_cm2[2])
    assert any("irradiance" in text for text in result.warnings[2])
    with pytest.raises(ValueError):
        analyze_jv(GRID_V, currents, irradiance_mw_cm2=[100.0, 50.0])


def test_hysteresis_index_known_values():
    assert hysteresis_index(20.0, 18.0) == pytest.approx(0.1)
    assert hysteresis_index(20.0, 21.0) == pytest.approx(-0.05)  # inverted hysteresis
    np.testing.assert_allclose(hysteresis_index([10.0, 20.0], [5.0, 20.0]), [0.5, 0.0])
    assert np.isnan(hysteresis_index(0.0, 1.0))


def test_hysteresis_index_08voc_linear_curves():
    # J_rev = 20 - 10 V, J_fwd = 18 - 10 V: at 0.8 Voc = 0.8 V, 12 and 10 -> (12 - 10) / 12
    voltage_v = np.linspace(-0.1, 1.3, 141)
    reverse_v = voltage_v[::-1]
    value = hysteresis_index_08voc(reverse_v, 20 - 10 * reverse_v, voltage_v,
                                   18 - 10 * voltage_v, voc_v=1.0)
    assert isinstance(value, float)
    assert value == pytest.approx(2.0 / 12.0, rel=1e-12)
    # either sign convention: the SMU sign gives the same index
    smu = hysteresis_index_08voc(reverse_v, -(20 - 10 * reverse_v), voltage_v,
                                 -(18 - 10 * voltage_v), voc_v=1.0)
    assert smu == pytest.approx(2.0 / 12.0, rel=1e-12)
    # 0.8 Voc outside the forward scan -> NaN, no exception
    assert np.isnan(hysteresis_index_08voc(reverse_v, 20 - 10 * reverse_v, voltage_v[:50],
                                           18 - 10 * voltage_v[:50], voc_v=1.0))


def test_hysteresis_index_08voc_single_diode(population):
    params = population["params"]
    truth = population["truth"]
    forward = {**params, "jph": 0.9 * params["jph"]}
    j_reverse = curve_ma_cm2(params, GRID_V)
    j_forward = curve_ma_cm2(forward, GRID_V)
    value = hysteresis_index_08voc(GRID_V[::-1], j_reverse[:, ::-1], GRID_V, j_forward)
    at_v = 0.8 * truth["voc_v"]
    args = [forward[key] for key in ("jph", "j0", "rs", "rsh", "nvth")]
    exact_forward = 1e3 * pvsystem.i_from_v(at_v, *args)
    args = [params[key] for key in ("jph", "j0", "rs", "rsh", "nvth")]
    exact_reverse = 1e3 * pvsystem.i_from_v(at_v, *args)
    expected = (exact_reverse - exact_forward) / exact_reverse
    assert value.shape == truth["voc_v"].shape
    np.testing.assert_allclose(value, expected, atol=2e-4)


def test_one_dimensional_input_gives_scalars(population):
    current = population["current"][0]
    result = analyze_jv(GRID_V, current)
    for name in METRIC_NAMES:
        assert isinstance(result[name], float)
    assert isinstance(result.sign_convention, str)
    assert isinstance(result.warnings, list)
    batch = analyze_jv(GRID_V[None, :], current[None, :])
    for name in METRIC_NAMES:
        assert batch[name].shape == (1,)
        assert batch[name][0] == pytest.approx(result[name], rel=1e-12)
    assert set(result.metrics()) == set(METRIC_NAMES)
    with pytest.raises(KeyError):
        result["not_a_metric"]


def test_jv_metrics_plain_floats_for_summary(population):
    truth = population["truth"]
    metrics, warnings = jv_metrics(list(GRID_V), list(-population["current"][1]))
    assert list(metrics) == list(METRIC_NAMES)
    assert all(type(value) is float for value in metrics.values())
    assert metrics["pce_pct"] == pytest.approx(truth["pmax_mw_cm2"][1], rel=0.1e-2)
    assert any("SMU sign" in text for text in warnings)
    json.dumps({"metrics": metrics, "warnings": warnings})
    with pytest.raises(ValueError):
        jv_metrics(GRID_V[None, :], population["current"][:1])


def test_rectify_merges_duplicates_and_drops_nan():
    voltage_v, current_ma_cm2 = rectify_jv_curve(
        [0.2, 0.0, np.nan, 0.1, 0.1, 0.3], [1.0, 3.0, 5.0, 2.0, 4.0, np.nan])
    np.testing.assert_array_equal(voltage_v, [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(current_ma_cm2, [3.0, 3.0, 1.0])
    voltage_v, _ = rectify_jv_curve([0.1001, 0.0999, 0.2], [1.0, 2.0, 3.0], decimals=2)
    np.testing.assert_array_equal(voltage_v, [0.1, 0.2])


def test_duplicate_voltages_are_averaged_in_the_analysis(population):
    current = population["current"][0]
    doubled_v = np.concatenate([GRID_V, GRID_V])
    doubled_j = np.concatenate([current + 0.5, current - 0.5])  # mean is the clean curve
    both = analyze_jv(doubled_v, doubled_j)
    clean = analyze_jv(GRID_V, current)
    for name in METRIC_NAMES:
        assert both[name] == pytest.approx(clean[name], rel=1e-9)
    batch = analyze_jv(np.vstack([doubled_v, doubled_v]), np.vstack([doubled_j, doubled_j]))
    assert batch.voc_v[1] == pytest.approx(clean.voc_v, rel=1e-12)
