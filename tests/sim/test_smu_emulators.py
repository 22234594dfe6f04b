"""The SMU emulators answer raw SCPI as the instruments do (docs/instruments.md §1, §2, §9).

These tests talk SCPI through PyVISA and the @labsim backend, without labctl's drivers, so they
pin the simulator's behaviour independently of the code that drives it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pvlib
import pytest
import pyvisa

from labctl.sim.bench import bench_for

R2400 = "GPIB0::24::INSTR"
R2420 = "GPIB0::25::INSTR"
R2450 = "USB0::0x05E6::0x2450::04412345::INSTR"
AREA_CM2 = 0.09


def open_smu(station: Path, resource: str, timeout_ms: int = 60000):
    rm = pyvisa.ResourceManager(f"{station}@labsim")
    inst = rm.open_resource(resource, read_termination="\n", write_termination="\n",
                            timeout=timeout_ms)
    return rm, inst


def values(reply: str) -> np.ndarray:
    return np.array([float(x) for x in reply.split(",")])


def pvlib_truth(irradiance_mw_cm2: float = 100.0) -> dict[str, float]:
    """Voc, Isc of the conftest cell from pvlib (per-area units: A/cm² as 'A')."""
    vt_v = 1.380649e-23 * 298.15 / 1.602176634e-19
    out = pvlib.pvsystem.singlediode(
        photocurrent=19.8e-3 * irradiance_mw_cm2 / 100, saturation_current=1e-15,
        resistance_series=3.0, resistance_shunt=3000.0, nNsVth=1.5 * vt_v)
    return {"voc_v": float(out["v_oc"]), "jsc_a_cm2": float(out["i_sc"])}


# --- 2400 / 2420 ------------------------------------------------------------------------------

def test_2400_reply_order_is_fixed_whatever_form_elem_lists(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":FORM:ELEM STAT,VOLT")
    smu.write(":SOUR:VOLT 0.5;:SENS:CURR:PROT 0.05;:OUTP ON")
    reply = values(smu.query(":READ?"))
    assert reply.size == 2
    assert reply[0] == pytest.approx(0.5)          # V first
    assert int(reply[1]) & (1 << 14)               # then STATUS (V-source bit)
    smu.write(":FORM:ELEM VOLT,CURR,RES")
    v, i, r = values(smu.query(":READ?"))
    assert r == pytest.approx(9.91e37)             # not measured -> overflow value
    assert i < 0                                   # lit cell below Voc delivers current


def test_2400_long_short_and_lower_case_headers_are_one_command(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOURce:VOLTage:LEVel:IMMediate:AMPLitude 0.25")
    assert float(smu.query(":sour:volt?")) == pytest.approx(0.25)
    smu.write("sour:volt 1e-05")
    assert float(smu.query(":SOURCE:VOLTAGE?")) == pytest.approx(1e-5)
    # a compound message: relative header after ';', one reply joined by ';'
    smu.write(":SOUR:VOLT 0.1;:SENS:CURR:PROT 0.002")
    reply = smu.query(":SOUR:VOLT?;:SENS:CURR:PROT?")
    assert [float(x) for x in reply.split(";")] == pytest.approx([0.1, 0.002])
    assert smu.query(":SYST:ERR?") == '0,"No error"'


def test_2400_unknown_header_gives_no_reply_and_minus_113(smu_station: Path) -> None:
    rm, smu = open_smu(smu_station, R2400, timeout_ms=500)
    before_s = rm.visalib.bench.clock.now_s()
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.query(":SOUR:BOGUS?")
    # the timeout cost virtual time, not real time
    assert rm.visalib.bench.clock.now_s() - before_s >= 0.5
    assert smu.query(":SYST:ERR?") == '-113,"Undefined header"'
    assert smu.query(":SYST:ERR?") == '0,"No error"'


def test_2400_read_with_output_off_queues_803(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400, timeout_ms=200)
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.query(":READ?")
    assert smu.query(":SYST:ERR?") == '+803,"Not permitted with OUTPUT off"'
    smu.write(":SOUR:CLE:AUTO ON")   # auto output-off: READ? switches on, measures, off
    assert values(smu.query(":READ?")).size == 5
    assert smu.query(":OUTP?") == "0"


@pytest.mark.parametrize(("resource", "command", "limit"), [
    (R2400, ":SOUR:VOLT 211", 210.0), (R2420, ":SOUR:VOLT 64", 63.0),
    (R2400, ":SOUR:CURR 1.1", 1.05), (R2420, ":SOUR:CURR 3.2", 3.15)])
def test_levels_beyond_the_model_are_refused_with_222(smu_station: Path, resource: str,
                                                       command: str, limit: float) -> None:
    _, smu = open_smu(smu_station, resource)
    smu.write(command)
    assert smu.query(":SYST:ERR?") == '-222,"Parameter data out of range"'
    function = "VOLT" if "VOLT" in command else "CURR"
    assert float(smu.query(f":SOUR:{function}?")) == 0.0   # the level did not change


def test_2420_three_amps_only_up_to_21_volts(smu_station: Path) -> None:
    """Beyond the 2420's limits, the combined envelope included, a setting is -222 and changes
    nothing (docs/instruments.md §1.2)."""
    _, smu = open_smu(smu_station, R2420)
    smu.write(":SENS:CURR:PROT 3.0")
    assert smu.query(":SYST:ERR?") == '0,"No error"'
    smu.write(":SOUR:VOLT 30")
    assert smu.query(":SYST:ERR?") == '-222,"Parameter data out of range"'
    assert float(smu.query(":SOUR:VOLT?")) == 0.0
    smu.write(":SENS:CURR:PROT 1.0;:SOUR:VOLT 30")
    assert smu.query(":SYST:ERR?") == '0,"No error"'
    smu.write(":SENS:CURR:PROT 3.0")                  # 3 A with 30 V programmed: refused too
    assert smu.query(":SYST:ERR?") == '-222,"Parameter data out of range"'
    assert float(smu.query(":SENS:CURR:PROT?")) == pytest.approx(1.0)
    assert "MODEL 2420" in smu.query("*IDN?")


def test_2400_sweep_step_outside_start_stop_is_221(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 1;:SOUR:SWE:POIN 6")
    smu.write(":SOUR:VOLT:STEP -0.1")
    assert smu.query(":SYST:ERR?") == '-221,"Settings conflict"'
    assert float(smu.query(":SOUR:VOLT:STEP?")) == pytest.approx(0.2)   # unchanged
    assert int(smu.query(":SOUR:SWE:POIN?")) == 6
    smu.write(":SOUR:VOLT:STEP 0.1")
    assert int(smu.query(":SOUR:SWE:POIN?")) == 11
    smu.write(":SOUR:SWE:POIN 1")                                      # 2-2500 points (§1.6)
    assert smu.query(":SYST:ERR?") == '-222,"Parameter data out of range"'


def test_2400_status_word_and_unmeasured_elements(smu_station: Path) -> None:
    """STATUS (§1.5): V-source b14, I-meas b12, front terminals b2; with only V measured
    while sourcing V, the current is neither sourced nor measured and reads +9.91E+37."""
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOUR:VOLT 0.5;:SENS:CURR:PROT 0.05;:OUTP ON")
    status = int(values(smu.query(":READ?"))[4])
    assert status == (1 << 14) | (1 << 12) | (1 << 2)
    smu.write(":ROUT:TERM REAR;:SENS:FUNC:CONC ON;:SENS:FUNC 'VOLT';:SENS:FUNC:OFF 'CURR'")
    v, i, r, _, status = values(smu.query(":READ?"))
    assert v == pytest.approx(0.5)                  # measured (no compliance: the set level)
    assert i == pytest.approx(9.91e37) and r == pytest.approx(9.91e37)
    assert int(status) == (1 << 14) | (1 << 11)     # V-source, V-meas, rear terminals
    assert smu.query(":SYST:ERR?") == '0,"No error"'


def test_2400_compliance_clamps_and_sets_status_bit_3(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOUR:VOLT 0;:SENS:CURR:PROT 0.001;:OUTP ON")
    v, i, _, _, status = values(smu.query(":READ?"))
    assert i == pytest.approx(-0.001)          # |Isc| = 1.78 mA > 1 mA compliance
    assert int(status) & 8
    smu.write(":SENS:CURR:PROT 0.01")
    v, i, _, _, status = values(smu.query(":READ?"))
    assert not int(status) & 8
    assert -i / AREA_CM2 == pytest.approx(pvlib_truth()["jsc_a_cm2"], rel=1e-6)


def test_2400_point_time_follows_the_timing_model(smu_station: Path) -> None:
    """Auto-zero on, one function, NPLC 1 at 50 Hz, source delay 10 ms (2400 manual pp. 115,
    430-435; docs/instruments.md §1.10)."""
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 0.5;:SOUR:SWE:POIN 11;:SOUR:VOLT:MODE SWE")
    smu.write(":TRIG:COUN 11;:SOUR:DEL 0.01;:SENS:CURR:NPLC 1;:SENS:CURR:PROT 0.05;:OUTP ON")
    groups = values(smu.query(":READ?")).reshape(-1, 5)
    expected_s = 225e-6 + 50e-6 + 0.01 + 3 * (1 / 50 + 185e-6) + 1.8e-3
    assert np.diff(groups[:, 3]) == pytest.approx(np.full(10, expected_s), rel=1e-9)
    smu.write(":SYST:AZER OFF;:SENS:CURR:NPLC 0.01;:SOUR:DEL 0")
    groups = values(smu.query(":READ?")).reshape(-1, 5)
    fast_s = 225e-6 + 50e-6 + 1 * (0.01 / 50 + 185e-6) + 0.30e-3
    assert np.diff(groups[:, 3]) == pytest.approx(np.full(10, fast_s), rel=1e-9)


def test_2400_sweep_matches_pvlib_voc_and_jsc(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":SOUR:VOLT:STAR 1.3;:SOUR:VOLT:STOP -0.1;:SOUR:SWE:POIN 1401")
    smu.write(":SOUR:VOLT:MODE SWE;:TRIG:COUN 1401;:SOUR:DEL 0.001;:SENS:CURR:PROT 0.05")
    smu.write(":SENS:CURR:NPLC 0.1")
    smu.write(":OUTP ON")
    v, i = values(smu.query(":READ?")).reshape(-1, 5)[:, :2].T
    j_a_cm2 = -i / AREA_CM2
    truth = pvlib_truth()
    order = np.argsort(v)
    voc_v = np.interp(0.0, -j_a_cm2[order], v[order])  # -J rises with V
    assert voc_v == pytest.approx(truth["voc_v"], abs=1e-3)
    assert np.interp(0.0, v[order], j_a_cm2[order]) == pytest.approx(truth["jsc_a_cm2"],
                                                                       rel=1e-3)


def test_2400_trigger_layer_sources_are_imm_and_tlin_only(smu_station: Path) -> None:
    _, smu = open_smu(smu_station, R2400)
    smu.write(":TRIG:SOUR TLIN;:ARM:SOUR TIM")
    assert smu.query(":SYST:ERR?") == '0,"No error"'
    smu.write(":TRIG:SOUR TIM")                    # an arm-layer event (docs/instruments.md §1.8)
    assert smu.query(":SYST:ERR?") == '-224,"Illegal parameter value"'


# --- 2450 -------------------------------------------------------------------------------------

def test_2450_sweep_fills_buffer_in_element_order_asked(smu_station: Path) -> None:
    _, k = open_smu(smu_station, R2450)
    assert k.query("*LANG?") == "SCPI"
    k.write(':TRAC:CLE "defbuffer1"')
    k.write(':SOUR:SWE:VOLT:LIN 0,1,11,0.01,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":SOUR:VOLT:ILIM 0.05;:OUTP ON;:INIT;*WAI")
    assert k.query(':TRAC:ACT? "defbuffer1"') == "11"
    sour_read = values(k.query(':TRAC:DATA? 1,11,"defbuffer1",SOUR,READ')).reshape(-1, 2)
    read_sour = values(k.query(':TRAC:DATA? 1,11,"defbuffer1",READ,SOUR')).reshape(-1, 2)
    assert sour_read[:, 0] == pytest.approx(np.linspace(0, 1, 11))
    assert read_sour[:, 1] == pytest.approx(sour_read[:, 0])
    assert read_sour[:, 0] == pytest.approx(sour_read[:, 1])
    assert k.query(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_2450_fail_abort_on_stops_at_the_limit_and_trip_flag(smu_station: Path) -> None:
    _, k = open_smu(smu_station, R2450)
    bench = bench_for(smu_station)
    bench.duts["ref_smu"] = bench.duts["smu"]  # wire the cell to the 2450 for this test
    k.write(":SOUR:VOLT:ILIM 0.001")
    k.write(':SOUR:SWE:VOLT:LIN 1.0,0,11,0.001,1,BEST,ON,OFF,"defbuffer1"')
    k.write(":OUTP ON;:INIT;*WAI")
    stored = int(k.query(':TRAC:ACT? "defbuffer1"'))
    assert 1 <= stored < 11                          # stopped at the first point in limit
    assert k.query(":SOUR:VOLT:ILIM:TRIP?") == "1"
    k.write(':TRAC:CLE "defbuffer1"')
    k.write(':SOUR:SWE:VOLT:LIN 1.0,0,11,0.001,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":INIT;*WAI")
    assert k.query(':TRAC:ACT? "defbuffer1"') == "11"


def test_2450_sweep_delay_minus_one_is_the_autodelay(smu_station: Path) -> None:
    """Sweep delay -1 = autodelay (1 ms on the auto current range), added to the source delay
    (here 0); a point then takes delay + NPLC/f_line + ~1 ms (docs/instruments.md §2.1, 2.2)."""
    _, k = open_smu(smu_station, R2450)
    k.write(":SOUR:VOLT:DEL 0;:SENS:CURR:NPLC 1;:SOUR:VOLT:ILIM 0.05")
    k.write(':SOUR:SWE:VOLT:LIN 0,1,5,-1,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":OUTP ON;:INIT;*WAI")
    rel_s = values(k.query(':TRAC:DATA? 1,5,"defbuffer1",REL'))
    assert np.diff(rel_s) == pytest.approx(np.full(4, 1e-3 + 1 / 50 + 1e-3), rel=1e-9)


def test_2450_voc_mode_reads_pvlib_voc(smu_station: Path) -> None:
    _, k = open_smu(smu_station, R2450)
    bench = bench_for(smu_station)
    bench.duts["ref_smu"] = bench.duts["smu"]
    k.write(':SOUR:FUNC CURR;:SOUR:CURR 0;:SOUR:CURR:VLIM 2;:SENS:FUNC "VOLT";:OUTP ON')
    voc_v = float(k.query(':READ? "defbuffer1",READ'))
    assert voc_v == pytest.approx(pvlib_truth()["voc_v"], abs=1e-4)


def test_2450_errors_carry_severity_and_time(smu_station: Path) -> None:
    _, k = open_smu(smu_station, R2450)
    k.write(":SOUR:VOLT 300")
    code, _, rest = k.query(":SYST:ERR?").partition(",")
    assert code == "-222"
    assert rest.startswith('"Parameter data out of range;')
    assert float(k.query(":SOUR:VOLT?")) == 0.0


# --- the backend ------------------------------------------------------------------------------

def test_one_bench_per_resolved_station_path(smu_station: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(smu_station.parent)
    _, a = open_smu(smu_station, R2400)
    _, b = open_smu(Path(smu_station.name), R2400)    # same file, spelled relative
    a.write(":SOUR:VOLT 0.42")
    assert float(b.query(":SOUR:VOLT?")) == pytest.approx(0.42)
    assert bench_for(smu_station) is bench_for(str(smu_station.parent / "." / smu_station.name))


def test_a_read_longer_than_the_visa_timeout_times_out(smu_station: Path) -> None:
    rm, smu = open_smu(smu_station, R2400, timeout_ms=2000)
    smu.write(":SOUR:VOLT:STAR 1;:SOUR:VOLT:STOP 0;:SOUR:SWE:POIN 100;:SOUR:VOLT:MODE SWE")
    smu.write(":TRIG:COUN 100;:SOUR:DEL 0.1;:SENS:CURR:PROT 0.05;:OUTP ON")  # ~16 s
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.query(":READ?")
    smu.timeout = 60000
    assert values(smu.read()).size == 500             # the data still arrives, later


def test_two_threads_on_two_smus_share_one_virtual_timeline(smu_station: Path) -> None:
    rm = pyvisa.ResourceManager(f"{smu_station}@labsim")
    bench = rm.visalib.bench
    clock = bench.clock
    finished_s: dict[str, float] = {}
    errors: list[BaseException] = []
    all_registered = threading.Barrier(2)

    def work(name: str, resource: str, n_sleeps: int, sleep_s: float) -> None:
        try:
            with clock.channel():
                all_registered.wait(timeout=10)
                inst = rm.open_resource(resource, read_termination="\n",
                                        write_termination="\n", timeout=60000)
                for _ in range(n_sleeps):
                    inst.query("*OPC?")
                    clock.sleep(sleep_s)
                finished_s[name] = clock.now_s()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("a", R2400, 10, 1.0)),
               threading.Thread(target=work, args=("b", R2450, 4, 2.0))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    # each channel waits its own time on one timeline: 10 s and 8 s (+ message overheads),
    # not the 18 s they would take one after the other
    assert 10.0 <= finished_s["a"] < 10.2
    assert 8.0 <= finished_s["b"] < 8.2
    assert clock.now_s() < 10.2


def test_pyvisa_shell_talks_to_the_simulated_bench(smu_station: Path) -> None:
    script = "open GPIB0::24::INSTR\nquery *IDN?\nexit\n"
    result = subprocess.run(
        [sys.executable, "-c", "from pyvisa.cmd_line_tools import visa_shell; visa_shell()",
         "-b", f"{smu_station}@labsim"],
        input=script, capture_output=True, text=True, timeout=60)
    assert "KEITHLEY INSTRUMENTS INC.,MODEL 2400" in result.stdout


def test_emulators_take_their_limits_from_the_driver_objects():
    """One source for every SMU limit: each emulator holds the very SmuLimits its labctl
    driver checks against."""
    from instruments.keithley24xx import Keithley2400SMU, Keithley2420SMU
    from instruments.keithley2450 import Keithley2450SMU
    from labctl.sim.keithley24xx import Keithley2400Emulator, Keithley2420Emulator
    from labctl.sim.keithley2450 import Keithley2450Emulator

    for emulator, driver in ((Keithley2400Emulator, Keithley2400SMU),
                             (Keithley2420Emulator, Keithley2420SMU),
                             (Keithley2450Emulator, Keithley2450SMU)):
        assert emulator.limits is driver.limits
        assert emulator.model == driver.model == driver.limits.model


def test_2420_emulator_refuses_beyond_the_shared_envelope(smu_station: Path) -> None:
    rm, inst = open_smu(smu_station, R2420)
    try:
        inst.write("*RST")
        inst.write(":SENS:CURR:PROT 3")
        inst.write(":SOUR:VOLT 21")
        assert inst.query(":SYST:ERR?").startswith("0,")
        inst.write(":SOUR:VOLT 22")               # 3 A compliance above 21 V: -222
        assert inst.query(":SYST:ERR?").startswith("-222,")
        inst.write(":SOUR:VOLT 64")               # beyond ±63 V
        assert inst.query(":SYST:ERR?").startswith("-222,")
    finally:
        inst.close()
        rm.close()
