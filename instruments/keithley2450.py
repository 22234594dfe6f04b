"""Keithley 2450 SourceMeter (native SCPI) as a labctl :class:`~instruments.smu.SourceMeter`.

Built on pymeasure's :class:`~pymeasure.instruments.keithley.Keithley2450`, which truncates
out-of-range values and works its buffer only in 2400 emulation; labctl uses the native SCPI
command set of ``reference/instruments.md`` section 2, checks at open that the instrument speaks
it (``*LANG?`` = ``SCPI``), refuses out-of-envelope settings before anything is sent, and runs
sweeps with the built-in sweep commands (failAbort OFF) and the reading buffer ``defbuffer1``.

Command sequences (numbers formatted with 9 significant digits):

- constructor: ``*LANG?``.
- ``configure_voltage_source``: ``:SYST:CLE``, ``:OUTP OFF``, ``:SOUR:FUNC VOLT``,
  ``:SOUR:VOLT:RANG:AUTO ON`` | ``:SOUR:VOLT:RANG <V>``, ``:SOUR:VOLT:ILIM <A>``,
  ``:SOUR:VOLT <V>``, ``:SOUR:VOLT:READ:BACK ON``, ``:SENS:FUNC "CURR"``,
  ``:SENS:CURR:RANG:AUTO ON`` | ``:SENS:CURR:RANG <A>``, ``:SENS:CURR:NPLC <n>``,
  ``:SENS:CURR:RSEN ON|OFF``, ``:SOUR:VOLT:DEL:AUTO ON`` | ``:SOUR:VOLT:DEL <s>``,
  ``:SYST:ERR?``.
- ``configure_current_source``: the same with ``CURR`` and ``VOLT`` exchanged and
  ``:SOUR:CURR:VLIM <V>`` as the compliance.
- ``read``: ``:READ? "defbuffer1",SOUR,READ,REL``, then ``:SOUR:VOLT:ILIM:TRIP?`` (sourcing V)
  or ``:SOUR:CURR:VLIM:TRIP?`` (sourcing I).
- ``sweep_voltage_linear``: ``:SYST:CLE``, ``:SOUR:FUNC VOLT``, ``:SENS:FUNC "CURR"``,
  ``:SOUR:VOLT:ILIM <A>``, ``:SOUR:VOLT <start>``, ``:SENS:CURR:NPLC <n>``,
  ``:SOUR:VOLT:DEL 0``, ``:TRAC:CLE "defbuffer1"``,
  ``:SOUR:SWE:VOLT:LIN <start>,<stop>,<N>,<delay>,1,BEST,OFF,OFF,"defbuffer1"``,
  ``:SYST:ERR?``, ``:OUTP?`` (+ ``:OUTP ON`` if off), ``:INIT``, ``*WAI``,
  ``:TRAC:ACT? "defbuffer1"``, ``:TRAC:DATA? 1,<N>,"defbuffer1",SOUR,READ,REL``,
  ``:SOUR:VOLT:ILIM:TRIP?``.
- ``shutdown``: ``:OUTP OFF``, then ``:SOUR:VOLT 0`` (or ``:SOUR:CURR 0`` when sourcing
  current), each attempted whatever happened to the previous one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
from pymeasure.adapters import Adapter
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2450

from instruments.smu import (
    SmuError,
    SmuLimits,
    SmuReading,
    SourceMeter,
    SweepResult,
    parse_scpi_error,
    scpi_number,
)

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["KEITHLEY_2450_LIMITS", "Keithley2450SMU"]

KEITHLEY_2450_LIMITS = SmuLimits(
    model="2450",
    max_voltage_v=210.0,
    max_current_a=1.05,
    high_current_max_voltage_v=21.0,
    high_voltage_max_current_a=0.105,
    envelope_note="1 A range only up to 21 V, 200 V range limited to 105 mA",
    max_source_delay_s=10_000.0,
    # Linear sweeps accept up to 1e6 points, but defbuffer1 holds 100 000 readings by default.
    max_sweep_points=100_000,
    max_list_points=2500,
)

#: The reading buffer every labctl measurement uses (created by the instrument).
BUFFER = '"defbuffer1"'
#: Elements requested per reading: source value, reading, relative time.
ELEMENTS = "SOUR,READ,REL"
ELEMENTS_PER_READING = 3
#: Most values per :SOUR:LIST:VOLT or :SOUR:LIST:VOLT:APP command.
LIST_CHUNK_POINTS = 100
#: A point whose |current| reaches this fraction of the limit is flagged in compliance.
COMPLIANCE_FRACTION = 0.999
#: A limit must exceed this fraction of a fixed measure range (manual pp. 388-389).
MIN_LIMIT_FRACTION_OF_RANGE = 0.001
#: Shortest non-zero sweep delay, in seconds (manual pp. 395-400).
MIN_SWEEP_DELAY_S = 50e-6

# Timing model, reference/instruments.md section 2.2 (no official readings/s figure).
#: Overhead per point, in seconds.
POINT_OVERHEAD_S = 1e-3
#: Extra integration times per point allowed for in the VISA timeout (auto-zero reference and
#: zero conversions, not part of the section 2.2 model).
TIMEOUT_EXTRA_INTEGRATIONS = 2
TIMEOUT_FACTOR = 1.2
TIMEOUT_ALLOWANCE_S = 10.0
#: How long shutdown() waits for another thread holding the instrument lock, in seconds.
SHUTDOWN_LOCK_TIMEOUT_S = 5.0


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


class Keithley2450SMU(Keithley2450, SourceMeter):
    """Control a Keithley 2450 SourceMeter in its native SCPI language as a labctl SMU
    (±210 V, ±1.05 A; the 1 A range only up to 21 V, above 21 V at most 105 mA).

    :param adapter: VISA resource name (e.g. ``"USB0::0x05E6::0x2450::04412345::INSTR"``) or
        pymeasure adapter.
    :param name: Display name; default "Keithley 2450 SourceMeter".
    :param line_frequency_hz: Mains frequency used by the timing model (50 or 60).
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``, terminations);
        read and write terminations default to ``"\\n"``.
    :raises SmuError: if the instrument's command language is not SCPI (``*LANG?`` answers
        ``SCPI2400`` or ``TSP``); switching needs ``*LANG SCPI`` and a power cycle.
    """

    model: ClassVar[str] = "2450"
    limits: ClassVar[SmuLimits] = KEITHLEY_2450_LIMITS

    def __init__(
        self,
        adapter: Adapter | str | int,
        name: str | None = None,
        *,
        line_frequency_hz: float = 50.0,
        **kwargs,
    ) -> None:
        self._init_state(line_frequency_hz, kwargs)
        super().__init__(adapter, name or f"Keithley {self.model} SourceMeter", **kwargs)
        language = self.ask("*LANG?").strip().strip('"')
        if language.upper() != "SCPI":
            try:
                self.adapter.close()
            except Exception as error:  # noqa: BLE001 - the language error is what matters
                log.debug("%s: closing after the language check failed: %s", self.name, error)
            raise SmuError(
                f"{self.name} is in {language or 'an unknown'} command language; labctl needs "
                "SCPI: select it (front panel or *LANG SCPI) and power-cycle the instrument"
            )

    # ``read()`` is the SMU reading of the SourceMeter interface; pymeasure's ``ask`` relies on
    # ``Instrument.read`` for the raw reply, so queries go to the adapter directly.
    def ask(self, command: str, query_delay: float | None = None) -> str:
        """Write a command and return the raw reply (without termination)."""
        self.write(command)
        self.wait_for(query_delay)
        return self.adapter.read()

    # --- helpers -------------------------------------------------------------------------
    def _query_values(self, command: str) -> list[float]:
        reply = self.ask(command).strip()
        try:
            return [float(item) for item in reply.split(",")]
        except ValueError:
            raise SmuError(f"{self.name}: unexpected reply {reply!r} to {command}") from None

    def _query_flag(self, command: str) -> bool:
        return bool(int(self._query_values(command)[0]))

    def next_error_entry(self) -> tuple[int, str]:
        """Get the next entry of the error queue as (code, "message;severity;timestamp")."""
        with self.lock:
            return parse_scpi_error(self.ask(":SYST:ERR?"))

    def raise_for_errors(self) -> None:
        """Read ``:SYST:ERR?`` until the queue is empty (code 0); raise :class:`SmuError`
        listing every error found (at most 32 are read)."""
        with self.lock:
            errors = []
            for _ in range(32):
                code, message = self.next_error_entry()
                if code == 0:
                    break
                errors.append(f"{code},{message}")
            if errors:
                raise SmuError(f"{self.name} reported: {'; '.join(errors)}")

    @contextmanager
    def _timeout_for(self, duration_s: float) -> Iterator[None]:
        """Set the VISA timeout to cover an operation of ``duration_s``, restore it after."""
        connection = getattr(self.adapter, "connection", None)
        if connection is None or not hasattr(connection, "timeout"):
            yield
            return
        previous = connection.timeout
        connection.timeout = round((duration_s * TIMEOUT_FACTOR + TIMEOUT_ALLOWANCE_S) * 1000)
        try:
            yield
        finally:
            connection.timeout = previous

    def _source_function_now(self) -> str:
        """The configured source function, queried once if labctl did not configure it."""
        if self._source_function is None:
            reply = self.ask(":SOUR:FUNC?").strip().upper()
            self._source_function = "CURR" if reply.startswith("CURR") else "VOLT"
        return self._source_function

    def _check_limit_vs_range(
        self, limit: float, measure_range: float | None, limit_name: str, range_name: str
    ) -> None:
        if measure_range is not None and limit <= MIN_LIMIT_FRACTION_OF_RANGE * abs(measure_range):
            raise ValueError(
                f"Keithley {self.model}: {limit_name}={limit:g} must exceed 0.1 % of "
                f"{range_name}={abs(measure_range):g}"
            )

    # --- configuration -------------------------------------------------------------------
    def configure_voltage_source(
        self,
        *,
        level_v: float = 0.0,
        compliance_a: float,
        nplc: float = 1.0,
        voltage_range_v: float | None = None,
        current_range_a: float | None = None,
        four_wire: bool = False,
        source_delay_s: float | None = None,
    ) -> None:
        """Switch the output off, then configure sourcing ``level_v`` volts with a current
        limit of ``compliance_a`` amperes and measuring current (the buffer's source element
        holds the measured voltage: read-back on).

        ``None`` ranges are auto ranges; a ``None`` source delay is the auto delay. Call
        :meth:`enable_output` afterwards.

        :raises ValueError: before anything is sent, for a setting outside :attr:`limits`.
        :raises SmuError: if the instrument reports an error after the configuration.
        """
        self.limits.check(
            voltage_v=level_v,
            compliance_a=compliance_a,
            voltage_range_v=voltage_range_v,
            current_range_a=current_range_a,
            nplc=nplc,
            source_delay_s=source_delay_s,
        )
        self._check_limit_vs_range(compliance_a, current_range_a, "compliance_a", "current_range_a")
        self._configure(
            "VOLT",
            level_v,
            compliance_a,
            nplc,
            voltage_range_v,
            current_range_a,
            four_wire,
            source_delay_s,
        )

    def configure_current_source(
        self,
        *,
        level_a: float = 0.0,
        compliance_v: float,
        nplc: float = 1.0,
        current_range_a: float | None = None,
        voltage_range_v: float | None = None,
        four_wire: bool = False,
        source_delay_s: float | None = None,
    ) -> None:
        """Switch the output off, then configure sourcing ``level_a`` amperes with a voltage
        limit of ``compliance_v`` volts and measuring voltage (the buffer's source element holds
        the measured current: read-back on).

        ``None`` ranges are auto ranges; a ``None`` source delay is the auto delay. Call
        :meth:`enable_output` afterwards.

        :raises ValueError: before anything is sent, for a setting outside :attr:`limits`.
        :raises SmuError: if the instrument reports an error after the configuration.
        """
        self.limits.check(
            current_a=level_a,
            compliance_v=compliance_v,
            current_range_a=current_range_a,
            voltage_range_v=voltage_range_v,
            nplc=nplc,
            source_delay_s=source_delay_s,
        )
        self._check_limit_vs_range(compliance_v, voltage_range_v, "compliance_v", "voltage_range_v")
        self._configure(
            "CURR",
            level_a,
            compliance_v,
            nplc,
            current_range_a,
            voltage_range_v,
            four_wire,
            source_delay_s,
        )

    def _configure(
        self,
        sourced: str,
        level: float,
        compliance: float,
        nplc: float,
        source_range: float | None,
        measure_range: float | None,
        four_wire: bool,
        source_delay_s: float | None,
    ) -> None:
        measured = "CURR" if sourced == "VOLT" else "VOLT"
        limit_header = "ILIM" if sourced == "VOLT" else "VLIM"
        with self.lock:
            self.write(":SYST:CLE")
            self.write(":OUTP OFF")
            self._source_function = None
            self.write(f":SOUR:FUNC {sourced}")
            if source_range is None:
                self.write(f":SOUR:{sourced}:RANG:AUTO ON")
            else:
                self.write(f":SOUR:{sourced}:RANG {scpi_number(abs(source_range))}")
            self.write(f":SOUR:{sourced}:{limit_header} {scpi_number(compliance)}")
            self.write(f":SOUR:{sourced} {scpi_number(level)}")
            self.write(f":SOUR:{sourced}:READ:BACK ON")
            self.write(f':SENS:FUNC "{measured}"')
            if measure_range is None:
                self.write(f":SENS:{measured}:RANG:AUTO ON")
            else:
                self.write(f":SENS:{measured}:RANG {scpi_number(abs(measure_range))}")
            self.write(f":SENS:{measured}:NPLC {scpi_number(nplc)}")
            self.write(f":SENS:{measured}:RSEN {_on_off(four_wire)}")
            if source_delay_s is None:
                self.write(f":SOUR:{sourced}:DEL:AUTO ON")
            else:
                self.write(f":SOUR:{sourced}:DEL {scpi_number(source_delay_s)}")
            self.raise_for_errors()
            self._source_function = sourced
            if sourced == "VOLT":
                self._compliance_a, self._compliance_v = float(compliance), None
            else:
                self._compliance_a, self._compliance_v = None, float(compliance)

    def configure_voc_mode(
        self, *, compliance_v: float, nplc: float = 1.0, four_wire: bool = False
    ) -> None:
        """Switch the output off, then configure open-circuit voltage measurement: source 0 A
        on the auto (lowest) current range, measure voltage with ``compliance_v`` volts limit.
        """
        self.configure_current_source(
            level_a=0.0, compliance_v=compliance_v, nplc=nplc, four_wire=four_wire
        )

    # --- levels and output ---------------------------------------------------------------
    def set_voltage(self, level_v: float) -> None:
        """Set the source voltage in volts (float, strictly -210 to 210; above 21 V only with a
        compliance of at most 0.105 A)."""
        with self.lock:
            if self._source_function == "CURR":
                raise SmuError(f"{self.name}: set_voltage() while configured to source current")
            self.limits.check(voltage_v=level_v, compliance_a=self._compliance_a)
            self.write(f":SOUR:VOLT {scpi_number(level_v)}")

    def set_current(self, level_a: float) -> None:
        """Set the source current in amperes (float, strictly -1.05 to 1.05; above 0.105 A only
        with a compliance of at most 21 V)."""
        with self.lock:
            if self._source_function == "VOLT":
                raise SmuError(f"{self.name}: set_current() while configured to source voltage")
            self.limits.check(current_a=level_a, compliance_v=self._compliance_v)
            self.write(f":SOUR:CURR {scpi_number(level_a)}")

    def enable_output(self) -> None:
        """Switch the output on (``:OUTP ON``)."""
        with self.lock:
            self.write(":OUTP ON")

    def disable_output(self) -> None:
        """Switch the output off (``:OUTP OFF``)."""
        with self.lock:
            self.write(":OUTP OFF")

    @property
    def output_enabled(self) -> bool:
        """Get whether the output is on, queried with ``:OUTP?`` (bool)."""
        with self.lock:
            return self._query_flag(":OUTP?")

    # --- measurement ---------------------------------------------------------------------
    def read(self) -> SmuReading:
        """Measure one reading with ``:READ? "defbuffer1",SOUR,READ,REL`` and query the limit
        trip flag of the source function.

        Sourcing voltage, the source element is the voltage and the reading the current;
        sourcing current, the other way round. ``time_s`` is the buffer's relative time.
        """
        with self.lock:
            sourced = self._source_function_now()
            values = self._query_values(f":READ? {BUFFER},{ELEMENTS}")
            if len(values) != ELEMENTS_PER_READING:
                raise SmuError(f"{self.name}: expected 3 values from :READ?, got {values!r}")
            source_value, reading, time_s = values
            if sourced == "VOLT":
                voltage_v, current_a = source_value, reading
                tripped = self._query_flag(":SOUR:VOLT:ILIM:TRIP?")
            else:
                voltage_v, current_a = reading, source_value
                tripped = self._query_flag(":SOUR:CURR:VLIM:TRIP?")
            return SmuReading(
                voltage_v=voltage_v, current_a=current_a, time_s=time_s, in_compliance=tripped
            )

    def expected_sweep_duration_s(self, points: int, source_delay_s: float, nplc: float) -> float:
        """Estimate the duration of a sweep in seconds from the 2450 timing model
        (instruments.md 2.2): per point NPLC / f_line, the sweep delay (the source delay is set
        to 0 for sweeps, so no auto delay) and 1 ms of overhead."""
        return points * (nplc / self.line_frequency_hz + source_delay_s + POINT_OVERHEAD_S)

    def _sweep_timeout_duration_s(self, points: int, source_delay_s: float, nplc: float) -> float:
        extra_s = points * TIMEOUT_EXTRA_INTEGRATIONS * nplc / self.line_frequency_hz
        return self.expected_sweep_duration_s(points, source_delay_s, nplc) + extra_s

    def _check_sweep(
        self, voltages_v: Sequence[float], source_delay_s: float, compliance_a: float, nplc: float
    ) -> None:
        delay = float(source_delay_s)
        if 0 < delay < MIN_SWEEP_DELAY_S:
            raise ValueError(
                f"Keithley {self.model}: source_delay_s={delay:g} s must be 0 or at least "
                f"{MIN_SWEEP_DELAY_S:g} s in a sweep"
            )
        peak_v = max((abs(float(v)) for v in voltages_v), default=0.0)
        for value in voltages_v:
            self.limits.check(voltage_v=value)
        self.limits.check(
            voltage_v=peak_v, compliance_a=compliance_a, nplc=nplc, source_delay_s=source_delay_s
        )

    def _write_sweep_common(
        self, bias_v: float, compliance_a: float, nplc: float, source_range_v: float | None
    ) -> None:
        self.write(":SYST:CLE")
        self.write(":SOUR:FUNC VOLT")
        self.write(':SENS:FUNC "CURR"')
        if source_range_v is not None:
            self.write(f":SOUR:VOLT:RANG {scpi_number(source_range_v)}")
        self.write(f":SOUR:VOLT:ILIM {scpi_number(compliance_a)}")
        self.write(f":SOUR:VOLT {scpi_number(bias_v)}")
        self.write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
        # The sweep delay adds to the source delay: zero it so the dwell is source_delay_s.
        self.write(":SOUR:VOLT:DEL 0")
        self._source_function = "VOLT"
        self._compliance_a = float(compliance_a)
        self._compliance_v = None

    def _run_sweep(
        self, points: int, source_delay_s: float, compliance_a: float, nplc: float
    ) -> SweepResult:
        """Check the setup, switch the output on if needed, run the trigger model and read the
        ``points`` readings of defbuffer1."""
        self.raise_for_errors()
        if not self.output_enabled:
            self.write(":OUTP ON")
        with self._timeout_for(self._sweep_timeout_duration_s(points, source_delay_s, nplc)):
            self.write(":INIT")
            self.write("*WAI")
            stored = int(self._query_values(f":TRAC:ACT? {BUFFER}")[0])
            if stored != points:
                raise SmuError(
                    f"{self.name}: the sweep stored {stored} readings, expected {points}"
                )
            values = self._query_values(f":TRAC:DATA? 1,{points},{BUFFER},{ELEMENTS}")
        if len(values) != ELEMENTS_PER_READING * points:
            raise SmuError(
                f"{self.name}: expected {ELEMENTS_PER_READING * points} values from :TRAC:DATA?, "
                f"got {len(values)}"
            )
        table = np.asarray(values, dtype=float).reshape(points, ELEMENTS_PER_READING)
        current = table[:, 1].copy()
        in_compliance = np.abs(current) >= COMPLIANCE_FRACTION * compliance_a
        if self._query_flag(":SOUR:VOLT:ILIM:TRIP?"):
            in_compliance[-1] = True
        return SweepResult(
            voltage_v=table[:, 0].copy(),
            current_a=current,
            time_s=table[:, 2].copy(),
            in_compliance=in_compliance,
        )

    def sweep_voltage_linear(
        self,
        start_v: float,
        stop_v: float,
        points: int,
        *,
        source_delay_s: float,
        compliance_a: float,
        nplc: float = 1.0,
    ) -> SweepResult:
        """Run the built-in linear sweep (``:SOUR:SWE:VOLT:LIN``, best fixed range, failAbort
        OFF) of ``points`` points from ``start_v`` to ``stop_v`` volts, with ``source_delay_s``
        seconds (0, or 50 µs to 10 000 s) between setting each voltage and its reading.

        The output is biased at ``start_v`` first, switched on if it was off, and left on.
        """
        self.limits.check_sweep_points(points, kind="linear")
        self._check_sweep([start_v, stop_v], source_delay_s, compliance_a, nplc)
        with self.lock:
            self._write_sweep_common(start_v, compliance_a, nplc, source_range_v=None)
            self.write(f":TRAC:CLE {BUFFER}")
            self.write(
                f":SOUR:SWE:VOLT:LIN {scpi_number(start_v)},{scpi_number(stop_v)},{int(points)},"
                f"{scpi_number(source_delay_s)},1,BEST,OFF,OFF,{BUFFER}"
            )
            return self._run_sweep(int(points), source_delay_s, compliance_a, nplc)

    def sweep_voltage_list(
        self,
        voltages_v: Sequence[float],
        *,
        source_delay_s: float,
        compliance_a: float,
        nplc: float = 1.0,
    ) -> SweepResult:
        """Run the built-in list sweep (``:SOUR:LIST:VOLT`` then
        ``:SOUR:SWE:VOLT:LIST 1,<delay>,1,OFF,"defbuffer1"``) through ``voltages_v`` (1 to
        2500 values, in volts), with ``source_delay_s`` seconds between setting each voltage
        and its reading.

        The source range is fixed to the one that holds the largest magnitude; the output is
        biased at the first voltage, switched on if it was off, and left on.
        """
        values = [float(v) for v in voltages_v]
        self.limits.check_sweep_points(len(values), kind="list")
        self._check_sweep(values, source_delay_s, compliance_a, nplc)
        peak_v = max(abs(v) for v in values)
        with self.lock:
            self._write_sweep_common(values[0], compliance_a, nplc, source_range_v=peak_v)
            for start in range(0, len(values), LIST_CHUNK_POINTS):
                chunk = ",".join(scpi_number(v) for v in values[start : start + LIST_CHUNK_POINTS])
                header = ":SOUR:LIST:VOLT" if start == 0 else ":SOUR:LIST:VOLT:APP"
                self.write(f"{header} {chunk}")
            self.write(f":TRAC:CLE {BUFFER}")
            # Parameter order per the 2450/2461 reference manual (p. 6-128):
            # <startIndex>, <delay>, <count>, <failAbort>, "<bufferName>".
            self.write(f":SOUR:SWE:VOLT:LIST 1,{scpi_number(source_delay_s)},1,OFF,{BUFFER}")
            return self._run_sweep(len(values), source_delay_s, compliance_a, nplc)

    # --- housekeeping --------------------------------------------------------------------
    def identity(self) -> str:
        """Get the identification string (``*IDN?``), e.g.
        ``KEITHLEY INSTRUMENTS,MODEL 2450,04412345,1.7.3c``."""
        with self.lock:
            return self.ask("*IDN?").strip()

    def shutdown(self) -> None:
        """Bring the SMU to a safe state without ramping or sleeping: ``:OUTP OFF`` first, then
        the source level to 0. Each command is attempted even if the previous one failed (dead
        instrument, timeout); never raises."""
        locked = self.lock.acquire(timeout=SHUTDOWN_LOCK_TIMEOUT_S)
        if not locked:
            log.warning("%s: lock busy, shutting down without it", self.name)
        try:
            level_command = ":SOUR:CURR 0" if self._source_function == "CURR" else ":SOUR:VOLT 0"
            for command in (":OUTP OFF", level_command):
                try:
                    self.write(command)
                except Exception as error:  # noqa: BLE001 - shutdown must reach every step
                    log.error("%s: shutdown command %s failed: %s", self.name, command, error)
            Instrument.shutdown(self)
        finally:
            if locked:
                self.lock.release()
