"""Keithley 2450 SourceMeter (native SCPI) as a labctl :class:`~instruments.smu.SourceMeter`.

The driver holds a pymeasure :class:`~pymeasure.instruments.keithley.Keithley2450` (whose
controls truncate out-of-range values and whose buffer works only in 2400 emulation) and exposes
none of its controls; labctl uses the native SCPI command set (Keithley Model 2450 SourceMeter
Reference Manual; docs/instruments.md §2), checks at open that the instrument speaks
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
  or ``:SOUR:CURR:VLIM:TRIP?`` (sourcing I); once labctl switched the output on, asked in one
  message with ``:OUTP?`` (``:SOUR:VOLT:ILIM:TRIP?;:OUTP?``); an output that reads off:
  ``:OUTP:INT:TRIP?`` and ``:SYST:ERR?`` until empty (docs/instruments.md §2.0b).
- ``sweep_voltage_linear``: ``:SYST:CLE``, ``:SOUR:FUNC VOLT``, ``:SENS:FUNC "CURR"``,
  ``:SOUR:VOLT:ILIM <A>``, ``:SOUR:VOLT <start>``, ``:SENS:CURR:NPLC <n>``,
  ``:SOUR:VOLT:DEL 0``, ``:TRAC:CLE "defbuffer1"``,
  ``:SOUR:SWE:VOLT:LIN <start>,<stop>,<N>,<delay>,1,BEST,OFF,OFF,"defbuffer1"``,
  ``:SYST:ERR?``, ``:OUTP?`` (+ ``:OUTP ON`` if off), ``:INIT``, ``*WAI``,
  ``:TRAC:ACT? "defbuffer1"``, ``:TRAC:DATA? 1,<N>,"defbuffer1",SOUR,READ,REL``,
  ``:SOUR:VOLT:ILIM:TRIP?;:OUTP?`` (as ``read``).
- ``shutdown``: ``:OUTP OFF``, then ``:SOUR:VOLT 0`` (or ``:SOUR:CURR 0`` when sourcing
  current), each attempted whatever happened to the previous one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from pymeasure.adapters import Adapter
from pymeasure.instruments.keithley import Keithley2450

from instruments import common, timing
from instruments.common import on_off
from instruments.interlock import interlock_fault
from instruments.smu import (
    KEITHLEY_2450_LIMITS,
    ScpiSmuMixin,
    SmuError,
    SmuLimits,
    SmuReading,
    SweepResult,
    scpi_number,
)

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["KEITHLEY_2450_LIMITS", "Keithley2450SMU"]

#: The reading buffer every labctl measurement uses (created by the instrument).
BUFFER = '"defbuffer1"'
#: Elements requested per reading: source value, reading, relative time.
ELEMENTS = "SOUR,READ,REL"
ELEMENTS_PER_READING = 3
#: A point whose |current| reaches this fraction of the limit is flagged in compliance.
COMPLIANCE_FRACTION = 0.999
#: A limit must exceed this fraction of a fixed measure range (manual pp. 388-389).
MIN_LIMIT_FRACTION_OF_RANGE = 0.001
#: Shortest non-zero sweep delay, in seconds (manual pp. 395-400).
MIN_SWEEP_DELAY_S = 50e-6
#: The interlock query: 1 = asserted (full output), 0 = open (docs/instruments.md §2.0b).
INTERLOCK_QUERY = ":OUTP:INT:TRIP?"

class Keithley2450SMU(ScpiSmuMixin):
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
        self._connect(Keithley2450, adapter, name, line_frequency_hz, kwargs)
        #: Whether labctl switched the output on (and not off since): a reading made then
        #: checks that the output is still on (an open interlock forces it off).
        self._output_expected = False
        language = self._ask("*LANG?").strip().strip('"')
        if language.upper() != "SCPI":
            try:
                self.adapter.close()
            except Exception as error:  # noqa: BLE001 - the language error is what matters
                log.debug("%s: closing after the language check failed: %s", self.name, error)
            raise SmuError(
                f"{self.name} is in {language or 'an unknown'} command language; labctl needs "
                "SCPI: select it (front panel or *LANG SCPI) and power-cycle the instrument"
            )

    # --- helpers -------------------------------------------------------------------------
    def _source_function_now(self) -> str:
        """The configured source function, queried once if labctl did not configure it."""
        if self._source_function is None:
            # ⚠ docs/instruments.md §2 lists the setting ``:SOUR:FUNC VOLT|CURR``; the query form is
            # the standard SCPI one (given for the 2400 in §1.4), not confirmed for the 2450.
            reply = self._ask(":SOUR:FUNC?").strip().upper()
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
            self._write(":SYST:CLE")
            self._write(":OUTP OFF")
            self._output_expected = False
            self._source_function = None
            self._write(f":SOUR:FUNC {sourced}")
            self._write_range(f":SOUR:{sourced}", source_range)
            self._write(f":SOUR:{sourced}:{limit_header} {scpi_number(compliance)}")
            self._write(f":SOUR:{sourced} {scpi_number(level)}")
            self._write(f":SOUR:{sourced}:READ:BACK ON")
            self._write(f':SENS:FUNC "{measured}"')
            self._write_range(f":SENS:{measured}", measure_range)
            self._write(f":SENS:{measured}:NPLC {scpi_number(nplc)}")
            self._write(f":SENS:{measured}:RSEN {on_off(four_wire)}")
            if source_delay_s is None:
                self._write(f":SOUR:{sourced}:DEL:AUTO ON")
            else:
                self._write(f":SOUR:{sourced}:DEL {scpi_number(source_delay_s)}")
            self.raise_for_errors()
            self._source_function = sourced
            if sourced == "VOLT":
                self._compliance_a, self._compliance_v = float(compliance), None
            else:
                self._compliance_a, self._compliance_v = None, float(compliance)

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
                tripped = self._trip_flag(":SOUR:VOLT:ILIM:TRIP?", "reading (:READ?)")
            else:
                voltage_v, current_a = reading, source_value
                # ⚠ docs/instruments.md §2 gives only ``:SOUR:VOLT:ILIM:TRIP?``; the VLIM form is by
                # analogy (same tree under CURR).
                tripped = self._trip_flag(":SOUR:CURR:VLIM:TRIP?", "reading (:READ?)")
            return SmuReading(
                voltage_v=voltage_v, current_a=current_a, time_s=time_s, in_compliance=tripped
            )

    # --- output and interlock ------------------------------------------------------------
    def enable_output(self) -> None:
        """Switch the output on (``:OUTP ON``); readings then check it stays on."""
        with self.lock:
            self._write(":OUTP ON")
            self._output_expected = True

    def disable_output(self) -> None:
        """Switch the output off (``:OUTP OFF``)."""
        with self.lock:
            self._output_expected = False
            self._write(":OUTP OFF")

    def shutdown(self) -> None:
        """The safe shutdown of :class:`~instruments.smu.ScpiSmuMixin` (never raises)."""
        self._output_expected = False
        super().shutdown()

    def _trip_flag(self, trip_query: str, operation: str) -> bool:
        """The limit-trip flag of ``trip_query``; with the output switched on by labctl the
        same message asks ``:OUTP?`` too (``<trip>;:OUTP?``, answered ``0;1``: one exchange,
        as before), and an output that reads off is reported (:meth:`_output_forced_off`)."""
        if not self._output_expected:
            return self._query_flag(trip_query)
        command = f"{trip_query};:OUTP?"
        reply = self._ask(command).strip()
        try:
            tripped, output_on = (bool(int(float(part))) for part in reply.split(";"))
        except ValueError:
            raise SmuError(f"{self.name}: unexpected reply {reply!r} to {command}") from None
        if not output_on:
            self._output_forced_off(operation)
        return tripped

    def _check_output_still_on(self, operation: str) -> None:
        """With the output switched on by labctl, ask ``:OUTP?`` (:meth:`_output_forced_off`
        when it reads off)."""
        if self._output_expected and not self.output_enabled:
            self._output_forced_off(operation)

    def _output_forced_off(self, operation: str) -> None:
        """The output reads off though labctl switched it on: it was forced off.
        :class:`~instruments.interlock.SmuInterlockError` when the interlock is open
        (``:OUTP:INT:TRIP?`` = 0, or an interlock error queued), else :class:`SmuError`. A 2450
        measures with its output off, so the reading itself does not fail."""
        self._output_expected = False
        tripped = interlock_fault(self, INTERLOCK_QUERY, operation)
        if tripped is not None:
            raise tripped
        raise SmuError(f"{self.name}: the output turned off by itself while {operation}")

    def _check_sweep(
        self, voltages_v: Sequence[float], source_delay_s: float, compliance_a: float, nplc: float
    ) -> None:
        delay_s = float(source_delay_s)
        if 0 < delay_s < MIN_SWEEP_DELAY_S:
            raise ValueError(
                f"Keithley {self.model}: source_delay_s={delay_s:g} s must be 0 or at least "
                f"{MIN_SWEEP_DELAY_S:g} s in a sweep"
            )
        super()._check_sweep(voltages_v, source_delay_s, compliance_a, nplc)

    def _write_sweep_common(
        self, bias_v: float, compliance_a: float, nplc: float, source_range_v: float | None
    ) -> None:
        self._write(":SYST:CLE")
        self._write(":SOUR:FUNC VOLT")
        self._write(':SENS:FUNC "CURR"')
        if source_range_v is not None:
            self._write(f":SOUR:VOLT:RANG {scpi_number(source_range_v)}")
        self._write(f":SOUR:VOLT:ILIM {scpi_number(compliance_a)}")
        self._write(f":SOUR:VOLT {scpi_number(bias_v)}")
        self._write(f":SENS:CURR:NPLC {scpi_number(nplc)}")
        # The sweep delay adds to the source delay: zero it so the dwell is source_delay_s.
        self._write(":SOUR:VOLT:DEL 0")
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
            self._write(":OUTP ON")
        self._output_expected = True
        timeout_s = timing.sweep_timeout_s(
            self.model, points, source_delay_s, nplc, self.line_frequency_hz
        )
        with common.visa_timeout(self, timeout_s):
            self._write(":INIT")
            self._write("*WAI")
            stored = int(self._query_values(f":TRAC:ACT? {BUFFER}")[0])
            if stored != points:
                self._check_output_still_on("sweeping (:INIT)")
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
        current_a = table[:, 1].copy()
        in_compliance = np.abs(current_a) >= COMPLIANCE_FRACTION * compliance_a
        if self._trip_flag(":SOUR:VOLT:ILIM:TRIP?", "sweeping (:INIT)"):
            in_compliance[-1] = True
        return SweepResult(
            voltage_v=table[:, 0].copy(),
            current_a=current_a,
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
            self._write(f":TRAC:CLE {BUFFER}")
            self._write(
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
            self._write_voltage_list(values)
            self._write(f":TRAC:CLE {BUFFER}")
            # Parameter order per the 2450/2461 reference manual (p. 6-128):
            # <startIndex>, <delay>, <count>, <failAbort>, "<bufferName>".
            # ⚠ docs/instruments.md §2.1 gives only <startIndex>, <delay>; the last three are
            # from the manual, unverified.
            self._write(f":SOUR:SWE:VOLT:LIST 1,{scpi_number(source_delay_s)},1,OFF,{BUFFER}")
            return self._run_sweep(len(values), source_delay_s, compliance_a, nplc)
