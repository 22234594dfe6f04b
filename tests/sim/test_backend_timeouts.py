"""Reads that cannot end: they time out at the VISA timeout on the bench clock, never in real time.

A real instrument answers an unknown query with nothing (it queues -113), and a serial terminal
ends every exchange with a prompt that has no terminator. A client's line read then waits for
the whole VISA timeout. On the simulated bench that wait is virtual: the bench clock moves by
the timeout and the wall clock by almost nothing (the bounds below are generous, 1 s real for a
10 s timeout). The bytes that came stay in the buffer, as in a serial port's receive buffer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import pyvisa

from labctl.sim.bench import Bench

SHUTTER = "ASRL2::INSTR"
WHEEL = "ASRL3::INSTR"
METER = "USB0::0x1313::0x8078::P0012345::INSTR"
TIMEOUT_MS = 10_000
WALL_BOUND_S = 1.0

STATION = {
    "station": "timeouts",
    "simulated": True,
    "instruments": {
        "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "shutter": {"driver": "thorlabs_sc10", "resource": SHUTTER},
        "wheel": {"driver": "thorlabs_fw102c", "resource": WHEEL, "od": [0, 1, 2, 3, 4, 5]},
        "photodiode": {"driver": "thorlabs_pm100", "resource": METER},
    },
    "simulation": {"device": {"kind": "solar_cell", "area_cm2": 0.09}},
}


@pytest.fixture
def rm(labsim_station: Any) -> pyvisa.ResourceManager:
    """The bench's resource manager, through the fixtures labctl ships for labs (the clock
    is the bench's; everything is closed after the test)."""
    return labsim_station(STATION).resource_manager()


@pytest.fixture
def bench(rm: pyvisa.ResourceManager) -> Bench:
    return rm.visalib.bench


def _timed_out_read(bench: Bench, read: object) -> tuple[float, float]:
    """Run ``read`` (which must time out); return (virtual s, wall s) it took."""
    start_virtual_s = bench.clock.now_s()
    start_wall_s = time.monotonic()
    with pytest.raises(pyvisa.errors.VisaIOError) as caught:
        read()  # type: ignore[operator]
    wall_s = time.monotonic() - start_wall_s
    assert caught.value.error_code == pyvisa.constants.VI_ERROR_TMO
    return bench.clock.now_s() - start_virtual_s, wall_s


def test_unknown_query_queues_113_and_times_out_in_virtual_time(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    meter = rm.open_resource(METER, timeout=TIMEOUT_MS, read_termination="\n",
                             write_termination="\n")
    meter.write("SENS:FOO?")
    virtual_s, wall_s = _timed_out_read(bench, meter.read)
    assert virtual_s == pytest.approx(TIMEOUT_MS / 1000.0)
    assert wall_s < WALL_BOUND_S
    assert meter.query("SYST:ERR?") == '-113,"Undefined header"'
    assert meter.query("SYST:ERR?") == '0,"No error"'


def test_serial_prompt_without_terminator_times_out_and_keeps_its_bytes(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    shutter = rm.open_resource(SHUTTER, timeout=TIMEOUT_MS, read_termination="\r",
                               write_termination="\r")
    shutter.write("ens?")
    assert shutter.read() == "ens?"
    assert shutter.read() == "0"
    virtual_s, wall_s = _timed_out_read(bench, shutter.read)  # "> " has no CR
    assert virtual_s == pytest.approx(TIMEOUT_MS / 1000.0)
    assert wall_s < WALL_BOUND_S
    assert shutter.read_bytes(2) == b"> "  # the prompt is still in the buffer
    # and the link is in step for the next exchange
    shutter.write("closed?")
    assert shutter.read() == "closed?"
    assert shutter.read() == "1"


def test_a_partial_line_stays_for_the_next_read(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    shutter = rm.open_resource(SHUTTER, timeout=TIMEOUT_MS, read_termination="\r",
                               write_termination="\r")
    shutter.write("mode?")
    shutter.write("rep?")
    # echo, reply, prompt of the first, then the second: a line read ends at each CR and the
    # prompt of the first exchange opens the second line
    assert [shutter.read() for _ in range(4)] == ["mode?", "1", "> rep?", "1"]
    assert shutter.read_bytes(2) == b"> "


def test_timeout_counts_from_the_start_of_the_read_through_a_busy_instrument(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    wheel = rm.open_resource(WHEEL, timeout=2000, read_termination="\r", write_termination="\r")
    wheel.write("pos=4")  # three slots: 1.5 s, the echo comes after the move
    start_s = bench.clock.now_s()
    assert wheel.read() == "pos=4"
    assert bench.clock.now_s() - start_s == pytest.approx(1.5)
    virtual_s, wall_s = _timed_out_read(bench, wheel.read)  # ">" without CR
    assert virtual_s == pytest.approx(2.0)
    assert wall_s < WALL_BOUND_S
    assert wheel.read_bytes(1) == b">"


def test_busy_past_the_timeout_times_out_at_the_timeout(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    wheel = rm.open_resource(WHEEL, timeout=1000, read_termination="\r", write_termination="\r")
    wheel.write("pos=4")  # 1.5 s
    virtual_s, wall_s = _timed_out_read(bench, wheel.read)
    assert virtual_s == pytest.approx(1.0)
    assert wall_s < WALL_BOUND_S
    assert wheel.read() == "pos=4"  # after the move the exchange is there in full
    assert wheel.read_bytes(1) == b">"


def test_read_of_a_few_bytes_ends_at_the_count(rm: pyvisa.ResourceManager) -> None:
    wheel = rm.open_resource(WHEEL, timeout=TIMEOUT_MS, read_termination="\r",
                             write_termination="\r")
    wheel.write("pcount?")
    assert wheel.read_bytes(3) == b"pco"
    assert wheel.read() == "unt?"
    assert wheel.read() == "6"


def test_hung_instrument_costs_virtual_time_only(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    meter = rm.open_resource(METER, timeout=TIMEOUT_MS, read_termination="\n",
                             write_termination="\n")
    bench.instruments["photodiode"].fault = "no_reply"
    meter.write("*IDN?")
    virtual_s, wall_s = _timed_out_read(bench, meter.read)
    assert virtual_s == pytest.approx(TIMEOUT_MS / 1000.0)
    assert wall_s < WALL_BOUND_S


def test_clear_of_a_device_without_device_clear_drops_its_reply(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    """viClear on the PM100 (no device_clear of its own): the pending reply is dropped, so
    the next read has nothing to end on and times out, in virtual time."""
    meter = rm.open_resource(METER, timeout=TIMEOUT_MS, read_termination="\n",
                             write_termination="\n")
    meter.write("*IDN?")
    meter.clear()
    virtual_s, wall_s = _timed_out_read(bench, meter.read)
    assert virtual_s == pytest.approx(TIMEOUT_MS / 1000.0)
    assert wall_s < WALL_BOUND_S
    assert meter.query("SYST:ERR?") == '0,"No error"'
