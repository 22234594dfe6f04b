"""The simulated 2400/2420 answer as the 2400 Series manual says (issue 12, items 1-4, 8, 9).

Raw SCPI through PyVISA and the @labsim backend; every timeout costs virtual time only.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import pyvisa

from labctl.sim.bench import bench_for

R2400 = "GPIB0::24::INSTR"
R2420 = "GPIB0::25::INSTR"
NO_ERROR = '0,"No error"'


def open_smu(station: Path, resource: str = R2400, timeout_ms: int = 60000):
    rm = pyvisa.ResourceManager(f"{station}@labsim")
    return rm, rm.open_resource(resource, read_termination="\n", write_termination="\n",
                                timeout=timeout_ms)


def values(reply: str) -> np.ndarray:
    return np.array([float(x) for x in reply.split(",")])


# --- item 1: :MEAS:<f>? does its :CONF:<f> part -------------------------------------------

def test_meas_volt_while_sourcing_current_selects_volts_and_reads_once(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:FUNC CURR;:SOUR:CURR -1e-3;:SENS:VOLT:PROT 2;:TRIG:COUN 20")
    reply = values(smu.query(":MEAS:VOLT?"))
    assert reply.size == 5                        # one reading (p. 17-2: counts set to one)
    assert 0.3 < reply[0] < 1.5                   # a real voltage, not +9.91E+37
    assert reply[1] == pytest.approx(-1e-3)       # I element: the programmed source value
    assert smu.query(":SENS:FUNC?") == '"VOLT:DC"'
    assert smu.query(":CONF?") == '"VOLT:DC"'
    assert smu.query(":TRIG:COUN?") == "1"
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_meas_curr_with_trigger_count_20_returns_one_reading(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:VOLT 0.2;:SENS:CURR:PROT 0.05;:OUTP ON;:TRIG:COUN 20")
    assert values(smu.query(":MEAS:CURR?")).size == 5
    assert values(smu.query(":READ?")).size == 5  # the count stays one afterwards


def test_meas_res_reads_v_over_i(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:VOLT 0.3;:SENS:CURR:PROT 0.05")
    v, i, r, _, _ = values(smu.query(":MEAS:RES?"))
    assert v == pytest.approx(0.3)                # the sourced element: its programmed value
    assert abs(r) < 1e30                           # a resistance, not +9.91E+37
    assert smu.query(":SENS:FUNC?") == '"RES"'
    smu.write(":SENS:FUNC:ALL")
    v_all, i_all, r_all, _, _ = values(smu.query(":READ?"))
    assert r_all == pytest.approx(v_all / i_all, rel=1e-6)
    assert r == pytest.approx(r_all, rel=1e-2)


def test_conf_volt_turns_the_output_on(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":CONF:VOLT")
    assert smu.query(":OUTP?") == "1"
    assert smu.query(":SENS:FUNC?") == '"VOLT:DC"'
    assert smu.query(":SYST:ERR?") == NO_ERROR


# --- item 2: :MEAS? with the output off ------------------------------------------------------

def test_meas_turns_the_output_on_and_leaves_it_on_with_auto_off_disabled(smu_station: Path):
    _, smu = open_smu(smu_station)
    assert smu.query(":OUTP?") == "0"
    assert values(smu.query(":MEAS:CURR?")).size == 5
    assert smu.query(":OUTP?") == "1"
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_meas_with_auto_output_off_leaves_the_output_off(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:CLE:AUTO ON")
    assert values(smu.query(":MEAS?")).size == 5
    assert smu.query(":OUTP?") == "0"


# --- item 3: status model --------------------------------------------------------------------

def fill_buffer(smu, points: int) -> None:
    smu.write(":STAT:PRES;*CLS;*SRE 1;:STAT:MEAS:ENAB 512")
    smu.write(f":TRAC:CLE;:TRAC:POIN {points};:TRIG:COUN {points};:TRIG:DEL 0")
    smu.write(":TRAC:FEED SENSE;:TRAC:FEED:CONT NEXT;:OUTP ON")
    smu.write(":INIT")


def test_full_buffer_sets_measurement_bit_512_and_the_status_byte(smu_station: Path):
    _, smu = open_smu(smu_station)
    fill_buffer(smu, 10)
    assert int(smu.query("*STB?")) & 65 == 65     # MSB + MSS (pymeasure's buffer-full test)
    assert smu.query("*SRE?") == "1"
    assert smu.query(":STAT:MEAS:ENAB?") == "512"
    event = int(smu.query(":STAT:MEAS?"))
    assert event & 512 and event & 64             # buffer full, reading available
    assert int(smu.query(":STAT:MEAS?")) == 0     # reading an event register clears it
    assert int(smu.query(":STAT:MEAS:COND?")) & 512
    assert smu.query(":TRAC:POIN:ACT?") == "10"
    assert smu.query(":TRAC:FEED:CONT?") == "NEV"  # a full buffer stops the feed
    assert int(smu.query("*STB?")) & 65 == 0
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_status_byte_error_available_and_event_status(smu_station: Path):
    _, smu = open_smu(smu_station, timeout_ms=200)
    smu.write("*CLS;*ESE 32;*SRE 36")
    smu.write(":BOGUS")
    stb = int(smu.query("*STB?"))
    assert stb & 4 and stb & 32 and stb & 64       # EAV, ESB (command error), MSS
    assert int(smu.query("*ESR?")) & 32
    assert int(smu.query("*ESR?")) == 0
    assert smu.query("*SRE?") == "36"
    smu.write("*SRE 255")
    assert smu.query("*SRE?") == "191"             # bit 6 cannot be enabled


# --- item 4: :ABOR stops an :INIT in progress ------------------------------------------------

def test_abort_stops_a_100_point_init(smu_station: Path):
    rm, smu = open_smu(smu_station)
    bench = bench_for(smu_station)
    smu.write(":SOUR:VOLT 0.3;:SENS:CURR:PROT 0.05;:OUTP ON;:SENS:CURR:NPLC 1")
    smu.write(":TRAC:CLE;:TRAC:POIN 100;:TRAC:FEED:CONT NEXT;:TRIG:COUN 100")
    start_s = bench.clock.now_s()
    smu.write(":INIT")
    emulator = bench.instruments["smu"]
    full_s = emulator.busy_until_s - start_s
    assert full_s > 1.0                            # 100 readings at 1 PLC take seconds
    bench.clock.sleep(full_s / 4)
    smu.write(":ABOR")
    taken = int(smu.query(":TRAC:POIN:ACT?"))
    assert 10 < taken < 40
    assert bench.clock.now_s() - start_s < full_s / 2
    assert int(smu.query(":STAT:MEAS?")) & 512 == 0
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_bus_trigger_holds_commands_until_trg(smu_station: Path):
    _, smu = open_smu(smu_station, timeout_ms=300)
    smu.write(":SOUR:VOLT 0.1;:OUTP ON;:TRIG:COUN 3;:ARM:SOUR BUS;:TRAC:FEED:CONT NEXT")
    smu.write(":INIT")
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.query(":TRAC:POIN:ACT?")              # held: no reply while waiting for *TRG
    smu.write("*TRG")
    assert smu.read() == "3"                       # the held query ran after the trigger
    smu.write("*TRG")                              # nothing waits for it now
    assert smu.query(":SYST:ERR?") == '-211,"Trigger ignored"'


# --- item 8: range queries, log sweeps, binary data ------------------------------------------

@pytest.mark.parametrize(("resource", "command", "reply"), [
    (R2400, ":SENS:CURR:RANG 1e-2", 1.05e-2),
    (R2400, ":SENS:CURR:RANG 0.011", 1.05e-1),
    (R2400, ":SENS:CURR:RANG 3e-7", 1.05e-6),
    (R2400, ":SENS:VOLT:RANG 0.05", 0.21),
    (R2400, ":SENS:RES:RANG 5e3", 2.1e4),
    (R2420, ":SENS:CURR:RANG 2", 3.15),
    (R2420, ":SENS:VOLT:RANG 30", 63.0)])
def test_range_queries_return_the_full_scale_of_the_range_chosen(
        smu_station: Path, resource: str, command: str, reply: float):
    _, smu = open_smu(smu_station, resource)
    smu.write(":SOUR:FUNC CURR" if ":VOLT" in command else ":SOUR:FUNC VOLT")
    smu.write(command)
    header = command.split(" ")[0]
    assert float(smu.query(f"{header}?")) == pytest.approx(reply)
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_range_up_down_and_source_auto_range(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:FUNC VOLT;:SENS:CURR:RANG 1e-3;:SENS:CURR:RANG UP")
    assert float(smu.query(":SENS:CURR:RANG?")) == pytest.approx(1.05e-2)
    smu.write(":SENS:CURR:RANG DOWN;:SENS:CURR:RANG DOWN")
    assert float(smu.query(":SENS:CURR:RANG?")) == pytest.approx(1.05e-4)
    smu.write(":SOUR:VOLT 3")
    assert float(smu.query(":SOUR:VOLT:RANG?")) == pytest.approx(21.0)
    smu.write(":SOUR:VOLT 0.1")                    # auto range follows the level down
    assert float(smu.query(":SOUR:VOLT:RANG?")) == pytest.approx(0.21)
    # sourcing V, the V measurement range is the source range (p. 18-62)
    assert float(smu.query(":SENS:VOLT:RANG?")) == pytest.approx(0.21)


def test_log_sweep_is_log_spaced(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:FUNC VOLT;:SENS:CURR:PROT 0.05;:SOUR:VOLT:STAR 0.01;:SOUR:VOLT:STOP 1")
    smu.write(":SOUR:SWE:POIN 3;:SOUR:SWE:SPAC LOG;:SOUR:VOLT:MODE SWE;:TRIG:COUN 3")
    assert smu.query(":SYST:ERR?") == NO_ERROR
    assert smu.query(":SOUR:SWE:SPAC?") == "LOG"
    smu.write(":OUTP ON;:FORM:ELEM VOLT")
    assert values(smu.query(":READ?")) == pytest.approx([0.01, 0.1, 1.0])


def test_form_data_sreal_sends_single_precision_binary(smu_station: Path):
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:VOLT 0.5;:SENS:CURR:PROT 0.05;:OUTP ON;:FORM:ELEM VOLT,CURR")
    smu.write(":FORM:DATA SRE;:FORM:BORD SWAP")
    assert smu.query(":SYST:ERR?") == NO_ERROR
    assert smu.query(":FORM:DATA?") == "SRE"
    smu.write(":READ?")
    smu.read_termination = None                    # binary: end at END, not at a 0x0A byte
    raw = smu.read_raw()
    smu.read_termination = "\n"
    assert raw[:2] == b"#0" and raw[-1:] == b"\n" and len(raw) == 2 + 8 + 1
    voltage_v, current_a = struct.unpack("<2f", raw[2:10])
    assert voltage_v == pytest.approx(0.5)
    assert current_a < 0
    smu.write(":FORM:DATA ASC")
    assert values(smu.query(":READ?")).size == 2


# --- item 9: the queries and commands real drivers send --------------------------------------

QUERIES = [":SENS:AVER:TCON?", ":SENS:AVER:COUN?", ":SYST:LFR:AUTO?", ":DISP:ENAB?",
           ":TRIG:SOUR?", ":ARM:SOUR?", ":ARM:TIM?", ":TRIG:OUTP?", ":ARM:OUTP?",
           ":TRIG:ILIN?", ":TRIG:OLIN?", ":ARM:ILIN?", ":ARM:OLIN?", ":SENS:RES:MODE?",
           ":SENS:RES:RANG?", ":CONF?", ":TRAC:FEED:CONT?", ":TRAC:FEED?", ":FORM:BORD?",
           ":SOUR:SWE:RANG?", ":SOUR:SWE:DIR?", ":SOUR:SWE:CAB?", ":SENS:RES:RANG:AUTO?",
           ":STAT:OPER:ENAB?", ":STAT:QUES:ENAB?", ":STAT:OPER:COND?", "*ESE?"]
COMMANDS = ["*TRG", ":ARM:TIM 0.5", ":ARM:OUTP TEX", ":TRIG:OUTP SOUR,DEL", ":ARM:ILIN 2",
            ":TRIG:ILIN 3", ":TRIG:OLIN 4", ":ARM:OLIN 1", ":CONF:VOLT", ":CONF:CURR",
            ":STAT:OPER:ENAB 0", ":STAT:QUES:ENAB 0"]


@pytest.mark.parametrize("resource", [R2400, R2420])
def test_every_query_of_the_issue_is_answered_without_error(smu_station: Path,
                                                            resource: str) -> None:
    _, smu = open_smu(smu_station, resource)
    for query in QUERIES:
        assert smu.query(query) != "", query
        assert smu.query(":SYST:ERR?") == NO_ERROR, query


@pytest.mark.parametrize("resource", [R2400, R2420])
def test_every_command_of_the_issue_is_accepted(smu_station: Path, resource: str) -> None:
    _, smu = open_smu(smu_station, resource)
    smu.write(":ARM:SOUR BUS;:OUTP ON;:INIT")        # *TRG has a trigger model to start
    for command in COMMANDS:
        smu.write(command)
        assert smu.query(":SYST:ERR?") == NO_ERROR, command
    assert smu.query(":ARM:TIM?") == "+5.000000E-01"
    assert smu.query(":TRIG:OUTP?") == "SOUR,DEL"
    assert smu.query(":TRIG:OLIN?") == "4"


@pytest.mark.parametrize(("statistic", "check"), [
    ("MEAN", np.mean), ("MAX", np.max), ("MIN", np.min),
    ("SDEV", lambda x: np.std(x, ddof=1))])
def test_calc3_statistics_of_the_buffer(smu_station: Path, statistic: str, check) -> None:
    _, smu = open_smu(smu_station)
    smu.write(":SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 0.5;:SOUR:SWE:POIN 6;:SOUR:VOLT:MODE SWE")
    smu.write(":SENS:CURR:PROT 0.05;:TRIG:COUN 6;:TRAC:CLE;:TRAC:POIN 6;:OUTP ON;:INIT")
    data = values(smu.query(":TRAC:DATA?")).reshape(6, 5)
    result = values(smu.query(f":CALC3:FORM {statistic};:CALC3:DATA?"))
    assert result.size == 3                        # V, I, R of FORM:ELEM
    assert result[0] == pytest.approx(check(data[:, 0]), rel=1e-5, abs=1e-9)
    assert result[1] == pytest.approx(check(data[:, 1]), rel=1e-5, abs=1e-12)
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_unknown_query_costs_virtual_time_only(smu_station: Path) -> None:
    import time

    rm, smu = open_smu(smu_station, timeout_ms=5000)
    real_start = time.perf_counter()
    with pytest.raises(pyvisa.errors.VisaIOError):
        smu.query(":SENS:BOGUS?")
    assert time.perf_counter() - real_start < 1.0
    assert rm.visalib.bench.clock.now_s() >= 5.0
    assert smu.query(":SYST:ERR?") == '-113,"Undefined header"'


def test_rst_and_abort_end_a_trigger_model_waiting_for_a_bus_trigger(smu_station: Path):
    _, smu = open_smu(smu_station, timeout_ms=300)
    smu.write(":SOUR:VOLT 0.1;:OUTP ON;:ARM:SOUR BUS;:INIT")
    smu.write(":SOUR:VOLT 0.2")                    # held while the trigger model waits
    smu.write(":ABOR")                             # idle again: the held command runs
    assert float(smu.query(":SOUR:VOLT?")) == pytest.approx(0.2)
    smu.write(":INIT")
    smu.write(":SOUR:VOLT 0.3")
    smu.write("*RST")
    assert smu.query(":OUTP?") == "0"
    assert float(smu.query(":SOUR:VOLT?")) == pytest.approx(0.3)  # ran after the reset
    assert smu.query(":SYST:ERR?") == NO_ERROR


def test_device_clear_aborts_an_init_and_drops_what_was_held(smu_station: Path):
    _, smu = open_smu(smu_station, timeout_ms=300)
    emulator = bench_for(smu_station).instruments["smu"]
    smu.write(":SOUR:VOLT 0.1;:OUTP ON;:TRIG:COUN 50;:TRAC:FEED:CONT NEXT;:INIT")
    assert emulator.busy_until_s > emulator.now_s()
    smu.clear()  # viClear: the backend calls the 2400's device_clear (SDC)
    assert emulator.busy_until_s <= emulator.now_s()
    assert smu.query(":TRAC:POIN:ACT?") == "0"
    smu.write(":ARM:SOUR BUS;:INIT")
    smu.write(":SOUR:VOLT 0.3")  # held while the trigger model waits for *TRG
    smu.clear()
    assert float(smu.query(":SOUR:VOLT?")) == pytest.approx(0.1)  # the held command dropped
