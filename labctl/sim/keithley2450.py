"""Emulator of the Keithley 2450 SourceMeter in its native SCPI language.

Reference: Keithley Model 2450 SourceMeter Reference Manual, summarised in
``docs/instruments.md`` §2. What is emulated:

- source and measure settings (function, level, range, limits ``ILIM``/``VLIM`` with their
  ``TRIP?`` flags, per-function NPLC, auto-zero, 4-wire), ``*LANG?``;
- reading buffers (``defbuffer1``, ``defbuffer2`` and ``:TRAC:MAKE`` buffers) and
  ``:READ?``/``:MEAS?``/``:FETC?``/``:TRAC:DATA?`` with element lists returned in the order
  asked (``SOUR,READ`` -> s1,r1,s2,r2,…);
- the built-in sweeps ``:SOUR:SWE:VOLT|CURR:LIN`` / ``LIN:STEP`` / ``LOG`` / ``LIST`` that
  replace the trigger model and run on ``:INIT`` (failAbort ON stops the sweep at the first point
  in limit), on the bench clock while the instrument answers (``:TRIG:STAT?``, ``:ABOR``);
- errors as ``code,"message;severity;timestamp"`` (⚠ format from the same firmware family);
- time per point: NPLC/f_line + source delay (autodelay by range) + sweep delay + ~1 ms.

Replies and errors that docs/instruments.md does not give are marked ⚠ where they are emulated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from instruments.smu import KEITHLEY_2450_LIMITS
from instruments.timing import MESSAGE_OVERHEAD_S, autodelay_2450_s, reading_time_s
from labctl.sim.scpi import (
    DATA_STALE,
    ILLEGAL_VALUE,
    MISSING_PARAMETER,
    OUT_OF_RANGE,
    SETTINGS_CONFLICT,
    command,
    error,
    parse_bool,
    parse_choice,
    parse_number,
    unquote,
)
from labctl.sim.smu import LIMIT_TOLERANCE, Points, SmuEmulator

_FUNCTIONS = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
              "CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
              "RES": "RES", "RESISTANCE": "RES"}
_ELEMENTS = {
    "READ": "READ", "READING": "READ", "SOUR": "SOUR", "SOURCE": "SOUR", "REL": "REL",
    "RELATIVE": "REL", "SEC": "SEC", "SECONDS": "SEC", "FRAC": "FRAC", "FRACTIONAL": "FRAC",
    "STAT": "STAT", "STATUS": "STAT", "SOURSTAT": "SOURSTAT", "SOURSTATUS": "SOURSTAT",
    "UNIT": "UNIT", "SOURUNIT": "SOURUNIT", "TST": "TST", "TSTAMP": "TST", "TIME": "TIME",
    "DATE": "DATE", "FORM": "FORM", "FORMATTED": "FORM", "SOURFORM": "SOURFORM",
    "SOURFORMATTED": "SOURFORM", "EXTR": "EXTR", "EXTRA": "EXTR",
}
_UNITS = {"VOLT": "Volt DC", "CURR": "Amp DC", "RES": "Ohm"}
_Method = Callable[..., "str | None"]
#: Where a binary block goes in a reply (replaced by :meth:`Keithley2450Emulator._match`).
_BLOCK_MARK = "\x00block\x00"

def fixed_range(value: float, ranges: tuple[float, ...]) -> float:
    """The lowest fixed range whose full scale holds ``value`` (the top range otherwise).

    "The instrument selects the closest fixed range that is large enough to measure the
    entered number ... When you read this setting, you see the positive full-scale value"
    (2450 reference manual, ``:SENS:<f>:RANG``; the same rule for ``:SOUR:<f>:RANG`` and for
    the source auto range, which picks "the range that is most appropriate for the value
    that is being sourced"). ⚠ A level in a range's 5 % over-range band (21 V on the 20 V
    range) takes the next range here; whether the auto range keeps the lower one is not given.
    """
    for full_scale in ranges:
        if abs(value) <= full_scale * LIMIT_TOLERANCE:
            return full_scale
    return ranges[-1]


def _num(value: float) -> str:
    return f"{value:.9E}"


@dataclass
class TriggerRun:
    """A started trigger model (``:INIT``): a train of points on the bench clock."""

    values: np.ndarray          # source value of each point
    start_s: float              # bench time the first point starts
    settle_s: float             # source delay + sweep delay of each point
    point_s: float              # duration of one point
    buffer: str
    fail_abort: bool
    function: str               # source function
    sense: str                  # measure function
    done: int = 0               # points made so far
    end_s: float | None = None  # when it ended (None while running)
    state: str = "RUNNING"      # RUNNING, then IDLE at its end or ABORTED


class Keithley2450Emulator(SmuEmulator):
    """A Keithley 2450 (USB-TMC or LAN) on the simulated bench."""

    model = "2450"
    # ±210 V, ±1.05 A, above 21 V at most 105 mA.
    limits = KEITHLEY_2450_LIMITS
    # ⚠ docs/instruments.md §2 does not say what the 2450 answers to a level/limit pair beyond the
    # 21 V / 105 mA envelope; -221 here (-222 on the 2400 series, §1.2).
    envelope_error = SETTINGS_CONFLICT
    serial_number = "04412345"
    firmware = "1.7.12b"
    no_error_reply = '0,"No error;0;0 0"'
    message_overhead_s = MESSAGE_OVERHEAD_S["2450"]

    def identity(self) -> str:
        return f"KEITHLEY INSTRUMENTS,MODEL {self.model},{self.serial_number},{self.firmware}"

    def ranges(self, function: str) -> tuple[float, ...]:
        """The fixed ranges of ``function`` (VOLT, CURR, RES), ascending, from the model's
        limits; source and measure ranges of V and I are the same (2450 reference manual,
        ``:SOUR:<f>:RANG``, ``:SENS:<f>:RANG``; TSP ``smu.source.range``)."""
        limits = self.limits
        return {"VOLT": limits.voltage_ranges_v, "CURR": limits.current_ranges_a,
                "RES": limits.resistance_ranges_ohm}[function]

    def format_error(self, code: int, message: str) -> str:
        # ⚠ ``code,"message;severity;timestamp"`` from the DMM6500 (docs/instruments.md §2);
        # severity is always 1 and the timestamp is "seconds nanoseconds" of the bench clock here.
        t_s = self.now_s()
        return f'{code},"{message};1;{int(t_s)} {int((t_s % 1) * 1e9)}"'

    # --- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.language = str(self.config.get("language", "SCPI"))
        self.off_mode = {"VOLT": "NORM", "CURR": "NORM"}
        self.source_function = "VOLT"
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.source_range = {"VOLT": 0.02, "CURR": 1e-8}
        self.source_range_auto = {"VOLT": True, "CURR": True}
        self.limit = {"VOLT": 1.05e-4, "CURR": 21.0}  # ILIM while sourcing V, VLIM while I
        self.source_delay_s = {"VOLT": 0.001, "CURR": 0.001}
        self.source_delay_auto = {"VOLT": True, "CURR": True}
        self.readback = {"VOLT": True, "CURR": True}
        self.ovp_v = 210.0
        self.sense_function = "CURR"
        self.nplc = {"VOLT": 1.0, "CURR": 1.0, "RES": 1.0}
        self.auto_zero = {"VOLT": True, "CURR": True, "RES": True}
        self.remote_sense = {"VOLT": False, "CURR": False, "RES": False}
        self.sense_range = {"VOLT": 0.02, "CURR": 1e-4, "RES": 2e5}
        self.sense_range_auto = {"VOLT": True, "CURR": True, "RES": True}
        #: Last reading of each measure function (what the measure auto range settled on).
        self.last_reading: dict[str, float | None] = {"VOLT": None, "CURR": None, "RES": None}
        self.count = 1
        # averaging filter, user delays (2450 reference manual, :SENS:<f>:AVER, :DEL:USER<n>)
        self.average_on = {"VOLT": False, "CURR": False, "RES": False}
        self.average_type = {"VOLT": "REP", "CURR": "REP", "RES": "REP"}
        self.average_count = {"VOLT": 10, "CURR": 10, "RES": 10}
        self.sense_user_delay_s = {(f, n): 0.0 for f in ("VOLT", "CURR", "RES")
                                   for n in range(1, 6)}
        self.source_user_delay_s = {(f, n): 0.0 for f in ("VOLT", "CURR") for n in range(1, 6)}
        self.service_request_enable = 0
        self.data_format = "ASC"
        self._binary_blocks: list[bytes] = []
        self.tripped = {"VOLT": False, "CURR": False}
        self.buffers: dict[str, list[dict[str, float]]] = {"defbuffer1": [], "defbuffer2": []}
        self.buffer_size = {"defbuffer1": 100000, "defbuffer2": 10000}
        self.list_values: dict[str, list[float]] = {"VOLT": [], "CURR": []}
        self.sweep: dict[str, object] | None = None
        self.run: TriggerRun | None = None
        self.line_frequency_hz = self.bench.line_frequency_hz

    # --- helpers -------------------------------------------------------------------------
    def _sync_engine(self) -> None:
        function = self.source_function
        self.engine.configure(output_on=self.output_on, source_function=function,
                              level=self.level[function], compliance=self.limit[function])

    def _buffer_name(self, text: str | None) -> str:
        name = "defbuffer1" if text is None else unquote(text)
        if name not in self.buffers:
            raise error(ILLEGAL_VALUE)  # ⚠ the error for an unknown buffer is not in §2
        return name

    def autodelay_s(self) -> float:
        """Autodelay by current range (manual p. 138), V-source / I-source:
        :func:`instruments.timing.autodelay_2450_s` of the range in use."""
        if self.source_function == "VOLT":
            current_range_a = None if self.sense_range_auto["CURR"] else self.sense_range["CURR"]
        else:
            current_range_a = self.source_range_in_use("CURR")
        return autodelay_2450_s(current_range_a, self.source_function)

    def point_time_s(self, sweep_delay_s: float = 0.0) -> tuple[float, float]:
        """(settle, total) of one reading: source delay + sweep delay + NPLC/f_line + ~1 ms
        (:func:`instruments.timing.reading_time_s`; docs/instruments.md §2.2 ⚠; auto-zero adds
        no modelled time)."""
        function = self.source_function
        delay_s = (self.autodelay_s() if self.source_delay_auto[function]
                   else self.source_delay_s[function])
        settle_s = delay_s + sweep_delay_s
        total_s = reading_time_s(self.model, self.nplc[self.sense_function],
                                 self.line_frequency_hz, source_delay_s=delay_s,
                                 sweep_delay_s=sweep_delay_s)
        return settle_s, total_s

    # --- the trigger model: runs on the bench clock while the instrument answers --------------
    def _start_run(self, values: np.ndarray, sweep_delay_s: float, buffer: str,
                   fail_abort: bool) -> TriggerRun:
        """Start a train of source-delay-measure points at the instrument's start time.

        ``:INIT`` is an overlapped command (2450 reference manual, ``*WAI`` and ``*OPC``): the
        instrument goes on answering while the trigger model runs; the readings enter the
        buffer as virtual time passes (:meth:`_advance_run`).
        """
        settle_s, point_s = self.point_time_s(sweep_delay_s)
        if not self.output_on:
            self.engine.sync(self.start_time_s())
            self.output_on = True
            self._sync_engine()
        function = self.source_function
        self.tripped[function] = False
        self.run = TriggerRun(values=np.asarray(values, dtype=float),
                              start_s=self.start_time_s(), settle_s=settle_s, point_s=point_s,
                              buffer=buffer, fail_abort=fail_abort, function=function,
                              sense=self.sense_function)
        if values.size == 0:
            self._end_run(self.run.start_s, "IDLE")
        return self.run

    def _advance_run(self, t_s: float) -> None:
        """Measure the points of the running trigger model that are complete at ``t_s``."""
        run = self.run
        if run is None or run.end_s is not None:
            return
        n_due = min(run.values.size, int(np.floor((t_s - run.start_s) / run.point_s + 1e-9)))
        if n_due <= run.done:
            return
        first = run.done
        points = self.engine.measure_points(
            run.values[first:n_due], start_s=run.start_s + first * run.point_s,
            settle_s=run.settle_s, point_s=run.point_s, source_function=run.function,
            compliance=self.limit[run.function])
        n_keep = n_due - first
        if run.fail_abort and np.any(points.in_compliance):
            n_keep = int(np.argmax(points.in_compliance)) + 1
        self._store_points(points, n_keep, run)
        run.done = first + n_keep
        if np.any(points.in_compliance[:n_keep]):
            self.tripped[run.function] = True
        if run.done < n_due:
            # failAbort ON: the sweep stops at the first point in limit (manual pp. 395-400);
            # ⚠ the state the trigger model then reports is not given: ABORTED here.
            self._end_run(run.start_s + run.done * run.point_s, "ABORTED")
        elif run.done == run.values.size:
            self._end_run(run.start_s + run.done * run.point_s, "IDLE")

    def _end_run(self, end_s: float, state: str) -> None:
        run = self.run
        assert run is not None
        run.end_s = end_s
        run.state = state
        self.engine.level = self.level[run.function]

    def _finish_run(self) -> None:
        """Let the running trigger model run to its end; the instrument is busy until then.

        What a command that needs the source-measure hardware does while the trigger model
        runs (a reading, a setting of the source or the measurement): it executes when the
        trigger model has finished (⚠ the 2450 manual does not say whether such a command
        waits or is refused; the emulator lets it wait).
        """
        run = self.run
        if run is None or run.end_s is not None:
            return
        self._advance_run(run.start_s + run.values.size * run.point_s)
        assert run.end_s is not None
        self.busy_until_s = max(self.busy_until_s, run.end_s)

    def _abort_run(self) -> None:
        """``:ABORt`` stops the trigger model now (2450 reference manual, ``:ABORt``;
        TSP ``trigger.model.abort()``: "the instrument stops the trigger model"). The readings
        already made stay in the buffer; the output stays at the source level (⚠)."""
        run = self.run
        if run is None or run.end_s is not None:
            return
        now_s = self.now_s()
        self._advance_run(now_s)
        if run.end_s is None:
            self._end_run(max(now_s, run.start_s), "ABORTED")

    def trigger_running(self) -> bool:
        """True while a started trigger model has points left to make (at the bench's now)."""
        self._advance_run(self.now_s())
        return self.run is not None and self.run.end_s is None

    def sync(self, t_s: float) -> None:
        """Bring the device up to ``t_s``: through the running trigger model's points first."""
        self._advance_run(t_s)
        if self.run is not None and self.run.end_s is None:
            return  # the device model is at the last point made; the train goes on
        self.engine.sync(t_s)

    def _store_points(self, points: Points, n_keep: int, run: TriggerRun) -> None:
        store = self.buffers[run.buffer]
        first_s = store[0]["t"] if store else float(points.time_s[0])
        for k in range(n_keep):
            if run.sense == "CURR":
                reading = points.current_a[k]
            elif run.sense == "VOLT":
                reading = points.voltage_v[k]
            else:
                reading = (points.voltage_v[k] / points.current_a[k]
                           if points.current_a[k] else 9.9e37)
            if run.function == "VOLT":
                source = points.voltage_v[k] if self.readback["VOLT"] else points.source_value[k]
            else:
                source = points.current_a[k] if self.readback["CURR"] else points.source_value[k]
            # ⚠ STAT/SOURSTAT bit values are not in docs/instruments.md; 8 marks a point in limit.
            entry = {"READ": float(reading), "SOUR": float(source), "t": float(points.time_s[k]),
                     "REL": float(points.time_s[k]) - first_s,
                     "STAT": 0.0, "SOURSTAT": 8.0 if points.in_compliance[k] else 0.0}
            store.append(entry)
        if n_keep:
            self.last_reading[run.sense] = store[-1]["READ"]
        overflow = len(store) - self.buffer_size[run.buffer]
        if overflow > 0:
            del store[:overflow]

    def _format(self, entries: list[dict[str, float]], elements: list[str]) -> str:
        if self.data_format != "ASC":
            return self._format_binary(entries, elements)
        out: list[str] = []
        for entry in entries:
            for element in elements:
                if element in ("READ", "SOUR", "REL", "STAT", "SOURSTAT", "EXTR"):
                    out.append(_num(entry.get(element, 0.0)))
                elif element == "SEC":
                    out.append(str(int(entry["t"])))
                elif element == "FRAC":
                    out.append(_num(entry["t"] % 1))
                elif element == "UNIT":
                    out.append(_UNITS[self.sense_function])
                elif element == "SOURUNIT":
                    out.append(_UNITS[self.source_function])
                elif element in ("TST", "TIME", "DATE"):
                    out.append(f"{entry['t']:.9f}")
                elif element == "FORM":
                    out.append(f"{entry['READ']:+.5E}")
                elif element == "SOURFORM":
                    out.append(f"{entry['SOUR']:+.5E}")
        return ",".join(out)

    def _format_binary(self, entries: list[dict[str, float]], elements: list[str]) -> str:
        """An IEEE 488.2 definite-length block of float64 (REAL) or float32 (SREAL) values.
        ⚠ Little-endian (the byte order is not in docs/instruments.md); an element other than
        READ, REL, SOUR, EXTR queues -221 (the code is not given)."""
        if any(e not in ("READ", "REL", "SOUR", "EXTR") for e in elements):
            raise error(SETTINGS_CONFLICT)
        data = np.array([entry.get(e, 0.0) for entry in entries for e in elements],
                        dtype="<f8" if self.data_format == "REAL" else "<f4").tobytes()
        length = str(len(data))
        self._binary_blocks.append(f"#{len(length)}{length}".encode("ascii") + data)
        return _BLOCK_MARK

    def _elements(self, args: list[str]) -> list[str]:
        elements = [parse_choice(a, _ELEMENTS) for a in args]
        if len(elements) > 14:  # <= 14 per list (§2); the error code is not given ⚠
            raise error(OUT_OF_RANGE)
        return elements or ["READ"]

    # --- system --------------------------------------------------------------------------
    @command("*LANG", query=True)
    def _lang(self, args: list[str]) -> str:
        return self.language

    @command("*LANG")
    def _lang_set(self, args: list[str]) -> None:
        # Takes effect only after a power cycle (docs/instruments.md §2); the emulator keeps it.
        parse_choice(args[0], {"SCPI": "SCPI", "TSP": "TSP", "SCPI2400": "SCPI2400"})

    # ⚠ Not in docs/instruments.md: :SYST:ERR:COUN?, :STAT:CLE, :DISP:LIGH:STAT, :OUTP:CURR:SMOD,
    # :SOUR:VOLT:PROT:TRIP? and :TRAC:STAT:AVER? (2450 manual commands, minimal emulation).
    @command(":SYSTem:ERRor:COUNt", query=True)
    def _syst_err_count(self, args: list[str]) -> str:
        return str(len(self.errors))

    @command(":SYSTem:CLEar")
    def _syst_clear(self, args: list[str]) -> None:
        self.errors.clear()

    @command(":STATus:PRESet")
    @command(":STATus:CLEar")
    @command(":SYSTem:BEEPer[:IMMediate]")
    @command(":DISPlay:LIGHt:STATe")
    def _noop(self, args: list[str]) -> None:
        return None

    # --- trigger model state --------------------------------------------------------------
    def _match(self, query: bytes) -> object:
        # every message first brings the running trigger model up to the bench's now
        self._advance_run(self.now_s())
        self._binary_blocks = []
        reply = super()._match(query)
        if self._binary_blocks and isinstance(reply, bytes):
            # the ASCII reply path carries a mark where each binary block goes
            parts = reply.split(_BLOCK_MARK.encode("ascii"))
            reply = parts[0] + b"".join(block + part for block, part
                                        in zip(self._binary_blocks, parts[1:], strict=True))
        return reply

    @command(":ABORt")
    def _abort(self, args: list[str]) -> None:
        self._abort_run()

    @command(":TRIGger:STATe", query=True)
    def _trig_stat(self, args: list[str]) -> str:
        """``<state>;<state>;<block>``: the trigger model's state, the state of its parallel
        part and the block it last executed (2450 reference manual, ``:TRIGger:STATe?``; TSP
        ``trigger.model.state()``: "The instrument checks the state of a started trigger model
        every 100 ms", states IDLE, RUNNING, WAITING, EMPTY, BUILDING, FAILED, ABORTING,
        ABORTED; the DMM6500 of the same family answers e.g. ``IDLE;IDLE;9``).

        ⚠ The block numbers of the sweep's trigger model are not given: the emulator reports
        block 0 before any run, 1 while it runs and 2 when it has ended. The 100 ms state check
        is not emulated (the state changes the moment the last point is made).
        """
        run = self.run
        if run is None:
            return "IDLE;IDLE;0"
        block = 1 if run.end_s is None else 2
        return f"{run.state};{run.state};{block}"

    # --- output (:OUTP and :OUTP? are SmuEmulator's) ---------------------------------------
    @command(":OUTPut[1]:INTerlock:TRIPped", query=True)
    def _outp_int_trip_q(self, args: list[str]) -> str:
        """1 while the interlock is asserted (the full output available), 0 while it is open
        (docs/instruments.md §2.0b); answered while the trigger model runs."""
        return "0" if self.fault == "interlock" else "1"

    @command(":OUTPut:VOLTage:SMODe")
    def _smod_v(self, args: list[str]) -> None:
        self.off_mode["VOLT"] = parse_choice(args[0], {"HIMP": "HIMP", "NORM": "NORM",
                                                       "NORMAL": "NORM", "ZERO": "ZERO",
                                                       "GUAR": "GUAR", "GUARD": "GUAR"})

    @command(":OUTPut:CURRent:SMODe")
    def _smod_i(self, args: list[str]) -> None:
        self.off_mode["CURR"] = parse_choice(args[0], {"HIMP": "HIMP", "NORM": "NORM",
                                                       "NORMAL": "NORM", "ZERO": "ZERO",
                                                       "GUAR": "GUAR", "GUARD": "GUAR"})

    @command(":OUTPut:VOLTage:SMODe", query=True)
    def _smod_v_q(self, args: list[str]) -> str:
        return self.off_mode["VOLT"]

    # --- source --------------------------------------------------------------------------
    @command(":SOURce[1]:FUNCtion[:MODE]")
    def _sour_func(self, args: list[str]) -> None:
        function = parse_choice(args[0], {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR",
                                          "CURRENT": "CURR"})
        self.engine.sync(self.start_time_s())
        if function != self.source_function:
            self.sweep = None  # a change of source function invalidates the sweep set-up
        self.source_function = function
        self._sync_engine()

    @command(":SOURce[1]:FUNCtion[:MODE]", query=True)
    def _sour_func_q(self, args: list[str]) -> str:
        return self.source_function

    def _set_level(self, function: str, args: list[str]) -> None:
        value = parse_number(args[0], default=0.0)
        self._check_level(function, value)
        if function == "VOLT":
            self._check_envelope(value, self.limit["VOLT"])
        else:
            self._check_envelope(self.limit["CURR"], value)
        self.engine.sync(self.start_time_s())
        self.level[function] = value
        self._sync_engine()

    @command(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _volt(self, args: list[str]) -> None:
        self._set_level("VOLT", args)

    @command(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _curr(self, args: list[str]) -> None:
        self._set_level("CURR", args)

    @command(":SOURce[1]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _volt_q(self, args: list[str]) -> str:
        return _num(self.level["VOLT"])

    @command(":SOURce[1]:CURRent[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _curr_q(self, args: list[str]) -> str:
        return _num(self.level["CURR"])

    def _set_range(self, function: str, args: list[str]) -> None:
        limit = self.max_voltage_v if function == "VOLT" else self.max_current_a
        value = parse_number(args[0], minimum=-limit, maximum=limit)
        self.source_range[function] = fixed_range(value, self.ranges(function))
        self.source_range_auto[function] = False

    def source_range_in_use(self, function: str) -> float:
        """The fixed range, or with auto range the range that holds the source level ("If you
        read the range after the output level is set, the instrument returns the range that
        the instrument chose", 2450 reference manual, ``:SOUR:<f>:RANG:AUTO``)."""
        if self.source_range_auto[function]:
            return fixed_range(self.level[function], self.ranges(function))
        return self.source_range[function]

    def sense_range_in_use(self, function: str) -> float:
        """The measure range of ``function``: the source range when it is also the source
        function; with auto range the range of the last reading (⚠ not below the lowest range,
        the auto-range low limit is not emulated); else the fixed range (2450 reference
        manual, ``:SENS:<f>:RANG``)."""
        if function == self.source_function:
            return self.source_range_in_use(function)
        last = self.last_reading.get(function)
        if self.sense_range_auto[function] and last is not None and abs(last) < 9e37:
            return fixed_range(last, self.ranges(function))
        return self.sense_range[function]

    @command(":SOURce[1]:VOLTage:RANGe")
    def _volt_rang(self, args: list[str]) -> None:
        self._set_range("VOLT", args)

    @command(":SOURce[1]:CURRent:RANGe")
    def _curr_rang(self, args: list[str]) -> None:
        self._set_range("CURR", args)

    @command(":SOURce[1]:VOLTage:RANGe", query=True)
    def _volt_rang_q(self, args: list[str]) -> str:
        return _num(self.source_range_in_use("VOLT"))

    @command(":SOURce[1]:CURRent:RANGe", query=True)
    def _curr_rang_q(self, args: list[str]) -> str:
        return _num(self.source_range_in_use("CURR"))

    @command(":SOURce[1]:VOLTage:RANGe:AUTO")
    def _volt_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["VOLT"] = parse_bool(args[0])

    @command(":SOURce[1]:CURRent:RANGe:AUTO")
    def _curr_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["CURR"] = parse_bool(args[0])

    @command(":SOURce[1]:VOLTage:RANGe:AUTO", query=True)
    def _volt_rang_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_range_auto["VOLT"] else "0"

    def _set_limit(self, function: str, args: list[str]) -> None:
        if function == "VOLT":  # current limit while sourcing voltage
            value = parse_number(args[0], minimum=1e-9, maximum=self.max_current_a)
            self._check_envelope(self.level["VOLT"], value)
        else:
            value = parse_number(args[0], minimum=0.02, maximum=self.max_voltage_v)
            self._check_envelope(value, self.level["CURR"])
        self.engine.sync(self.start_time_s())
        self.limit[function] = value
        self._sync_engine()

    @command(":SOURce[1]:VOLTage:ILIMit[:LEVel]")
    def _ilim(self, args: list[str]) -> None:
        self._set_limit("VOLT", args)

    @command(":SOURce[1]:CURRent:VLIMit[:LEVel]")
    def _vlim(self, args: list[str]) -> None:
        self._set_limit("CURR", args)

    @command(":SOURce[1]:VOLTage:ILIMit[:LEVel]", query=True)
    def _ilim_q(self, args: list[str]) -> str:
        return _num(self.limit["VOLT"])

    @command(":SOURce[1]:CURRent:VLIMit[:LEVel]", query=True)
    def _vlim_q(self, args: list[str]) -> str:
        return _num(self.limit["CURR"])

    @command(":SOURce[1]:VOLTage:ILIMit[:LEVel]:TRIPped", query=True)
    def _ilim_trip(self, args: list[str]) -> str:
        return "1" if self.tripped["VOLT"] else "0"

    @command(":SOURce[1]:CURRent:VLIMit[:LEVel]:TRIPped", query=True)
    def _vlim_trip(self, args: list[str]) -> str:
        return "1" if self.tripped["CURR"] else "0"

    def _set_delay(self, function: str, args: list[str]) -> None:
        self.source_delay_s[function] = parse_number(
            args[0], minimum=0.0, maximum=self.limits.max_source_delay_s)
        self.source_delay_auto[function] = False

    @command(":SOURce[1]:VOLTage:DELay")
    def _volt_del(self, args: list[str]) -> None:
        self._set_delay("VOLT", args)

    @command(":SOURce[1]:CURRent:DELay")
    def _curr_del(self, args: list[str]) -> None:
        self._set_delay("CURR", args)

    @command(":SOURce[1]:VOLTage:DELay", query=True)
    def _volt_del_q(self, args: list[str]) -> str:
        return _num(self.source_delay_s["VOLT"])

    @command(":SOURce[1]:VOLTage:DELay:AUTO")
    def _volt_del_auto(self, args: list[str]) -> None:
        self.source_delay_auto["VOLT"] = parse_bool(args[0])

    @command(":SOURce[1]:CURRent:DELay:AUTO")
    def _curr_del_auto(self, args: list[str]) -> None:
        self.source_delay_auto["CURR"] = parse_bool(args[0])

    @command(":SOURce[1]:VOLTage:DELay:AUTO", query=True)
    def _volt_del_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_delay_auto["VOLT"] else "0"

    @command(":SOURce[1]:VOLTage:READ:BACK")
    def _readback_v(self, args: list[str]) -> None:
        self.readback["VOLT"] = parse_bool(args[0])

    @command(":SOURce[1]:CURRent:READ:BACK")
    def _readback_i(self, args: list[str]) -> None:
        self.readback["CURR"] = parse_bool(args[0])

    @command(":SOURce[1]:VOLTage:PROTection[:LEVel]")
    def _ovp(self, args: list[str]) -> None:
        # docs/instruments.md §2 gives ``:SOUR:VOLT:PROT <V>``; the PROT<n>/NONE tokens ⚠
        token = args[0].strip().upper()
        if token in ("NONE", "PROT_NONE"):
            self.ovp_v = 210.0
        else:
            self.ovp_v = parse_number(token.removeprefix("PROT"), minimum=2, maximum=210)

    @command(":SOURce[1]:VOLTage:PROTection:TRIPped", query=True)
    def _ovp_trip(self, args: list[str]) -> str:
        return "0"

    # --- built-in sweeps -----------------------------------------------------------------
    def _sweep_common(self, function: str, values: np.ndarray, rest: list[str]) -> None:
        """The arguments after the values: delay, count, rangeType, failAbort, dual, buffer
        (2450 reference manual pp. 395-400, the same for ``:SOUR:SWE:CURR:…``)."""
        delay_s = parse_number(rest[0], minimum=-1, maximum=10000) if len(rest) > 0 else -1.0
        if 0 < delay_s < 50e-6 or (delay_s < 0 and delay_s != -1):
            raise error(OUT_OF_RANGE)
        count = int(parse_number(rest[1], minimum=0, maximum=268435455)) if len(rest) > 1 else 1
        if len(rest) > 2:
            parse_choice(rest[2], {"AUTO": "AUTO", "BEST": "BEST", "FIX": "FIX",
                                   "FIXED": "FIX"})
        fail_abort = parse_bool(rest[3]) if len(rest) > 3 else True
        dual = parse_bool(rest[4]) if len(rest) > 4 else False
        buffer = self._buffer_name(rest[5] if len(rest) > 5 else None)
        for value in values:
            self._check_level(function, float(value))
        if count == 0:
            # ⚠ count 0 (infinite) is valid on the 2450; an endless sweep is not emulated and
            # the emulator says so with -221 rather than fake it.
            raise error(SETTINGS_CONFLICT)
        sequence = np.concatenate([values, values[::-1]]) if dual else values
        self.sweep = {"values": np.tile(sequence, count),
                      "delay_s": 0.0 if delay_s == -1 else delay_s,
                      "auto_delay": delay_s == -1, "fail_abort": fail_abort, "buffer": buffer}
        self.source_function = function
        self._sync_engine()

    def _sweep_linear(self, function: str, args: list[str]) -> None:
        if len(args) < 3:
            raise error(MISSING_PARAMETER)
        start, stop = parse_number(args[0]), parse_number(args[1])
        points = int(parse_number(args[2], minimum=2, maximum=1_000_000))
        self._sweep_common(function, np.linspace(start, stop, points), args[3:])

    def _sweep_step(self, function: str, args: list[str]) -> None:
        if len(args) < 3:
            raise error(MISSING_PARAMETER)
        start, stop, step = (parse_number(a) for a in args[:3])
        if step == 0 or (stop - start) * step < 0:
            raise error(SETTINGS_CONFLICT)
        points = int(round(abs((stop - start) / step))) + 1
        self._sweep_common(function, start + step * np.arange(points), args[3:])

    def _sweep_log(self, function: str, args: list[str]) -> None:
        """``:SOUR:SWE:<f>:LOG <start>,<stop>,<points>,…`` (2450 reference manual, same
        arguments as LIN). ⚠ Start and stop of opposite sign or zero: -221 here (the manual
        requires them nonzero and of one sign; the error code is not given)."""
        if len(args) < 3:
            raise error(MISSING_PARAMETER)
        start, stop = parse_number(args[0]), parse_number(args[1])
        points = int(parse_number(args[2], minimum=2, maximum=1_000_000))
        if start * stop <= 0:
            raise error(SETTINGS_CONFLICT)
        values = np.sign(start) * np.geomspace(abs(start), abs(stop), points)
        self._sweep_common(function, values, args[3:])

    def _sweep_list(self, function: str, args: list[str]) -> None:
        if len(args) < 1:
            raise error(MISSING_PARAMETER)
        start_index = int(parse_number(args[0], minimum=1, maximum=2500))
        values = np.asarray(self.list_values[function][start_index - 1:], dtype=float)
        if values.size == 0:
            raise error(SETTINGS_CONFLICT)
        rest = args[1:]
        # LIST: <startIndex>, <delay>, <count>, <failAbort>, "<buffer>" (no range type, no dual;
        # manual p. 6-128 gives the first two ⚠)
        mapped = rest[:2] + ["BEST"] + rest[2:3] + ["OFF"] + rest[3:4]
        self._sweep_common(function, values, mapped)

    # The 2400's :SOUR:SWE:SPAC LIN|LOG has no 2450 equivalent in native SCPI (the 2450 has
    # the :LOG sweep commands instead); the emulator, like the instrument, does not know it.
    @command(":SOURce[1]:SWEep:VOLTage:LINear")
    def _swe_lin(self, args: list[str]) -> None:
        self._sweep_linear("VOLT", args)

    @command(":SOURce[1]:SWEep:CURRent:LINear")
    def _swe_lin_i(self, args: list[str]) -> None:
        self._sweep_linear("CURR", args)

    @command(":SOURce[1]:SWEep:VOLTage:LINear:STEP")
    def _swe_lin_step(self, args: list[str]) -> None:
        self._sweep_step("VOLT", args)

    @command(":SOURce[1]:SWEep:CURRent:LINear:STEP")
    def _swe_lin_step_i(self, args: list[str]) -> None:
        self._sweep_step("CURR", args)

    @command(":SOURce[1]:SWEep:VOLTage:LOG")
    def _swe_log(self, args: list[str]) -> None:
        self._sweep_log("VOLT", args)

    @command(":SOURce[1]:SWEep:CURRent:LOG")
    def _swe_log_i(self, args: list[str]) -> None:
        self._sweep_log("CURR", args)

    @command(":SOURce[1]:SWEep:VOLTage:LIST")
    def _swe_list(self, args: list[str]) -> None:
        self._sweep_list("VOLT", args)

    @command(":SOURce[1]:SWEep:CURRent:LIST")
    def _swe_list_i(self, args: list[str]) -> None:
        self._sweep_list("CURR", args)

    @command(":SOURce[1]:LIST:VOLTage")
    def _list_volt(self, args: list[str]) -> None:
        self._list("VOLT", args, append=False)

    @command(":SOURce[1]:LIST:VOLTage:APPend")
    def _list_volt_app(self, args: list[str]) -> None:
        self._list("VOLT", args, append=True)

    @command(":SOURce[1]:LIST:VOLTage:POINts", query=True)
    def _list_volt_poin(self, args: list[str]) -> str:
        return str(len(self.list_values["VOLT"]))

    @command(":SOURce[1]:LIST:CURRent")
    def _list_curr(self, args: list[str]) -> None:
        self._list("CURR", args, append=False)

    @command(":SOURce[1]:LIST:CURRent:APPend")
    def _list_curr_app(self, args: list[str]) -> None:
        self._list("CURR", args, append=True)

    @command(":SOURce[1]:LIST:CURRent:POINts", query=True)
    def _list_curr_poin(self, args: list[str]) -> str:
        return str(len(self.list_values["CURR"]))

    @command(":INITiate[:IMMediate]")
    def _init(self, args: list[str]) -> None:
        if self.sweep is None:
            values = np.full(self.count, self.level[self.source_function])
            self._start_run(values, 0.0, "defbuffer1", fail_abort=False)
            return
        # The sweep delay is added to the source delay (manual pp. 395-400); delay -1 is the
        # autodelay (§2.1).
        sweep = self.sweep
        sweep_delay_s = self.autodelay_s() if sweep["auto_delay"] else float(sweep["delay_s"])
        self._start_run(np.asarray(sweep["values"]), sweep_delay_s, str(sweep["buffer"]),
                        fail_abort=bool(sweep["fail_abort"]))

    # --- sense ---------------------------------------------------------------------------
    @command(":SENSe[1]:FUNCtion[:ON]")
    def _sens_func(self, args: list[str]) -> None:
        self.sense_function = parse_choice(args[0], _FUNCTIONS)

    @command(":SENSe[1]:FUNCtion[:ON]", query=True)
    def _sens_func_q(self, args: list[str]) -> str:
        return {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}[self.sense_function]

    def _sense(self, args: list[str], function: str | None) -> list[str]:
        return [function] if function else ["VOLT", "CURR", "RES"]

    def _set_nplc(self, args: list[str], function: str | None) -> None:
        value = parse_number(args[0], minimum=0.01, maximum=10.0, default=1.0)
        for f in self._sense(args, function):
            self.nplc[f] = value

    @command(":SENSe[1]:NPLCycles")
    def _nplc_all(self, args: list[str]) -> None:
        self._set_nplc(args, None)

    @command(":SENSe[1]:CURRent[:DC]:NPLCycles")
    def _nplc_curr(self, args: list[str]) -> None:
        self._set_nplc(args, "CURR")

    @command(":SENSe[1]:VOLTage[:DC]:NPLCycles")
    def _nplc_volt(self, args: list[str]) -> None:
        self._set_nplc(args, "VOLT")

    @command(":SENSe[1]:RESistance:NPLCycles")
    def _nplc_res(self, args: list[str]) -> None:
        self._set_nplc(args, "RES")

    @command(":SENSe[1]:CURRent[:DC]:NPLCycles", query=True)
    def _nplc_curr_q(self, args: list[str]) -> str:
        return _num(self.nplc["CURR"])

    @command(":SENSe[1]:VOLTage[:DC]:NPLCycles", query=True)
    def _nplc_volt_q(self, args: list[str]) -> str:
        return _num(self.nplc["VOLT"])

    @command(":SENSe[1]:AZERo:ONCE")
    def _azer_once(self, args: list[str]) -> None:
        self.occupy(self.nplc[self.sense_function] / self.line_frequency_hz)

    @command(":SENSe[1]:CURRent[:DC]:RSENse")
    def _rsen_curr(self, args: list[str]) -> None:
        self.remote_sense["CURR"] = parse_bool(args[0])

    @command(":SENSe[1]:VOLTage[:DC]:RSENse")
    def _rsen_volt(self, args: list[str]) -> None:
        self.remote_sense["VOLT"] = parse_bool(args[0])

    @command(":SENSe[1]:RESistance:RSENse")
    def _rsen_res(self, args: list[str]) -> None:
        self.remote_sense["RES"] = parse_bool(args[0])

    @command(":SENSe[1]:CURRent[:DC]:RSENse", query=True)
    def _rsen_curr_q(self, args: list[str]) -> str:
        return "1" if self.remote_sense["CURR"] else "0"

    @command(":SENSe[1]:VOLTage[:DC]:RSENse", query=True)
    def _rsen_volt_q(self, args: list[str]) -> str:
        return "1" if self.remote_sense["VOLT"] else "0"

    def _set_sense_range(self, function: str, args: list[str]) -> None:
        # 105 % of the top range, as the V and I limits (210 V, 1.05 A) are
        limit = {"CURR": self.max_current_a, "VOLT": self.max_voltage_v,
                 "RES": self.ranges("RES")[-1] * 1.05}[function]
        value = parse_number(args[0], minimum=-limit, maximum=limit)
        self.sense_range[function] = fixed_range(value, self.ranges(function))
        self.sense_range_auto[function] = False

    @command(":SENSe[1]:CURRent[:DC]:RANGe[:UPPer]")
    def _sens_curr_rang(self, args: list[str]) -> None:
        self._set_sense_range("CURR", args)

    @command(":SENSe[1]:VOLTage[:DC]:RANGe[:UPPer]")
    def _sens_volt_rang(self, args: list[str]) -> None:
        self._set_sense_range("VOLT", args)

    @command(":SENSe[1]:RESistance:RANGe[:UPPer]")
    def _sens_res_rang(self, args: list[str]) -> None:
        self._set_sense_range("RES", args)

    @command(":SENSe[1]:CURRent[:DC]:RANGe[:UPPer]", query=True)
    def _sens_curr_rang_q(self, args: list[str]) -> str:
        return _num(self.sense_range_in_use("CURR"))

    @command(":SENSe[1]:VOLTage[:DC]:RANGe[:UPPer]", query=True)
    def _sens_volt_rang_q(self, args: list[str]) -> str:
        return _num(self.sense_range_in_use("VOLT"))

    @command(":SENSe[1]:RESistance:RANGe[:UPPer]", query=True)
    def _sens_res_rang_q(self, args: list[str]) -> str:
        return _num(self.sense_range_in_use("RES"))

    @command(":SENSe[1]:CURRent[:DC]:RANGe:AUTO")
    def _sens_curr_auto(self, args: list[str]) -> None:
        self.sense_range_auto["CURR"] = parse_bool(args[0])

    @command(":SENSe[1]:VOLTage[:DC]:RANGe:AUTO")
    def _sens_volt_auto(self, args: list[str]) -> None:
        self.sense_range_auto["VOLT"] = parse_bool(args[0])

    @command(":SENSe[1]:RESistance:RANGe:AUTO")
    def _sens_res_auto(self, args: list[str]) -> None:
        self.sense_range_auto["RES"] = parse_bool(args[0])

    @command(":SENSe[1]:CURRent[:DC]:RANGe:AUTO", query=True)
    def _sens_curr_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["CURR"] else "0"

    @command(":SENSe[1]:COUNt")
    def _sens_coun(self, args: list[str]) -> None:
        self.count = int(parse_number(args[0], minimum=1, maximum=300000))

    @command(":SENSe[1]:COUNt", query=True)
    def _sens_coun_q(self, args: list[str]) -> str:
        return str(self.count)

    # --- readings ------------------------------------------------------------------------
    def _measure(self, args: list[str], *, store: bool = True) -> str:
        buffer = self._buffer_name(args[0] if args else None)
        elements = self._elements(args[1:])
        values = np.full(self.count, self.level[self.source_function])
        settle_s, point_s = self.point_time_s()
        if self.output_on:
            self._start_run(values, 0.0, buffer, fail_abort=False)
            self._finish_run()
            entry = self.buffers[buffer][-1]
        else:
            # Output off: the terminals float; V reads the device's open-circuit voltage.
            # ⚠ What a 2450 reads with its output off is not in docs/instruments.md.
            start_s = self.occupy(point_s)
            self.engine.sync(start_s + point_s)
            dut = self.engine.dut
            voltage_v = 0.0
            if dut is not None:
                voltage_v = float(dut.voltage_at_current_density_v(
                    0.0, self.bench.irradiance_mw_cm2(start_s)))
            reading = voltage_v if self.sense_function == "VOLT" else 0.0
            store_list = self.buffers[buffer]
            first_s = store_list[0]["t"] if store_list else start_s + settle_s
            entry = {"READ": reading, "SOUR": self.level[self.source_function],
                     "t": start_s + settle_s, "REL": start_s + settle_s - first_s,
                     "STAT": 0.0, "SOURSTAT": 0.0}
            store_list.append(entry)
            self.last_reading[self.sense_function] = reading
        return self._format([entry], elements)

    @command(":READ", query=True)
    @command(":MEASure[:CURRent[:DC]]", query=True)
    @command(":MEASure:VOLTage[:DC]", query=True)
    @command(":MEASure:RESistance", query=True)
    def _read(self, args: list[str]) -> str:
        return self._measure(args)

    @command(":FETCh", query=True)
    def _fetch(self, args: list[str]) -> str:
        buffer = self._buffer_name(args[0] if args else None)
        if not self.buffers[buffer]:
            raise error(DATA_STALE)  # ⚠ the error of :FETC? on an empty buffer is not in §2
        return self._format(self.buffers[buffer][-1:], self._elements(args[1:]))

    @command(":TRACe:DATA", query=True)
    def _trac_data(self, args: list[str]) -> str:
        if len(args) < 2:
            raise error(MISSING_PARAMETER)
        start = int(parse_number(args[0], minimum=1))
        end = int(parse_number(args[1], minimum=1))
        buffer = self._buffer_name(args[2] if len(args) > 2 else None)
        entries = self.buffers[buffer]
        if end < start or end > len(entries):
            raise error(OUT_OF_RANGE)  # ⚠ the error for indexes beyond the buffer is not in §2
        return self._format(entries[start - 1:end], self._elements(args[3:]))

    @command(":TRACe:ACTual", query=True)
    @command(":TRACe:POINts:ACTual", query=True)
    def _trac_act(self, args: list[str]) -> str:
        return str(len(self.buffers[self._buffer_name(args[0] if args else None)]))

    @command(":TRACe:CLEar")
    def _trac_cle(self, args: list[str]) -> None:
        self.buffers[self._buffer_name(args[0] if args else None)].clear()

    @command(":TRACe:POINts")
    def _trac_poin(self, args: list[str]) -> None:
        size = int(parse_number(args[0], minimum=1, maximum=7_500_000))
        buffer = self._buffer_name(args[1] if len(args) > 1 else None)
        self.buffer_size[buffer] = size
        self.buffers[buffer].clear()

    @command(":TRACe:POINts", query=True)
    def _trac_poin_q(self, args: list[str]) -> str:
        return str(self.buffer_size[self._buffer_name(args[0] if args else None)])

    @command(":TRACe:MAKE")
    def _trac_make(self, args: list[str]) -> None:
        if len(args) < 2:
            raise error(MISSING_PARAMETER)
        name = unquote(args[0])
        if name in self.buffers:
            raise error(ILLEGAL_VALUE)
        self.buffers[name] = []
        self.buffer_size[name] = int(parse_number(args[1], minimum=1, maximum=7_500_000))

    @command(":TRACe:DELete")
    def _trac_del(self, args: list[str]) -> None:
        name = unquote(args[0])
        if name not in self.buffers or name.startswith("defbuffer"):
            raise error(ILLEGAL_VALUE)
        del self.buffers[name], self.buffer_size[name]

    def _statistic(self, args: list[str], reduce: Callable[[np.ndarray], float],
                   minimum_count: int = 1) -> str:
        """Statistics of a buffer's readings (2450 reference manual, ``:TRAC:STAT:…?``).
        ⚠ An empty buffer answers 9.9E+37 here; the manual's reply is not known."""
        entries = self.buffers[self._buffer_name(args[0] if args else None)]
        if len(entries) < minimum_count:
            return _num(9.9e37)
        return _num(float(reduce(np.array([e["READ"] for e in entries]))))

    @command(":TRACe:STATistics:AVERage", query=True)
    def _trac_avg(self, args: list[str]) -> str:
        return self._statistic(args, np.mean)

    @command(":TRACe:STATistics:MAXimum", query=True)
    def _trac_max(self, args: list[str]) -> str:
        return self._statistic(args, np.max)

    @command(":TRACe:STATistics:MINimum", query=True)
    def _trac_min(self, args: list[str]) -> str:
        return self._statistic(args, np.min)

    @command(":TRACe:STATistics:PK2Pk", query=True)
    def _trac_pk2pk(self, args: list[str]) -> str:
        """The peak-to-peak value of the buffer's readings (2450 reference manual,
        2450-901-01 Rev. B, p. 6-122)."""
        return self._statistic(args, np.ptp)

    @command(":TRACe:STATistics:STDDev", query=True)
    def _trac_stddev(self, args: list[str]) -> str:
        # ⚠ sample standard deviation (n - 1); the manual does not say which
        return self._statistic(args, lambda x: np.std(x, ddof=1), minimum_count=2)

    @command(":TRACe:TRIGger")
    def _trac_trig(self, args: list[str]) -> None:
        """Make readings (``:SENS:COUN``) and store them in the buffer, no reply (2450
        reference manual, ``:TRACe:TRIGger``)."""
        self._measure(args[:1])

    # --- status, format, triggers -------------------------------------------------------
    @command(":SYSTem:LFRequency", query=True)
    def _syst_lfr(self, args: list[str]) -> str:
        # detected at power-on, 50 or 60 (TSP localnode.linefreq; the bench's mains)
        return str(int(round(self.line_frequency_hz)))

    @command("*SRE")
    def _sre(self, args: list[str]) -> None:
        if not args:
            raise error(MISSING_PARAMETER)
        self.service_request_enable = int(parse_number(args[0], minimum=0, maximum=255))

    @command("*SRE", query=True)
    def _sre_q(self, args: list[str]) -> str:
        return str(self.service_request_enable)

    @command("*TRG")
    def _trg(self, args: list[str]) -> None:
        """A bus trigger event: only a trigger model waiting for it would react (⚠ the
        built-in sweeps wait for none, so it changes nothing here)."""

    @command(":FORMat[:DATA]")
    def _form(self, args: list[str]) -> None:
        """``ASCii|REAL|SREal`` (2450 reference manual, ``:FORMat:DATA``; docs/instruments.md
        §2: with REAL/SREAL only READ, REL, SOUR, EXTR may be asked)."""
        if not args:
            raise error(MISSING_PARAMETER)
        self.data_format = parse_choice(args[0], {"ASC": "ASC", "ASCII": "ASC", "REAL": "REAL",
                                                  "SRE": "SRE", "SREAL": "SRE"})

    @command(":FORMat[:DATA]", query=True)
    def _form_q(self, args: list[str]) -> str:
        return self.data_format

# --- settings real drivers read back (issue 12, item 9), generated -----------------------------

def _bool_text(value: object) -> str:
    return "1" if value else "0"


def _user(n: int) -> str:
    """``USER<n>``: suffix 1 is the node without suffix (``USER`` = ``USER1``)."""
    return "USER" if n == 1 else f"USER{n}"


_AVERAGE_TYPES = {"REP": "REP", "REPEAT": "REP", "MOV": "MOV", "MOVING": "MOV"}


def _add_control(cls: type[Keithley2450Emulator], pattern: str, attr: str, key: object,
                 fmt: Callable[[object], str], parse: Callable[[str], object] | None) -> None:
    """Register the query (and with ``parse`` the setting) of ``getattr(self, attr)[key]``."""
    slug = "".join(c for c in pattern if c.isalnum()).lower()

    def query(self: Keithley2450Emulator, args: list[str]) -> str:
        return fmt(getattr(self, attr)[key])

    query.__dict__["_scpi"] = [(pattern, True)]
    query.__dict__["_while_running"] = True     # reading a setting does not wait
    setattr(cls, f"_q_{slug}", query)
    if parse is None:
        return

    def setting(self: Keithley2450Emulator, args: list[str]) -> None:
        if not args:
            raise error(MISSING_PARAMETER)
        getattr(self, attr)[key] = parse(args[0])

    setting.__dict__["_scpi"] = [(pattern, False)]
    setattr(cls, f"_s_{slug}", setting)


def _add_controls(cls: type[Keithley2450Emulator]) -> None:
    """The queries and settings of 2450 reference manual section 6 that real drivers send
    (pymeasure's and QCoDeS's Keithley2450). ⚠ The averaging filter is stored but does not
    change the readings or their time, and user delays are kept for a trigger model that
    the emulator does not build (only the built-in sweeps run)."""
    number = _num
    sense = {"VOLT": ":SENSe[1]:VOLTage[:DC]", "CURR": ":SENSe[1]:CURRent[:DC]",
             "RES": ":SENSe[1]:RESistance"}
    source = {"VOLT": ":SOURce[1]:VOLTage", "CURR": ":SOURce[1]:CURRent"}
    for f in ("VOLT", "RES"):
        _add_control(cls, f"{sense[f]}:RANGe:AUTO", "sense_range_auto", f, _bool_text, None)
    _add_control(cls, f"{sense['RES']}:NPLCycles", "nplc", "RES", number, None)
    _add_control(cls, f"{sense['RES']}:RSENse", "remote_sense", "RES", _bool_text, None)
    _add_control(cls, f"{source['CURR']}:DELay", "source_delay_s", "CURR", number, None)
    _add_control(cls, f"{source['CURR']}:DELay:AUTO", "source_delay_auto", "CURR",
                 _bool_text, None)
    _add_control(cls, f"{source['CURR']}:RANGe:AUTO", "source_range_auto", "CURR",
                 _bool_text, None)
    _add_control(cls, ":OUTPut:CURRent:SMODe", "off_mode", "CURR", str, None)
    for f, head in source.items():
        _add_control(cls, f"{head}:READ:BACK", "readback", f, _bool_text, None)
        for n in range(1, 6):
            _add_control(cls, f"{head}:DELay:{_user(n)}", "source_user_delay_s", (f, n), number,
                         lambda a: parse_number(a, minimum=0.0, maximum=10000.0))
    for f, head in sense.items():
        _add_control(cls, f"{head}:AZERo[:STATe]", "auto_zero", f, _bool_text, parse_bool)
        _add_control(cls, f"{head}:AVERage[:STATe]", "average_on", f, _bool_text, parse_bool)
        _add_control(cls, f"{head}:AVERage:TCONtrol", "average_type", f, str,
                     lambda a: parse_choice(a, _AVERAGE_TYPES))
        _add_control(cls, f"{head}:AVERage:COUNt", "average_count", f, str,
                     lambda a: int(parse_number(a, minimum=1, maximum=100)))
        for n in range(1, 6):
            _add_control(cls, f"{head}:DELay:{_user(n)}", "sense_user_delay_s", (f, n), number,
                         lambda a: parse_number(a, minimum=0.0, maximum=10000.0))


_add_controls(Keithley2450Emulator)


#: Handlers the 2450 executes at once while its trigger model runs: queries that read the
#: state, the buffer or the error queue, and :ABOR / *CLS. Every other command and query
#: (readings, settings, *WAI, *OPC?) takes effect once the trigger model has finished.
_WHILE_RUNNING = frozenset({
    "_idn", "_syst_err", "_syst_err_count", "_stb", "_esr", "_cls", "_lang", "_outp_q",
    "_abort", "_trig_stat", "_trac_act", "_trac_data", "_trac_poin_q", "_fetch",
    "_trac_avg", "_outp_int_trip_q",
})


def _after_trigger_model(handler: _Method) -> _Method:
    """Wrap a handler so that it runs when the trigger model has finished."""

    @functools.wraps(handler)
    def run_after(self: Keithley2450Emulator, args: list[str]) -> str | None:
        self._finish_run()
        return handler(self, args)

    return run_after


def _gate_handlers(cls: type[Keithley2450Emulator]) -> None:
    for name in dir(cls):
        func = getattr(cls, name)
        if getattr(func, "_scpi", None) and not getattr(func, "_while_running", False) \
                and name not in _WHILE_RUNNING:
            setattr(cls, name, _after_trigger_model(func))


_gate_handlers(Keithley2450Emulator)
