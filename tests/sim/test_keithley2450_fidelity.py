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
