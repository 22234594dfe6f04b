"""instruments.timing: the one SMU timing model (drivers, emulators, validate)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from instruments import timing
from labctl.opened_station import open_station

CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
        "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "temperature_k": 298.15,
        "ion_tau_s": 5.0, "ion_amplitude": 0.0}


def test_families():
    assert [timing.family(m) for m in ("2400", "2420", "2450")] == ["2400", "2400", "2450"]
    with pytest.raises(ValueError, match="2410"):
        timing.family("2410")


def test_2400_cycle_reproduces_the_manual_examples():
    """Conversions + firmware overhead of the manual's examples (2400 manual pp. 430-435);
    the cycle adds the trigger latency and source configuration (275 us)."""
    latency_s = 225e-6 + 50e-6
    settle_s, total_s = timing.sdm_cycle_2400_s(0.06, 60, functions=2)
    assert settle_s == pytest.approx(latency_s)
    assert total_s - settle_s == pytest.approx(7.04e-3, rel=1e-3)     # manual: ~7.1 ms
    _, total_s = timing.sdm_cycle_2400_s(0.01, 60, functions=1)
    assert total_s - latency_s == pytest.approx(2.86e-3, rel=2e-3)    # manual: ~2.9 ms
    _, total_s = timing.sdm_cycle_2400_s(0.01, 60, functions=1, source_function="CURR")
    assert total_s - latency_s == pytest.approx(3.21e-3, rel=2e-3)    # manual: ~3.25 ms
    _, total_s = timing.sdm_cycle_2400_s(0.08, 60, functions=1, auto_zero=False)
    assert total_s - latency_s == pytest.approx(1.818e-3, rel=2e-3)   # manual: ~1.85 ms


def test_auto_delay_and_trigger_delay_add_to_the_settle_time():
    settle_s, _ = timing.sdm_cycle_2400_s(1, 50, source_delay_s=None, trigger_delay_s=0.002)
    assert settle_s == pytest.approx(225e-6 + 0.002 + 50e-6 + 1.1e-3)
    assert timing.reading_time_s("2450", 1, 50, source_delay_s=None) == pytest.approx(
        0.001 + 0.02 + 0.001)
    assert timing.autodelay_2450_s(1e-8) == 0.050
    assert timing.autodelay_2450_s(1.0, "CURR") == 0.002


def test_sweep_duration_per_model():
    assert timing.sweep_duration_s("2400", 141, 0.01, 1, 50) == pytest.approx(
        141 * (275e-6 + 0.01 + 4 * (0.02 + 185e-6) + 2.3e-3))
    assert timing.sweep_duration_s("2420", 10, 0, 1, 60) == timing.sweep_duration_s(
        "2400", 10, 0, 1, 60)
    assert timing.sweep_duration_s("2450", 141, 0.01, 1, 50) == pytest.approx(
        141 * (0.01 + 0.02 + 0.001))


def test_sweep_timeout_covers_the_sweep_with_margin():
    duration_s = timing.sweep_duration_s("2400", 100, 0.01, 1, 50)
    assert timing.sweep_timeout_s("2400", 100, 0.01, 1, 50) == pytest.approx(
        duration_s * 1.2 + 10)
    duration_s = timing.sweep_duration_s("2450", 100, 0.01, 1, 50)
    assert timing.sweep_timeout_s("2450", 100, 0.01, 1, 50) == pytest.approx(
        (duration_s + 100 * 2 * 0.02) * 1.2 + 10)


@pytest.mark.parametrize("model", ["2400", "2450"])
def test_source_delay_for_scan_rate_gives_the_rate(model):
    step_v, rate_v_s = 0.01, 0.1
    delay_s = timing.source_delay_for_scan_rate_s(model, step_v, rate_v_s, 1, 50)
    per_point_s = timing.sweep_duration_s(model, 1, delay_s, 1, 50)
    assert step_v / per_point_s == pytest.approx(rate_v_s)
    # out of reach: no delay, the sweep runs as fast as it can
    assert timing.source_delay_for_scan_rate_s(model, 0.01, 100.0, 1, 50) == 0.0
    assert timing.source_delay_for_scan_rate_s(model, -0.01, 0.1, 1, 50) == delay_s


@pytest.mark.parametrize(
    ("function", "args"),
    [
        (timing.sweep_duration_s, ("2400", 0, 0.01, 1, 50)),
        (timing.sweep_duration_s, ("2400", 2.5, 0.01, 1, 50)),
        (timing.sweep_duration_s, ("2400", math.inf, 0.01, 1, 50)),
        (timing.sweep_duration_s, ("2400", math.nan, 0.01, 1, 50)),
        (timing.sweep_duration_s, ("2400", 10, -0.01, 1, 50)),
        (timing.sweep_duration_s, ("2450", 10, math.nan, 1, 50)),
        (timing.sweep_duration_s, ("2450", 10, 0.01, 0, 50)),
        (timing.sweep_duration_s, ("2450", 10, 0.01, 1, math.inf)),
        (timing.source_delay_for_scan_rate_s, ("2400", 0.01, 0, 1, 50)),
        (timing.source_delay_for_scan_rate_s, ("2400", 0.0, 0.1, 1, 50)),
        (timing.reading_time_s, ("2400", math.nan, 50)),
    ],
)
def test_bad_inputs_are_refused(function, args):
    with pytest.raises(ValueError):
        function(*args)


@pytest.fixture
def cells_station(write_station: Callable[..., Path]) -> Path:
    return write_station(simulation={"device": None, "devices": {
        "smu": CELL, "smu2420": CELL, "ref_smu": CELL}})


@pytest.mark.parametrize("name", ["smu", "ref_smu"])
def test_hold_and_point_readings_take_the_time_the_model_gives(cells_station, name):
    """The emulator's virtual time of a steady-state poll (read after read) and of a
    point-by-point point (set, then read) is what hold_reading_s / point_reading_s say."""
    with open_station(cells_station, simulated=True) as station:
        smu = station.instruments[name]
        clock = station.bench.clock
        smu.configure_voltage_source(level_v=0.5, compliance_a=0.05, nplc=1, source_delay_s=0)
        smu.enable_output()
        smu.read()
        before_s = clock.now_s()
        smu.read()
        hold_s = clock.now_s() - before_s
        before_s = clock.now_s()
        smu.set_voltage(0.4)
        smu.read()
        point_s = clock.now_s() - before_s
    assert hold_s == pytest.approx(timing.hold_reading_s(smu.model, 1, 50), rel=1e-6)
    assert point_s == pytest.approx(timing.point_reading_s(smu.model, 1, 50), rel=1e-6)
