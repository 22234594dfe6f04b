"""JVSteadyProcedure on the simulated bench: quasi-steady-state J-V (docs/methods.md §2.3).

The truth is the physics model's own steady state (SolarCell.steady_state_mpp), which a fast
scan of a cell with mobile ions misses and a settled hold recovers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labctl.analysis.jv import jv_metrics
from labctl.sim.physics import SolarCell, SolarCellParams
from procedures.base import ProcedureError
from procedures.jv import JVProcedure
from procedures.jv_steady import (
    VOC,
    JVSteadyProcedure,
    VoltageOrVocParameter,
    coarse_count,
    min_separation_v,
    next_refinement_v,
    relative_drift_pct_per_s,
)

ION_CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
            "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "temperature_k": 298.15,
            "ion_tau_s": 2.0, "ion_amplitude": 0.3}
AREA_CM2 = ION_CELL["area_cm2"]


@pytest.fixture
def ion_station(write_station: Callable[..., Path]) -> Path:
    """SMU-only station (device always lit at 100 mW/cm²), a cell with strong hysteresis."""
    return write_station(simulation={"device": ION_CELL})


def truth() -> dict[str, float]:
    cell = SolarCell(SolarCellParams(**{k: v for k, v in ION_CELL.items() if k != "kind"}))
    _, _, pmax_w_cm2 = cell.steady_state_mpp(100.0)
    return {"pce_pct": pmax_w_cm2 * 1e3, "voc_v": cell.steady_state_open_circuit_voltage_v(100)}


def settled_metrics(run: Any) -> dict[str, float]:
    metrics, _ = jv_metrics(run.column("Voltage (V)", settled_only=True),
                            run.column("Current density (mA/cm**2)", settled_only=True), 100.0)
    return metrics


def test_every_bias_settles_and_the_steady_pce_is_the_true_one(
        run_procedure: Callable[..., Any], ion_station: Path) -> None:
    """ion_amplitude 0.3, tau 2 s: the settled curve gives the steady-state PCE within 0.5 %,
    where a fast reverse scan (10 mV, 10 ms dwell) is off by several percent."""
    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2, points=10)
    assert run.error is None
    settled = [r for r in run.rows if r["Settled"] == 1]
    assert len(settled) == 10 + 1  # ten biases and the I = 0 hold
    assert run.procedure.points_at_max_hold == 0
    assert run.procedure.longest_hold_s < 60.0
    expected = truth()
    steady_error = settled_metrics(run)["pce_pct"] / expected["pce_pct"] - 1
    assert abs(steady_error) < 0.005

    fast = run_procedure(JVProcedure, ion_station, area_cm2=AREA_CM2, direction="reverse")
    metrics, _ = jv_metrics(fast.column("Voltage (V)"),
                            fast.column("Current density (mA/cm**2)"), 100.0)
    fast_error = metrics["pce_pct"] / expected["pce_pct"] - 1
    assert abs(fast_error) > 0.01
    assert abs(fast_error) > 5 * abs(steady_error)
    assert not run.bench.instruments["smu"].output_on


def test_voc_hold_finds_the_steady_state_voc(run_procedure: Callable[..., Any],
                                             ion_station: Path) -> None:
    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2, points=7)
    first_settled = next(r for r in run.rows if r["Settled"] == 1)
    assert first_settled["Current (A)"] == pytest.approx(0.0, abs=1e-12)  # the I = 0 hold
    # residual of a 0.1 %/s criterion with tau = 2 s: ~ tau * 0.1 %/s * Voc ~ 2 mV
    assert run.procedure.voc_hold_v == pytest.approx(truth()["voc_v"], abs=3e-3)
    assert first_settled["Voltage (V)"] == run.procedure.voc_hold_v


def test_rows_show_the_settling_of_each_hold(run_procedure: Callable[..., Any],
                                             ion_station: Path) -> None:
    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2, points=10,
                        min_hold_s=1.5)
    assert run.error is None
    holds = np.asarray(run.column("Hold time (s)"))
    flags = np.asarray(run.column("Settled"))
    assert set(flags.tolist()) == {0, 1}
    # a hold ends with its Settled row: the next reading starts a new hold (hold time resets)
    ends = np.flatnonzero(flags == 1)
    assert ends[-1] == len(flags) - 1
    assert np.all(holds[ends[:-1] + 1] < holds[ends[:-1]])
    within = np.flatnonzero(flags[:-1] == 0)
    assert np.all(np.diff(holds)[within] > 0)  # hold time grows within a hold
    assert np.all(holds[ends] >= 2.0)  # at least the settling window (and min_hold_s)
    # readings a few per second
    steps_s = np.diff(np.asarray(run.column("Time (s)")))[within]
    assert 0.2 < np.median(steps_s) < 0.5
    # the biases are dense where the power is largest
    voltage_v = np.sort(run.column("Voltage (V)", settled_only=True))
    power = np.asarray(run.column("Voltage (V)", settled_only=True)) * np.asarray(
        run.column("Current density (mA/cm**2)", settled_only=True))
    vmpp = run.column("Voltage (V)", settled_only=True)[int(np.argmax(power))]
    near = np.sum(np.abs(voltage_v - vmpp) < 0.1)
    assert near >= 3


def test_given_start_and_stop_bound_the_biases(run_procedure: Callable[..., Any],
                                               ion_station: Path) -> None:
    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2, points=7,
                        start_v=0.9, stop_v=0.3)
    assert run.error is None
    biases = run.column("Voltage (V)", settled_only=True)[1:]  # after the I = 0 hold
    assert biases == pytest.approx(list(np.linspace(0.9, 0.3, 7)), abs=1e-6)


def test_abort_mid_hold_stops_early_with_the_output_off(run_procedure: Callable[..., Any],
                                                        ion_station: Path) -> None:
    emitted = {"rows": 0}

    def prepare(procedure: Any, roles: Any) -> None:
        emit = procedure.emit

        def counting_emit(topic: str, record: Any) -> None:
            emitted["rows"] += topic == "results"
            emit(topic, record)

        procedure.emit = counting_emit

    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2,
                        should_stop=lambda: emitted["rows"] >= 25, prepare=prepare)
    assert run.error is None
    assert len(run.rows) == 25
    assert run.rows[-1]["Settled"] == 0  # stopped inside a hold, not at its end
    assert not run.bench.instruments["smu"].output_on


def test_dark_without_a_shutter_is_refused(run_procedure: Callable[..., Any],
                                           ion_station: Path) -> None:
    run = run_procedure(JVSteadyProcedure, ion_station, area_cm2=AREA_CM2, light=False)
    assert isinstance(run.error, ProcedureError) and "shutter" in str(run.error)
    assert run.rows == []


# --- the pure parts ----------------------------------------------------------------------------

def test_refinement_goes_to_the_power_maximum() -> None:
    voltage = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    power = [0.0, 4.0, 7.0, 9.0, 8.0, -2.0]
    vertex = next_refinement_v(voltage, power, 0.01)
    # parabola through (0.4, 7), (0.6, 9), (0.8, 8)
    assert vertex == pytest.approx(0.6 + 0.2 * (8 - 7) / (2 * (2 * 9 - 7 - 8)), abs=1e-12)
    # vertex too close to a measured bias: golden-section step into the larger side
    step = next_refinement_v([0.4, 0.6, 0.9], [8.0, 9.0, 6.75], 0.05)  # vertex at 0.6
    assert step == pytest.approx(0.6 + 0.381966011250105 * 0.3)
    # no power maximum inside (a dark curve): the middle of the largest gap
    assert next_refinement_v([0.0, 0.1, 0.5], [-1.0, -2.0, -3.0], 0.01) == pytest.approx(0.3)
    # nowhere left to put a bias
    assert next_refinement_v([0.0, 0.01, 0.02], [-1.0, -2.0, -3.0], 0.01) is None


def test_grid_sizes_and_drift() -> None:
    assert [coarse_count(n) for n in (3, 7, 10, 21, 30, 200)] == [3, 7, 7, 7, 10, 67]
    assert min_separation_v(0.0, 1.2) == pytest.approx(0.012)
    assert min_separation_v(0.0, 0.5) == pytest.approx(0.010)
    t = np.linspace(0.0, 2.0, 9)
    assert relative_drift_pct_per_s(t, 10.0 + 0.01 * t, 1e-3) == pytest.approx(0.1, rel=1e-3)
    assert relative_drift_pct_per_s(t[:2], [1.0, 2.0], 1e-3) == float("inf")


def test_start_voltage_parameter_accepts_voc_or_volts() -> None:
    parameter = VoltageOrVocParameter("Start voltage", default=VOC)
    assert parameter.value == VOC and str(parameter) == "Voc"
    for text in (None, "", "voc", float("nan")):
        parameter.value = text
        assert parameter.value == VOC
    parameter.value = "1.1 V"
    assert parameter.value == 1.1 and str(parameter) == "1.1 V"
    with pytest.raises(ValueError):
        parameter.value = 300.0
    procedure = JVSteadyProcedure()
    procedure.set_parameters({"start_v": None, "stop_v": 0.0})
    assert procedure.start_bias_v() is None
    procedure.set_parameters({"start_v": 1.0})
    assert procedure.start_bias_v() == 1.0
