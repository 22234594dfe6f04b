"""Keithley 2400-series SourceMeters (2400, 2420) as labctl :class:`~instruments.smu.SourceMeter`.

Built on pymeasure's :class:`~pymeasure.instruments.keithley.Keithley2400` (0.16), whose
constructor sets the reply format to ``V, I, R, TIME, STATUS``. labctl sends only the
2400-series SCPI of ``reference/instruments.md`` section 1, refuses out-of-envelope settings
before anything is sent, measures voltage and current concurrently (so the voltage of a point in
compliance is the real one), and never uses pymeasure's ramping ``shutdown()`` (real sleeps,
output switched off last).

Command sequences (numbers formatted with 9 significant digits):

- ``configure_voltage_source``: ``*CLS``, ``:OUTP OFF``, ``:SOUR:FUNC VOLT``,
  ``:SOUR:VOLT:MODE FIX``, ``:SOUR:VOLT:RANG:AUTO ON`` | ``:SOUR:VOLT:RANG <V>``,
  ``:SENS:CURR:PROT <A>``, ``:SOUR:VOLT <V>``, ``:SENS:FUNC:CONC ON``, ``:SENS:FUNC 'VOLT'``,
  ``:SENS:FUNC 'CURR'``, ``:SENS:CURR:RANG:AUTO ON`` | ``:SENS:CURR:RANG <A>``,
  ``:SENS:CURR:NPLC <n>``, ``:SYST:RSEN ON|OFF``, ``:SOUR:DEL:AUTO ON`` | ``:SOUR:DEL <s>``,
  ``:SOUR:CLE:AUTO OFF``, ``:TRIG:COUN 1``, ``:SYST:ERR?``.
- ``configure_current_source``: the same with ``CURR`` and ``VOLT`` exchanged
  (``:SENS:VOLT:PROT <V>`` is the compliance; NPLC is still ``:SENS:CURR:NPLC``, it is global).
- ``read``: ``:READ?``.
- ``sweep_voltage_linear``: ``*CLS``, ``:SOUR:FUNC VOLT``, ``:SOUR:VOLT <start>``,
  ``:SENS:CURR:PROT <A>``, ``:SENS:CURR:NPLC <n>``, ``:SENS:FUNC 'CURR'``,
  ``:SOUR:VOLT:STAR``, ``:SOUR:VOLT:STOP``, ``:SOUR:SWE:POIN``, ``:SOUR:VOLT:MODE SWE``,
  ``:SOUR:SWE:SPAC LIN``, ``:SOUR:SWE:RANG BEST``, ``:SOUR:SWE:CAB NEV``, ``:SOUR:DEL <s>``,
  ``:TRIG:COUN <N>``, ``:SYST:ERR?``, ``:OUTP?`` (+ ``:OUTP ON`` if off), ``:READ?``,
  ``:SOUR:VOLT:MODE FIX``, ``:TRIG:COUN 1``.
- ``shutdown``: ``:OUTP OFF``, ``:ABOR``, ``:SOUR:VOLT:MODE FIX``, ``:SOUR:VOLT 0`` (or
  ``:SOUR:CURR 0`` when sourcing current), each attempted whatever happened to the previous one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
from pymeasure.adapters import Adapter
from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.validators import strict_range

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

__all__ = [
    "KEITHLEY_2400_LIMITS",
    "KEITHLEY_2420_LIMITS",
    "Keithley2400SMU",
    "Keithley2420SMU",
]

KEITHLEY_2400_LIMITS = SmuLimits(
    model="2400",
    max_voltage_v=210.0,
    max_current_a=1.05,
    high_current_max_voltage_v=21.0,
    high_voltage_max_current_a=0.105,
    envelope_note="1 A range only up to 21 V, 200 V range limited to 105 mA",
)
KEITHLEY_2420_LIMITS = SmuLimits(
    model="2420",
    max_voltage_v=63.0,
    max_current_a=3.15,
    high_current_max_voltage_v=21.0,
    high_voltage_max_current_a=1.05,
    envelope_note="3 A range only up to 21 V, 60 V range limited to 1.05 A",
)

#: STATUS element bit 3: the source is in compliance (2400 manual p. 356).
STATUS_COMPLIANCE_BIT = 8
#: Elements per reading written by pymeasure's constructor: V, I, R, TIME, STATUS.
ELEMENTS_PER_READING = 5
#: Replies at or above this magnitude are the overflow / not-measured value +9.91E+37.
OVERFLOW_THRESHOLD = 9.9e37
#: Most values per :SOUR:LIST:VOLT or :SOUR:LIST:VOLT:APP command (manual pp. 396-397).
LIST_CHUNK_POINTS = 100

# Timing model, reference/instruments.md section 1.10 (manual pp. 115, 430-435).
#: Fixed part of one A/D conversion phase, in seconds.
AD_PHASE_OVERHEAD_S = 185e-6
#: A/D phases per reading with auto-zero on and two functions (V and I): 2 signal + ref + zero.
AD_PHASES_PER_READING = 4
#: Firmware overhead per point, V-source, auto-zero on, two functions, in seconds.
SDM_OVERHEAD_S = 2.3e-3
#: Margin and fixed allowance of the VISA timeout around an expected duration.
TIMEOUT_FACTOR = 1.2
TIMEOUT_ALLOWANCE_S = 10.0
#: How long shutdown() waits for another thread holding the instrument lock, in seconds.
SHUTDOWN_LOCK_TIMEOUT_S = 5.0


def _on_off(flag: bool) -> str:
    return "ON" if flag else "OFF"


def _physical(value: float) -> float:
    """Map the 2400 overflow / not-measured value +9.91E+37 to NaN."""
    return math.nan if abs(value) >= OVERFLOW_THRESHOLD else value


class Keithley2400SMU(Keithley2400, SourceMeter):
    """Control a Keithley 2400 SourceMeter as a labctl SMU (±210 V, ±1.05 A; above 21 V the
    current is limited to 105 mA).

    :param adapter: VISA resource name (e.g. ``"GPIB0::24::INSTR"``) or pymeasure adapter.
    :param name: Display name; default "Keithley <model> SourceMeter".
    :param line_frequency_hz: Mains frequency used by the timing model (50 or 60).
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``, terminations);
        read and write terminations default to ``"\\n"`` (GPIB).

    .. code-block:: python

        smu = Keithley2400SMU("GPIB0::24::INSTR")
        smu.configure_voltage_source(level_v=0.0, compliance_a=0.05, nplc=1)
        sweep = smu.sweep_voltage_linear(1.2, -0.1, 131, source_delay_s=0.01, compliance_a=0.05)
        smu.shutdown()
    """

    model: ClassVar[str] = "2400"
    limits: ClassVar[SmuLimits] = KEITHLEY_2400_LIMITS

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

    def raise_for_errors(self) -> None:
        """Read ``:SYST:ERR?`` until the queue is empty (code 0); raise :class:`SmuError`
        listing every error found (at most 32 are read)."""
        with self.lock:
            errors = []
            for _ in range(32):
                code, message = parse_scpi_error(self.ask(":SYST:ERR?"))
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

    def _parse_readings(self, values: list[float], points: int) -> np.ndarray:
        if len(values) != ELEMENTS_PER_READING * points:
            raise SmuError(
                f"{self.name}: expected {points} readings of {ELEMENTS_PER_READING} values, "
                f"got {len(values)} values"
            )
        return np.asarray(values, dtype=float).reshape(points, ELEMENTS_PER_READING)

    def _sweep_result(self, table: np.ndarray) -> SweepResult:
        voltage = table[:, 0].copy()
        current = table[:, 1].copy()
        voltage[np.abs(voltage) >= OVERFLOW_THRESHOLD] = np.nan
        current[np.abs(current) >= OVERFLOW_THRESHOLD] = np.nan
        status = table[:, 4].astype(np.int64)
        return SweepResult(
            voltage_v=voltage,
            current_a=current,
            time_s=table[:, 3].copy(),
            in_compliance=(status & STATUS_COMPLIANCE_BIT) != 0,
        )

    def _write_measure_both(self, sourced: str) -> None:
        """Measure voltage and current concurrently, the sourced quantity first."""
        measured = "CURR" if sourced == "VOLT" else "VOLT"
        self.write(":SENS:FUNC:CONC ON")
        self.write(f":SENS:FUNC '{sourced}'")
        self.write(f":SENS:FUNC '{measured}'")

    def _write_source_delay(self, source_delay_s: float | None) -> None:
        if source_delay_s is None:
            self.write(":SOUR:DEL:AUTO ON")
        else:
            self.write(f":SOUR:DEL {scpi_number(source_delay_s)}")

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
        compliance of ``compliance_a`` amperes and measuring current (and voltage).

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
        with self.lock:
            self.write("*CLS")
            self.write(":OUTP OFF")
            self._source_function = None
            self.write(":SOUR:FUNC VOLT")
            self.write(":SOUR:VOLT:MODE FIX")
            if voltage_range_v is None:
                self.write(":SOUR:VOLT:RANG:AUTO ON")
            else:
                self.write(f":SOUR:VOLT:RANG {scpi_number(abs(voltage_range_v))}")
            self.write(f":SENS:CURR:PROT {scpi_number(compliance_a)}")
            self.write(f":SOUR:VOLT {scpi_number(level_v)}")
            self._write_measure_both("VOLT")
            if current_range_a is None:
                self.write(":SENS:CURR:RANG:AUTO ON")
            else:
                self.write(f":SENS:CURR:RANG {scpi_number(abs(current_range_a))}")
            self.write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
            self.write(f":SYST:RSEN {_on_off(four_wire)}")
            self._write_source_delay(source_delay_s)
            self.write(":SOUR:CLE:AUTO OFF")
            self.write(":TRIG:COUN 1")
            self.raise_for_errors()
            self._source_function = "VOLT"
            self._compliance_a = float(compliance_a)
            self._compliance_v = None

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
        compliance of ``compliance_v`` volts and measuring voltage (and current).

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
        with self.lock:
            self.write("*CLS")
            self.write(":OUTP OFF")
            self._source_function = None
            self.write(":SOUR:FUNC CURR")
            self.write(":SOUR:CURR:MODE FIX")
            if current_range_a is None:
                self.write(":SOUR:CURR:RANG:AUTO ON")
            else:
                self.write(f":SOUR:CURR:RANG {scpi_number(abs(current_range_a))}")
            self.write(f":SENS:VOLT:PROT {scpi_number(compliance_v)}")
            self.write(f":SOUR:CURR {scpi_number(level_a)}")
            self._write_measure_both("CURR")
            if voltage_range_v is None:
                self.write(":SENS:VOLT:RANG:AUTO ON")
            else:
                self.write(f":SENS:VOLT:RANG {scpi_number(abs(voltage_range_v))}")
            # NPLC is global on the 2400 series: the CURR form sets V, I and R alike (p. 374).
            self.write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
            self.write(f":SYST:RSEN {_on_off(four_wire)}")
            self._write_source_delay(source_delay_s)
            self.write(":SOUR:CLE:AUTO OFF")
            self.write(":TRIG:COUN 1")
            self.raise_for_errors()
            self._source_function = "CURR"
            self._compliance_v = float(compliance_v)
            self._compliance_a = None

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
        """Set the source voltage in volts (float, within the model limits and, above 21 V,
        within the current envelope of the configured compliance)."""
        with self.lock:
            if self._source_function == "CURR":
                raise SmuError(f"{self.name}: set_voltage() while configured to source current")
            self.limits.check(voltage_v=level_v, compliance_a=self._compliance_a)
            self.write(f":SOUR:VOLT {scpi_number(level_v)}")

    def set_current(self, level_a: float) -> None:
        """Set the source current in amperes (float, within the model limits and, above the
        high-voltage current limit, with a compliance of at most 21 V)."""
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
            return bool(int(self._query_values(":OUTP?")[0]))

    # --- measurement ---------------------------------------------------------------------
    def read(self) -> SmuReading:
        """Measure one reading with ``:READ?``: voltage, current, TIME element and the
        compliance bit (STATUS bit 3). The output must be on (the 2400 answers ``+803`` and
        nothing else when it is off)."""
        with self.lock:
            row = self._parse_readings(self._query_values(":READ?"), 1)[0]
            return SmuReading(
                voltage_v=_physical(float(row[0])),
                current_a=_physical(float(row[1])),
                time_s=float(row[3]),
                in_compliance=bool(int(row[4]) & STATUS_COMPLIANCE_BIT),
            )

    def expected_sweep_duration_s(self, points: int, source_delay_s: float, nplc: float) -> float:
        """Estimate the duration of a sweep in seconds from the 2400 timing model
        (instruments.md 1.10): per point the source delay, four A/D phases (auto-zero on,
        voltage and current) of NPLC / f_line + 185 µs each, and 2.3 ms of overhead."""
        ad_phase_s = nplc / self.line_frequency_hz + AD_PHASE_OVERHEAD_S
        per_point_s = source_delay_s + AD_PHASES_PER_READING * ad_phase_s + SDM_OVERHEAD_S
        return points * per_point_s

    def _check_sweep(
        self, voltages_v: Sequence[float], source_delay_s: float, compliance_a: float, nplc: float
    ) -> None:
        peak_v = max((abs(float(v)) for v in voltages_v), default=0.0)
        for value in voltages_v:
            self.limits.check(voltage_v=value)
        self.limits.check(
            voltage_v=peak_v, compliance_a=compliance_a, nplc=nplc, source_delay_s=source_delay_s
        )

    def _run_sweep(self, points: int, source_delay_s: float, nplc: float) -> SweepResult:
        """Check the setup, switch the output on if needed, read ``points`` readings, and
        return the source to fixed mode with a trigger count of 1."""
        try:
            self.raise_for_errors()
            if not self.output_enabled:
                self.write(":OUTP ON")
            duration_s = self.expected_sweep_duration_s(points, source_delay_s, nplc)
            with self._timeout_for(duration_s):
                values = self._query_values(":READ?")
        except BaseException:
            # Leave sweep mode if possible, but report the original failure.
            for command in (":SOUR:VOLT:MODE FIX", ":TRIG:COUN 1"):
                try:
                    self.write(command)
                except Exception as error:  # noqa: BLE001 - the original error is re-raised
                    log.error("%s: %s after a failed sweep: %s", self.name, command, error)
            raise
        self.write(":SOUR:VOLT:MODE FIX")
        self.write(":TRIG:COUN 1")
        return self._sweep_result(self._parse_readings(values, points))

    def _write_sweep_common(self, bias_v: float, compliance_a: float, nplc: float) -> None:
        self.write("*CLS")
        if self._source_function != "VOLT":
            # The source function cannot change with the output on (manual p. 367): after a
            # current-source step (Voc mode) or an unknown state, switch it off first.
            self.write(":OUTP OFF")
        self.write(":SOUR:FUNC VOLT")
        self.write(f":SOUR:VOLT {scpi_number(bias_v)}")
        self.write(f":SENS:CURR:PROT {scpi_number(compliance_a)}")
        self.write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
        # Measure V and I: a point in compliance then reports the real terminal voltage, and
        # the sweep takes the four A/D phases expected_sweep_duration_s assumes.
        self._write_measure_both("VOLT")
        self._source_function = "VOLT"
        self._compliance_a = float(compliance_a)
        self._compliance_v = None

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
        """Run a hardware linear staircase sweep (``:SOUR:VOLT:MODE SWE``, instruments.md 1.6)
        of ``points`` points (2 to 2500) from ``start_v`` to ``stop_v`` volts, with
        ``source_delay_s`` seconds between setting each voltage and its reading.

        The output is biased at ``start_v`` first, switched on if it was off, and left on.
        """
        self.limits.check_sweep_points(points, kind="linear")
        self._check_sweep([start_v, stop_v], source_delay_s, compliance_a, nplc)
        with self.lock:
            self._write_sweep_common(start_v, compliance_a, nplc)
            self.write(f":SOUR:VOLT:STAR {scpi_number(start_v)}")
            self.write(f":SOUR:VOLT:STOP {scpi_number(stop_v)}")
            self.write(f":SOUR:SWE:POIN {int(points)}")
            self.write(":SOUR:VOLT:MODE SWE")
            self.write(":SOUR:SWE:SPAC LIN")
            self.write(":SOUR:SWE:RANG BEST")
            self.write(":SOUR:SWE:CAB NEV")
            self.write(f":SOUR:DEL {scpi_number(source_delay_s)}")
            self.write(f":TRIG:COUN {int(points)}")
            return self._run_sweep(int(points), source_delay_s, nplc)

    def sweep_voltage_list(
        self,
        voltages_v: Sequence[float],
        *,
        source_delay_s: float,
        compliance_a: float,
        nplc: float = 1.0,
    ) -> SweepResult:
        """Run a hardware list sweep (``:SOUR:VOLT:MODE LIST``, instruments.md 1.7) through
        ``voltages_v`` (1 to 2500 values, in volts), with ``source_delay_s`` seconds between
        setting each voltage and its reading.

        The source range is fixed to the one that holds the largest magnitude; the output is
        biased at the first voltage, switched on if it was off, and left on.
        """
        values = [float(v) for v in voltages_v]
        self.limits.check_sweep_points(len(values), kind="list")
        self._check_sweep(values, source_delay_s, compliance_a, nplc)
        peak_v = max(abs(v) for v in values)
        with self.lock:
            self._write_sweep_common(values[0], compliance_a, nplc)
            self.write(f":SOUR:VOLT:RANG {scpi_number(peak_v)}")
            for start in range(0, len(values), LIST_CHUNK_POINTS):
                chunk = ",".join(scpi_number(v) for v in values[start : start + LIST_CHUNK_POINTS])
                header = ":SOUR:LIST:VOLT" if start == 0 else ":SOUR:LIST:VOLT:APP"
                self.write(f"{header} {chunk}")
            self.write(":SOUR:VOLT:MODE LIST")
            self.write(":SOUR:SWE:CAB NEV")
            self.write(f":SOUR:DEL {scpi_number(source_delay_s)}")
            self.write(f":TRIG:COUN {len(values)}")
            return self._run_sweep(len(values), source_delay_s, nplc)

    # --- housekeeping --------------------------------------------------------------------
    def identity(self) -> str:
        """Get the identification string (``*IDN?``), e.g.
        ``KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C34 ...``."""
        with self.lock:
            return self.ask("*IDN?").strip()

    def shutdown(self) -> None:
        """Bring the SMU to a safe state without ramping or sleeping: ``:OUTP OFF`` first, then
        ``:ABOR``, ``:SOUR:VOLT:MODE FIX`` and the source level to 0. Each command is attempted
        even if the previous one failed (dead instrument, timeout); never raises."""
        locked = self.lock.acquire(timeout=SHUTDOWN_LOCK_TIMEOUT_S)
        if not locked:
            log.warning("%s: lock busy, shutting down without it", self.name)
        try:
            level_command = ":SOUR:CURR 0" if self._source_function == "CURR" else ":SOUR:VOLT 0"
            for command in (":OUTP OFF", ":ABOR", ":SOUR:VOLT:MODE FIX", level_command):
                try:
                    self.write(command)
                except Exception as error:  # noqa: BLE001 - shutdown must reach every step
                    log.error("%s: shutdown command %s failed: %s", self.name, command, error)
            Instrument.shutdown(self)
        finally:
            if locked:
                self.lock.release()


class Keithley2420SMU(Keithley2400SMU):
    """Control a Keithley 2420 SourceMeter as a labctl SMU (±63 V, ±3.15 A; the 3 A range only
    up to 21 V, the 60 V range limited to 1.05 A).

    Same command set as the 2400; the pymeasure properties with model-dependent ranges are
    redefined so that direct use of them is refused beyond the 2420 limits too.
    """

    model: ClassVar[str] = "2420"
    limits: ClassVar[SmuLimits] = KEITHLEY_2420_LIMITS

    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?",
        ":SOURCE:VOLTAGE %g",
        """Control the source voltage in volts (float, strictly -63 to 63).""",
        validator=strict_range,
        values=[-63, 63],
    )

    source_voltage_range = Instrument.control(
        ":SOURCE:VOLTAGE:RANGE?",
        ":SOURCE:VOLTAGE:RANGE %g",
        """Control the source voltage range in volts (float, strictly -63 to 63).
        Setting it disables source auto range.""",
        validator=strict_range,
        values=[-63, 63],
    )

    source_current = Instrument.control(
        ":SOURCE:CURRENT?",
        ":SOURCE:CURRENT %g",
        """Control the source current in amperes (float, strictly -3.15 to 3.15).""",
        validator=strict_range,
        values=[-3.15, 3.15],
    )

    source_current_range = Instrument.control(
        ":SOURCE:CURRENT:RANGE?",
        ":SOURCE:CURRENT:RANGE %g",
        """Control the source current range in amperes (float, strictly -3.15 to 3.15).
        Setting it disables source auto range.""",
        validator=strict_range,
        values=[-3.15, 3.15],
    )

    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?",
        ":SENSE:CURRENT:PROTECTION %g",
        """Control the compliance current in amperes (float, strictly -3.15 to 3.15).""",
        validator=strict_range,
        values=[-3.15, 3.15],
    )

    compliance_voltage = Instrument.control(
        ":SENSE:VOLTAGE:PROTECTION?",
        ":SENSE:VOLTAGE:PROTECTION %g",
        """Control the compliance voltage in volts (float, strictly -63 to 63).""",
        validator=strict_range,
        values=[-63, 63],
    )

    current_range = Instrument.control(
        ":SENSE:CURRENT:RANGE?",
        ":SENSE:CURRENT:RANGE %g",
        """Control the current measurement range in amperes (float, strictly -3.15 to 3.15).
        Setting it disables current auto range.""",
        validator=strict_range,
        values=[-3.15, 3.15],
    )

    voltage_range = Instrument.control(
        ":SENSE:VOLTAGE:RANGE?",
        ":SENSE:VOLTAGE:RANGE %g",
        """Control the voltage measurement range in volts (float, strictly -63 to 63).
        Setting it disables voltage auto range.""",
        validator=strict_range,
        values=[-63, 63],
    )
