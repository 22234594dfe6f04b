"""labctl's SMU drivers against the simulated instruments, through the same SCPI as in the lab.

Physics is checked against pvlib (an independent single-diode implementation); safety against
an instrument that stops answering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pvlib
import pytest

from instruments import timing
from instruments.keithley24xx import Keithley2400SMU, Keithley2420SMU
from instruments.keithley2450 import Keithley2450SMU
from labctl.analysis.jv import jv_metrics
from labctl.opened_station import OpenError, open_station
from labctl.yamlio import InputError

CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
        "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "temperature_k": 298.15,
        "ion_tau_s": 5.0, "ion_amplitude": 0.0}


def truth(cell: dict) -> dict[str, float]:
    vt_v = 1.380649e-23 * cell["temperature_k"] / 1.602176634e-19
    out = pvlib.pvsystem.singlediode(
        photocurrent=cell["jph_ma_cm2"] * 1e-3, saturation_current=cell["j0_ma_cm2"] * 1e-3,
        resistance_series=cell["rs_ohm_cm2"], resistance_shunt=cell["rsh_ohm_cm2"],
        nNsVth=cell["ideality"] * vt_v)
    return {"voc_v": float(out["v_oc"]), "jsc_ma_cm2": float(out["i_sc"]) * 1e3,
            "pmax_mw_cm2": float(out["p_mp"]) * 1e3}


@pytest.fixture
def cells_station(write_station: Callable[..., Path]) -> Path:
    """A cell on each of the three SMUs (simulation.devices)."""
    return write_station(simulation={"device": None, "devices": {
        "smu": CELL, "smu2420": CELL, "ref_smu": CELL}})


@pytest.fixture
def cells(labsim_station: Any, cells_station: Path) -> Any:
    """The same station through the fixtures labctl ships for labs (labctl.testing)."""
    return labsim_station(cells_station)


def sweep_jv(smu, start_v: float, stop_v: float, points: int, delay_s: float,
             nplc: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    result = smu.sweep_voltage_linear(start_v, stop_v, points, source_delay_s=delay_s,
                                      compliance_a=0.05, nplc=nplc)
    return result.voltage_v, -result.current_a / CELL["area_cm2"] * 1e3


@pytest.mark.parametrize("name", ["smu", "smu2420", "ref_smu"])
def test_hardware_sweep_matches_pvlib(cells: Any, name: str) -> None:
    """Issue: Voc within 1 mV and Jsc within 0.1 % of pvlib's singlediode (10 mV grid)."""
    smu = cells.instruments[name]
    voltage_v, j_ma_cm2 = sweep_jv(smu, 1.3, -0.1, 141, 0.01)
    metrics, warnings = jv_metrics(voltage_v, j_ma_cm2)
    assert cells.faults.errors(name) == []
    expected = truth(CELL)
    assert metrics["voc_v"] == pytest.approx(expected["voc_v"], abs=1e-3)
    assert metrics["jsc_ma_cm2"] == pytest.approx(expected["jsc_ma_cm2"], rel=1e-3)
    assert metrics["pmax_mw_cm2"] == pytest.approx(expected["pmax_mw_cm2"], rel=1e-3)
    assert voltage_v[0] == pytest.approx(1.3) and voltage_v[-1] == pytest.approx(-0.1)


def test_drivers_are_the_models_the_station_names(cells: Any) -> None:
    assert type(cells.instruments["smu"]) is Keithley2400SMU
    assert type(cells.instruments["smu2420"]) is Keithley2420SMU
    assert type(cells.instruments["ref_smu"]) is Keithley2450SMU
    assert "MODEL 2420" in cells.instruments["smu2420"].identity


@pytest.mark.parametrize("name", ["smu", "ref_smu"])
def test_the_fixtures_truth_is_pvlibs(cells: Any, name: str) -> None:
    """What the plug-in's ``truth`` says of a cell agrees with pvlib's single diode."""
    told, expected = cells.truth.cell(name, irradiance_mw_cm2=100.0), truth(CELL)
    assert told.voc_v == pytest.approx(expected["voc_v"], rel=1e-6)
    assert told.jsc_ma_cm2 == pytest.approx(expected["jsc_ma_cm2"], rel=1e-6)
    assert told.pmax_mw_cm2 == pytest.approx(expected["pmax_mw_cm2"], rel=1e-6)


@pytest.mark.parametrize("name", ["smu", "ref_smu"])
def test_read_voc_mode_and_compliance_flag(cells_station: Path, name: str) -> None:
    with open_station(cells_station, simulated=True) as station:
        smu = station.instruments[name]
        smu.configure_voc_mode(compliance_v=2.0)
        smu.enable_output()
        assert smu.read().voltage_v == pytest.approx(truth(CELL)["voc_v"], abs=1e-4)
        smu.configure_voltage_source(level_v=0.0, compliance_a=0.001)
        smu.enable_output()
        reading = smu.read()
        assert reading.in_compliance            # |Isc| = 1.78 mA > 1 mA
        assert reading.current_a == pytest.approx(-0.001, rel=1e-6)
        smu.configure_voltage_source(level_v=0.0, compliance_a=0.01)
        smu.enable_output()
        reading = smu.read()
        assert not reading.in_compliance
        assert -reading.current_a / 0.09 * 1e3 == pytest.approx(truth(CELL)["jsc_ma_cm2"],
                                                                rel=1e-6)


def test_list_sweep_returns_the_listed_points(cells_station: Path) -> None:
    voltages_v = [0.0, 0.5, 1.0, 0.9, 0.2, 1.1]
    with open_station(cells_station, simulated=True) as station:
        for name in ("smu", "ref_smu"):
            result = station.instruments[name].sweep_voltage_list(
                voltages_v, source_delay_s=0.01, compliance_a=0.05)
            assert result.voltage_v == pytest.approx(voltages_v, abs=1e-9)
            assert np.all(np.diff(result.time_s) > 0)


@pytest.mark.parametrize("name", ["smu", "smu2420", "ref_smu"])
@pytest.mark.parametrize(("delay_s", "nplc"), [(0.01, 1.0), (0.0, 0.01)])
def test_sweep_takes_the_time_the_timing_model_gives(
        cells_station: Path, name: str, delay_s: float, nplc: float) -> None:
    """instruments.timing.sweep_duration_s (the driver's expected duration, its VISA timeout,
    the J-V scan-rate arithmetic and validate's estimate) agrees within 1 % with the emulator's
    virtual duration of a 141-point sweep, on each model: the point period the instrument
    stamps, and the whole call including its set-up messages. At 0.01 PLC a model without the
    2400's trigger latency and source configuration (275 us per point) would be 7 % off."""
    with open_station(cells_station, simulated=True) as station:
        smu = station.instruments[name]
        clock = station.bench.clock
        expected_s = timing.sweep_duration_s(smu.model, 141, delay_s, nplc, 50.0)
        assert smu.expected_sweep_duration_s(141, delay_s, nplc) == expected_s
        before_s = clock.now_s()
        result = smu.sweep_voltage_linear(1.3, -0.1, 141, source_delay_s=delay_s,
                                          compliance_a=0.05, nplc=nplc)
        took_s = clock.now_s() - before_s
    stamped_s = float(result.time_s[-1] - result.time_s[0]) * 141 / 140
    assert stamped_s == pytest.approx(expected_s, rel=0.01)
    if nplc == 1.0:  # at 0.01 PLC the set-up messages alone are several % of the sweep
        assert took_s == pytest.approx(expected_s, rel=0.01)
    assert took_s >= expected_s


def test_hysteresis_at_fast_scans_and_none_at_slow(write_station: Callable[..., Path]) -> None:
    """ion_amplitude > 0: a reverse scan reads above the forward one at scans comparable to
    ion_tau_s; scans much slower than ion_tau_s follow the single-diode curve."""
    cell = dict(CELL, ion_amplitude=0.3, ion_tau_s=2.0)
    path = write_station(simulation={"device": cell})
    with open_station(path, simulated=True) as station:
        smu = station.instruments["smu"]
        smu.configure_voc_mode(compliance_v=2.0)   # held at Voc under light: poled
        smu.enable_output()
        station.bench.clock.sleep(60.0)
        assert smu.read().voltage_v == pytest.approx(truth(cell)["voc_v"], abs=1e-3)
        hi: dict[str, float] = {}
        pce: dict[str, tuple[float, float]] = {}
        for label, delay_s, nplc in (("fast", 0.0, 0.01), ("slow", 5.0, 1.0)):
            v_rev, j_rev = sweep_jv(smu, 1.3, -0.1, 141, delay_s, nplc)
            v_fwd, j_fwd = sweep_jv(smu, -0.1, 1.3, 141, delay_s, nplc)
            rev, _ = jv_metrics(v_rev, j_rev)
            fwd, _ = jv_metrics(v_fwd, j_fwd)
            pce[label] = (rev["pce_pct"], fwd["pce_pct"])
            hi[label] = (rev["pce_pct"] - fwd["pce_pct"]) / rev["pce_pct"]
    steady = truth(cell)["pmax_mw_cm2"]
    assert hi["fast"] > 0.05                            # normal hysteresis, reverse above
    assert abs(hi["slow"]) < 0.005
    assert pce["slow"][0] == pytest.approx(steady, rel=3e-3)
    assert pce["slow"][1] == pytest.approx(steady, rel=3e-3)


def test_two_threads_on_two_smus_share_one_virtual_timeline(cells_station: Path) -> None:
    with open_station(cells_station, simulated=True) as station:
        clock = station.bench.clock
        before_s = clock.now_s()
        sweep_jv(station.instruments["smu"], 1.3, -0.1, 141, 0.05)
        alone_s = clock.now_s() - before_s
        start_s = clock.now_s()
        end_s: dict[str, float] = {}
        failures: list[BaseException] = []
        registered = threading.Barrier(2)

        def run(name: str, points: int) -> None:
            try:
                with clock.channel():
                    registered.wait(timeout=10)
                    sweep_jv(station.instruments[name], 1.3, -0.1, points, 0.05)
                    end_s[name] = clock.now_s()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=run, args=("smu", 141)),
                   threading.Thread(target=run, args=("ref_smu", 71))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures
        long_s, short_s = end_s["smu"] - start_s, end_s["ref_smu"] - start_s
        # the two sweeps overlap in virtual time: the run takes as long as the longer one
        assert long_s == pytest.approx(alone_s, rel=0.02)
        assert short_s < 0.7 * long_s
        assert clock.now_s() - start_s < 1.02 * alone_s


def test_shutdown_turns_output_off_when_queries_go_unanswered(cells_station: Path) -> None:
    with open_station(cells_station, simulated=True) as station:
        for name in ("smu", "ref_smu"):
            smu = station.instruments[name]
            emulator = station.bench.instruments[name]
            smu.configure_voltage_source(level_v=0.5, compliance_a=0.05)
            smu.enable_output()
            assert emulator.output_on
            emulator.fault = "no_reply"          # firmware hung: executes, never answers
            sent_before = len(emulator.traffic)
            before_s = station.bench.clock.now_s()
            smu.shutdown()                       # must not raise, must not wait for replies
            assert not emulator.output_on
            sent = list(emulator.traffic)[sent_before:]
            assert sent[0] == ":OUTP OFF"        # output off first, no query before it
            assert not any(command.endswith("?") for command in sent)
            assert station.bench.clock.now_s() - before_s < 1.0   # no VISA timeout waited


def test_shutdown_survives_a_dead_instrument(cells_station: Path) -> None:
    with open_station(cells_station, simulated=True) as station:
        smu = station.instruments["smu"]
        emulator = station.bench.instruments["smu"]
        smu.configure_voltage_source(level_v=0.5, compliance_a=0.05)
        smu.enable_output()
        emulator.fault = "dead"
        sent_before = len(emulator.traffic)
        smu.shutdown()                           # nothing answers: no exception escapes
        # every safety command was still attempted, output off first
        assert list(emulator.traffic)[sent_before:] == [
            ":OUTP OFF", ":ABOR", ":SOUR:VOLT:MODE FIX", ":SOUR:VOLT 0"]
        assert smu.isShutdown


def test_out_of_range_setting_is_refused_before_anything_is_sent(cells_station: Path) -> None:
    with open_station(cells_station, simulated=True) as station:
        emulator = station.bench.instruments["smu2420"]
        sent_before = len(emulator.traffic)
        with pytest.raises(ValueError) as excinfo:
            station.instruments["smu2420"].configure_voltage_source(level_v=30.0,
                                                                    compliance_a=3.0)
        assert len(emulator.traffic) == sent_before
        message = str(excinfo.value)
        assert "\n" not in message and "2420" in message


def test_bad_resource_is_a_one_line_error_naming_file_and_line(
        write_station: Callable[..., Path]) -> None:
    """A real-VISA station whose serial port does not exist (pyvisa-py opens it and fails)."""
    path = write_station(base={"station": "no-such-port", "instruments": {
        "smu": {"driver": "keithley2400", "resource": "ASRL/dev/ttyLABCTL_MISSING::INSTR"}}})
    with pytest.raises(OpenError) as excinfo:
        open_station(path, simulated=False)
    message = str(excinfo.value)
    assert message.startswith(f"{path}:")
    assert "instruments.smu.resource" in message
    assert "ASRL/dev/ttyLABCTL_MISSING::INSTR" in message
    assert "\n" not in message


def test_bad_yaml_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("station: x\ninstruments:\n  smu: {driver: keithley2400, resource: [\n")
    with pytest.raises(InputError) as excinfo:
        open_station(path, simulated=True)
    message = str(excinfo.value)
    assert message.startswith(str(path)) and "\n" not in message
