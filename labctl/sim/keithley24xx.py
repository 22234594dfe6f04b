"""Emulators of the Keithley 2400 and 2420 SourceMeters (2400-series SCPI).

Reference: Keithley 2400 Series SourceMeter User's Manual (2400S-900-01), summarised in
``docs/instruments.md`` §1; pages cited as the manual prints them (``p. 17-5``) or as PDF
pages (``p. 356``). What is emulated:

- the commands a driver uses (source, compliance, sense functions, NPLC, ranges, auto-zero,
  4-wire, output and off-state, linear/log sweeps and lists, trigger and arm layers, trigger
  link lines, buffer and CALC3 statistics, status registers, error queue), long or short form;
- ``:READ?``/``:MEAS?``/``:FETC?``/``:TRAC:DATA?`` replies in the fixed element order
  V, I, R, TIME, STATUS whatever order ``:FORM:ELEM`` lists, in ASCII or single-precision
  binary (``:FORM:DATA SRE``); unmeasured elements read ``+9.91E+37``; STATUS bit 3 (8) on
  compliance;
- ``:MEAS:<f>?`` as ``:CONF:<f>`` + ``:READ?`` (pp. 17-2 to 17-5): that function alone, one
  reading, the output turned on and left on unless auto output-off is enabled (p. 18-72);
- range queries answer the full scale of the range chosen (pp. 18-63, 18-75);
- the status model of p. 15-3: measurement events (reading available, overflow, buffer
  available, buffer full, compliance) with their enable register, ``*STB?`` with MSB, EAV,
  MAV, ESB and MSS under ``*SRE``, ``*ESR?``/``*ESE``;
- the trigger model holds other commands while it runs (p. 11-13): a query is answered when
  the readings are done, ``:INIT`` with ``:ARM:SOUR BUS`` waits for ``*TRG``, and ``:ABOR``
  (or ``*RST``, ``:SYST:PRES``) stops an ``:INIT`` in progress;
- errors: ``-113`` for an unknown header (no reply; a read then times out in virtual time),
  ``+803`` for ``:READ?`` with the output off (auto output-off disabled), ``-222`` for a
  level or compliance beyond the model or its combined envelope (§1.2), ``-221`` for a sweep
  step outside start..stop;
- time: each reading takes the source-delay-measure cycle of §1.10 on the bench clock.

Replies and errors that neither docs/instruments.md nor the manual pages cited give are marked
⚠ where they are emulated.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from pyvisa_sim.component import NoResponse

from instruments.smu import KEITHLEY_2400_LIMITS, KEITHLEY_2420_LIMITS, SmuLimits
from instruments.timing import MESSAGE_OVERHEAD_S, sdm_cycle_2400_s
from labctl.sim.scpi import (
    DATA_STALE,
    DATA_TYPE_ERROR,
    ILLEGAL_VALUE,
    MISSING_PARAMETER,
    SETTINGS_CONFLICT,
    command,
    error,
    nr3,
    parse_bool,
    parse_choice,
    parse_number,
)
from labctl.sim.smu import Points, SmuEmulator

OVERFLOW = 9.91e37
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")
_ELEMENT_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR",
                  "RES": "RES", "RESISTANCE": "RES", "TIME": "TIME", "STAT": "STAT",
                  "STATUS": "STAT"}
_FUNCTION_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
                   "CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
                   "RES": "RES", "RESISTANCE": "RES"}
_SOURCE_FUNCTIONS = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR"}
#: Headers the 2400 executes while its trigger model runs (manual p. 11-13).
_RUN_IN_TRIGGER_MODEL = (":ABOR", "ABOR", ":SYST:PRES", "SYST:PRES", ":SYSTEM:PRES", "*TRG",
                         "*RST", "*RCL")
_MODES = {"FIX": "FIX", "FIXED": "FIX", "SWE": "SWE", "SWEEP": "SWE", "LIST": "LIST"}

#: SCPI's "Trigger ignored" (a *TRG with no trigger model waiting) ⚠
TRIGGER_IGNORED = (-211, "Trigger ignored")
#: ``+803`` (docs/instruments.md §1.4, §1.9).
NOT_PERMITTED_OUTPUT_OFF = (803, "Not permitted with OUTPUT off")

#: Relative tolerance of a range choice (a value printed at full scale is on that range).
RANGE_TOLERANCE = 1e-9


@functools.cache
def _full_scales(limits: SmuLimits) -> dict[str, tuple[float, ...]]:
    return {"CURR": limits.range_readings(limits.current_ranges_a),
            "VOLT": limits.range_readings(limits.voltage_ranges_v),
            "RES": limits.range_readings(limits.resistance_ranges_ohm)}


def range_for(ranges: tuple[float, ...], value: float) -> float:
    """Full scale of the lowest range that accommodates ``|value|`` (the top one if none)."""
    magnitude = abs(value)
    for full_scale in ranges:
        if magnitude <= full_scale * (1 + RANGE_TOLERANCE):
            return full_scale
    return ranges[-1]


def step_range(ranges: tuple[float, ...], present: float, token: str) -> float:
    """``UP``/``DOWN``: the next range; on the top (bottom) range a no-op (p. 18-64)."""
    index = ranges.index(range_for(ranges, present))
    index = index + 1 if token.startswith("UP") else index - 1
    return ranges[min(max(index, 0), len(ranges) - 1)]


#: Measurement event register bits (2400 manual p. 15-3, figure 15-1; docs/instruments.md
#: §1.9): reading available, reading overflow, buffer available, buffer full, compliance.
MEAS_READING_AVAILABLE = 1 << 6
MEAS_READING_OVERFLOW = 1 << 7
MEAS_BUFFER_AVAILABLE = 1 << 8
MEAS_BUFFER_FULL = 1 << 9
MEAS_COMPLIANCE = 1 << 14
#: Status byte bits (p. 15-3): measurement summary, error available, questionable summary,
#: message available, event summary, master summary status, operation summary.
STB_MSB = 1 << 0
STB_EAV = 1 << 2
STB_QSB = 1 << 3
STB_MAV = 1 << 4
STB_ESB = 1 << 5
STB_MSS = 1 << 6
STB_OSB = 1 << 7
#: Operation condition: the instrument is idle (p. 15-3 figure 15-1).
OPER_IDLE = 1 << 10
#: Standard event status register bits (IEEE 488.2; p. 15-3): operation complete, query
#: error, device-dependent error, execution error, command error.
ESR_OPC = 1 << 0
ESR_QYE = 1 << 2
ESR_DDE = 1 << 3
ESR_EXE = 1 << 4
ESR_CME = 1 << 5

#: Status word bits (manual p. 356; docs/instruments.md §1.5).
STATUS_OVERFLOW = 1 << 0
STATUS_FRONT_TERMINALS = 1 << 2
STATUS_COMPLIANCE = 1 << 3
STATUS_V_MEAS = 1 << 11
STATUS_I_MEAS = 1 << 12
STATUS_R_MEAS = 1 << 13
STATUS_V_SOURCE = 1 << 14
STATUS_I_SOURCE = 1 << 15
STATUS_REMOTE_SENSE = 1 << 22


class Keithley2400Emulator(SmuEmulator):
    """A Keithley 2400 on the simulated bench (GPIB, LF termination)."""

    model = "2400"
    # Beyond the limits (±210 V, ±1.05 A, above 21 V at most 105 mA): -222.
    limits = KEITHLEY_2400_LIMITS
    serial_number = "4126530"
    firmware = "C32   Oct  4 2010 14:20:11/A02  /S/K"
    #: GPIB transfer and parsing of one message [s]: point-by-point over GPIB is ~80
    #: readings/s at 0.01 PLC (docs/instruments.md §1.10).
    message_overhead_s = MESSAGE_OVERHEAD_S["2400"]

    def identity(self) -> str:
        return f"KEITHLEY INSTRUMENTS INC.,MODEL {self.model},{self.serial_number},{self.firmware}"

    @property
    def ranges(self) -> dict[str, tuple[float, ...]]:
        """Full scales of the source and measurement ranges by function, ascending, from the
        model's limits: a range query returns the full scale of the range chosen, the lowest
        that accommodates the value sent (2400 manual pp. 18-63, 18-64, 18-75:
        ``:SENS:VOLT:RANG 0.05`` selects the 200 mV range and reads 0.21)."""
        return _full_scales(self.limits)

    # --- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.off_mode = "NORM"
        self.output_enable_control = False
        self.source_function = "VOLT"
        self.mode = {"VOLT": "FIX", "CURR": "FIX"}
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.source_range = {"VOLT": 21.0, "CURR": 1.05e-4}
        self.source_range_auto = {"VOLT": True, "CURR": True}
        self.protection = {"CURR": 1.05e-4, "VOLT": 21.0}
        self.sense_range = {"CURR": 1.05e-4, "VOLT": 21.0, "RES": 2.1e5}
        self.sense_range_auto = {"CURR": True, "VOLT": True, "RES": True}
        self.resistance_mode = "MAN"  # ⚠ the *RST ohms mode is not in docs/instruments.md
        self.sense_functions: list[str] = ["CURR"]
        self.concurrent = True
        self.nplc = 1.0
        self.auto_zero = True
        self.remote_sense = False
        self.source_delay_s = 0.001
        self.source_delay_auto = True
        self.auto_output_off = False
        self.form_elements = list(ELEMENTS)
        self.trigger_count = 1
        self.arm_count = 1
        self.trigger_delay_s = 0.0
        self.sweep = {"VOLT": {"STAR": 0.0, "STOP": 0.0, "STEP": 0.0},
                      "CURR": {"STAR": 0.0, "STOP": 0.0, "STEP": 0.0}}
        self.sweep_points = 2500
        self.sweep_spacing = "LIN"
        self.sweep_ranging = "BEST"
        self.sweep_direction = "UP"
        self.sweep_compliance_abort = "NEV"
        self.list_values: dict[str, list[float]] = {"VOLT": [0.0], "CURR": [0.0]}
        #: Stored readings: one (V, I, R, TIME, STATUS) row each, formatted when read.
        self.buffer: list[tuple[float, ...]] = []
        self.buffer_size = 100
        self.buffer_feed = "SENS"
        self.buffer_control = "NEV"
        self.last_rows: list[tuple[float, ...]] = []
        #: The :INIT in progress (for :ABOR): its end and the rows it adds to the buffer.
        self.running: tuple[float, np.ndarray, int] | None = None
        self.waiting_for_bus = False
        self.data_format = "ASC"
        self.byte_order = "NORM"
        self.calc3_format = "MEAN"
        self.trigger_source = "IMM"
        self.arm_source = "IMM"
        self.arm_timer_s = 0.1
        self.trigger_output = "NONE"
        self.arm_output = "NONE"
        self.trigger_input_line = 1
        self.trigger_output_line = 2
        self.arm_input_line = 1
        self.arm_output_line = 2
        self.ovp_v = 210.0
        self.ttl_out = 15
        self.filter = {"STAT": False, "TCON": "REP", "COUN": 10}
        self.timestamp_origin_s = self.now_s()
        self.line_frequency_hz = self.bench.line_frequency_hz
        self.line_frequency_auto = False  # ⚠ the *RST value is not in docs/instruments.md
        self.display_enabled = True
        self.compliance_condition = False

    def power_on(self) -> None:
        """Power-on: the status registers clear (``*RST`` does not touch them, IEEE 488.2)."""
        self.service_request_enable = 0
        self.event_status_enable = 0
        self.event_status = 0
        self.measurement_event = 0
        self.measurement_enable = 0
        self.operation_enable = 0
        self.questionable_enable = 0
        #: Messages held while the trigger model waits for a bus trigger.
        self.held_messages: list[bytes] = []
        self._binary_replies: list[bytes] = []
        super().power_on()

    # --- helpers -------------------------------------------------------------------------
    def _sync_engine(self) -> None:
        """Tell the device wiring what the outputs do now."""
        function = self.source_function
        compliance = self.protection["CURR" if function == "VOLT" else "VOLT"]
        self.engine.configure(output_on=self.output_on, source_function=function,
                              level=self.level[function], compliance=compliance)

    def point_time_s(self) -> tuple[float, float]:
        """(settle, total) time of one source-delay-measure cycle: the 2400-family model of
        :func:`instruments.timing.sdm_cycle_2400_s` (manual pp. 115, 430-435) with the
        emulator's auto-zero, measured functions, source function and delays."""
        return sdm_cycle_2400_s(
            self.nplc, self.line_frequency_hz, auto_zero=self.auto_zero,
            functions=len(self.sense_functions),
            source_delay_s=None if self.source_delay_auto else self.source_delay_s,
            source_function=self.source_function, trigger_delay_s=self.trigger_delay_s,
        )

    def sweep_values(self, function: str) -> np.ndarray:
        """The staircase of ``:SOUR:<f>:STAR/STOP`` and ``:SOUR:SWE:POIN``, linear or
        logarithmic (``:SOUR:SWE:SPAC LOG``: equal steps of log10 |level|, 2400 manual
        p. 10-4), reversed with ``:SOUR:SWE:DIR DOWN``."""
        sweep = self.sweep[function]
        start, stop, points = sweep["STAR"], sweep["STOP"], self.sweep_points
        if self.sweep_spacing == "LOG":
            # A log staircase needs a start and a stop of one sign, neither zero; the error
            # the instrument gives otherwise is not in docs/instruments.md ⚠
            if start * stop <= 0:
                raise error(SETTINGS_CONFLICT)
            values = math.copysign(1.0, start) * np.logspace(
                math.log10(abs(start)), math.log10(abs(stop)), points)
        else:
            values = np.linspace(start, stop, points)
        return values[::-1] if self.sweep_direction == "DOWN" else values

    def source_values(self, count: int) -> np.ndarray:
        function = self.source_function
        mode = self.mode[function]
        if mode == "FIX":
            return np.full(count, self.level[function])
        if mode == "LIST":
            values = np.asarray(self.list_values[function], dtype=float)
        else:
            values = self.sweep_values(function)
        repeats = math.ceil(count / values.size)
        return np.tile(values, repeats)[:count]

    def _base_status(self) -> int:
        status = STATUS_V_SOURCE if self.source_function == "VOLT" else STATUS_I_SOURCE
        for function, bit in (("VOLT", STATUS_V_MEAS), ("CURR", STATUS_I_MEAS),
                              ("RES", STATUS_R_MEAS)):
            if function in self.sense_functions:
                status |= bit
        if self.remote_sense:
            status |= STATUS_REMOTE_SENSE
        if self.terminals == "FRON":
            status |= STATUS_FRONT_TERMINALS
        return status

    def reading_rows(self, points: Points) -> list[tuple[float, ...]]:
        """One (V, I, R, TIME, STATUS) row per point (§1.5): a measured element carries its
        reading, the sourced one (if not measured) the programmed value, any other the
        overflow value +9.91E+37 (manual p. 358). Resistance is V/I of the readings the ohms
        measurement takes (manual ohms; auto ohms' own test current is not emulated ⚠)."""
        rows = []
        sense = set(self.sense_functions)
        source = self.source_function
        base_status = self._base_status()
        for k in range(points.voltage_v.size):
            status = base_status
            if points.in_compliance[k]:
                status |= STATUS_COMPLIANCE
            measured = {"VOLT": float(points.voltage_v[k]), "CURR": float(points.current_a[k])}
            element_value = dict(measured)
            for function in ("VOLT", "CURR"):
                if function not in sense:
                    element_value[function] = (float(points.source_value[k])
                                               if function == source else OVERFLOW)
                elif not math.isfinite(element_value[function]):
                    status |= STATUS_OVERFLOW
            voltage_v, current_a = measured["VOLT"], measured["CURR"]
            if "RES" in sense and current_a != 0 and math.isfinite(voltage_v / current_a):
                resistance_ohm = voltage_v / current_a
            else:
                resistance_ohm = OVERFLOW
            rows.append((element_value["VOLT"], element_value["CURR"], resistance_ohm,
                         float(points.time_s[k]) - self.timestamp_origin_s, float(status)))
        return rows

    def format_rows(self, rows: list[tuple[float, ...]]) -> str:
        """The reply of ``rows`` in the ``:FORM:ELEM`` elements (fixed order) and the
        ``:FORM:DATA`` format: ASCII NR3, or ``#0`` and 4 bytes (IEEE-754 single) per value
        for SREal/REAL,32 (docs/instruments.md §1.5), byte order ``:FORM:BORD`` (NORMal =
        most significant byte first ⚠, SWAPped the reverse)."""
        columns = [ELEMENTS.index(e) for e in self.form_elements]
        if self.data_format == "ASC":
            return ",".join([nr3(row[i]) for row in rows for i in columns])
        values = [row[i] for row in rows for i in columns]
        dtype = ">f4" if self.byte_order == "NORM" else "<f4"
        self._binary_replies.append(b"#0" + np.asarray(values, dtype=dtype).tobytes())
        return f"\x00{len(self._binary_replies) - 1}\x00"

    def _match(self, query: bytes) -> bytes | Any:
        """Hold what the instrument holds while its trigger model waits for a bus trigger
        (only :ABOR, :SYST:PRES, *TRG, *RST and *RCL run then, 2400 manual p. 11-13), and
        put binary data in place of the markers :meth:`format_rows` left in the reply.
        Holding is per message: commands after ``:INIT`` in the same message run at once ⚠."""
        if self.waiting_for_bus:
            header = query.decode("ascii", errors="replace").strip().split(" ")[0].upper()
            if not header.startswith(_RUN_IN_TRIGGER_MODEL):
                self.held_messages.append(query)
                return NoResponse
        self._binary_replies: list[bytes] = []
        response = super()._match(query)
        for k, payload in enumerate(self._binary_replies):
            if isinstance(response, bytes):
                response = response.replace(f"\x00{k}\x00".encode("ascii"), payload, 1)
        return response

    def acquire(self, *, measure_command: bool = False) -> list[tuple[float, ...]]:
        """Run the trigger model once (ARM x TRIG points); return the reading rows.

        With the output off, ``:READ?``/``:INIT`` need auto output-off (else +803); ``:MEAS?``
        turns the output on itself. With auto output-off enabled the output is on during
        each source-delay-measure cycle and off after; with it disabled it stays on
        (2400 manual p. 18-72, p. 17-5)."""
        if not self.output_on and not (self.auto_output_off or measure_command):
            raise error(NOT_PERMITTED_OUTPUT_OFF)
        count = self.trigger_count * self.arm_count
        settle_s, point_s = self.point_time_s()
        source = self.source_values(count)
        self.output_on = True
        function = self.source_function
        compliance = self.protection["CURR" if function == "VOLT" else "VOLT"]
        start_s = self.occupy(count * point_s)
        points = self.engine.measure_points(
            source, start_s=start_s, settle_s=settle_s, point_s=point_s,
            source_function=function, compliance=compliance)
        if self.auto_output_off:
            self.output_on = False
        # After the train the source returns to its fixed (bias) level.
        self.engine.output_on = self.output_on
        self.engine.level = self.level[function]
        rows = self.reading_rows(points)
        self.last_rows = rows
        stored = 0
        if self.buffer_control == "NEXT" or self.mode[function] != "FIX":
            stored = min(len(rows), self.buffer_size - len(self.buffer))
            self.buffer.extend(rows[:stored])
            if len(self.buffer) >= self.buffer_size and self.buffer_control == "NEXT":
                # A full buffer returns feed control to NEVer (⚠ page not checked).
                self.buffer_control = "NEV"
        self.running = (start_s + count * point_s, points.time_s, stored)
        self._reading_events(rows, points)
        return rows

    def _reading_events(self, rows: list[tuple[float, ...]], points: Points) -> None:
        """Latch the measurement events of a train of readings (p. 15-3)."""
        statuses = [int(row[4]) for row in rows]
        self.compliance_condition = bool(statuses) and bool(statuses[-1] & STATUS_COMPLIANCE)
        events = self._buffer_condition()
        if statuses:
            events |= MEAS_READING_AVAILABLE
        if any(status & STATUS_OVERFLOW for status in statuses):
            events |= MEAS_READING_OVERFLOW
        if any(status & STATUS_COMPLIANCE for status in statuses):
            events |= MEAS_COMPLIANCE
        self.measurement_event |= events

    def _buffer_condition(self) -> int:
        """Buffer available: at least two readings stored ⚠; buffer full (p. 15-3)."""
        bits = MEAS_BUFFER_AVAILABLE if len(self.buffer) >= 2 else 0
        if len(self.buffer) >= self.buffer_size:
            bits |= MEAS_BUFFER_FULL
        return bits

    def abort(self) -> None:
        """Stop the trigger model now: an :INIT in progress keeps the readings taken so far
        (2400 manual p. 11-13: :ABOR, :SYST:PRES, *RST place it in the idle state).

        ⚠ The device model has already run the whole train; only the readings after the
        abort are dropped, and the instrument is free from now on."""
        self.waiting_for_bus = False
        now_s = self.now_s()
        if self.running is None or self.running[0] <= now_s:
            return
        end_s, times_s, stored = self.running
        taken = int(np.count_nonzero(times_s <= now_s))
        dropped = stored - min(stored, taken)
        if dropped:
            del self.buffer[len(self.buffer) - dropped:]
        del self.last_rows[taken:]
        self.busy_until_s = now_s
        self.running = None
        if len(self.buffer) < self.buffer_size:
            self.measurement_event &= ~MEAS_BUFFER_FULL
        if not self.last_rows:
            self.measurement_event &= ~MEAS_READING_AVAILABLE

    def device_clear(self) -> None:
        """SDC/DCL: abort any command or query and the trigger model, drop pending input and
        output (2400 manual p. 11-13). The VISA library's ``clear`` can call this."""
        self.abort()
        self.held_messages = []
        self._output_buffers.clear()
        self._input_buffer = bytearray()

    def _release_held(self) -> None:
        """Run what was held while the trigger model waited (as the idle instrument does)."""
        held, self.held_messages = self.held_messages, []
        binary_replies = self._binary_replies  # of the message being handled now
        for message in held:
            response = self._match(message)
            if response is not None and response is not NoResponse:
                self._output_buffers.append(bytearray(response) + self.reply_terminator)
        self._binary_replies = binary_replies

    def configure(self, function: str | None) -> None:
        """``:CONF:<function>``: the one-shot measurement setup of 2400 manual p. 17-2/17-3:
        the function selected, trigger and arm sources immediate, counts one, trigger delay
        zero, idle, buffer operation off, auto-zero on, and the output on (table 17-1).

        ⚠ The manual also returns the function's other controls to their *RST values; the
        emulator keeps its range, NPLC and compliance (not confirmed on an instrument)."""
        self.abort()
        if function is not None:
            self.sense_functions = [function]
        self.trigger_source = self.arm_source = "IMM"
        self.trigger_count = self.arm_count = 1
        self.trigger_delay_s = 0.0
        self.buffer_control = "NEV"
        self.auto_zero = True
        if not self.auto_output_off and not self.output_on:
            self.engine.sync(self.start_time_s())
            self.output_on = True
            self._sync_engine()

    # --- IEEE/system -----------------------------------------------------------------------
    # ⚠ Not in docs/instruments.md: :SYST:ERR:ALL?, :SYST:BEEP, :SYST:KEY, :SYST:CLE, :SYST:TIME:RES
    # (2400 manual commands, emulated as no-ops or minimal state).
    @command(":SYSTem:ERRor:ALL", query=True)
    def _syst_err_all(self, args: list[str]) -> str:
        replies = []
        while self.errors:
            replies.append(self.pop_error())
        return ",".join(replies) or self.no_error_reply

    @command("*OPT", query=True)
    def _opt(self, args: list[str]) -> str:
        return "0"  # no options installed ⚠ (the reply of a bare 2400 is not confirmed)

    @command(":SYSTem:PRESet")
    def _syst_pres(self, args: list[str]) -> None:
        self.abort()
        self.reset()
        self.byte_order = "SWAP"  # the :SYST:PRES default (2400 manual table 18-3)
        self._release_held()

    @command("*RST")
    def _rst(self, args: list[str]) -> None:
        self.abort()
        self.reset()
        self._release_held()

    @command("*CLS")
    def _cls(self, args: list[str]) -> None:
        """Clear the error queue and the event registers; the enable registers stay
        (2400 manual table 15-3 note)."""
        self.errors.clear()
        self.event_status = 0
        self.measurement_event = 0

    @command("*OPC")
    def _opc(self, args: list[str]) -> None:
        self.event_status |= ESR_OPC  # commands are sequential on the 2400 (p. 16-5)

    @command("*ESR", query=True)
    def _esr(self, args: list[str]) -> str:
        value, self.event_status = self.event_status, 0
        return str(value)

    @command("*ESE")
    def _ese(self, args: list[str]) -> None:
        self.event_status_enable = int(parse_number(args[0] if args else "", minimum=0,
                                                    maximum=255))

    @command("*ESE", query=True)
    def _ese_q(self, args: list[str]) -> str:
        return str(self.event_status_enable)

    @command("*SRE")
    def _sre(self, args: list[str]) -> None:
        """Service request enable; bit 6 (MSS) cannot be enabled (IEEE 488.2)."""
        value = int(parse_number(args[0] if args else "", minimum=0, maximum=255))
        self.service_request_enable = value & ~STB_MSS

    @command("*SRE", query=True)
    def _sre_q(self, args: list[str]) -> str:
        return str(self.service_request_enable)

    @command("*STB", query=True)
    def _stb(self, args: list[str]) -> str:
        return str(self.status_byte())

    def status_byte(self) -> int:
        """The status byte of p. 15-3: summaries of the enabled events, EAV, MAV, and MSS
        set when any bit enabled by ``*SRE`` is set (pymeasure's buffer-full test is 65)."""
        stb = 0
        if self.measurement_event & self.measurement_enable:
            stb |= STB_MSB
        if self.errors:
            stb |= STB_EAV
        if self._output_buffers:
            stb |= STB_MAV
        if self.event_status & self.event_status_enable:
            stb |= STB_ESB
        if stb & self.service_request_enable:
            stb |= STB_MSS
        return stb

    def push_error(self, code: int, message: str) -> None:
        """Queue the error and set its class in the standard event register (IEEE 488.2:
        -1xx command, -2xx execution, -3xx device-dependent, -4xx query; the 2400's own
        positive codes are counted as execution errors ⚠)."""
        super().push_error(code, message)
        if -199 <= code <= -100:
            self.event_status |= ESR_CME
        elif -299 <= code <= -200 or code > 0:
            self.event_status |= ESR_EXE
        elif -399 <= code <= -300:
            self.event_status |= ESR_DDE
        elif -499 <= code <= -400:
            self.event_status |= ESR_QYE

    @command(":STATus:PRESet")
    def _stat_pres(self, args: list[str]) -> None:
        """Clear the measurement, questionable and operation enable registers ⚠ (*SRE stays,
        table 15-3 note)."""
        self.measurement_enable = self.questionable_enable = self.operation_enable = 0

    @command(":STATus:QUEue:CLEar")
    @command(":TRIGger:CLEar")
    @command(":SYSTem:BEEPer[:IMMediate]")
    @command(":SYSTem:KEY")
    @command(":SYSTem:CLEar")
    def _noop(self, args: list[str]) -> None:
        return None

    @command(":SYSTem:TIME:RESet")
    def _time_reset(self, args: list[str]) -> None:
        self.timestamp_origin_s = self.now_s()

    @command(":SYSTem:LFRequency")
    def _lfr(self, args: list[str]) -> None:
        self.line_frequency_hz = float(parse_choice(args[0], {"50": "50", "60": "60"}))

    @command(":SYSTem:LFRequency", query=True)
    def _lfr_q(self, args: list[str]) -> str:
        return f"{self.line_frequency_hz:.0f}"

    @command(":SYSTem:LFRequency:AUTO")
    def _lfr_auto(self, args: list[str]) -> None:
        self.line_frequency_auto = parse_bool(args[0]) if args else True
        if self.line_frequency_auto:
            self.line_frequency_hz = self.bench.line_frequency_hz

    @command(":SYSTem:LFRequency:AUTO", query=True)
    def _lfr_auto_q(self, args: list[str]) -> str:
        return "1" if self.line_frequency_auto else "0"

    @command(":SYSTem:AZERo[:STATe]")
    def _azer(self, args: list[str]) -> None:
        token = args[0].strip().upper() if args else ""
        if token == "ONCE":
            self.occupy(3 * (self.nplc / self.line_frequency_hz + 185e-6))
            return
        self.auto_zero = parse_bool(token)

    @command(":SYSTem:AZERo[:STATe]", query=True)
    def _azer_q(self, args: list[str]) -> str:
        return "1" if self.auto_zero else "0"

    @command(":SYSTem:AZERo:CACHing[:STATe]")
    def _azer_cache(self, args: list[str]) -> None:
        parse_bool(args[0])

    @command(":SYSTem:RSENse")
    def _rsen(self, args: list[str]) -> None:
        self.remote_sense = parse_bool(args[0])

    @command(":SYSTem:RSENse", query=True)
    def _rsen_q(self, args: list[str]) -> str:
        return "1" if self.remote_sense else "0"

    @command(":SYSTem:MEP[:STATe]", query=True)
    def _mep(self, args: list[str]) -> str:
        return "1"

    @command(":DISPlay:ENABle")
    def _disp(self, args: list[str]) -> None:
        self.display_enabled = parse_bool(args[0])

    @command(":DISPlay:ENABle", query=True)
    def _disp_q(self, args: list[str]) -> str:
        return "1" if self.display_enabled else "0"

    # --- output --------------------------------------------------------------------------
    @command(":OUTPut:SMODe")
    def _smod(self, args: list[str]) -> None:
        self.off_mode = parse_choice(args[0], {"HIMP": "HIMP", "NORM": "NORM", "NORMAL": "NORM",
                                               "ZERO": "ZERO", "GUAR": "GUAR",
                                               "GUARD": "GUAR"})

    @command(":OUTPut:SMODe", query=True)
    def _smod_q(self, args: list[str]) -> str:
        return self.off_mode

    @command(":OUTPut:ENABle[:STATe]")
    def _outp_enab(self, args: list[str]) -> None:
        """Output-enable (interlock) control on or off; the simulated interlock trips either
        way (``simulation.faults``: ``interlock``)."""
        self.output_enable_control = parse_bool(args[0])

    @command(":OUTPut:ENABle[:STATe]", query=True)
    def _outp_enab_q(self, args: list[str]) -> str:
        return "1" if self.output_enable_control else "0"

    @command(":OUTPut:ENABle:TRIPped", query=True)
    def _outp_enab_trip_q(self, args: list[str]) -> str:
        """1 while the output-enable line is closed (the output may be switched on), 0 while
        the interlock is open (docs/instruments.md §1.9)."""
        return "0" if self.fault == "interlock" else "1"

    @command("[:SOURce]:CLEar:AUTO")
    def _clear_auto(self, args: list[str]) -> None:
        self.auto_output_off = parse_bool(args[0])

    @command("[:SOURce]:CLEar:AUTO", query=True)
    def _clear_auto_q(self, args: list[str]) -> str:
        return "1" if self.auto_output_off else "0"

    @command("[:SOURce]:CLEar[:IMMediate]")  # ⚠ not in docs/instruments.md (manual: output off)
    def _clear(self, args: list[str]) -> None:
        self.engine.sync(self.start_time_s())
        self.output_on = False
        self._sync_engine()

    # --- source --------------------------------------------------------------------------
    @command("[:SOURce]:FUNCtion[:MODE]")
    def _sour_func(self, args: list[str]) -> None:
        function = parse_choice(args[0], _SOURCE_FUNCTIONS)
        if self.output_on and function != self.source_function:
            # "not changeable with output on" (§1.4); the error code is not given ⚠
            raise error(SETTINGS_CONFLICT)
        self.source_function = function
        self._sync_engine()

    @command("[:SOURce]:FUNCtion[:MODE]", query=True)
    def _sour_func_q(self, args: list[str]) -> str:
        return self.source_function

    def _level(self, function: str, args: list[str]) -> None:
        value = parse_number(args[0], default=0.0)
        self._check_level(function, value)
        if function == "VOLT":
            self._check_envelope(value, self.protection["CURR"])
        else:
            self._check_envelope(self.protection["VOLT"], value)
        self.engine.sync(self.start_time_s())
        self.level[function] = value
        if self.source_range_auto[function]:
            # auto range: the lowest range that holds the level (p. 18-75)
            self.source_range[function] = range_for(self.ranges[function], value)
        self._sync_engine()

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _volt(self, args: list[str]) -> None:
        self._level("VOLT", args)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _volt_q(self, args: list[str]) -> str:
        return nr3(self.level["VOLT"])

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _curr(self, args: list[str]) -> None:
        self._level("CURR", args)

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _curr_q(self, args: list[str]) -> str:
        return nr3(self.level["CURR"])

    def _range_value(self, ranges: tuple[float, ...], present: float, args: list[str],
                     default: float) -> float:
        """The full scale a range command selects: ``<n>`` the lowest range holding it,
        ``UP``/``DOWN`` the next one, ``MIN``/``MAX``/``DEF`` (pp. 18-63, 18-75)."""
        token = args[0].strip().upper() if args else ""
        if token in ("UP", "DOWN"):
            return step_range(ranges, present, token)
        value = parse_number(token, minimum=-ranges[-1], maximum=ranges[-1], default=default)
        return range_for(ranges, value)

    def _range(self, function: str, args: list[str]) -> None:
        default = 21.0 if function == "VOLT" else 1.05e-4
        self.source_range[function] = self._range_value(
            self.ranges[function], self.source_range[function], args, default)
        self.source_range_auto[function] = False

    @command("[:SOURce]:VOLTage:RANGe")
    def _volt_rang(self, args: list[str]) -> None:
        self._range("VOLT", args)

    @command("[:SOURce]:CURRent:RANGe")
    def _curr_rang(self, args: list[str]) -> None:
        self._range("CURR", args)

    @command("[:SOURce]:VOLTage:RANGe", query=True)
    def _volt_rang_q(self, args: list[str]) -> str:
        return nr3(self.source_range["VOLT"])

    @command("[:SOURce]:CURRent:RANGe", query=True)
    def _curr_rang_q(self, args: list[str]) -> str:
        return nr3(self.source_range["CURR"])

    @command("[:SOURce]:VOLTage:RANGe:AUTO")
    def _volt_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["VOLT"] = parse_bool(args[0])

    @command("[:SOURce]:CURRent:RANGe:AUTO")
    def _curr_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["CURR"] = parse_bool(args[0])

    @command("[:SOURce]:VOLTage:RANGe:AUTO", query=True)
    def _volt_rang_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_range_auto["VOLT"] else "0"

    @command("[:SOURce]:CURRent:RANGe:AUTO", query=True)
    def _curr_rang_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_range_auto["CURR"] else "0"

    @command("[:SOURce]:VOLTage:PROTection[:LEVel]")
    def _ovp(self, args: list[str]) -> None:
        # §1.4: "discrete 20/40/60... V steps"; the steps above 60 V follow the manual ⚠
        value = parse_number(args[0], minimum=-1e9, maximum=1e9)
        steps = [20, 40, 60, 80, 100, 120, 160, 210]
        self.ovp_v = next((float(s) for s in steps if abs(value) <= s), 210.0)

    @command("[:SOURce]:VOLTage:PROTection[:LEVel]", query=True)
    def _ovp_q(self, args: list[str]) -> str:
        return nr3(self.ovp_v)

    @command("[:SOURce]:VOLTage:MODE")
    def _volt_mode(self, args: list[str]) -> None:
        self.mode["VOLT"] = parse_choice(args[0], _MODES)

    @command("[:SOURce]:CURRent:MODE")
    def _curr_mode(self, args: list[str]) -> None:
        self.mode["CURR"] = parse_choice(args[0], _MODES)

    @command("[:SOURce]:VOLTage:MODE", query=True)
    def _volt_mode_q(self, args: list[str]) -> str:
        return self.mode["VOLT"]

    @command("[:SOURce]:CURRent:MODE", query=True)
    def _curr_mode_q(self, args: list[str]) -> str:
        return self.mode["CURR"]

    @command("[:SOURce]:DELay")
    def _delay(self, args: list[str]) -> None:
        self.source_delay_s = parse_number(args[0], minimum=0.0,
                                           maximum=self.limits.max_source_delay_s, default=0.0)
        self.source_delay_auto = False

    @command("[:SOURce]:DELay", query=True)
    def _delay_q(self, args: list[str]) -> str:
        return nr3(self.source_delay_s)

    @command("[:SOURce]:DELay:AUTO")
    def _delay_auto(self, args: list[str]) -> None:
        self.source_delay_auto = parse_bool(args[0])
        if self.source_delay_auto:
            self.source_delay_s = 0.001

    @command("[:SOURce]:DELay:AUTO", query=True)
    def _delay_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_delay_auto else "0"

    # sweeps
    def _sweep_value(self, function: str, key: str, args: list[str]) -> None:
        value = parse_number(args[0])
        sweep = self.sweep[function]
        if key == "STEP":
            # A step that does not lie between start and stop: -221, nothing changes (§1.6).
            span = sweep["STOP"] - sweep["STAR"]
            if value == 0 or abs(value) > abs(span) or (span != 0 and value * span < 0):
                raise error(SETTINGS_CONFLICT)
            sweep["STEP"] = value
            self.sweep_points = int(round(abs(span / value))) + 1
        else:
            self._check_level(function, value)
            sweep[key] = value
            self._update_step(function)

    def _update_step(self, function: str) -> None:
        sweep = self.sweep[function]
        if self.sweep_points > 1:
            sweep["STEP"] = (sweep["STOP"] - sweep["STAR"]) / (self.sweep_points - 1)

    @command("[:SOURce]:VOLTage:STARt")
    def _v_start(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STAR", args)

    @command("[:SOURce]:VOLTage:STOP")
    def _v_stop(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STOP", args)

    @command("[:SOURce]:VOLTage:STEP")
    def _v_step(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STEP", args)

    @command("[:SOURce]:CURRent:STARt")
    def _i_start(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STAR", args)

    @command("[:SOURce]:CURRent:STOP")
    def _i_stop(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STOP", args)

    @command("[:SOURce]:CURRent:STEP")
    def _i_step(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STEP", args)

    @command("[:SOURce]:VOLTage:STARt", query=True)
    def _v_start_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STAR"])

    @command("[:SOURce]:VOLTage:STOP", query=True)
    def _v_stop_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STOP"])

    @command("[:SOURce]:VOLTage:STEP", query=True)
    def _v_step_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STEP"])

    @command("[:SOURce]:SWEep:POINts")
    def _swe_poin(self, args: list[str]) -> None:
        self.sweep_points = int(parse_number(args[0], minimum=2, maximum=2500))  # §1.6
        self._update_step("VOLT")
        self._update_step("CURR")

    @command("[:SOURce]:SWEep:POINts", query=True)
    def _swe_poin_q(self, args: list[str]) -> str:
        return str(self.sweep_points)

    @command("[:SOURce]:SWEep:SPACing")
    def _swe_spac(self, args: list[str]) -> None:
        self.sweep_spacing = parse_choice(args[0], {"LIN": "LIN", "LINEAR": "LIN",
                                                    "LOG": "LOG", "LOGARITHMIC": "LOG"})

    @command("[:SOURce]:SWEep:SPACing", query=True)
    def _swe_spac_q(self, args: list[str]) -> str:
        return self.sweep_spacing

    @command("[:SOURce]:SWEep:RANGing")
    def _swe_rang(self, args: list[str]) -> None:
        self.sweep_ranging = parse_choice(args[0], {"BEST": "BEST", "AUTO": "AUTO",
                                                    "FIX": "FIX", "FIXED": "FIX"})

    @command("[:SOURce]:SWEep:RANGing", query=True)
    def _swe_rang_q(self, args: list[str]) -> str:
        return self.sweep_ranging

    @command("[:SOURce]:SWEep:DIRection")
    def _swe_dir(self, args: list[str]) -> None:
        self.sweep_direction = parse_choice(args[0], {"UP": "UP", "DOWN": "DOWN"})

    @command("[:SOURce]:SWEep:DIRection", query=True)
    def _swe_dir_q(self, args: list[str]) -> str:
        return self.sweep_direction

    @command("[:SOURce]:SWEep:CABort")
    def _swe_cab(self, args: list[str]) -> None:
        # ⚠ abort on compliance is accepted but not emulated
        self.sweep_compliance_abort = parse_choice(args[0], {
            "NEV": "NEV", "NEVER": "NEV", "EARL": "EARL", "EARLY": "EARL", "LATE": "LATE"})

    @command("[:SOURce]:SWEep:CABort", query=True)
    def _swe_cab_q(self, args: list[str]) -> str:
        return self.sweep_compliance_abort

    # lists (SmuEmulator._list)
    @command("[:SOURce]:LIST:VOLTage")
    def _list_volt(self, args: list[str]) -> None:
        self._list("VOLT", args, append=False)

    @command("[:SOURce]:LIST:VOLTage:APPend")
    def _list_volt_app(self, args: list[str]) -> None:
        self._list("VOLT", args, append=True)

    @command("[:SOURce]:LIST:VOLTage:POINts", query=True)
    def _list_volt_poin(self, args: list[str]) -> str:
        return str(len(self.list_values["VOLT"]))

    @command("[:SOURce]:LIST:CURRent")
    def _list_curr(self, args: list[str]) -> None:
        self._list("CURR", args, append=False)

    @command("[:SOURce]:LIST:CURRent:APPend")
    def _list_curr_app(self, args: list[str]) -> None:
        self._list("CURR", args, append=True)

    @command(":SOURce2:TTL[:LEVel][:DEFault]")
    def _ttl(self, args: list[str]) -> None:
        self.ttl_out = int(parse_number(args[0], minimum=0, maximum=15))

    @command(":SOURce2:TTL:ACTual", query=True)
    def _ttl_q(self, args: list[str]) -> str:
        return str(self.ttl_out)

    # --- sense ---------------------------------------------------------------------------
    def _set_functions(self, args: list[str], *, on: bool) -> None:
        functions = [parse_choice(a, _FUNCTION_NAMES) for a in args]
        if on:
            if not self.concurrent:
                self.sense_functions = functions[-1:]
                return
            for function in functions:
                if function not in self.sense_functions:
                    self.sense_functions.append(function)
        else:
            self.sense_functions = [f for f in self.sense_functions if f not in functions]

    @command(":SENSe:FUNCtion[:ON]")
    def _sens_func(self, args: list[str]) -> None:
        self._set_functions(args, on=True)

    @command(":SENSe:FUNCtion[:ON]", query=True)
    def _sens_func_q(self, args: list[str]) -> str:
        names = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
        return ",".join(names[f] for f in self.sense_functions) or '""'

    @command(":SENSe:FUNCtion:OFF")  # ⚠ :SENS:FUNC:OFF[:ALL] are not in docs/instruments.md
    def _sens_func_off(self, args: list[str]) -> None:
        self._set_functions(args, on=False)

    @command(":SENSe:FUNCtion[:ON]:ALL")
    def _sens_func_all(self, args: list[str]) -> None:
        self.sense_functions = ["VOLT", "CURR", "RES"]

    @command(":SENSe:FUNCtion:OFF:ALL")
    def _sens_func_off_all(self, args: list[str]) -> None:
        self.sense_functions = []

    @command(":SENSe:FUNCtion:CONCurrent")
    def _sens_conc(self, args: list[str]) -> None:
        self.concurrent = parse_bool(args[0])
        if not self.concurrent:
            self.sense_functions = self.sense_functions[:1]

    @command(":SENSe:FUNCtion:CONCurrent", query=True)
    def _sens_conc_q(self, args: list[str]) -> str:
        return "1" if self.concurrent else "0"

    def _nplc(self, args: list[str]) -> None:
        self.nplc = parse_number(args[0], minimum=0.01, maximum=10.0, default=1.0)

    @command(":SENSe:CURRent[:DC]:NPLCycles")
    @command(":SENSe:VOLTage[:DC]:NPLCycles")
    @command(":SENSe:RESistance:NPLCycles")
    def _sens_nplc(self, args: list[str]) -> None:
        self._nplc(args)

    @command(":SENSe:CURRent[:DC]:NPLCycles", query=True)
    @command(":SENSe:VOLTage[:DC]:NPLCycles", query=True)
    @command(":SENSe:RESistance:NPLCycles", query=True)
    def _sens_nplc_q(self, args: list[str]) -> str:
        return nr3(self.nplc)

    def _protection(self, function: str, args: list[str]) -> None:
        if function == "CURR":
            value = parse_number(args[0], minimum=-self.max_current_a,
                                 maximum=self.max_current_a, default=1.05e-4)
            if self.source_function == "VOLT":
                self._check_envelope(self.level["VOLT"], value)
        else:
            value = parse_number(args[0], minimum=-self.max_voltage_v,
                                 maximum=self.max_voltage_v, default=21.0)
        self.engine.sync(self.start_time_s())
        self.protection[function] = abs(value)
        self._sync_engine()

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]")
    def _prot_curr(self, args: list[str]) -> None:
        self._protection("CURR", args)

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]")
    def _prot_volt(self, args: list[str]) -> None:
        self._protection("VOLT", args)

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]", query=True)
    def _prot_curr_q(self, args: list[str]) -> str:
        return nr3(self.protection["CURR"])

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]", query=True)
    def _prot_volt_q(self, args: list[str]) -> str:
        return nr3(self.protection["VOLT"])

    # ⚠ Not in docs/instruments.md (2400 manual): the tripped query of the current compliance.
    @command(":SENSe:CURRent[:DC]:PROTection:TRIPped", query=True)
    def _prot_curr_trip(self, args: list[str]) -> str:
        return "1" if self.compliance_condition else "0"

    @command(":SENSe:CURRent[:DC]:PROTection:RSYNchronize")
    @command(":SENSe:VOLTage[:DC]:PROTection:RSYNchronize")
    def _rsyn(self, args: list[str]) -> None:
        parse_bool(args[0])

    def _sense_range(self, function: str, args: list[str]) -> None:
        default = {"CURR": 1.05e-4, "VOLT": 21.0, "RES": 2.1e5}[function]
        self.sense_range[function] = self._range_value(
            self.ranges[function], self.sense_range[function], args, default)
        self.sense_range_auto[function] = False

    def _sense_range_q(self, function: str) -> str:
        """The measurement range in use: the source range when the function is the one
        sourced (p. 18-62 note 1), else the range chosen."""
        if function == self.source_function:
            return nr3(self.source_range[function])
        return nr3(self.sense_range[function])

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]")
    def _sens_curr_rang(self, args: list[str]) -> None:
        self._sense_range("CURR", args)

    @command(":SENSe:VOLTage[:DC]:RANGe[:UPPer]")
    def _sens_volt_rang(self, args: list[str]) -> None:
        self._sense_range("VOLT", args)

    @command(":SENSe:RESistance:RANGe[:UPPer]")
    def _sens_res_rang(self, args: list[str]) -> None:
        self._sense_range("RES", args)

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]", query=True)
    def _sens_curr_rang_q(self, args: list[str]) -> str:
        return self._sense_range_q("CURR")

    @command(":SENSe:VOLTage[:DC]:RANGe[:UPPer]", query=True)
    def _sens_volt_rang_q(self, args: list[str]) -> str:
        return self._sense_range_q("VOLT")

    @command(":SENSe:RESistance:RANGe[:UPPer]", query=True)
    def _sens_res_rang_q(self, args: list[str]) -> str:
        return nr3(self.sense_range["RES"])

    @command(":SENSe:CURRent[:DC]:RANGe:AUTO")
    def _sens_curr_auto(self, args: list[str]) -> None:
        self.sense_range_auto["CURR"] = parse_bool(args[0])

    @command(":SENSe:VOLTage[:DC]:RANGe:AUTO")
    def _sens_volt_auto(self, args: list[str]) -> None:
        self.sense_range_auto["VOLT"] = parse_bool(args[0])

    @command(":SENSe:RESistance:RANGe:AUTO")
    def _sens_res_auto(self, args: list[str]) -> None:
        self.sense_range_auto["RES"] = parse_bool(args[0])

    @command(":SENSe:CURRent[:DC]:RANGe:AUTO", query=True)
    def _sens_curr_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["CURR"] else "0"

    @command(":SENSe:VOLTage[:DC]:RANGe:AUTO", query=True)
    def _sens_volt_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["VOLT"] else "0"

    @command(":SENSe:RESistance:RANGe:AUTO", query=True)
    def _sens_res_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["RES"] else "0"

    @command(":SENSe:RESistance:MODE")
    def _res_mode(self, args: list[str]) -> None:
        self.resistance_mode = parse_choice(args[0], {"MAN": "MAN", "MANUAL": "MAN",
                                                      "AUTO": "AUTO"})

    @command(":SENSe:RESistance:MODE", query=True)
    def _res_mode_q(self, args: list[str]) -> str:
        return self.resistance_mode

    @command(":SENSe:AVERage[:STATe]")
    def _aver(self, args: list[str]) -> None:
        self.filter["STAT"] = parse_bool(args[0])

    @command(":SENSe:AVERage[:STATe]", query=True)
    def _aver_q(self, args: list[str]) -> str:
        return "1" if self.filter["STAT"] else "0"

    @command(":SENSe:AVERage:TCONtrol")
    def _aver_tcon(self, args: list[str]) -> None:
        self.filter["TCON"] = parse_choice(args[0], {"REP": "REP", "REPEAT": "REP",
                                                     "MOV": "MOV", "MOVING": "MOV"})

    @command(":SENSe:AVERage:TCONtrol", query=True)
    def _aver_tcon_q(self, args: list[str]) -> str:
        return self.filter["TCON"]

    @command(":SENSe:AVERage:COUNt")
    def _aver_coun(self, args: list[str]) -> None:
        self.filter["COUN"] = int(parse_number(args[0], minimum=1, maximum=100))

    @command(":SENSe:AVERage:COUNt", query=True)
    def _aver_coun_q(self, args: list[str]) -> str:
        return str(self.filter["COUN"])

    # --- format --------------------------------------------------------------------------
    @command(":FORMat:ELEMents[:SENSe[1]]")
    def _form_elem(self, args: list[str]) -> None:
        elements = [parse_choice(a, _ELEMENT_NAMES) for a in args]
        if not elements:
            raise error(DATA_TYPE_ERROR)
        self.form_elements = [e for e in ELEMENTS if e in elements]

    @command(":FORMat:ELEMents[:SENSe[1]]", query=True)
    def _form_elem_q(self, args: list[str]) -> str:
        return ",".join(self.form_elements)

    @command(":FORMat[:DATA]")
    def _form_data(self, args: list[str]) -> None:
        """ASCii, REAL,32 or SREal (2400 manual table 18-3); REAL takes only the length 32."""
        if not args:
            raise error(MISSING_PARAMETER)
        data_format = parse_choice(args[0], {"ASC": "ASC", "ASCII": "ASC", "SRE": "SRE",
                                             "SREAL": "SRE", "REAL": "REAL"})
        if data_format == "REAL" and len(args) > 1 and parse_number(args[1]) != 32:
            raise error(ILLEGAL_VALUE)
        self.data_format = data_format

    @command(":FORMat[:DATA]", query=True)
    def _form_data_q(self, args: list[str]) -> str:
        return {"ASC": "ASC", "SRE": "SRE", "REAL": "REAL,32"}[self.data_format]

    @command(":FORMat:BORDer")
    def _form_bord(self, args: list[str]) -> None:
        self.byte_order = parse_choice(args[0], {"NORM": "NORM", "NORMAL": "NORM",
                                                 "SWAP": "SWAP", "SWAPPED": "SWAP"})

    @command(":FORMat:BORDer", query=True)
    def _form_bord_q(self, args: list[str]) -> str:
        return self.byte_order

    # --- trigger -------------------------------------------------------------------------
    @command(":TRIGger:COUNt")
    def _trig_coun(self, args: list[str]) -> None:
        count = int(parse_number(args[0], minimum=1, maximum=2500, default=1))
        # ARM:COUN x TRIG:COUN <= 2500 (§1.6); the error code is not given ⚠
        if count * self.arm_count > 2500:
            raise error(SETTINGS_CONFLICT)
        self.trigger_count = count

    @command(":TRIGger:COUNt", query=True)
    def _trig_coun_q(self, args: list[str]) -> str:
        return str(self.trigger_count)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt")
    def _arm_coun(self, args: list[str]) -> None:
        count = int(parse_number(args[0], minimum=1, maximum=2500, default=1))
        if count * self.trigger_count > 2500:
            raise error(SETTINGS_CONFLICT)
        self.arm_count = count

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", query=True)
    def _arm_coun_q(self, args: list[str]) -> str:
        return str(self.arm_count)

    @command(":TRIGger:DELay")
    def _trig_del(self, args: list[str]) -> None:
        self.trigger_delay_s = parse_number(args[0], minimum=0.0, maximum=999.9999, default=0.0)

    @command(":TRIGger:DELay", query=True)
    def _trig_del_q(self, args: list[str]) -> str:
        return nr3(self.trigger_delay_s)

    @command(":TRIGger:SOURce")
    def _trig_sour(self, args: list[str]) -> None:
        self.trigger_source = parse_choice(args[0], {"IMM": "IMM", "IMMEDIATE": "IMM",
                                                     "TLIN": "TLIN", "TLINK": "TLIN"})
        # trigger layer: IMM|TLIN only (§1.8)

    @command(":TRIGger:SOURce", query=True)
    def _trig_sour_q(self, args: list[str]) -> str:
        return self.trigger_source

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:SOURce")
    def _arm_sour(self, args: list[str]) -> None:
        # §1.8 lists IMM|TIM|MAN|BUS|TLIN; NST/PST/BST (the manual's other arm events) ⚠
        self.arm_source = parse_choice(args[0], {
            "IMM": "IMM", "IMMEDIATE": "IMM", "TLIN": "TLIN", "TLINK": "TLIN", "TIM": "TIM",
            "TIMER": "TIM", "MAN": "MAN", "MANUAL": "MAN", "BUS": "BUS", "NST": "NST",
            "NSTEST": "NST", "PST": "PST", "PSTEST": "PST", "BST": "BST", "BSTEST": "BST"})

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", query=True)
    def _arm_sour_q(self, args: list[str]) -> str:
        return self.arm_source

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:TIMer")
    def _arm_tim(self, args: list[str]) -> None:
        self.arm_timer_s = parse_number(args[0], minimum=0.001, maximum=99999.99,
                                        default=0.1)  # §1.8

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", query=True)
    def _arm_tim_q(self, args: list[str]) -> str:
        return nr3(self.arm_timer_s)

    @command(":TRIGger:OUTPut")
    def _trig_outp(self, args: list[str]) -> None:
        events = [parse_choice(a, {"SOUR": "SOUR", "SOURCE": "SOUR", "DEL": "DEL",
                                   "DELAY": "DEL", "SENS": "SENS", "SENSE": "SENS",
                                   "NONE": "NONE"}) for a in args] or ["NONE"]
        self.trigger_output = ",".join(events)

    @command(":TRIGger:OUTPut", query=True)
    def _trig_outp_q(self, args: list[str]) -> str:
        return self.trigger_output

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:OUTPut")
    def _arm_outp(self, args: list[str]) -> None:
        events = [parse_choice(a, {"TENT": "TENT", "TENTER": "TENT", "TEX": "TEX",
                                   "TEXIT": "TEX", "NONE": "NONE"}) for a in args] or ["NONE"]
        self.arm_output = ",".join(events)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:OUTPut", query=True)
    def _arm_outp_q(self, args: list[str]) -> str:
        return self.arm_output

    def _line(self, args: list[str]) -> int:
        return int(parse_number(args[0] if args else "", minimum=1, maximum=4))  # lines 1-4

    @command(":TRIGger:ILINe")
    def _trig_ilin(self, args: list[str]) -> None:
        self.trigger_input_line = self._line(args)

    @command(":TRIGger:ILINe", query=True)
    def _trig_ilin_q(self, args: list[str]) -> str:
        return str(self.trigger_input_line)

    @command(":TRIGger:OLINe")
    def _trig_olin(self, args: list[str]) -> None:
        self.trigger_output_line = self._line(args)

    @command(":TRIGger:OLINe", query=True)
    def _trig_olin_q(self, args: list[str]) -> str:
        return str(self.trigger_output_line)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:ILINe")
    def _arm_ilin(self, args: list[str]) -> None:
        self.arm_input_line = self._line(args)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:ILINe", query=True)
    def _arm_ilin_q(self, args: list[str]) -> str:
        return str(self.arm_input_line)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:OLINe")
    def _arm_olin(self, args: list[str]) -> None:
        self.arm_output_line = self._line(args)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:OLINe", query=True)
    def _arm_olin_q(self, args: list[str]) -> str:
        return str(self.arm_output_line)

    @command(":ABORt")
    def _abort(self, args: list[str]) -> None:
        """Back to idle; an :INIT in progress stops where it is (p. 11-13)."""
        self.abort()
        self._release_held()

    @command(":INITiate[:IMMediate]")
    def _init(self, args: list[str]) -> None:
        if self.arm_source == "BUS":
            # The arm layer waits for *TRG; until then the instrument holds other commands.
            if not self.output_on and not self.auto_output_off:
                raise error(NOT_PERMITTED_OUTPUT_OFF)
            self.waiting_for_bus = True
            return
        self.acquire()

    @command("*TRG")
    def _trg(self, args: list[str]) -> None:
        """A bus trigger: runs the trigger model an :INIT left waiting on ARM:SOUR BUS;
        otherwise ignored with -211 ⚠ (SCPI's "Trigger ignored")."""
        if not self.waiting_for_bus:
            raise error(TRIGGER_IGNORED)
        self.waiting_for_bus = False
        self.acquire()
        self._release_held()

    # --- readings ------------------------------------------------------------------------
    @command(":READ", query=True)
    def _read(self, args: list[str]) -> str:
        return self.format_rows(self.acquire())

    @command(":FETCh", query=True)
    def _fetch(self, args: list[str]) -> str:
        if not self.last_rows:
            raise error(DATA_STALE)  # ⚠ the error of :FETC? with no reading is not in §1
        return self.format_rows(self.last_rows)

    @command(":CONFigure[:CURRent[:DC]]")
    def _conf_curr(self, args: list[str]) -> None:
        self.configure("CURR")

    @command(":CONFigure:VOLTage[:DC]")
    def _conf_volt(self, args: list[str]) -> None:
        self.configure("VOLT")

    @command(":CONFigure:RESistance")
    def _conf_res(self, args: list[str]) -> None:
        self.configure("RES")

    @command(":CONFigure", query=True)
    def _conf_q(self, args: list[str]) -> str:
        """The active functions, as ``:SENS:FUNC?`` lists them (p. 17-2)."""
        return self._sens_func_q(args)

    def _measure(self, function: str | None) -> str:
        """``:MEAS[:<f>]?`` = ``:CONF:<f>`` + ``:READ?`` (p. 17-5): one reading of that
        function, the output turned on (and left on unless auto output-off is enabled)."""
        self.configure(function)
        return self.format_rows(self.acquire(measure_command=True))

    @command(":MEASure", query=True)
    def _meas(self, args: list[str]) -> str:
        return self._measure(None)  # the functions presently selected (p. 17-5)

    @command(":MEASure:CURRent[:DC]", query=True)
    def _meas_curr(self, args: list[str]) -> str:
        return self._measure("CURR")

    @command(":MEASure:VOLTage[:DC]", query=True)
    def _meas_volt(self, args: list[str]) -> str:
        return self._measure("VOLT")

    @command(":MEASure:RESistance", query=True)
    def _meas_res(self, args: list[str]) -> str:
        return self._measure("RES")

    # --- buffer --------------------------------------------------------------------------
    @command(":TRACe:DATA", query=True)
    def _trac_data(self, args: list[str]) -> str:
        return self.format_rows(self.buffer)

    @command(":TRACe:CLEar")
    def _trac_cle(self, args: list[str]) -> None:
        self.buffer = []

    @command(":TRACe:POINts")
    def _trac_poin(self, args: list[str]) -> None:
        self.buffer_size = int(parse_number(args[0], minimum=1, maximum=2500, default=100))

    @command(":TRACe:POINts", query=True)
    def _trac_poin_q(self, args: list[str]) -> str:
        return str(self.buffer_size)

    @command(":TRACe:POINts:ACTual", query=True)
    def _trac_act(self, args: list[str]) -> str:
        return str(len(self.buffer))

    @command(":TRACe:FEED")
    def _trac_feed(self, args: list[str]) -> None:
        self.buffer_feed = parse_choice(args[0], {
            "SENS": "SENS", "SENS1": "SENS", "SENSE": "SENS", "SENSE1": "SENS",
            "CALC1": "CALC1", "CALCULATE1": "CALC1", "CALC": "CALC1", "CALCULATE": "CALC1",
            "CALC2": "CALC2", "CALCULATE2": "CALC2"})

    @command(":TRACe:FEED", query=True)
    def _trac_feed_q(self, args: list[str]) -> str:
        return {"SENS": "SENS1"}.get(self.buffer_feed, self.buffer_feed)  # ⚠ reply form

    @command(":TRACe:FEED:CONTrol")
    def _trac_feed_cont(self, args: list[str]) -> None:
        self.buffer_control = parse_choice(args[0], {"NEXT": "NEXT", "NEV": "NEV",
                                                     "NEVER": "NEV"})

    @command(":TRACe:FEED:CONTrol", query=True)
    def _trac_feed_cont_q(self, args: list[str]) -> str:
        return self.buffer_control

    @command(":CALCulate3:FORMat")
    def _calc3_form(self, args: list[str]) -> None:
        self.calc3_format = parse_choice(args[0], {
            "MEAN": "MEAN", "SDEV": "SDEV", "SDEVIATION": "SDEV", "MAX": "MAX",
            "MAXIMUM": "MAX", "MIN": "MIN", "MINIMUM": "MIN", "PKPK": "PKPK"})

    @command(":CALCulate3:FORMat", query=True)
    def _calc3_form_q(self, args: list[str]) -> str:
        return self.calc3_format

    @command(":CALCulate3:DATA", query=True)
    def _calc3_data(self, args: list[str]) -> str:
        """The statistic of the buffer (p. 18-? ⚠; docs/instruments.md §1.8), one value per
        V, I and R element listed by :FORM:ELEM; an empty buffer queues -230 ⚠."""
        if not self.buffer:
            raise error(DATA_STALE)
        data = np.asarray(self.buffer, dtype=float)
        statistic = {"MEAN": np.mean, "MAX": np.max, "MIN": np.min, "PKPK": np.ptp,
                     "SDEV": lambda column: np.std(column, ddof=1) if column.size > 1
                     else 0.0}[self.calc3_format]
        columns = [ELEMENTS.index(e) for e in self.form_elements if e in ("VOLT", "CURR", "RES")]
        return ",".join(nr3(float(statistic(data[:, i]))) for i in columns)

    # --- status --------------------------------------------------------------------------
    @command(":STATus:MEASurement[:EVENt]", query=True)
    def _stat_meas(self, args: list[str]) -> str:
        """Reading an event register clears it (p. 15-6 ⚠ page)."""
        value, self.measurement_event = self.measurement_event, 0
        return str(value)

    @command(":STATus:MEASurement:CONDition", query=True)
    def _stat_meas_cond(self, args: list[str]) -> str:
        return str((MEAS_COMPLIANCE if self.compliance_condition else 0)
                   | self._buffer_condition())

    @command(":STATus:MEASurement:ENABle")
    def _stat_meas_enab(self, args: list[str]) -> None:
        self.measurement_enable = int(parse_number(args[0] if args else "", minimum=0,
                                                   maximum=65535))

    @command(":STATus:MEASurement:ENABle", query=True)
    def _stat_meas_enab_q(self, args: list[str]) -> str:
        return str(self.measurement_enable)

    @command(":STATus:OPERation[:EVENt]", query=True)
    @command(":STATus:QUEStionable[:EVENt]", query=True)
    def _stat_other(self, args: list[str]) -> str:
        return "0"  # ⚠ operation and questionable events are not emulated

    @command(":STATus:OPERation:CONDition", query=True)
    def _stat_oper_cond(self, args: list[str]) -> str:
        return str(OPER_IDLE)  # a query is answered once the instrument is idle (p. 11-13)

    @command(":STATus:QUEStionable:CONDition", query=True)
    def _stat_ques_cond(self, args: list[str]) -> str:
        return "0"

    @command(":STATus:OPERation:ENABle")
    def _stat_oper_enab(self, args: list[str]) -> None:
        self.operation_enable = int(parse_number(args[0] if args else "", minimum=0,
                                                 maximum=65535))

    @command(":STATus:OPERation:ENABle", query=True)
    def _stat_oper_enab_q(self, args: list[str]) -> str:
        return str(self.operation_enable)

    @command(":STATus:QUEStionable:ENABle")
    def _stat_ques_enab(self, args: list[str]) -> None:
        self.questionable_enable = int(parse_number(args[0] if args else "", minimum=0,
                                                    maximum=65535))

    @command(":STATus:QUEStionable:ENABle", query=True)
    def _stat_ques_enab_q(self, args: list[str]) -> str:
        return str(self.questionable_enable)


class Keithley2420Emulator(Keithley2400Emulator):
    """A Keithley 2420: 2400-series SCPI with ±63 V, ±3.15 A (3 A range ≤ 21 V)."""

    model = "2420"
    limits = KEITHLEY_2420_LIMITS
    serial_number = "1234567"
