"""Keithley 2400-series SourceMeters (2400, 2420) as labctl :class:`~instruments.smu.SourceMeter`.

Each driver holds a pymeasure :class:`~pymeasure.instruments.keithley.Keithley2400` (0.16),
whose constructor sets the reply format to ``V, I, R, TIME, STATUS``, and exposes none of its
controls. labctl sends only the 2400-series SCPI (Keithley 2400 Series SourceMeter User's
Manual; docs/instruments.md §1), refuses out-of-envelope settings before anything is sent,
measures voltage and current concurrently (so the voltage of a point in compliance is the real
one), and never uses pymeasure's ramping ``shutdown()`` (real sleeps, output switched off
last).

Command sequences (numbers formatted with 9 significant digits):

- ``configure_voltage_source``: ``*CLS``, ``:OUTP OFF``, ``:SOUR:FUNC VOLT``,
  ``:SOUR:VOLT:MODE FIX``, ``:SOUR:VOLT:RANG:AUTO ON`` | ``:SOUR:VOLT:RANG <V>``,
  ``:SENS:CURR:PROT <A>``, ``:SOUR:VOLT <V>``, ``:SENS:FUNC:CONC ON``, ``:SENS:FUNC 'VOLT'``,
  ``:SENS:FUNC 'CURR'``, ``:SENS:CURR:RANG:AUTO ON`` | ``:SENS:CURR:RANG <A>``,
  ``:SENS:CURR:NPLC <n>``, ``:SYST:RSEN ON|OFF``, ``:SOUR:DEL:AUTO ON`` | ``:SOUR:DEL <s>``,
  ``:SOUR:CLE:AUTO OFF``, ``:TRIG:COUN 1``, ``:SYST:ERR?``.
- ``configure_current_source``: the same with ``CURR`` and ``VOLT`` exchanged
  (``:SENS:VOLT:PROT <V>`` is the compliance; NPLC is still ``:SENS:CURR:NPLC``, it is global).
- ``read``: ``:READ?`` (when it fails: ``:OUTP:ENAB:TRIP?`` and ``:SYST:ERR?`` until empty,
  to tell an interlock trip from a silent instrument).
- ``sweep_voltage_linear``: ``*CLS``, ``:OUTP OFF`` (unless already sourcing voltage),
  ``:SOUR:FUNC VOLT``, ``:SOUR:VOLT <start>``, ``:SENS:CURR:PROT <A>``, ``:SENS:CURR:NPLC <n>``,
  ``:SENS:FUNC:CONC ON``, ``:SENS:FUNC 'VOLT'``, ``:SENS:FUNC 'CURR'``, ``:SOUR:VOLT:STAR``,
  ``:SOUR:VOLT:STOP``, ``:SOUR:SWE:POIN``, ``:SOUR:VOLT:MODE SWE``, ``:SOUR:SWE:SPAC LIN``,
  ``:SOUR:SWE:RANG BEST``, ``:SOUR:SWE:CAB NEV``, ``:SOUR:DEL <s>``, ``:TRIG:COUN <N>``,
  ``:SYST:ERR?``, ``:OUTP?`` (+ ``:OUTP ON`` if off), ``:READ?``, ``:SOUR:VOLT:MODE FIX``,
  ``:TRIG:COUN 1``.
- ``shutdown``: ``:OUTP OFF``, ``:ABOR``, ``:SOUR:VOLT:MODE FIX``, ``:SOUR:VOLT 0`` (or
  ``:SOUR:CURR 0`` when sourcing current), each attempted whatever happened to the previous one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pymeasure.adapters import Adapter
from pymeasure.instruments.keithley import Keithley2400

from instruments import common, timing
from instruments.common import on_off
from instruments.interlock import interlock_fault
from instruments.smu import (
    KEITHLEY_2400_LIMITS,
    KEITHLEY_2420_LIMITS,
    ScpiSmuMixin,
    SmuError,
    SmuLimits,
    SmuReading,
    SweepResult,
    scpi_number,
)

#: The output-enable (interlock) query: 1 = closed, the output may be switched on (2400 manual,
#: OUTPut subsystem; docs/instruments.md §1.9).
INTERLOCK_QUERY = ":OUTP:ENAB:TRIP?"

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = [
    "KEITHLEY_2400_LIMITS",
    "KEITHLEY_2420_LIMITS",
    "Keithley2400SMU",
    "Keithley2420SMU",
]

#: STATUS element bit 3: the source is in compliance (2400 manual p. 356).
STATUS_COMPLIANCE_BIT = 8
#: Elements per reading written by pymeasure's constructor: V, I, R, TIME, STATUS.
ELEMENTS_PER_READING = 5
#: Replies at or above this magnitude are the overflow / not-measured value +9.91E+37.
OVERFLOW_THRESHOLD = 9.9e37

def _physical(values: float | np.ndarray) -> np.ndarray:
    """Map the 2400 overflow / not-measured value +9.91E+37 to NaN (scalar or array)."""
    values = np.asarray(values, dtype=float)
    return np.where(np.abs(values) >= OVERFLOW_THRESHOLD, np.nan, values)


class Keithley2400SMU(ScpiSmuMixin):
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
    shutdown_commands_after_output_off: ClassVar[tuple[str, ...]] = (
        ":ABOR",
        ":SOUR:VOLT:MODE FIX",
    )

    def __init__(
        self,
        adapter: Adapter | str | int,
        name: str | None = None,
        *,
        line_frequency_hz: float = 50.0,
        **kwargs,
    ) -> None:
        self._connect(Keithley2400, adapter, name, line_frequency_hz, kwargs)

    # --- helpers -------------------------------------------------------------------------
    def _parse_readings(self, values: list[float], points: int) -> np.ndarray:
        if len(values) != ELEMENTS_PER_READING * points:
            raise SmuError(
                f"{self.name}: expected {points} readings of {ELEMENTS_PER_READING} values, "
                f"got {len(values)} values"
            )
        return np.asarray(values, dtype=float).reshape(points, ELEMENTS_PER_READING)

    def _sweep_result(self, table: np.ndarray) -> SweepResult:
        status = table[:, 4].astype(np.int64)
        return SweepResult(
            voltage_v=_physical(table[:, 0]),
            current_a=_physical(table[:, 1]),
            time_s=table[:, 3].copy(),
            in_compliance=(status & STATUS_COMPLIANCE_BIT) != 0,
        )

    def _write_measure_both(self, sourced: str) -> None:
        """Measure voltage and current concurrently, the sourced quantity first."""
        measured = "CURR" if sourced == "VOLT" else "VOLT"
        self._write(":SENS:FUNC:CONC ON")
        self._write(f":SENS:FUNC '{sourced}'")
        self._write(f":SENS:FUNC '{measured}'")

    def _write_source_delay(self, source_delay_s: float | None) -> None:
        if source_delay_s is None:
            self._write(":SOUR:DEL:AUTO ON")
        else:
            self._write(f":SOUR:DEL {scpi_number(source_delay_s)}")

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
        self._configure_source("VOLT", level_v, compliance_a, voltage_range_v,
                               current_range_a, nplc, four_wire, source_delay_s)

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
        self._configure_source("CURR", level_a, compliance_v, current_range_a,
                               voltage_range_v, nplc, four_wire, source_delay_s)

    def _configure_source(self, sourced: str, level: float, compliance: float,
                          source_range: float | None, measure_range: float | None,
                          nplc: float, four_wire: bool, source_delay_s: float | None) -> None:
        """The configuration sequence shared by both source functions. ``sourced`` is "VOLT"
        or "CURR"; ``level``, ``compliance`` and the ranges are in that function's units
        (volts or amperes) and in the measured function's units respectively."""
        measured = "CURR" if sourced == "VOLT" else "VOLT"
        with self.lock:
            self._write("*CLS")
            self._write(":OUTP OFF")
            self._source_function = None
            self._write(f":SOUR:FUNC {sourced}")
            self._write(f":SOUR:{sourced}:MODE FIX")
            self._write_range(f":SOUR:{sourced}", source_range)
            self._write(f":SENS:{measured}:PROT {scpi_number(compliance)}")
            self._write(f":SOUR:{sourced} {scpi_number(level)}")
            self._write_measure_both(sourced)
            self._write_range(f":SENS:{measured}", measure_range)
            # NPLC is global on the 2400 series: the CURR form sets V, I and R alike (p. 374).
            self._write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
            self._write(f":SYST:RSEN {on_off(four_wire)}")
            self._write_source_delay(source_delay_s)
            self._write(":SOUR:CLE:AUTO OFF")
            self._write(":TRIG:COUN 1")
            self.raise_for_errors()
            self._source_function = sourced
            self._compliance_a = float(compliance) if sourced == "VOLT" else None
            self._compliance_v = float(compliance) if sourced == "CURR" else None

    # --- measurement ---------------------------------------------------------------------
    def read(self) -> SmuReading:
        """Measure one reading with ``:READ?``: voltage, current, TIME element and the
        compliance bit (STATUS bit 3). The output must be on (the 2400 answers ``+803`` and
        nothing else when it is off)."""
        with self.lock:
            row = self._parse_readings(self._read_checked(":READ?", "reading (:READ?)"), 1)[0]
            return SmuReading(
                voltage_v=float(_physical(row[0])),
                current_a=float(_physical(row[1])),
                time_s=float(row[3]),
                in_compliance=bool(int(row[4]) & STATUS_COMPLIANCE_BIT),
            )

    def _read_checked(self, command: str, operation: str) -> list[float]:
        """``command``'s values; when it fails, the interlock is asked (``:OUTP:ENAB:TRIP?``
        and the error queue): an open interlock gives :class:`SmuInterlockError` instead of
        the timeout a ``:READ?`` with the output forced off ends in (2400 manual: +802, +803;
        docs/instruments.md §1.9)."""
        try:
            return self._query_values(command)
        except Exception as exc:
            tripped = interlock_fault(self, INTERLOCK_QUERY, operation)
            if tripped is not None:
                raise tripped from exc
            raise

    def _run_sweep(self, points: int, source_delay_s: float, nplc: float) -> SweepResult:
        """Check the setup, switch the output on if needed, read ``points`` readings, and
        return the source to fixed mode with a trigger count of 1."""
        try:
            self.raise_for_errors()
            if not self.output_enabled:
                self._write(":OUTP ON")
            timeout_s = timing.sweep_timeout_s(
                self.model, points, source_delay_s, nplc, self.line_frequency_hz
            )
            # This :READ? runs the sweep: asking again would sweep the cell again, so it is
            # never retried (labctl.guard reads ``_retry_allowed``).
            self._retry_allowed = False
            try:
                with common.visa_timeout(self, timeout_s):
                    values = self._read_checked(":READ?", "sweeping (:READ?)")
            finally:
                self._retry_allowed = True
        except BaseException:
            # Leave sweep mode if possible, but report the original failure.
            for command in (":SOUR:VOLT:MODE FIX", ":TRIG:COUN 1"):
                try:
                    self._write(command)
                except Exception as error:  # noqa: BLE001 - the original error is re-raised
                    log.error("%s: %s after a failed sweep: %s", self.name, command, error)
            raise
        self._write(":SOUR:VOLT:MODE FIX")
        self._write(":TRIG:COUN 1")
        return self._sweep_result(self._parse_readings(values, points))

    def _write_sweep_common(self, bias_v: float, compliance_a: float, nplc: float) -> None:
        self._write("*CLS")
        if self._source_function != "VOLT":
            # The source function cannot change with the output on (manual p. 367): after a
            # current-source step (Voc mode) or an unknown state, switch it off first.
            self._write(":OUTP OFF")
        self._write(":SOUR:FUNC VOLT")
        self._write(f":SOUR:VOLT {scpi_number(bias_v)}")
        self._write(f":SENS:CURR:PROT {scpi_number(compliance_a)}")
        self._write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
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
        """Run a hardware linear staircase sweep (``:SOUR:VOLT:MODE SWE``, 2400 manual pp. 389, 393)
        of ``points`` points (2 to 2500) from ``start_v`` to ``stop_v`` volts, with
        ``source_delay_s`` seconds between setting each voltage and its reading.

        The output is biased at ``start_v`` first, switched on if it was off, and left on.
        """
        self.limits.check_sweep_points(points, kind="linear")
        self._check_sweep([start_v, stop_v], source_delay_s, compliance_a, nplc)
        with self.lock:
            self._write_sweep_common(start_v, compliance_a, nplc)
            self._write(f":SOUR:VOLT:STAR {scpi_number(start_v)}")
            self._write(f":SOUR:VOLT:STOP {scpi_number(stop_v)}")
            self._write(f":SOUR:SWE:POIN {int(points)}")
            self._write(":SOUR:VOLT:MODE SWE")
            self._write(":SOUR:SWE:SPAC LIN")
            self._write(":SOUR:SWE:RANG BEST")
            self._write(":SOUR:SWE:CAB NEV")
            self._write(f":SOUR:DEL {scpi_number(source_delay_s)}")
            self._write(f":TRIG:COUN {int(points)}")
            return self._run_sweep(int(points), source_delay_s, nplc)

    def sweep_voltage_list(
        self,
        voltages_v: Sequence[float],
        *,
        source_delay_s: float,
        compliance_a: float,
        nplc: float = 1.0,
    ) -> SweepResult:
        """Run a hardware list sweep (``:SOUR:VOLT:MODE LIST``, 2400 manual pp. 396-397) through
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
            self._write(f":SOUR:VOLT:RANG {scpi_number(peak_v)}")
            self._write_voltage_list(values)
            self._write(":SOUR:VOLT:MODE LIST")
            self._write(":SOUR:SWE:CAB NEV")
            self._write(f":SOUR:DEL {scpi_number(source_delay_s)}")
            self._write(f":TRIG:COUN {len(values)}")
            return self._run_sweep(len(values), source_delay_s, nplc)


class Keithley2420SMU(Keithley2400SMU):
    """Control a Keithley 2420 SourceMeter as a labctl SMU (±63 V, ±3.15 A; the 3 A range only
    up to 21 V, the 60 V range limited to 1.05 A).

    Same command set as the 2400; the driver holds a pymeasure ``Keithley2400`` (pymeasure has
    no 2420 class) and checks every setting against the 2420 limits.
    """

    model: ClassVar[str] = "2420"
    limits: ClassVar[SmuLimits] = KEITHLEY_2420_LIMITS
