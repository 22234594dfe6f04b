"""The simulated 2450 answers as the instrument does (issue 12, the 2450 items).

Raw SCPI through PyVISA and the @labsim backend, on the virtual clock: the trigger model runs
while the instrument answers, :ABOR stops it, source and measure ranges are the fixed ranges
the manual lists, current sweeps, and every query real drivers send.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvisa

from labctl.sim.bench import bench_for

R2450 = "USB0::0x05E6::0x2450::04412345::INSTR"
NO_ERROR = '0,"No error;0;0 0"'


def open_2450(station: Path, timeout_ms: int = 60000):
    rm = pyvisa.ResourceManager(f"{station}@labsim")
    inst = rm.open_resource(R2450, read_termination="\n", write_termination="\n",
                            timeout=timeout_ms)
    return rm.visalib.bench, inst


def wire_cell(station: Path) -> None:
    bench = bench_for(station)
    bench.duts["ref_smu"] = bench.duts["smu"]


def values(reply: str) -> np.ndarray:
    return np.array([float(x) for x in reply.split(",")])


# --- the trigger model runs while the instrument answers -----------------------------------

def _start_100_point_sweep(k) -> float:
    """A 100-point sweep of 1 PLC points (21 ms each, 2.1 s); returns the point time."""
    k.write(":SOUR:VOLT:DEL 0;:SENS:CURR:NPLC 1;:SOUR:VOLT:ILIM 0.05")
    k.write(':SOUR:SWE:VOLT:LIN 0,1,100,0,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":OUTP ON")
    k.write(":INIT")
    return 1 / 50 + 1e-3  # NPLC/f_line + ~1 ms (source delay 0, sweep delay 0)


def test_2450_answers_idn_and_buffer_count_while_the_sweep_runs(smu_station: Path) -> None:
    bench, k = open_2450(smu_station)
    clock = bench.clock
    _start_100_point_sweep(k)
    started_s = clock.now_s()
    assert "MODEL 2450" in k.query("*IDN?")
    assert clock.now_s() - started_s < 0.01          # answered at once, not after the sweep
    assert k.query(":TRIG:STAT?").startswith("RUNNING;")
    counts = []
    for _ in range(5):
        clock.sleep(0.3)
        counts.append(int(k.query(':TRAC:ACT? "defbuffer1"')))
    assert counts == sorted(counts) and counts[0] < counts[-1] < 100   # grows as time passes
    assert 0 < counts[0] < 30
    clock.sleep(2.0)
    assert k.query(':TRAC:ACT? "defbuffer1"') == "100"
    assert k.query(":TRIG:STAT?").startswith("IDLE;IDLE;")
    assert k.query(":SYST:ERR?") == NO_ERROR


def test_2450_trig_stat_polling_sees_running_then_idle(smu_station: Path) -> None:
    bench, k = open_2450(smu_station)
    clock = bench.clock
    point_s = _start_100_point_sweep(k)
    polls = 0
    while k.query(":TRIG:STAT?").split(";")[0] == "RUNNING":
        clock.sleep(0.1)
        polls += 1
    assert 100 * point_s <= clock.now_s() <= 100 * point_s + 0.2
    assert polls >= 20
    data = values(k.query(':TRAC:DATA? 1,100,"defbuffer1",SOUR'))
    assert data == pytest.approx(np.linspace(0, 1, 100))


def test_2450_abort_stops_a_running_trigger_model(smu_station: Path) -> None:
    bench, k = open_2450(smu_station)
    clock = bench.clock
    _start_100_point_sweep(k)
    clock.sleep(0.5)
    k.write(":ABOR")
    stopped = int(k.query(':TRAC:ACT? "defbuffer1"'))
    assert 10 < stopped < 40
    assert k.query(":TRIG:STAT?").startswith("ABORTED;")
    assert k.query("*OPC?") == "1"
    assert clock.now_s() < 1.0                                      # *OPC? did not wait 2.1 s
    clock.sleep(5.0)
    assert int(k.query(':TRAC:ACT? "defbuffer1"')) == stopped      # nothing more arrives


def test_2450_wai_and_opc_wait_for_the_trigger_model(smu_station: Path) -> None:
    bench, k = open_2450(smu_station)
    clock = bench.clock
    point_s = _start_100_point_sweep(k)
    assert k.query("*OPC?") == "1"
    assert clock.now_s() >= 100 * point_s
    assert k.query(':TRAC:ACT? "defbuffer1"') == "100"


def test_2450_a_reading_during_the_sweep_is_made_after_it(smu_station: Path) -> None:
    """⚠ the manual does not say; the emulator runs :READ? once the trigger model ends."""
    bench, k = open_2450(smu_station)
    point_s = _start_100_point_sweep(k)
    k.query(':READ? "defbuffer1",READ')
    assert bench.clock.now_s() >= 101 * point_s
    assert k.query(':TRAC:ACT? "defbuffer1"') == "101"


def test_2450_shutter_closing_mid_sweep_darkens_the_later_points(smu_station: Path) -> None:
    """The device model follows the trigger model point by point, so a light change during
    the sweep reaches the points made after it."""
    wire_cell(smu_station)
    bench, k = open_2450(smu_station)
    k.write(":SOUR:VOLT:DEL 0;:SENS:CURR:NPLC 1;:SOUR:VOLT:ILIM 0.05")
    k.write(':SOUR:SWE:VOLT:LIN 0,0,40,0,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":OUTP ON;:INIT")
    bench.clock.sleep(0.42)                   # 20 points of 21 ms
    bench.light_changing()
    bench.light.shutter_open = False
    k.write("*WAI")
    current_a = values(k.query(':TRAC:DATA? 1,40,"defbuffer1",READ'))
    assert np.all(current_a[:19] < -1e-3)     # lit: photocurrent at short circuit
    assert np.all(np.abs(current_a[21:]) < 1e-6)   # dark after the shutter closed


# --- ranges ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("function", "level", "full_scale"), [
    ("CURR", 1e-6, 1e-6), ("CURR", 1.5e-6, 1e-5), ("CURR", 0.0, 1e-8), ("CURR", -0.5, 1.0),
    ("VOLT", 0.5, 2.0), ("VOLT", 0.019, 0.02), ("VOLT", 3.0, 20.0), ("VOLT", -150.0, 200.0),
])
def test_2450_source_auto_range_holds_the_level(smu_station: Path, function: str,
                                                level: float, full_scale: float) -> None:
    _, k = open_2450(smu_station)
    k.write(f":SOUR:FUNC {function};:SOUR:{function}:RANG:AUTO ON")
    if function == "VOLT" and abs(level) > 21:
        k.write(":SOUR:VOLT:ILIM 0.1")
    k.write(f":SOUR:{function} {level}")
    assert float(k.query(f":SOUR:{function}:RANG?")) == pytest.approx(full_scale)
    assert k.query(f":SOUR:{function}:RANG:AUTO?") == "1"
    assert k.query(":SYST:ERR?") == NO_ERROR


@pytest.mark.parametrize(("header", "sent", "full_scale"), [
    (":SENS:CURR:RANG", 3e-3, 1e-2), (":SENS:CURR:RANG", 1e-2, 1e-2),
    (":SENS:CURR:RANG", 9e-3, 1e-2), (":SENS:VOLT:RANG", 0.5, 2.0),
    (":SENS:RES:RANG", 1500, 2e3), (":SOUR:VOLT:RANG", 3, 20.0), (":SOUR:CURR:RANG", 2e-4, 1e-3),
])
def test_2450_range_query_returns_the_full_scale_of_the_range_chosen(
        smu_station: Path, header: str, sent: float, full_scale: float) -> None:
    _, k = open_2450(smu_station)
    if header.startswith(":SENS:VOLT"):
        k.write(":SOUR:FUNC CURR")     # measuring V while sourcing V uses the source range
    k.write(f"{header} {sent}")
    assert float(k.query(f"{header}?")) == pytest.approx(full_scale)
    assert k.query(f"{header}:AUTO?") == "0"          # a fixed range turns auto range off
    assert k.query(":SYST:ERR?") == NO_ERROR


def test_2450_measure_auto_range_reads_back_the_range_of_the_last_reading(
        smu_station: Path) -> None:
    wire_cell(smu_station)
    _, k = open_2450(smu_station)
    k.write(":SOUR:VOLT 0;:SOUR:VOLT:ILIM 0.05;:SENS:CURR:RANG:AUTO ON;:OUTP ON")
    current_a = float(k.query(':READ? "defbuffer1",READ'))
    assert -2e-3 < current_a < -1e-3                 # Jsc 19.8 mA/cm² × 0.09 cm²
    assert float(k.query(":SENS:CURR:RANG?")) == pytest.approx(1e-2)


def test_2450_measuring_the_source_function_uses_the_source_range(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write(":SOUR:FUNC VOLT;:SOUR:VOLT:RANG 2;:SENS:VOLT:RANG 200")
    assert float(k.query(":SENS:VOLT:RANG?")) == pytest.approx(2.0)
    k.write(":SOUR:FUNC CURR")                        # the retained setting comes back
    assert float(k.query(":SENS:VOLT:RANG?")) == pytest.approx(200.0)


# --- current sweeps -------------------------------------------------------------------------

def test_2450_current_linear_sweep_measures_the_cell_voltage(smu_station: Path) -> None:
    wire_cell(smu_station)
    _, k = open_2450(smu_station)
    k.write(':SENS:FUNC "VOLT";:SOUR:CURR:VLIM 2')
    k.write(':SOUR:SWE:CURR:LIN -1.7e-3,0,5,0,1,BEST,OFF,OFF,"defbuffer1"')
    assert k.query(":SYST:ERR?") == NO_ERROR
    assert k.query(":SOUR:FUNC?") == "CURR"
    k.write(":INIT;*WAI")
    assert k.query(':TRAC:ACT? "defbuffer1"') == "5"
    data = values(k.query(':TRAC:DATA? 1,5,"defbuffer1",SOUR,READ')).reshape(-1, 2)
    assert data[:, 0] == pytest.approx(np.linspace(-1.7e-3, 0, 5), abs=1e-9)
    assert np.all(np.diff(data[:, 1]) > 0)           # V rises toward Voc as I goes to 0
    assert 0.9 < data[-1, 1] < 1.3                   # the last point is at open circuit


def test_2450_current_list_and_log_sweeps(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write(":SOUR:LIST:CURR 1e-6,2e-6,5e-6;:SOUR:LIST:CURR:APP 1e-5")
    assert k.query(":SOUR:LIST:CURR:POIN?") == "4"
    k.write(':SENS:FUNC "VOLT";:SOUR:CURR:VLIM 2;:SOUR:CURR:READ:BACK OFF')
    k.write(':TRAC:CLE "defbuffer1";:SOUR:SWE:CURR:LIST 2,0,1,OFF,"defbuffer1"')
    k.write(":INIT;*WAI")
    sour_read = values(k.query(':TRAC:DATA? 1,3,"defbuffer1",SOUR,READ')).reshape(-1, 2)
    assert sour_read[:, 0] == pytest.approx([2e-6, 5e-6, 1e-5])   # readback off: as programmed
    assert sour_read[:, 1] == pytest.approx([2.0, 2.0, 2.0])      # open leads: at the V limit
    assert k.query(":SOUR:CURR:VLIM:TRIP?") == "1"
    k.write(':TRAC:CLE "defbuffer1";:SOUR:SWE:CURR:LOG 1e-8,1e-4,5,0,1,BEST,OFF,OFF')
    k.write(":INIT;*WAI")
    assert k.query(':TRAC:ACT? "defbuffer1"') == "5"
    k.write(":SOUR:SWE:CURR:LOG -1e-6,1e-6,5")       # log through zero: refused
    assert k.query(":SYST:ERR?").startswith("-221,")
    k.write(":SOUR:SWE:CURR:LIN 0,2,5")              # beyond 1.05 A: refused
    assert k.query(":SYST:ERR?").startswith("-222,")


def test_2450_has_no_2400_sweep_spacing_command(smu_station: Path) -> None:
    """The 2400's :SOUR:SWE:SPAC is not in the 2450's native SCPI (it has :SWE:<f>:LOG)."""
    _, k = open_2450(smu_station)
    k.write(":SOUR:SWE:SPAC LOG")
    assert k.query(":SYST:ERR?").startswith("-113,")


# --- queries and commands real drivers send (issue 12, item 9) ------------------------------

QUERIES_2450 = [
    ":SENS:VOLT:RANG?", ":SENS:VOLT:RANG:AUTO?", ":SENS:RES:RANG?", ":SENS:RES:RANG:AUTO?",
    ":SENS:RES:NPLC?", ":SENS:RES:RSEN?", ":SENS:CURR:AVER?", ":SENS:VOLT:AVER?",
    ":SENS:CURR:AVER:TCON?", ":SENS:CURR:AVER:COUN?", ":SENS:VOLT:AVER:TCON?",
    ":SENS:VOLT:AVER:COUNT?", ":SENS:CURR:AZER?", ":SENS:VOLT:AZER?", ":SENS:RES:AZER?",
    ":SENS:CURR:DEL:USER1?", ":SENS:VOLT:DEL:USER3?", ":SOUR:VOLT:DEL:USER1?",
    ":SOUR:CURR:DEL:USER5?", ":SOUR:CURR:DEL?", ":SOUR:CURR:DEL:AUTO?",
    ":SOUR:CURR:RANG:AUTO?", ":SOUR:VOLT:READ:BACK?", ":SOUR:CURR:READ:BACK?",
    ":OUTP:CURR:SMOD?", ":OUTP:VOLT:SMOD?", ":SYST:LFR?", ":TRAC:STAT:MAX?",
    ":TRAC:STAT:MIN?", ":TRAC:STAT:STDD?", ":TRAC:STAT:AVER?", "*SRE?", ":FORM?",
    ":FORM:DATA?", ":TRIG:STAT?",
]


@pytest.mark.parametrize("query", QUERIES_2450)
def test_2450_answers_the_queries_real_drivers_send(smu_station: Path, query: str) -> None:
    _, k = open_2450(smu_station, timeout_ms=2000)
    k.write(":OUTP ON")
    for _ in range(3):                                # readings for the statistics
        k.query(":READ?")
    assert k.query(query) != ""
    assert k.query(":SYST:ERR?") == NO_ERROR


def test_2450_settings_read_back_what_was_set(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write(":SENS:CURR:AVER:TCON MOV;:SENS:CURR:AVER:COUN 25;:SENS:CURR:AVER ON")
    k.write(":SENS:RES:AZER OFF;:SOUR:VOLT:DEL:USER2 0.25;:SENS:CURR:DEL:USER1 1.5")
    k.write(":SOUR:CURR:READ:BACK OFF;:OUTP:CURR:SMOD HIMP;*SRE 16;:SOUR:CURR:DEL 0.01")
    assert k.query(":SENS:CURR:AVER:TCON?") == "MOV"
    assert k.query(":SENS:CURR:AVER:COUN?") == "25"
    assert k.query(":SENS:CURR:AVER?") == "1"
    assert k.query(":SENS:RES:AZER?") == "0"
    assert float(k.query(":SOUR:VOLT:DEL:USER2?")) == 0.25
    assert float(k.query(":SENS:CURR:DEL:USER?")) == 1.5     # USER = USER1
    assert k.query(":SOUR:CURR:READ:BACK?") == "0"
    assert k.query(":OUTP:CURR:SMOD?") == "HIMP"
    assert k.query("*SRE?") == "16"
    assert float(k.query(":SOUR:CURR:DEL?")) == 0.01
    assert k.query(":SOUR:CURR:DEL:AUTO?") == "0"
    assert k.query(":SYST:LFR?") == "50"
    assert k.query(":SYST:ERR?") == NO_ERROR
    k.write(":SENS:CURR:AVER:COUN 101")
    assert k.query(":SYST:ERR?").startswith("-222,")


def test_2450_trace_statistics_and_trace_trigger(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write(':SOUR:FUNC CURR;:SENS:FUNC "VOLT";:SOUR:CURR:VLIM 2;:OUTP ON')
    for level_a in (0.0, 1e-3, -1e-3):                  # open leads: V at 0, +2, -2
        k.write(f":SOUR:CURR {level_a}")
        k.write(':TRAC:TRIG "defbuffer1"')
    assert k.query(':TRAC:ACT? "defbuffer1"') == "3"
    assert float(k.query(":TRAC:STAT:MAX?")) == pytest.approx(2.0)
    assert float(k.query(":TRAC:STAT:MIN?")) == pytest.approx(-2.0)
    assert float(k.query(":TRAC:STAT:AVER?")) == pytest.approx(0.0, abs=1e-9)
    assert float(k.query(":TRAC:STAT:STDD?")) == pytest.approx(2.0)
    assert float(k.query(":TRAC:STAT:PK2P?")) == pytest.approx(4.0)   # manual p. 6-122
    assert float(k.query(':TRACe:STATistics:PK2Pk? "defbuffer1"')) == pytest.approx(4.0)
    assert k.query(":SYST:ERR?") == NO_ERROR


def test_2450_trg_and_format_commands(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write("*TRG;:FORM:DATA ASC")
    assert k.query(":FORM:DATA?") == "ASC"
    k.write(":FORM SRE")
    assert k.query(":FORM?") == "SRE"
    assert k.query(":SYST:ERR?") == NO_ERROR


def test_2450_binary_data_real_and_sreal(smu_station: Path) -> None:
    _, k = open_2450(smu_station)
    k.write(':SOUR:SWE:VOLT:LIN 0,1,11,0,1,BEST,OFF,OFF,"defbuffer1"')
    k.write(":SOUR:VOLT:ILIM 0.05;:SOUR:VOLT:READ:BACK OFF;:INIT;*WAI")
    ascii_sour = values(k.query(':TRAC:DATA? 1,11,"defbuffer1",SOUR,READ'))
    k.write(":FORM REAL")
    real = k.query_binary_values(':TRAC:DATA? 1,11,"defbuffer1",SOUR,READ', datatype="d",
                                 container=np.array)
    assert real == pytest.approx(ascii_sour, rel=1e-9)
    k.write(":FORM SREAL")
    single = k.query_binary_values(':TRAC:DATA? 1,11,"defbuffer1",SOUR', datatype="f",
                                   container=np.array)
    assert single == pytest.approx(np.linspace(0, 1, 11), rel=1e-6)
    k.write(':TRAC:DATA? 1,11,"defbuffer1",UNIT')   # not allowed with a binary format
    assert k.query(":SYST:ERR?").startswith("-221,")
