"""Tests of labctl.sim.physics: the pure device models of the simulated bench.

Expected values come from pvlib (single diode), from the closed-form laws (SCLC, photodiode,
lamp) and from the worked numbers of docs/simulation.md §2. Tolerances are
stated at each assertion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pvlib.pvsystem import i_from_v, singlediode, v_from_i

from labctl.sim.physics import (
    VACUUM_PERMITTIVITY_F_CM,
    ArcLamp,
    DeviceModel,
    Photodiode,
    SingleCarrierDevice,
    SingleCarrierParams,
    SolarCell,
    SolarCellParams,
    diode_current_density_a_cm2,
    diode_voltage_v,
    open_circuit_voltage_v,
    thermal_voltage_v,
)

T_K = 298.15
VT_V = 1.380649e-23 * T_K / 1.602176634e-19
ONE_SUN = 100.0

RS_GRID = [0.0, 1e-3, 0.5, 3.0, 30.0]
RSH_GRID = [10.0, 300.0, 3000.0, 1e6, np.inf]
IDEALITY_GRID = [1.0, 1.5, 2.2]
J0_GRID = [1e-18, 1e-15, 1e-12, 1e-9]
JPH_GRID = [0.0, 1e-4, 0.0198, 0.04]


def _parameter_grid():
    for n in IDEALITY_GRID:
        for j0 in J0_GRID:
            for jph in JPH_GRID:
                yield n, j0, jph


# --------------------------------------------------------------------------------------------
# Closed-form single diode against pvlib
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rsh", RSH_GRID)
@pytest.mark.parametrize("rs", RS_GRID)
def test_current_matches_pvlib_i_from_v(rs, rsh):
    """J(V) agrees with pvlib.pvsystem.i_from_v to 1e-9 relative or 1e-15 A/cm^2 absolute,
    from -5 V (reverse) to 1.6 V (forward, past Voc) over n, J0 and Jph grids."""
    voltage_v = np.linspace(-5.0, 1.6, 331)
    for n, j0, jph in _parameter_grid():
        expected = i_from_v(voltage_v, jph, j0, rs, rsh, n * VT_V)
        assert np.all(np.isfinite(expected))
        got = diode_current_density_a_cm2(voltage_v, jph, j0, n, rs, rsh, T_K)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15,
                                   err_msg=f"n={n} j0={j0} jph={jph}")


@pytest.mark.parametrize("rsh", RSH_GRID)
@pytest.mark.parametrize("rs", RS_GRID)
def test_voltage_matches_pvlib_v_from_i(rs, rsh):
    """V(J) agrees with pvlib.pvsystem.v_from_i to 1e-9 relative.

    The absolute floor is pvlib's own rounding: its eq. 3 subtracts two terms of size
    (Jph + J0 - J)*Rsh, so it carries an error of a few eps times that (5e-12 V at
    Rsh = 1e6 Ohm cm^2); this module avoids the subtraction (see the longdouble test below).
    """
    for n, j0, jph in _parameter_grid():
        top = jph + 0.9 * j0 if np.isinf(rsh) else jph + 0.05
        current = np.linspace(-0.1, top, 201)
        expected = v_from_i(current, jph, j0, rs, rsh, n * VT_V)
        assert np.all(np.isfinite(expected))
        got = diode_voltage_v(current, jph, j0, n, rs, rsh, T_K)
        pvlib_rounding_v = 0.0 if np.isinf(rsh) else 8 * np.finfo(float).eps * np.abs(
            (jph + j0 - current) * rsh)
        assert np.all(np.abs(got - expected) <= 1e-9 * np.abs(expected) + pvlib_rounding_v
                      + 1e-15), f"n={n} j0={j0} jph={jph}"


def test_voltage_is_exact_where_pvlib_rounds():
    """At Rsh = 1e6 the implicit equation, evaluated in extended precision, holds for our V
    to 1e-15 V, while pvlib's V is off by 3e-12 V (cancellation in its eq. 3)."""
    rs, rsh, n, j0, jph, j = 30.0, 1e6, 1.0, 1e-9, 0.04, 0.01495
    a = n * VT_V

    def voltage_error_v(v):
        ld = np.longdouble
        vd = ld(v) + ld(j) * ld(rs)
        residual = ld(jph) - ld(j0) * np.expm1(vd / ld(a)) - vd / ld(rsh) - ld(j)
        conductance = ld(j0) / ld(a) * np.exp(vd / ld(a)) + 1 / ld(rsh)
        return abs(float(residual / conductance))

    assert voltage_error_v(diode_voltage_v(j, jph, j0, n, rs, rsh, T_K)) < 1e-15
    assert voltage_error_v(v_from_i(j, jph, j0, rs, rsh, a)) > 1e-13


@pytest.mark.parametrize("rsh", [300.0, 3000.0, np.inf])
def test_large_forward_bias_uses_log_space(rsh):
    """Up to 50 V forward the Lambert-W argument overflows (exp(1300)); pvlib's i_from_v
    returns NaN above ~27 V. Our J is finite, and pvlib's v_from_i (which handles overflow)
    maps it back to V to 1e-12 relative; at such bias J -> -(V - Vdiode)/Rs."""
    voltage_v = np.array([2.0, 10.0, 27.0, 30.0, 40.0, 50.0])
    jph, j0, n, rs = 0.0198, 1e-15, 1.5, 3.0
    j = diode_current_density_a_cm2(voltage_v, jph, j0, n, rs, rsh, T_K)
    assert np.all(np.isfinite(j))
    np.testing.assert_allclose(v_from_i(j, jph, j0, rs, rsh, n * VT_V), voltage_v, rtol=1e-12)
    np.testing.assert_allclose(diode_voltage_v(j, jph, j0, n, rs, rsh, T_K), voltage_v,
                               rtol=1e-13)
    assert j[-1] == pytest.approx(-(50.0 - 1.5) / rs, rel=0.02)


@pytest.mark.parametrize("rsh", [300.0, 3000.0, np.inf])
def test_large_reverse_bias_matches_pvlib(rsh):
    """Down to -50 V the W argument underflows to 0; pvlib agrees (1e-12 relative)."""
    voltage_v = np.array([-50.0, -20.0, -5.0])
    jph, j0, n, rs = 0.0198, 1e-15, 1.5, 3.0
    expected = i_from_v(voltage_v, jph, j0, rs, rsh, n * VT_V)
    got = diode_current_density_a_cm2(voltage_v, jph, j0, n, rs, rsh, T_K)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_voltage_without_shunt_diverges_past_reverse_limit():
    """With Rsh = inf no voltage carries J >= Jph + J0: -inf (the SMU would hit compliance)."""
    v = diode_voltage_v(np.array([0.0198, 0.02, 0.5]), 0.0198, 1e-12, 1.5, 3.0, np.inf, T_K)
    assert v[0] == pytest.approx(-0.0198 * 3.0, abs=1e-12)
    assert np.all(np.isneginf(v[1:]))


def test_scalar_inputs_give_floats():
    j = diode_current_density_a_cm2(0.5, 0.0198, 1e-15, 1.5, 3.0, 3000.0)
    v = diode_voltage_v(0.0, 0.0198, 1e-15, 1.5, 3.0, 3000.0)
    assert isinstance(j, float) and isinstance(v, float)
    assert thermal_voltage_v(T_K) == pytest.approx(VT_V, rel=1e-15)


def test_open_circuit_voltage_matches_pvlib():
    got = open_circuit_voltage_v([0.0, 0.0198, 0.04], 1e-15, 1.5, 3.0, 3000.0, T_K)
    expected = v_from_i(0.0, np.array([0.0, 0.0198, 0.04]), 1e-15, 3.0, 3000.0, 1.5 * VT_V)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert got[0] == 0.0


# --------------------------------------------------------------------------------------------
# Solar cell: parameters, steady state
# --------------------------------------------------------------------------------------------


def test_params_defaults_are_the_design_example():
    p = SolarCellParams()
    assert (p.area_cm2, p.jph_ma_cm2, p.j0_ma_cm2, p.ideality, p.rs_ohm_cm2, p.rsh_ohm_cm2,
            p.temperature_k, p.ion_tau_s, p.ion_amplitude) == (
        0.09, 19.8, 1.0e-12, 1.5, 3.0, 3000.0, 298.15, 5.0, 0.0)
    assert (p.burn_in_fraction, p.burn_in_tau_h, p.loss_pct_per_1000h,
            p.dark_recovery_fraction) == (0.0, 100.0, 0.0, 0.0)
    assert tuple(SolarCellParams.model_fields)[1:10] == (
        "area_cm2", "jph_ma_cm2", "j0_ma_cm2", "ideality", "rs_ohm_cm2", "rsh_ohm_cm2",
        "temperature_k", "ion_tau_s", "ion_amplitude")
    with pytest.raises(ValueError, match="rs_ohm_cm2"):
        SolarCellParams(rs_ohm_cm2=-1.0)
    with pytest.raises(ValueError, match="burn_in_fraction"):
        SolarCellParams(burn_in_fraction=1.5)


def test_photocurrent_is_proportional_to_irradiance():
    cell = SolarCell()
    assert cell.jph_a_cm2(ONE_SUN) == pytest.approx(19.8e-3, rel=1e-15)
    assert cell.jph_a_cm2(25.0) == pytest.approx(19.8e-3 / 4, rel=1e-15)
    assert cell.jph_a_cm2(0.0) == 0.0


@pytest.mark.parametrize("irradiance", [1.0, 30.0, 100.0, 150.0])
def test_steady_state_mpp_matches_pvlib(irradiance):
    """steady_state_mpp against pvlib.pvsystem.singlediode (rtol 1e-6 on p_mp and v_mp)."""
    cell = SolarCell()
    vmpp, jmpp, pmax = cell.steady_state_mpp(irradiance)
    ref = singlediode(19.8e-3 * irradiance / 100, 1e-15, 3.0, 3000.0, 1.5 * VT_V)
    assert pmax == pytest.approx(float(ref["p_mp"]), rel=1e-6)
    assert vmpp == pytest.approx(float(ref["v_mp"]), rel=1e-6)
    assert pmax == pytest.approx(vmpp * jmpp, rel=1e-15)
    # a true maximum: neighbouring voltages give less power
    for dv in (-1e-4, 1e-4):
        assert (vmpp + dv) * cell.steady_state_current_density_a_cm2(vmpp + dv, irradiance) < pmax


def test_steady_state_mpp_dark_is_zero():
    assert SolarCell().steady_state_mpp(0.0) == (0.0, 0.0, 0.0)


def test_voc_at_zero_amplitude_matches_pvlib():
    """voltage_at_current_density_v(0) with a = 0 is pvlib's Voc (1e-12 relative)."""
    cell = SolarCell()
    expected = v_from_i(0.0, 19.8e-3, 1e-15, 3.0, 3000.0, 1.5 * VT_V)
    assert cell.voltage_at_current_density_v(0.0, ONE_SUN) == pytest.approx(expected, rel=1e-12)
    assert cell.steady_state_open_circuit_voltage_v(ONE_SUN) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Solar cell: mobile ions
# --------------------------------------------------------------------------------------------


def _ion_cell(amplitude=0.3, tau_s=2.0, **kwargs):
    return SolarCell(SolarCellParams(ion_amplitude=amplitude, ion_tau_s=tau_s, **kwargs))


def test_zero_amplitude_is_exactly_the_steady_curve():
    """a = 0: after any history the instantaneous curve *is* the single-diode curve."""
    cell = _ion_cell(amplitude=0.0)
    voltage_v = np.linspace(-0.5, 1.3, 181)
    cell.float_open_circuit(7.0, ONE_SUN)
    cell.staircase(voltage_v, 0.01, 0.02, ONE_SUN)
    cell.hold(-0.3, 0.4, ONE_SUN)
    instantaneous = cell.current_density_a_cm2(voltage_v, ONE_SUN)
    steady = cell.steady_state_current_density_a_cm2(voltage_v, ONE_SUN)
    assert np.array_equal(instantaneous, steady)
    assert np.array_equal(
        steady, diode_current_density_a_cm2(voltage_v, 19.8e-3, 1e-15, 1.5, 3.0, 3000.0, T_K))


def test_after_a_long_hold_the_current_is_steady():
    """Held 40 tau at a voltage, the current there equals the steady-state one (1e-12)."""
    cell = _ion_cell()
    cell.float_open_circuit(100.0, ONE_SUN)
    for v in (0.2, 0.95, 1.25):
        cell.hold(v, 80.0, ONE_SUN)
        assert cell.ion_memory_v == pytest.approx(v, abs=1e-15)
        assert cell.current_density_a_cm2(v, ONE_SUN) == pytest.approx(
            cell.steady_state_current_density_a_cm2(v, ONE_SUN), rel=1e-12)


def test_zero_tau_ions_follow_at_once():
    """ion_tau_s = 0: s = V at every reading, so even with a = 0.3 a sweep is the steady curve."""
    cell = _ion_cell(amplitude=0.3, tau_s=0.0)
    voltage_v = np.linspace(1.3, -0.1, 141)
    j = cell.staircase(voltage_v, 0.001, 0.002, ONE_SUN)
    np.testing.assert_array_equal(j, cell.steady_state_current_density_a_cm2(voltage_v, ONE_SUN))
    assert cell.ion_memory_v == -0.1


def test_hold_is_the_exact_exponential():
    cell = _ion_cell(tau_s=2.0)
    cell.hold(1.0, 1.0, ONE_SUN)
    assert cell.ion_memory_v == pytest.approx(1.0 - math.exp(-0.5), rel=1e-15)
    cell.hold(1.0, 1.0, ONE_SUN)
    assert cell.ion_memory_v == pytest.approx(1.0 - math.exp(-1.0), rel=1e-15)


def test_collection_efficiency_is_clipped():
    cell = _ion_cell(amplitude=0.3)
    cell.hold(0.5, 1000.0, ONE_SUN)  # s = 0.5 V
    eta = cell.collection_efficiency(np.array([-2.0, 0.0, 0.5, 1.0, 5.0]))
    np.testing.assert_allclose(eta, [1.3, 1.15, 1.0, 0.85, 0.0], rtol=1e-15)


def test_float_open_circuit_poles_at_voc_and_relaxes_in_the_dark():
    cell = _ion_cell(tau_s=2.0)
    voc = cell.steady_state_open_circuit_voltage_v(ONE_SUN)
    cell.float_open_circuit(2.0, ONE_SUN)
    assert cell.ion_memory_v == pytest.approx(voc * (1 - math.exp(-1.0)), rel=1e-14)
    cell.float_open_circuit(100.0, ONE_SUN)
    assert cell.ion_memory_v == pytest.approx(voc, rel=1e-14)
    assert cell.voltage_at_current_density_v(0.0, ONE_SUN) == pytest.approx(voc, rel=1e-12)
    cell.float_open_circuit(2.0, 0.0)
    assert cell.ion_memory_v == pytest.approx(voc * math.exp(-1.0), rel=1e-14)


def test_staircase_equals_stepwise_holds():
    """The vectorised staircase equals hold(settle) / read / hold(rest) point by point,
    with per-point times."""
    voltage_v = np.linspace(1.2, -0.1, 27)
    settle_s = np.linspace(0.001, 0.2, 27)
    point_s = settle_s + 0.05
    fast, slow = _ion_cell(), _ion_cell()
    fast.float_open_circuit(10.0, ONE_SUN)
    slow.float_open_circuit(10.0, ONE_SUN)
    j_fast = fast.staircase(voltage_v, settle_s, point_s, ONE_SUN)
    j_slow = []
    for v, ts, tp in zip(voltage_v, settle_s, point_s, strict=True):
        slow.hold(v, ts, ONE_SUN)
        j_slow.append(slow.current_density_a_cm2(v, ONE_SUN))
        slow.hold(v, tp - ts, ONE_SUN)
    np.testing.assert_allclose(j_fast, j_slow, rtol=1e-13, atol=1e-17)
    assert fast.ion_memory_v == pytest.approx(slow.ion_memory_v, rel=1e-13)


def test_staircase_rejects_point_shorter_than_settle():
    with pytest.raises(ValueError, match="settle_s"):
        _ion_cell().staircase([0.0, 0.1], 0.02, 0.01, ONE_SUN)
    with pytest.raises(ValueError, match="one value per point"):
        _ion_cell().staircase([0.0, 0.1], [0.01, 0.01, 0.01], 0.02, ONE_SUN)


@pytest.mark.parametrize("settled", [False, True])
def test_voltage_at_current_density_inverts_the_instantaneous_curve(settled):
    """For a = 0.3 and ion states well off the operating point, V(J) inverts J(V) across all
    three pieces of eta (clipped high, linear, clipped at 0) to 1e-12 V."""
    cell = _ion_cell(amplitude=0.3)
    cell.hold(0.6 if settled else -2.0, 100.0, ONE_SUN)
    voltage_v = np.linspace(-4.0, 3.0, 141)
    j = cell.current_density_a_cm2(voltage_v, ONE_SUN)
    np.testing.assert_allclose(cell.voltage_at_current_density_v(j, ONE_SUN), voltage_v,
                               rtol=0, atol=1e-10)
    cell.hold(5.0, 100.0, ONE_SUN)  # eta = 1 + a at every voltage below 4 V
    j = cell.current_density_a_cm2(voltage_v, ONE_SUN)
    np.testing.assert_allclose(cell.voltage_at_current_density_v(j, ONE_SUN), voltage_v,
                               rtol=0, atol=1e-10)


WORKED_NUMBERS = [
    # a, point time [s], tau [s], PCE reverse [%], PCE forward [%], HI
    pytest.param(0.3, 0.021, 2.0, 19.71, 16.26, 0.175, id="a0.3-21ms-tau2s"),
    pytest.param(0.1, 0.021, 2.0, 19.00, 17.85, 0.060, id="a0.1-21ms-tau2s"),
    pytest.param(0.3, 0.021, 100.0, 19.82, 19.63, 0.010, id="a0.3-21ms-tau100s"),
    pytest.param(0.3, 2.0, 2.0, 18.69, 18.62, 0.003, id="a0.3-2s-tau2s"),
]


def _reverse_then_forward(cell, point_s):
    """141 points 1.3 -> -0.1 V (10 mV), then -0.1 -> 1.3 V at once; each point lasts point_s
    and is read at its end (settle_s = point_s). Returns PCE reverse, forward [%] and HI."""
    voltage_v = np.linspace(1.3, -0.1, 141)
    j_reverse = cell.staircase(voltage_v, point_s, point_s, ONE_SUN)
    j_forward = cell.staircase(voltage_v[::-1], point_s, point_s, ONE_SUN)
    pce_reverse = np.max(voltage_v * j_reverse) * 1e3 / ONE_SUN * 100
    pce_forward = np.max(voltage_v[::-1] * j_forward) * 1e3 / ONE_SUN * 100
    return pce_reverse, pce_forward, (pce_reverse - pce_forward) / pce_reverse


def _poled_cell(amplitude, tau_s, poling_v=None):
    cell = _ion_cell(amplitude=amplitude, tau_s=tau_s, j0_ma_cm2=1e-12)
    if poling_v is None:
        cell.float_open_circuit(50 * tau_s, ONE_SUN)  # s = steady Voc = 1.1792 V
    else:
        cell.hold(poling_v, 50 * tau_s, ONE_SUN)
    return cell


def test_worked_numbers_steady_pce():
    pmax_w_cm2 = _poled_cell(0.3, 2.0).steady_state_mpp(ONE_SUN)[2]
    assert pmax_w_cm2 * 1e3 == pytest.approx(18.66, abs=0.005)


@pytest.mark.parametrize("amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi", WORKED_NUMBERS)
def test_worked_numbers_pce(amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi):
    """docs/simulation.md §2, protocol as described there.

    Jph 19.8 mA/cm^2, J0 1e-15 A/cm^2, n 1.5, Rs 3, Rsh 3000, 100 mW/cm^2. The cell is
    poled at the steady-state Voc (float_open_circuit for 50 tau under light), then a reverse
    scan of 141 points from 1.3 V to -0.1 V (10 mV steps), each point ``point_s`` long and
    read at its end (settle_s = point_s), then at once the forward scan back. PCE from the
    largest V*J of the points; HI = (PCE_rev - PCE_fwd)/PCE_rev. PCE within 5 % relative.
    """
    pce_rev, pce_fwd, _ = _reverse_then_forward(_poled_cell(amplitude, tau_s), point_s)
    assert pce_rev == pytest.approx(ref_rev, rel=0.05)
    assert pce_fwd == pytest.approx(ref_fwd, rel=0.05)
    assert pce_rev > pce_fwd  # normal hysteresis: reverse reads higher


@pytest.mark.parametrize(
    "amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi",
    [
        WORKED_NUMBERS[0],
        WORKED_NUMBERS[1],
        pytest.param(*WORKED_NUMBERS[2].values, id=WORKED_NUMBERS[2].id, marks=pytest.mark.xfail(
            strict=True,
            reason="poled at the steady Voc (1.179 V) HI is 0.0094, not 0.010: the table was "
                   "computed with the cell poled at 1.2 V (see the next test)")),
        WORKED_NUMBERS[3],
    ],
)
def test_worked_numbers_hysteresis_index(amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi):
    """Same protocol as test_worked_numbers_pce. HI within 5 % relative, or within half a
    unit of the table's last printed digit (0.0005) where the table gives one significant
    figure (0.003 covers 0.0025-0.0035)."""
    _, _, hi = _reverse_then_forward(_poled_cell(amplitude, tau_s), point_s)
    assert abs(hi - ref_hi) <= max(0.05 * ref_hi, 0.0005)


@pytest.mark.parametrize("amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi", WORKED_NUMBERS)
def test_worked_numbers_table_was_poled_at_1p2_v(
    amplitude, point_s, tau_s, ref_rev, ref_fwd, ref_hi
):
    """With the cell poled by holding 1.2 V (instead of the steady Voc, 1.179 V) under light
    for 50 tau, and otherwise the protocol of test_worked_numbers_pce, every printed digit of
    the table is reproduced: PCE to 0.005 %, HI to 0.0005."""
    pce_rev, pce_fwd, hi = _reverse_then_forward(_poled_cell(amplitude, tau_s, 1.2), point_s)
    assert pce_rev == pytest.approx(ref_rev, abs=0.005)
    assert pce_fwd == pytest.approx(ref_fwd, abs=0.005)
    assert hi == pytest.approx(ref_hi, abs=0.0005)


@pytest.mark.parametrize("amplitude", [0.1, 0.3, 0.5])
def test_slow_scans_show_no_hysteresis(amplitude):
    """Point time 5 tau (each point settles): HI < 0.01 and both PCEs within 0.5 % of steady."""
    cell = _poled_cell(amplitude, 0.5)
    steady_pce = cell.steady_state_mpp(ONE_SUN)[2] * 1e3 / ONE_SUN * 100
    pce_rev, pce_fwd, hi = _reverse_then_forward(cell, 2.5)
    assert abs(hi) < 0.01
    assert pce_rev == pytest.approx(steady_pce, rel=0.005)
    assert pce_fwd == pytest.approx(steady_pce, rel=0.005)


@pytest.mark.parametrize("amplitude", [0.05, 0.1, 0.2, 0.3])
def test_scan_as_long_as_tau_shows_hysteresis_of_the_order_of_the_amplitude(amplitude):
    """A 3 s scan (141 points of 21 ms) with tau = 2 s: reverse above forward, HI between
    0.3 a and a (the model gives 0.57-0.59 a; the HI peaks where the scan lasts about 1.5 tau)."""
    _, _, hi = _reverse_then_forward(_poled_cell(amplitude, 2.0), 0.021)
    assert 0.3 * amplitude < hi < amplitude


# HI / a of the model for a Voc-poled cell (a = 0.1, tau = 5 s), 141-point reverse then forward
# scans each lasting ``scan/tau`` ion time constants. For scans much faster than tau the index
# grows in proportion to the scan time (about 1.1 x scan/tau), peaks near 0.59 a at 1.5-2 tau
# and falls again for slow scans. An earlier reading of the contract, "a scan much faster than
# ion_tau_s shows ... a hysteresis index of the order of ion_amplitude", holds only for scans of
# about 0.5-5 tau (docs/architecture.md, "The simulated bench", gives the measured ratios).
HI_OVER_AMPLITUDE = [(0.03, 0.033), (0.1, 0.104), (0.3, 0.268), (1.0, 0.543), (3.0, 0.530)]


@pytest.mark.parametrize(("scan_over_tau", "expected"), HI_OVER_AMPLITUDE)
def test_hysteresis_index_against_scan_duration(scan_over_tau, expected):
    """HI / a within 5 % of the table above; normal hysteresis (reverse above forward) and
    the reverse scan above the steady state at every scan rate."""
    amplitude, tau_s = 0.1, 5.0
    cell = _ion_cell(amplitude=amplitude, tau_s=tau_s)
    cell.equilibrate_open_circuit(ONE_SUN)  # Voc-poled, as a cell left lit at open circuit
    steady_pce = cell.steady_state_mpp(ONE_SUN)[2] * 1e3 / ONE_SUN * 100
    pce_rev, pce_fwd, hi = _reverse_then_forward(cell, scan_over_tau * tau_s / 141)
    assert hi / amplitude == pytest.approx(expected, rel=0.05)
    assert pce_rev > pce_fwd and pce_rev > steady_pce


@pytest.mark.parametrize("amplitude", [0.1, 0.3])
def test_scan_much_faster_than_tau_freezes_the_ions(amplitude):
    """A 3 s scan with tau = 1000 s: the ions hardly move during either scan, so both scans
    read nearly the same efficiency (HI < 0.01 a), both above the steady state (by about
    0.18 a relative; more than 0.1 a asserted)."""
    cell = _poled_cell(amplitude, 1000.0)
    steady_pce = cell.steady_state_mpp(ONE_SUN)[2] * 1e3 / ONE_SUN * 100
    pce_rev, pce_fwd, hi = _reverse_then_forward(cell, 0.021)
    assert 0.0 < hi < 0.01 * amplitude
    assert pce_fwd > steady_pce * (1 + 0.1 * amplitude)


# --------------------------------------------------------------------------------------------
# Solar cell: degradation
# --------------------------------------------------------------------------------------------


def test_no_degradation_keys_no_degradation():
    cell = _ion_cell()
    cell.hold(0.9, 1000 * 3600.0, ONE_SUN)
    assert cell.degradation_factor == 1.0
    assert cell.light_dose_sun_h == pytest.approx(1000.0)


def test_burn_in_and_linear_loss():
    cell = SolarCell(SolarCellParams(burn_in_fraction=0.1, burn_in_tau_h=100.0,
                                     loss_pct_per_1000h=2.0))
    cell.hold(0.9, 150 * 3600.0, ONE_SUN)
    expected = 1 - 0.1 * (1 - math.exp(-1.5)) - 0.02 * 0.150
    assert cell.degradation_factor == pytest.approx(expected, rel=1e-12)
    assert cell.jph_a_cm2(ONE_SUN) == pytest.approx(19.8e-3 * expected, rel=1e-12)
    cell.hold(0.9, 100 * 3600.0, 0.0)  # dark: nothing lost, nothing recovered
    assert cell.degradation_factor == pytest.approx(expected, rel=1e-12)
    cell.reset()
    assert cell.degradation_factor == 1.0 and cell.ion_memory_v == 0.0


def test_dark_recovery_of_burn_in():
    cell = SolarCell(SolarCellParams(burn_in_fraction=0.2, burn_in_tau_h=10.0,
                                     dark_recovery_fraction=0.5))
    cell.hold(0.9, 1000 * 3600.0, ONE_SUN)  # burn-in saturated: 0.2, half recoverable
    assert cell.degradation_factor == pytest.approx(0.8, rel=1e-12)
    cell.float_open_circuit(10 * 3600.0, 0.0)
    assert cell.degradation_factor == pytest.approx(1 - 0.1 - 0.1 * math.exp(-1.0), rel=1e-12)
    cell.hold(0.9, 1000 * 3600.0, ONE_SUN)
    assert cell.degradation_factor == pytest.approx(0.8, rel=1e-9)


# --------------------------------------------------------------------------------------------
# Single-carrier device
# --------------------------------------------------------------------------------------------


def _log_slope(device, voltage_v):
    v = voltage_v * np.array([0.999, 1.001])
    j = device.sclc_current_density_a_cm2(v)
    return float(np.diff(np.log(j))[0] / np.diff(np.log(v))[0])


@pytest.mark.parametrize("conductivity_s_cm", [1e-12, 1e-10, 1e-9])
def test_sclc_regimes(conductivity_s_cm):
    device = SingleCarrierDevice(SingleCarrierParams(conductivity_s_cm=conductivity_s_cm))
    v_tfl = device.v_tfl_v
    assert device.shows_trap_filling
    assert _log_slope(device, 0.1 * v_tfl) == pytest.approx(1.0, abs=0.01)
    assert _log_slope(device, 1.2 * v_tfl) > 3.0
    assert _log_slope(device, 4.0 * v_tfl) == pytest.approx(2.0, abs=0.01)
    assert _log_slope(device, 10.0 * v_tfl) == pytest.approx(2.0, abs=0.01)
    # the laws themselves
    p = device.params
    thickness_cm = p.thickness_nm * 1e-7
    eps = VACUUM_PERMITTIVITY_F_CM * p.eps_r
    v = 0.05 * v_tfl
    assert device.sclc_current_density_a_cm2(v) == pytest.approx(
        conductivity_s_cm * v / thickness_cm, rel=1e-6)
    v = 5.0 * v_tfl
    assert device.sclc_current_density_a_cm2(v) == pytest.approx(
        9 / 8 * eps * p.mobility_cm2_vs * v**2 / thickness_cm**3, rel=1e-6)


@pytest.mark.parametrize("conductivity_s_cm", [1e-12, 1e-10, 1e-9])
def test_sclc_tangent_construction_returns_v_tfl(conductivity_s_cm):
    """Ohmic line intersected with the steepest log-log tangent gives V_TFL (1 %)."""
    device = SingleCarrierDevice(SingleCarrierParams(conductivity_s_cm=conductivity_s_cm))
    v = np.geomspace(0.01, 20.0, 3001) * device.v_tfl_v
    ln_v, ln_j = np.log(v), np.log(device.sclc_current_density_a_cm2(v))
    slope = np.gradient(ln_j, ln_v)
    k = int(np.argmax(slope))
    ln_ohm_prefactor = ln_j[0] - ln_v[0]
    ln_v_cross = (ln_j[k] - slope[k] * ln_v[k] - ln_ohm_prefactor) / (1 - slope[k])
    assert math.exp(ln_v_cross) == pytest.approx(device.v_tfl_v, rel=0.01)


def test_sclc_v_tfl_and_minimum_trap_density():
    device = SingleCarrierDevice()
    eps = 8.8541878128e-14 * 30
    assert device.v_tfl_v == pytest.approx(1.602176634e-19 * 1e16 * (500e-7) ** 2 / (2 * eps),
                                           rel=1e-9)
    assert device.v_tfl_v == pytest.approx(0.754, abs=0.001)
    n_min = device.minimum_apparent_trap_density_cm3
    at_min = SingleCarrierDevice(SingleCarrierParams(trap_density_cm3=n_min))
    assert at_min.v_tfl_v == pytest.approx(2 * math.pi**2 * VT_V, rel=1e-9)


def test_sclc_is_odd_and_in_photovoltaic_sign():
    device = SingleCarrierDevice()
    positive_v = np.geomspace(1e-3, 6.0, 120)
    v = np.concatenate([-positive_v[::-1], [0.0], positive_v])
    j = device.current_density_a_cm2(v, 0.0)
    np.testing.assert_array_equal(j, -j[::-1])
    assert np.all(j[v > 0] < 0)  # the SMU, flipping the sign, reads positive current
    assert device.current_density_a_cm2(0.0) == 0.0
    np.testing.assert_array_equal(device.current_density_a_cm2(v, ONE_SUN), j)  # dark device


def test_sclc_conductive_device_shows_no_trap_rise():
    """sigma above (9/8)*eps*mu*V_TFL/L^2: only ohmic and Child, slope never above 2."""
    device = SingleCarrierDevice(SingleCarrierParams(conductivity_s_cm=1e-6))
    assert not device.shows_trap_filling
    v = np.geomspace(0.01, 20.0, 2001) * device.v_tfl_v
    slope = np.gradient(np.log(device.sclc_current_density_a_cm2(v)), np.log(v))
    assert slope.max() < 2.0 + 1e-6
    assert slope.min() > 1.0 - 1e-6


def test_sclc_voltage_at_current_density_round_trip():
    device = SingleCarrierDevice()
    v = np.array([-8.0, -0.3, 1e-4, 0.5, 0.8, 1.5, 3.0])
    j = device.current_density_a_cm2(v)
    np.testing.assert_allclose(device.voltage_at_current_density_v(j), v, rtol=1e-10)
    assert device.voltage_at_current_density_v(0.0) == 0.0
    inverse = device.voltage_at_current_density_v(np.array([-np.inf, np.inf, np.nan]))
    assert inverse[0] == np.inf and inverse[1] == -np.inf and np.isnan(inverse[2])


# --------------------------------------------------------------------------------------------
# Photodiode, arc lamp, the DeviceModel protocol
# --------------------------------------------------------------------------------------------


def test_photodiode_one_sun():
    """13 mm^2, 0.45 A/W, 100 mW/cm^2 = 1000 W/m^2: 0.45 * 1000 * 13e-6 = 5.85 mA (+ dark)."""
    pd = Photodiode(responsivity_a_per_w=0.45, area_mm2=13.0)
    assert pd.photocurrent_a(ONE_SUN) == pytest.approx(5.85e-3 + 1e-9, rel=1e-12)
    assert pd.photocurrent_a(0.0) == pytest.approx(1e-9, rel=1e-12)
    assert pd.current_density_a_cm2(0.0, ONE_SUN) * pd.area_cm2 == pytest.approx(
        5.85e-3 + 1e-9, rel=1e-12)
    reverse = pd.current_a(-5.0, 0.0)
    assert reverse == pytest.approx(1e-9 + 1e-11, rel=1e-9)  # dark + saturation current
    # the inverse is well conditioned where the diode current is not negligible
    voltage_v = np.array([-0.05, 0.0, 0.3, 0.45])
    j = pd.current_density_a_cm2(voltage_v, ONE_SUN)
    np.testing.assert_allclose(pd.voltage_at_current_density_v(j, ONE_SUN), voltage_v,
                               atol=1e-7)


def test_arc_lamp_ignition_warmup_drift_stop():
    lamp = ArcLamp(relative_start=0.8, warmup_tau_s=300.0, ignition_s=5.0, drift_pct_per_h=-1.0)
    assert not lamp.is_on(0.0) and lamp.relative_output(0.0) == 0.0
    lamp.start(100.0)
    assert lamp.is_on(101.0)
    assert lamp.relative_output(104.9) == 0.0
    assert lamp.relative_output(105.0) == pytest.approx(0.8, rel=1e-12)
    t = 105.0 + 300.0
    assert lamp.relative_output(t) == pytest.approx(1 - 0.2 * math.exp(-1) - 0.01 * 300 / 3600,
                                                    rel=1e-12)
    assert lamp.relative_output(105.0 + 36000.0) == pytest.approx(0.9, rel=1e-6)
    lamp.stop(50000.0)
    assert not lamp.is_on(50000.0) and lamp.relative_output(50001.0) == 0.0
    lamp.start(60000.0)
    assert lamp.relative_output(60005.0) == pytest.approx(0.8, rel=1e-12)


@pytest.mark.parametrize(
    "device",
    [SolarCell(), SingleCarrierDevice(), Photodiode(responsivity_a_per_w=0.45, area_mm2=13.0)],
    ids=["solar_cell", "single_carrier", "photodiode"],
)
def test_devices_share_the_protocol(device):
    assert isinstance(device, DeviceModel)
    device.reset()
    device.hold(0.1, 1.0, ONE_SUN)
    device.float_open_circuit(1.0, ONE_SUN)
    voltage_v = np.linspace(-0.2, 0.6, 9)
    j = device.staircase(voltage_v, 0.0, 0.0, ONE_SUN)  # zero time: state does not move
    np.testing.assert_allclose(j, device.current_density_a_cm2(voltage_v, ONE_SUN), rtol=1e-14)
    assert device.area_cm2 > 0


@pytest.mark.parametrize("rs_ohm_cm2", [0.0, 0.5, 3.0, 30.0])
@pytest.mark.parametrize("rsh_ohm_cm2", [50.0, 3000.0, np.inf])
def test_scalar_fast_path_equals_the_array_path(rs_ohm_cm2: float, rsh_ohm_cm2: float) -> None:
    """One reading takes the math-module path; it must give the vectorised answer."""
    voltages_v = np.linspace(-5.0, 3.0, 161)
    args = (0.0198, 1e-15, 1.5, rs_ohm_cm2, rsh_ohm_cm2, 298.15)
    array_path = diode_current_density_a_cm2(voltages_v, *args)
    scalar_path = np.array([diode_current_density_a_cm2(float(v), *args)
                            for v in voltages_v])
    np.testing.assert_allclose(scalar_path, array_path, rtol=1e-12, atol=1e-18)
