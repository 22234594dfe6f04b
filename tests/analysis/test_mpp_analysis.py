"""labctl.analysis.mpp on constructed series whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labctl.analysis.mpp import (
    MinMaxDecimator,
    decimate_minmax,
    pce_stabilized_pct,
    ripple_pct,
    settling_time_s,
    t80_h,
    t95_h,
    tracking_efficiency,
    ts80_h,
)


def test_settling_time_of_an_exponential_approach():
    # p = 20*(1 - 0.5*exp(-t/10)) is within 1 % of 20 once 0.5*exp(-t/10) <= 0.01,
    # i.e. t >= 10*ln(50) = 39.12 s; the first sample at or after it is at 39.2 s.
    t = np.arange(0.0, 600.0, 0.1)
    p = 20.0 * (1.0 - 0.5 * np.exp(-t / 10.0))
    assert settling_time_s(t, p, final_value=20.0) == pytest.approx(39.2, abs=1e-9)
    # Default final value: the settled final window's mean, 20 to within 1e-12 here.
    assert settling_time_s(t, p) == pytest.approx(10.0 * math.log(50.0), abs=0.1)


def test_settling_time_zero_inside_and_nan_when_it_leaves_the_band():
    t = np.linspace(0.0, 10.0, 11)
    assert settling_time_s(t, np.full(11, 5.0)) == 0.0
    p = np.full(11, 5.0)
    p[-1] = 6.0
    assert math.isnan(settling_time_s(t, p, final_value=5.0))


def test_stabilized_value_ignores_a_transient_at_the_start_of_the_window():
    t = np.arange(0.0, 100.0, 1.0)
    pce = np.full(100, 18.0)
    pce[:95] = 10.0  # settles only at 95 s, inside the last 10 s window
    assert pce_stabilized_pct(t, pce) == pytest.approx(18.0)
    # A ramp never settles: the mean of the window t >= 99 - 9 = 90 s (samples 90..99).
    ramp = np.linspace(10.0, 20.0, 100)
    assert pce_stabilized_pct(t, ramp, window_s=9.0) == pytest.approx(np.mean(ramp[90:]))


def test_t80_t95_linear_loss_and_ts80_after_burn_in():
    t_h = np.linspace(0.0, 1000.0, 1001)
    linear = 20.0 * (1.0 - t_h / 1000.0)  # 5 % per 50 h: T95 = 50 h, T80 = 200 h
    assert t95_h(t_h, linear) == pytest.approx(50.0, abs=1e-9)
    assert t80_h(t_h, linear) == pytest.approx(200.0, abs=1e-9)
    # Burn-in to 16 (exponential, 10 h), then -1 %/h of 16 linearly from 100 h:
    burn = 16.0 + 4.0 * np.exp(-t_h / 10.0)
    series = np.where(t_h < 100.0, burn, burn - 0.16 * (t_h - 100.0))
    e_s = 16.0 + 4.0 * math.exp(-10.0)
    # 0.8*E_s is reached when burn - 0.16*(t-100) = 0.8*E_s (exp term ~0 there): solve.
    expected = 100.0 + (16.0 - 0.8 * e_s) / 0.16
    assert ts80_h(t_h, series, burn_in_h=100.0) == pytest.approx(expected, abs=1e-3)
    assert t80_h(t_h, series) == pytest.approx(100.0, abs=1.0)  # 80 % of 20 = 16: the burn-in
    assert math.isnan(t80_h(t_h, np.full(1001, 3.0)))


def test_tracking_efficiency_ratio_of_energies():
    t = np.linspace(0.0, 100.0, 1001)
    true = np.full(t.size, 2.0)
    measured = np.where(t < 50.0, 1.0, 2.0)
    # Energy: trapezoids across the step at 50 s add 0.05*(1+2)/2 - ... computed directly:
    expected = np.trapezoid(measured, t) / 200.0
    assert tracking_efficiency(t, measured, true) == pytest.approx(expected)
    assert expected == pytest.approx(0.75, abs=0.001)
    assert tracking_efficiency(t, measured, true, since_s=50.0) == pytest.approx(1.0)


def test_ripple_of_a_sine():
    t = np.linspace(0.0, 1000.0, 100001)
    p = 10.0 + 0.1 * np.sin(2 * np.pi * t)  # std 0.1/sqrt(2) over whole periods
    assert ripple_pct(t, p) == pytest.approx(0.1 / math.sqrt(2) / 10.0 * 100.0, rel=1e-3)


def test_decimation_keeps_extremes_and_order():
    t = np.arange(100_000, dtype=float)
    v = np.sin(t / 5000.0)
    v[12_345] = 5.0  # a spike must survive
    td, vd = decimate_minmax(t, v, n_bins=500)
    assert td.size <= 1000
    assert np.all(np.diff(td) >= 0)
    assert vd.max() == 5.0 and vd.min() == pytest.approx(v.min())
    stream = MinMaxDecimator(bin_s=200.0)
    for chunk in range(0, t.size, 7_777):
        stream.update(t[chunk:chunk + 7_777], v[chunk:chunk + 7_777])
    ts, vs = stream.result()
    assert ts.size == 1000 and vs.max() == 5.0
    assert np.all(np.diff(ts) >= 0)
