"""JVProcedure on the simulated bench, driven as the runner drives it (tests/procedures/conftest).

Expected values come from pvlib's single-diode model (independent of labctl's physics) and from
the emulator's timing model; every test ends by checking the output is off (and the shutter
closed where there is one).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pvlib
import pytest
from pymeasure.experiment import Results, Worker
from pyvisa.errors import VisaIOError

from labctl.analysis.jv import jv_metrics
from labctl.opened_station import open_station
from procedures.base import ProcedureError
from procedures.jv import JVProcedure, JVStep, sweep_voltages_v

CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
        "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "temperature_k": 298.15,
        "ion_tau_s": 5.0, "ion_amplitude": 0.0}
AREA_CM2 = CELL["area_cm2"]


def light_path_available() -> bool:
    """The lamp and shutter emulators exist (written in parallel with these procedures)."""
    from labctl.sim.emulators import emulator_class

    try:
        emulator_class("thorlabs_sc10")
        emulator_class("newport69907")
    except (ImportError, AttributeError, ValueError):
        return False
    return True


needs_light_path = pytest.mark.skipif(not light_path_available(),
                                      reason="lamp/shutter emulators not available")


def pvlib_truth(cell: dict) -> dict[str, float]:
    """Voc [V] and Jsc [mA/cm^2] of the cell from pvlib.pvsystem.singlediode (per cm^2)."""
    vt_v = 1.380649e-23 * cell["temperature_k"] / 1.602176634e-19
    out = pvlib.pvsystem.singlediode(
        photocurrent=cell["jph_ma_cm2"] * 1e-3, saturation_current=cell["j0_ma_cm2"] * 1e-3,
        resistance_series=cell["rs_ohm_cm2"], resistance_shunt=cell["rsh_ohm_cm2"],
        nNsVth=cell["ideality"] * vt_v)
    return {"voc_v": float(out["v_oc"]), "jsc_ma_cm2": float(out["i_sc"]) * 1e3}


@pytest.fixture
def cells_station(write_station: Callable[..., Path]) -> Path:
    """SMU-only station (the device always lit) with the cell on each of the three SMUs."""
    return write_station(simulation={"device": None, "devices": {
        "smu": CELL, "smu2420": CELL, "ref_smu": CELL}})


@pytest.fixture
def lamp_station(write_station: Callable[..., Path]) -> Path:
    """The 2400 with a lamp (instant warm-up) and a shutter in the beam."""
    if not light_path_available():
        pytest.skip("lamp/shutter emulators not available")
    return write_station(
        instruments={"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
                     "lamp": {"driver": "newport69907", "resource": "ASRL1::INSTR"},
                     "shutter": {"driver": "thorlabs_sc10", "resource": "ASRL2::INSTR"}},
        simulation={"device": CELL, "light": {"irradiance_mw_cm2": 100.0, "warmup_tau_s": 0.0}})


def output_on(run: Any, name: str = "smu") -> bool:
    return bool(run.bench.instruments[name].output_on)


def jv(run: Any) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(run.column("Voltage (V)")),
            np.asarray(run.column("Current density (mA/cm**2)")))


# --- voltages and directions -------------------------------------------------------------------

@pytest.mark.parametrize("start_v, stop_v", [(1.3, -0.1), (-0.1, 1.3), (0.75, 0.2)])
@pytest.mark.parametrize("direction", ["reverse", "forward"])
def test_set_points_follow_the_jv_step_rule(start_v: float, stop_v: float,
                                            direction: str) -> None:
    step = JVStep(start_v=start_v, stop_v=stop_v, step_v=0.01, direction=direction)
    assert sweep_voltages_v(start_v, stop_v, 0.01, direction) == step.voltages_v(direction)


@pytest.mark.parametrize("hardware_sweep", [True, False])
@pytest.mark.parametrize("start_v, stop_v", [(1.3, -0.1), (-0.1, 1.3)])
@pytest.mark.parametrize("direction", ["reverse", "forward"])
def test_reverse_runs_high_to_low_and_forward_low_to_high(
        run_procedure: Callable[..., Any], cells_station: Path, start_v: float, stop_v: float,
        direction: str, hardware_sweep: bool) -> None:
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, start_v=start_v,
                        stop_v=stop_v, step_v=0.05, direction=direction,
                        hardware_sweep=hardware_sweep)
    assert run.error is None
    voltage_v, _ = jv(run)
    assert len(voltage_v) == 29
    steps = np.diff(voltage_v)
    if direction == "reverse":
        assert voltage_v[0] == pytest.approx(1.3) and voltage_v[-1] == pytest.approx(-0.1)
        assert np.all(steps < 0)
    else:
        assert voltage_v[0] == pytest.approx(-0.1) and voltage_v[-1] == pytest.approx(1.3)
        assert np.all(steps > 0)
    assert not output_on(run)


# --- physics, sign, and the pvlib cross-check --------------------------------------------------

@pytest.mark.parametrize("smu_name", ["smu", "smu2420", "ref_smu"])
def test_reverse_sweep_matches_pvlib(run_procedure: Callable[..., Any], cells_station: Path,
                                     smu_name: str) -> None:
    """Issue: Voc within 1 mV, Jsc within 0.1 % of pvlib (10 mV grid, ion_amplitude 0); J in
    the photovoltaic sign, I in the SMU's."""
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, smu_name=smu_name,
                        start_v=1.3, stop_v=-0.1, step_v=0.01, dwell_s=0.01,
                        direction="reverse")
    assert run.error is None
    voltage_v, j_ma_cm2 = jv(run)
    at_zero = int(np.argmin(np.abs(voltage_v)))
    assert voltage_v[at_zero] == pytest.approx(0.0, abs=1e-9)
    assert j_ma_cm2[at_zero] > 15.0  # photovoltaic sign: positive at short circuit
    assert run.rows[at_zero]["Current (A)"] < 0  # SMU sign: generated current negative
    metrics, warnings = jv_metrics(voltage_v, j_ma_cm2, 100.0)
    expected = pvlib_truth(CELL)
    assert abs(metrics["voc_v"] - expected["voc_v"]) < 1e-3
    assert metrics["jsc_ma_cm2"] == pytest.approx(expected["jsc_ma_cm2"], rel=1e-3)
    assert not any("sign" in w for w in warnings)  # photovoltaic sign detected, not assumed
    assert all(r["Irradiance (mW/cm**2)"] == 100.0 for r in run.rows)
    assert all(r["Compliance"] == 0 for r in run.rows)
    assert not output_on(run, smu_name)


def test_point_by_point_gives_the_hardware_curve(run_procedure: Callable[..., Any],
                                                 cells_station: Path) -> None:
    hardware = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.02)
    points = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.02,
                           hardware_sweep=False)
    assert hardware.error is None and points.error is None
    np.testing.assert_allclose(jv(points)[0], jv(hardware)[0], atol=1e-9)
    np.testing.assert_allclose(jv(points)[1], jv(hardware)[1], rtol=1e-6, atol=1e-6)


# --- timing ------------------------------------------------------------------------------------

def test_achieved_scan_rate_follows_the_2400_timing_model(run_procedure: Callable[..., Any],
                                                         cells_station: Path) -> None:
    """0.01 V step, 10 ms dwell, NPLC 1 on a 2400 at 50 Hz: per point the source delay,
    4 A/D phases of (NPLC/f + 185 µs), 2.3 ms overhead and 275 µs of trigger latency
    (labctl/sim/keithley24xx.py point_time_s), ~93 ms -- not the 10 ms of the dwell."""
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.01,
                        dwell_s=0.01, nplc=1.0)
    assert run.error is None
    _, point_s = run.bench.instruments["smu"].point_time_s()
    by_hand_s = 0.01 + 225e-6 + 50e-6 + 4 * (1.0 / 50 + 185e-6) + 2.3e-3
    assert point_s == pytest.approx(by_hand_s, rel=1e-9)
    achieved = run.procedure.achieved_scan_rate_v_s
    assert achieved == pytest.approx(0.01 / point_s, rel=0.01)
    # the Time column keeps the instrument's spacing
    times_s = np.asarray(run.column("Time (s)"))
    np.testing.assert_allclose(np.diff(times_s), point_s, atol=2e-5)  # 10 µs resolution
    # the SMU's own model, recorded beside it, agrees within 1 %
    assert run.procedure.expected_scan_rate_v_s == pytest.approx(achieved, rel=0.01)
    assert run.procedure.source_delay_used_s == pytest.approx(0.01)


@pytest.mark.parametrize("hardware_sweep", [True, False])
def test_scan_rate_parameter_derives_the_dwell(run_procedure: Callable[..., Any],
                                               cells_station: Path,
                                               hardware_sweep: bool) -> None:
    """200 mV/s with 10 mV steps ([Chen 2020], docs/methods.md §1): ~50 ms per point, so the
    dwell is ~50 ms minus the integration and overhead, and the rate is reached within 1 %."""
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.01,
                        scan_rate_v_s=0.2, nplc=0.1, hardware_sweep=hardware_sweep)
    assert run.error is None
    assert run.procedure.achieved_scan_rate_v_s == pytest.approx(0.2, rel=0.01)
    assert 0.0 < run.procedure.source_delay_used_s < 0.05


def test_time_continues_from_the_offset_and_progress_reaches_100(
        run_procedure: Callable[..., Any], cells_station: Path) -> None:
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.05,
                        time_offset_s=1000.0)
    times_s = np.asarray(run.column("Time (s)"))
    assert 1000.0 <= times_s[0] < 1001.0
    assert np.all(np.diff(times_s) > 0)
    assert run.progress[0] == 0.0 and run.progress[-1] == pytest.approx(100.0)
    assert np.all(np.diff(run.progress) >= 0)


# --- preconditioning, compliance, metadata -----------------------------------------------------

def test_preconditioning_runs_only_when_asked(run_procedure: Callable[..., Any],
                                             cells_station: Path) -> None:
    settings = {"area_cm2": AREA_CM2, "step_v": 0.05, "precondition_light_s": 30.0,
                "precondition_bias_v": 1.2, "precondition_bias_s": 10.0}
    plain = run_procedure(JVProcedure, cells_station, **settings)
    soaked = run_procedure(JVProcedure, cells_station, precondition=True, **settings)
    assert plain.error is None
    assert plain.rows[0]["Time (s)"] < 1.0
    assert plain.procedure.preconditioning_applied == "none"
    assert soaked.error is None
    assert soaked.rows[0]["Time (s)"] > 40.0  # 30 s soak + 10 s bias, then the sweep
    assert "light soak 30 s" in soaked.procedure.preconditioning_applied
    assert "bias 1.2 V for 10 s" in soaked.procedure.preconditioning_applied


def test_compliance_is_derived_from_the_area_or_taken_as_given(
        run_procedure: Callable[..., Any], cells_station: Path) -> None:
    small = run_procedure(JVProcedure, cells_station, area_cm2=0.09, step_v=0.1)
    large = run_procedure(JVProcedure, cells_station, area_cm2=1.0, step_v=0.1)
    given = run_procedure(JVProcedure, cells_station, area_cm2=0.09, step_v=0.1,
                          compliance_a=0.02)
    assert small.procedure.compliance_used_a == pytest.approx(0.010)  # at least 10 mA
    assert large.procedure.compliance_used_a == pytest.approx(0.050)  # 1 cm² × 50 mA/cm²
    assert given.procedure.compliance_used_a == pytest.approx(0.020)
    protection_a = given.bench.instruments["smu"].protection["CURR"]
    assert protection_a == pytest.approx(0.020)  # set explicitly on the instrument


def test_metadata_describe_the_run(run_procedure: Callable[..., Any],
                                   cells_station: Path) -> None:
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.05,
                        sample_id="QD-1")
    procedure = run.procedure
    assert procedure.station_name == "test-bench"
    assert procedure.simulated_run is True
    assert "MODEL 2400" in procedure.smu_identity
    assert procedure.line_frequency_hz == 50.0
    assert procedure.light_source_identity == "none"
    assert procedure.irradiance_for_pce_mw_cm2 == 100.0
    assert procedure.irradiance_source == "parameter"
    assert procedure.points_measured == 29
    assert procedure.start_time_utc.endswith("+00:00")


def test_missing_area_is_refused_before_anything_is_switched_on(
        run_procedure: Callable[..., Any], cells_station: Path) -> None:
    run = run_procedure(JVProcedure, cells_station)
    assert isinstance(run.error, ProcedureError) and "area_cm2" in str(run.error)
    assert run.rows == [] and not output_on(run)


# --- light path --------------------------------------------------------------------------------

@needs_light_path
def test_lit_sweep_opens_the_shutter_and_closes_it_at_the_end(
        run_procedure: Callable[..., Any], lamp_station: Path) -> None:
    run = run_procedure(JVProcedure, lamp_station, area_cm2=AREA_CM2, step_v=0.01)
    assert run.error is None
    metrics, _ = jv_metrics(*jv(run), 100.0)
    assert metrics["jsc_ma_cm2"] == pytest.approx(pvlib_truth(CELL)["jsc_ma_cm2"], rel=1e-3)
    assert not output_on(run)
    assert run.bench.instruments["shutter"].shutter_open is False
    lamp = run.bench.instruments["lamp"].lamp
    assert lamp.is_on(run.bench.clock.now_s())  # an arc lamp is never switched off


@needs_light_path
def test_dark_sweep_closes_the_shutter(run_procedure: Callable[..., Any],
                                       lamp_station: Path) -> None:
    run = run_procedure(JVProcedure, lamp_station, area_cm2=AREA_CM2, step_v=0.01,
                        light=False)
    assert run.error is None
    voltage_v, j_ma_cm2 = jv(run)
    assert abs(j_ma_cm2[np.argmin(np.abs(voltage_v))]) < 1e-3  # no photocurrent
    assert j_ma_cm2[0] < -1.0  # dark injection at 1.3 V
    assert all(r["Irradiance (mW/cm**2)"] == 0.0 for r in run.rows)
    assert run.bench.instruments["shutter"].shutter_open is False
    assert not output_on(run)


def test_dark_sweep_without_a_shutter_is_refused(run_procedure: Callable[..., Any],
                                                cells_station: Path) -> None:
    """docs/contracts.md: a station with no light source and no shutter keeps its device lit, so a
    dark measurement needs a shutter -- refused in startup, before the output is touched."""
    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, light=False)
    assert isinstance(run.error, ProcedureError)
    assert "needs a shutter" in str(run.error)
    assert run.rows == []
    assert not any("OUTP ON" in m for m in run.bench.instruments["smu"].traffic)


# --- abort and failures ------------------------------------------------------------------------

def test_abort_between_points_stops_cleanly_with_the_output_off(
        run_procedure: Callable[..., Any], cells_station: Path) -> None:
    rows_before_abort = 5
    emitted = {"rows": 0}

    def should_stop() -> bool:
        return emitted["rows"] >= rows_before_abort

    def prepare(procedure: Any, roles: Any) -> None:
        emit = procedure.emit

        def counting_emit(topic: str, record: Any) -> None:
            emitted["rows"] += topic == "results"
            emit(topic, record)

        procedure.emit = counting_emit

    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.01,
                        hardware_sweep=False, should_stop=should_stop, prepare=prepare)
    assert run.error is None
    assert len(run.rows) == rows_before_abort
    assert not output_on(run)
    assert run.bench.instruments["smu"].traffic[-4] == ":OUTP OFF"  # the shutdown sequence


@pytest.mark.parametrize("hardware_sweep", [True, False])
def test_instrument_that_stops_answering_fails_the_run_but_shutdown_makes_it_safe(
        run_procedure: Callable[..., Any], cells_station: Path, hardware_sweep: bool) -> None:
    """The SMU keeps executing commands but never answers a query (hung firmware): the
    timeout propagates from execute(), and shutdown() still switches the output off."""

    def prepare(procedure: Any, roles: Any) -> None:
        emulator = procedure.roles.bench.instruments["smu"]
        smu = roles.smu
        original_read, original_sweep = smu.read, smu.sweep_voltage_linear
        calls = {"read": 0}

        def failing_read() -> Any:
            calls["read"] += 1
            if calls["read"] == 4:
                emulator.fault = "no_reply"
            return original_read()

        def failing_sweep(*args: Any, **kwargs: Any) -> Any:
            emulator.fault = "no_reply"
            return original_sweep(*args, **kwargs)

        smu.read = failing_read
        smu.sweep_voltage_linear = failing_sweep

    run = run_procedure(JVProcedure, cells_station, area_cm2=AREA_CM2, step_v=0.01,
                        hardware_sweep=hardware_sweep, prepare=prepare)
    assert isinstance(run.error, VisaIOError)
    assert run.shutdown_error is None
    assert len(run.rows) == (0 if hardware_sweep else 3)
    assert not output_on(run)


@needs_light_path
def test_dead_smu_does_not_stop_the_shutter_from_closing(run_procedure: Callable[..., Any],
                                                         lamp_station: Path) -> None:
    """A cable pulled out mid-run: nothing reaches the SMU, but shutdown() does not raise and
    the next safety step, the shutter, still closes."""

    def prepare(procedure: Any, roles: Any) -> None:
        smu = roles.smu
        original_read = smu.read

        def dying_read() -> Any:
            procedure.roles.bench.instruments["smu"].fault = "dead"
            return original_read()

        smu.read = dying_read

    run = run_procedure(JVProcedure, lamp_station, area_cm2=AREA_CM2, step_v=0.05,
                        hardware_sweep=False, prepare=prepare)
    assert isinstance(run.error, VisaIOError)
    assert run.shutdown_error is None
    assert run.bench.instruments["shutter"].shutter_open is False


def test_shutdown_after_a_failed_startup_does_not_raise() -> None:
    procedure = JVProcedure(area_cm2=AREA_CM2)
    procedure.shutdown()  # no roles at all
    with pytest.raises(ProcedureError):
        procedure.startup()
    procedure.shutdown()


# --- pymeasure compatibility -------------------------------------------------------------------

def test_pymeasure_worker_runs_the_procedure(cells_station: Path, tmp_path: Path) -> None:
    """pymeasure's own Worker (as the GUI uses it) runs the class: the metadata workaround
    (docs/pymeasure-notes.md §1.3) and the pint column units hold."""
    station = open_station(cells_station, simulated=True)
    try:
        procedure = JVProcedure(area_cm2=AREA_CM2, step_v=0.05, sample_id="QD-1")
        procedure.roles = station.roles()
        results = Results(procedure, str(tmp_path / "jv.csv"))
        worker = Worker(results)
        worker.start()
        threading.Thread.join(worker)  # not worker.join(): it would stop the run
        assert procedure.status == procedure.FINISHED
        text = (tmp_path / "jv.csv").read_text()
        assert "\tStation: test-bench" in text
        assert "\tSMU identity: KEITHLEY INSTRUMENTS INC.,MODEL 2400" in text
        data = results.data
        assert len(data) == 29
        assert list(data.columns) == JVProcedure.DATA_COLUMNS
        assert not station.bench.instruments["smu"].output_on
        assert math.isfinite(procedure.achieved_scan_rate_v_s)
    finally:
        station.close()


def test_worker_copy_of_parameters_round_trips() -> None:
    procedure = JVProcedure()
    procedure.set_parameters({"direction": "forward", "start_v": -0.1, "stop_v": 1.2,
                              "area_cm2": 0.058})
    clone = copy.deepcopy(procedure.parameter_values())
    assert clone["direction"] == "forward"
    assert clone["area_cm2"] == 0.058
    with pytest.raises(ValueError):
        procedure.set_parameters({"direction": "both"})  # one direction per run


@needs_light_path
def test_a_stop_during_the_lamp_warm_up_ends_it_at_once(
        run_procedure: Callable[..., Any], lamp_station: Path) -> None:
    """The driver's warm-up (1800 s) is waited by the procedure in interruptible slices: a stop
    after 60 s ends the run then, with the shutter never opened and no data taken."""
    started_s: dict[str, float] = {}

    def prepare(procedure: Any, roles: Any) -> None:
        started_s["t"] = roles.bench.clock.now_s()

    def should_stop() -> bool:
        from labctl import clock

        return "t" in started_s and clock.now_s() - started_s["t"] > 60.0

    run = run_procedure(JVProcedure, lamp_station, area_cm2=AREA_CM2, step_v=0.01,
                        should_stop=should_stop, prepare=prepare)
    assert run.error is None and run.rows == []
    assert run.bench.clock.now_s() - started_s["t"] < 70.0     # not the 1800 s warm-up
    assert run.bench.instruments["shutter"].shutter_open is False
    assert not output_on(run)
