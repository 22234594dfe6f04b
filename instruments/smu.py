"""The source-measure unit (SMU) role: the interface every procedure uses.

Procedures talk to a :class:`SourceMeter`, never to a concrete model, so a Keithley 2450 replaces
a 2400 by editing the station file. Each driver (``instruments.keithley24xx``,
``instruments.keithley2450``) implements this interface holding (not inheriting) the
pymeasure driver of its model, exposes nothing else that sets the instrument, and refuses,
before anything is sent, every setting outside the model's :class:`SmuLimits` (including the
combined voltage/current envelope). The limits of each model (``KEITHLEY_2400_LIMITS``, ...)
are defined here once; the simulated instruments read the same objects.

:class:`ScpiSmuMixin` holds what the two Keithley drivers share (connection, raw queries, error
queue, levels, output, list upload, sweep-duration estimate, the safe shutdown); timing comes
from :mod:`instruments.timing`.

Conventions shared by all drivers:

- Quantities carry their unit in their name (``level_v``, ``compliance_a``, ``source_delay_s``).
- Compliance is always given explicitly; a range of ``None`` means auto range, a source delay of
  ``None`` means the instrument's auto delay.
- Current is reported as the SMU reads it: current delivered by an illuminated solar cell flows
  into HI and reads negative.
- Sweeps are hardware-timed: one instrument operation returns all points. A sweep switches the
  output on if it was off and leaves it on; the procedure decides when to switch it off.
- ``shutdown()`` switches the output off first and never raises.
"""

from __future__ import annotations

import abc
import inspect
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from instruments import common, timing

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = [
    "KEITHLEY_2400_LIMITS",
    "KEITHLEY_2420_LIMITS",
    "KEITHLEY_2450_LIMITS",
    "ScpiSmuMixin",
    "SmuError",
    "SmuLimits",
    "SmuReading",
    "SourceMeter",
    "SweepResult",
    "parse_scpi_error",
    "scpi_number",
]


class SmuError(RuntimeError):
    """An SMU reported an error, returned an unexpected reply, or is in a state labctl cannot
    use (for example a Keithley 2450 in 2400-emulation language)."""


@dataclass(frozen=True)
class SmuReading:
    """One source-measure reading.

    :param voltage_v: Voltage at the output (measured where the model measures it), in volts.
    :param current_a: Current through the output, in amperes (generated current is negative).
    :param time_s: Instrument timestamp of the reading, in seconds (2400: TIME element, seconds
        since power-on or timestamp reset; 2450: RELative buffer time).
    :param in_compliance: True when the source was clamped at its compliance limit.
    """

    voltage_v: float
    current_a: float
    time_s: float
    in_compliance: bool


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The points of one hardware-timed sweep, in the order they were measured.

    All four arrays have one element per point; ``in_compliance`` is a bool array.
    """

    voltage_v: np.ndarray
    current_a: np.ndarray
    time_s: np.ndarray
    in_compliance: np.ndarray

    def __len__(self) -> int:
        return int(self.voltage_v.shape[0])


def _finite(name: str, value: float, model: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"Keithley {model}: {name}={value!r} is not a finite number")
    return number


@dataclass(frozen=True)
class SmuLimits:
    """The operating envelope of one SMU model, used to refuse settings before anything is sent.

    The one copy of each model's limits: the drivers (``limits`` of each driver class), the
    station's compliance checks and the simulated instruments (``labctl/sim``) all read these.

    :param max_voltage_v: Largest voltage magnitude it can source or limit to, in volts.
    :param max_current_a: Largest current magnitude it can source or limit to, in amperes.
    :param high_current_max_voltage_v: Above this voltage magnitude (volts) the high-current
        range is unavailable (21 V on all three models).
    :param high_voltage_max_current_a: Largest current magnitude (amperes) allowed together with
        a voltage above ``high_current_max_voltage_v`` (2400/2450: 0.105 A, 2420: 1.05 A).
    :param model: Model number as printed on the instrument ("2400", "2420", "2450").
    :param envelope_note: Human wording of the combined limit, used in error messages.
    :param min_nplc: Shortest integration time, in power-line cycles.
    :param max_nplc: Longest integration time, in power-line cycles.
    :param max_source_delay_s: Longest source delay, in seconds.
    :param max_sweep_points: Largest number of points of a linear sweep.
    :param max_list_points: Largest number of points of a list sweep.
    :param current_ranges_a: The current ranges (source and measure) as the manual names
        them, ascending, in amperes (the "100 uA range" is 1e-4).
    :param voltage_ranges_v: The voltage ranges (source and measure), ascending, in volts.
    :param resistance_ranges_ohm: The ohms measurement ranges, ascending, in ohms.
    :param range_query_factor: What a range query reads back, as a multiple of the range: the
        2400 and 2420 read the full scale, 105 % of the range (``:SENS:CURR:RANG?`` on the
        100 uA range reads 1.05E-04); the 2450 reads the range itself.
    """

    max_voltage_v: float
    max_current_a: float
    high_current_max_voltage_v: float
    high_voltage_max_current_a: float
    model: str = ""
    envelope_note: str = ""
    min_nplc: float = 0.01
    max_nplc: float = 10.0
    max_source_delay_s: float = 999.9999
    max_sweep_points: int = 2500
    max_list_points: int = 2500
    current_ranges_a: tuple[float, ...] = ()
    voltage_ranges_v: tuple[float, ...] = ()
    resistance_ranges_ohm: tuple[float, ...] = ()
    range_query_factor: float = 1.0

    def range_readings(self, ranges: tuple[float, ...]) -> tuple[float, ...]:
        """What a range query reads for each of ``ranges`` (one of this model's tables):
        each range times :attr:`range_query_factor`, to 6 significant digits."""
        return tuple(float(f"{r * self.range_query_factor:.6g}") for r in ranges)

    def max_current_at_a(self, voltage_v: float) -> float:
        """The largest current magnitude (amperes) allowed together with a voltage of
        magnitude up to ``|voltage_v|`` volts: :attr:`max_current_a` up to
        :attr:`high_current_max_voltage_v`, :attr:`high_voltage_max_current_a` above."""
        if abs(float(voltage_v)) > self.high_current_max_voltage_v:
            return self.high_voltage_max_current_a
        return self.max_current_a

    def max_voltage_at_v(self, current_a: float) -> float:
        """The largest voltage magnitude (volts) allowed together with a current of magnitude
        up to ``|current_a|`` amperes (the envelope of :meth:`max_current_at_a` read the other
        way)."""
        if abs(float(current_a)) > self.high_voltage_max_current_a:
            return self.high_current_max_voltage_v
        return self.max_voltage_v

    def check(
        self,
        voltage_v: float | None = None,
        current_a: float | None = None,
        compliance_a: float | None = None,
        compliance_v: float | None = None,
        *,
        voltage_range_v: float | None = None,
        current_range_a: float | None = None,
        nplc: float | None = None,
        source_delay_s: float | None = None,
    ) -> None:
        """Refuse a combination of settings the model cannot run.

        Each given value is checked against its own limit; then the largest voltage magnitude
        (source level, voltage compliance or voltage range) and the largest current magnitude
        (source level, current compliance or current range) are checked together against the
        combined envelope (e.g. 2420: more than 1.05 A only up to 21 V).

        :raises ValueError: with a one-line message naming the model, the setting and the limit.
        """
        model = self.model
        voltages: list[tuple[str, float]] = []
        currents: list[tuple[str, float]] = []
        for name, value, unit, limit, bucket in (
            ("voltage_v", voltage_v, "V", self.max_voltage_v, voltages),
            ("compliance_v", compliance_v, "V", self.max_voltage_v, voltages),
            ("voltage_range_v", voltage_range_v, "V", self.max_voltage_v, voltages),
            ("current_a", current_a, "A", self.max_current_a, currents),
            ("compliance_a", compliance_a, "A", self.max_current_a, currents),
            ("current_range_a", current_range_a, "A", self.max_current_a, currents),
        ):
            if value is None:
                continue
            number = _finite(name, value, model)
            if name.startswith("compliance") and number <= 0:
                raise ValueError(
                    f"Keithley {model}: {name}={number:g} {unit} must be positive "
                    "(the limit applies to both polarities)"
                )
            if abs(number) > limit:
                raise ValueError(
                    f"Keithley {model}: {name}={number:g} {unit} exceeds the model limit of "
                    f"±{limit:g} {unit}"
                )
            bucket.append((name, abs(number)))
        if voltages and currents:
            v_name, v_mag = max(voltages, key=lambda item: item[1])
            i_name, i_mag = max(currents, key=lambda item: item[1])
            if v_mag > self.high_current_max_voltage_v and i_mag > self.high_voltage_max_current_a:
                note = f" ({self.envelope_note})" if self.envelope_note else ""
                raise ValueError(
                    f"Keithley {model}: {i_name}={i_mag:g} A with {v_name}={v_mag:g} V is outside "
                    f"the envelope: above {self.high_current_max_voltage_v:g} V the current is "
                    f"limited to {self.high_voltage_max_current_a:g} A{note}"
                )
        if nplc is not None:
            number = _finite("nplc", nplc, model)
            if not self.min_nplc <= number <= self.max_nplc:
                raise ValueError(
                    f"Keithley {model}: nplc={number:g} is outside {self.min_nplc:g} to "
                    f"{self.max_nplc:g} power-line cycles"
                )
        if source_delay_s is not None:
            number = _finite("source_delay_s", source_delay_s, model)
            if not 0 <= number <= self.max_source_delay_s:
                raise ValueError(
                    f"Keithley {model}: source_delay_s={number:g} s is outside 0 to "
                    f"{self.max_source_delay_s:g} s"
                )

    def check_sweep_points(self, points: int, *, kind: str = "linear") -> None:
        """Refuse a sweep with fewer than 2 (linear) / 1 (list) or too many points.

        :param points: Number of source-measure points.
        :param kind: "linear", "list", or "any" (1 to the larger of the two maxima).
        :raises ValueError: with a one-line message naming the model and the limit.
        """
        try:
            number = float(points)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(points, bool) or not math.isfinite(number) or int(number) != number:
            raise ValueError(f"Keithley {self.model}: points={points!r} is not an integer")
        if kind == "linear":
            minimum, maximum = 2, self.max_sweep_points
        elif kind == "list":
            minimum, maximum = 1, self.max_list_points
        else:
            minimum, maximum = 1, max(self.max_sweep_points, self.max_list_points)
        if not minimum <= points <= maximum:
            raise ValueError(
                f"Keithley {self.model}: a {kind} sweep of {points} points is outside "
                f"{minimum} to {maximum} points"
            )


#: Keithley 2400 (Keithley 2400 Series SourceMeter User's Manual, pp. 118, 121, 367, 389).
KEITHLEY_2400_LIMITS = SmuLimits(
    model="2400",
    max_voltage_v=210.0,
    max_current_a=1.05,
    high_current_max_voltage_v=21.0,
    high_voltage_max_current_a=0.105,
    envelope_note="1 A range only up to 21 V, 200 V range limited to 105 mA",
    # Ranges: 1 uA-1 A, 200 mV-200 V, 20 ohm-200 Mohm; a range query reads the full scale,
    # 105 % of the range (2400 manual pp. 18-63, 18-64, 18-75; *RST reads 1.05E-04 A, 21 V).
    current_ranges_a=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    voltage_ranges_v=(0.2, 2.0, 20.0, 200.0),
    resistance_ranges_ohm=(20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8),
    range_query_factor=1.05,
)
#: Keithley 2420 (same manual and pages: 3 A range only up to 21 V, 60 V range to 1.05 A).
KEITHLEY_2420_LIMITS = SmuLimits(
    model="2420",
    max_voltage_v=63.0,
    max_current_a=3.15,
    high_current_max_voltage_v=21.0,
    high_voltage_max_current_a=1.05,
    envelope_note="3 A range only up to 21 V, 60 V range limited to 1.05 A",
    # Ranges: 10 uA-3 A, 200 mV-60 V (2420 specifications); the ohms ranges are the 2400's ⚠.
    current_ranges_a=(1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0),
    voltage_ranges_v=(0.2, 2.0, 20.0, 60.0),
    resistance_ranges_ohm=(20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8),
    range_query_factor=1.05,
)
#: Keithley 2450 (Model 2450 SourceMeter Reference Manual, pp. 387, 391, 395-400).
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
    # Ranges: 10 nA-1 A, 20 mV-200 V (2450 reference manual, :SOUR:<f>:RANG, :SENS:<f>:RANG:
    # "When you read this setting, you see the positive full-scale value", the range itself);
    # the ohms ranges 20 ohm-200 Mohm are the 2450 datasheet's ⚠.
    current_ranges_a=(1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
    voltage_ranges_v=(0.02, 0.2, 2.0, 20.0, 200.0),
    resistance_ranges_ohm=(20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8),
    range_query_factor=1.0,
)


def scpi_number(value: float) -> str:
    """Format a number for a SCPI command with 9 significant digits (millivolt steps exact).

    >>> scpi_number(0.30000000000000004), scpi_number(1e-5), scpi_number(-0.0)
    ('0.3', '1e-05', '0')
    """
    number = float(value)
    if number == 0:
        return "0"
    return format(number, ".9g")


def parse_scpi_error(reply: str) -> tuple[int, str]:
    """Split a ``:SYST:ERR?`` reply into its code and message.

    Accepts the 2400 form ``-222,"Parameter data out of range"`` and the 2450 form
    ``-222,"Parameter data out of range;1;2025/01/01 12:00:00.000"`` (severity and timestamp are
    kept in the message).

    :raises SmuError: if the reply does not start with an integer code.
    """
    return common.parse_scpi_error(reply, SmuError)


class SourceMeter(abc.ABC):
    """A source-measure unit, whatever its model: the role every procedure uses.

    Each instance carries a re-entrant :attr:`lock`; every public method holds it, and a caller
    that needs several operations in a row without interleaving holds it too.
    """

    #: Model number ("2400", "2420", "2450").
    model: ClassVar[str]
    #: Operating envelope of the model.
    limits: ClassVar[SmuLimits]
    #: Re-entrant lock owned by the instrument (created per instance).
    lock: threading.RLock

    #: The connection to the instrument (a pymeasure adapter); the station closes it.
    adapter: Any
    #: Display name, e.g. "Keithley 2400 SourceMeter".
    name: str

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def _init_state(self, line_frequency_hz: float, kwargs: dict) -> None:
        """Common start of a driver's constructor: check the mains frequency, default the
        terminations to LF and forget what was configured."""
        if line_frequency_hz not in (50, 60):
            raise ValueError(f"line_frequency_hz={line_frequency_hz!r} must be 50 or 60")
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        self._line_frequency_hz = float(line_frequency_hz)
        # What labctl last configured: "VOLT", "CURR" or None (unknown), and the compliances.
        self._source_function: str | None = None
        self._compliance_a: float | None = None
        self._compliance_v: float | None = None

    @property
    def line_frequency_hz(self) -> float:
        """Get the mains frequency the timing model uses, in hertz (float, 50 or 60)."""
        return self._line_frequency_hz

    # --- configuration -------------------------------------------------------------------
    @abc.abstractmethod
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
        """Switch the output off, then configure sourcing voltage and measuring current.

        :param level_v: Source level in volts.
        :param compliance_a: Current limit in amperes (positive, applies to both polarities).
        :param nplc: Integration time in power-line cycles.
        :param voltage_range_v: Source range in volts, or None for auto range.
        :param current_range_a: Current measure range in amperes, or None for auto range.
        :param four_wire: True for remote (4-wire) sense.
        :param source_delay_s: Delay between setting the source and measuring, in seconds, or
            None for the instrument's auto delay.
        :raises ValueError: before anything is sent, for a setting outside :attr:`limits`.
        :raises SmuError: if the instrument reports an error after the configuration.
        """

    @abc.abstractmethod
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
        """Switch the output off, then configure sourcing current and measuring voltage.

        Parameters as :meth:`configure_voltage_source`, with ``level_a`` in amperes and
        ``compliance_v`` the voltage limit in volts.
        """

    @abc.abstractmethod
    def configure_voc_mode(
        self, *, compliance_v: float, nplc: float = 1.0, four_wire: bool = False
    ) -> None:
        """Switch the output off, then configure open-circuit measurement: source 0 A (auto
        range, so the lowest current range) and measure voltage (auto range)."""

    # --- levels and output ---------------------------------------------------------------
    @abc.abstractmethod
    def set_voltage(self, level_v: float) -> None:
        """Set the source voltage in volts (checked against the limits and the configured
        compliance first)."""

    @abc.abstractmethod
    def set_current(self, level_a: float) -> None:
        """Set the source current in amperes (checked against the limits and the configured
        compliance first)."""

    @abc.abstractmethod
    def enable_output(self) -> None:
        """Switch the output on."""

    @abc.abstractmethod
    def disable_output(self) -> None:
        """Switch the output off."""

    @property
    @abc.abstractmethod
    def output_enabled(self) -> bool:
        """Get whether the output is on, as reported by the instrument (bool)."""

    # --- measurement ---------------------------------------------------------------------
    @abc.abstractmethod
    def read(self) -> SmuReading:
        """Trigger and return one reading: voltage, current, instrument timestamp, compliance."""

    @abc.abstractmethod
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
        """Run a hardware-timed linear voltage staircase from ``start_v`` to ``stop_v``.

        ``source_delay_s`` is the time from setting each voltage to the start of its reading.
        The output is switched on if it was off and is left on.
        """

    @abc.abstractmethod
    def sweep_voltage_list(
        self,
        voltages_v: Sequence[float],
        *,
        source_delay_s: float,
        compliance_a: float,
        nplc: float = 1.0,
    ) -> SweepResult:
        """Run a hardware-timed sweep through the given voltages (in volts), in order."""

    @abc.abstractmethod
    def expected_sweep_duration_s(self, points: int, source_delay_s: float, nplc: float) -> float:
        """Estimate how long a sweep of ``points`` points takes on the instrument, in seconds."""

    # --- housekeeping --------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """Get the instrument identification string (``*IDN?``, str)."""

    @abc.abstractmethod
    def raise_for_errors(self) -> None:
        """Read the instrument error queue until it is empty; raise :class:`SmuError` listing
        every non-zero entry."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Bring the SMU to a safe state: output off first, then source level 0.

        Each step is attempted even if the previous one failed; never raises.
        """


# --- what the Keithley SCPI drivers share ------------------------------------------------------

#: How long ``shutdown()`` waits for another thread holding the instrument lock, in seconds;
#: after that it sends its commands anyway.
SHUTDOWN_LOCK_TIMEOUT_S = 5.0
#: Most values per ``:SOUR:LIST:VOLT`` / ``:SOUR:LIST:VOLT:APP`` command (2400 manual
#: pp. 396-397; 2450 reference manual p. 6-128).
LIST_CHUNK_POINTS = 100


class ScpiSmuMixin(SourceMeter):
    """The parts of the :class:`SourceMeter` role the Keithley SCPI drivers (2400/2420, 2450)
    share: the connection, raw queries, the error queue, source levels, output, identity, list
    upload and the safe shutdown.

    A driver *holds* the pymeasure instrument of its model (built by :meth:`_connect`, kept as
    ``_instrument``) instead of inheriting from it: the pymeasure controls (``source_voltage``,
    ``compliance_current``, ...) validate against pymeasure's own ranges, or truncate, and
    would go around :attr:`limits`. The driver exposes only the :class:`SourceMeter` interface,
    and every command it sends goes through :meth:`_write` after the limits were checked. The
    driver provides ``limits`` and ``model``; neither can be replaced on an instance.
    """

    #: Commands ``shutdown()`` sends after ``:OUTP OFF`` and before setting the level to 0.
    shutdown_commands_after_output_off: ClassVar[tuple[str, ...]] = ()
    #: The public attributes an instance may set (its connection and bookkeeping). Any other
    #: public name is refused unless it replaces a method (a test's fault injection), so
    #: ``smu.source_voltage = 500`` or ``smu.limits = ...`` fails loudly instead of silently
    #: doing nothing or replacing the model's limits.
    _SETTABLE_ATTRIBUTES: ClassVar[frozenset[str]] = frozenset(
        {"adapter", "name", "isShutdown", "lock"}
    )

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            not name.startswith("_")
            and name not in self._SETTABLE_ATTRIBUTES
            and not inspect.isfunction(getattr(type(self), name, None))
        ):
            raise AttributeError(
                f"{type(self).__name__} has no settable {name!r}: settings go through the "
                "SourceMeter methods, which check the model's limits"
            )
        super().__setattr__(name, value)

    def _connect(
        self,
        instrument_class: type,
        adapter: Any,
        name: str | None,
        line_frequency_hz: float,
        kwargs: dict,
    ) -> None:
        """Common constructor: check the mains frequency, build the pymeasure instrument of the
        model on ``adapter`` (a VISA resource name or a pymeasure adapter; ``kwargs`` go to the
        VISA adapter) and keep its adapter."""
        SourceMeter.__init__(self)
        self._init_state(line_frequency_hz, kwargs)
        self.name = name or f"Keithley {self.model} SourceMeter"
        self._instrument = instrument_class(adapter, self.name, **kwargs)
        self.adapter = self._instrument.adapter
        #: True once :meth:`shutdown` ran.
        self.isShutdown = False

    def _write(self, command: str) -> None:
        """Send one command (callers check :attr:`limits` first)."""
        self.adapter.write(command)

    def _ask(self, command: str) -> str:
        """Write a command and return the raw reply (without termination)."""
        self._write(command)
        return self.adapter.read()

    def _write_range(self, node: str, range_value: float | None) -> None:
        """``<node>:RANG:AUTO ON`` for an auto range (None), else ``<node>:RANG <|value|>``;
        ``node`` is e.g. ``:SOUR:VOLT`` or ``:SENS:CURR`` (same syntax on 2400 and 2450)."""
        if range_value is None:
            self._write(f"{node}:RANG:AUTO ON")
        else:
            self._write(f"{node}:RANG {scpi_number(abs(range_value))}")

    def _query_values(self, command: str) -> list[float]:
        reply = self._ask(command).strip()
        try:
            return [float(item) for item in reply.split(",")]
        except ValueError:
            raise SmuError(f"{self.name}: unexpected reply {reply!r} to {command}") from None

    def _query_flag(self, command: str) -> bool:
        return bool(int(self._query_values(command)[0]))

    def raise_for_errors(self) -> None:
        """Read ``:SYST:ERR?`` until the queue is empty (code 0); raise :class:`SmuError`
        listing every error found (at most 32 are read)."""
        with self.lock:
            common.drain_error_queue(self._ask, ":SYST:ERR?", self.name, SmuError)

    # --- levels and output ---------------------------------------------------------------
    def configure_voc_mode(
        self, *, compliance_v: float, nplc: float = 1.0, four_wire: bool = False
    ) -> None:
        """Switch the output off, then configure open-circuit voltage measurement: source 0 A
        on the auto (lowest) current range, measure voltage with ``compliance_v`` volts limit.
        """
        self.configure_current_source(
            level_a=0.0, compliance_v=compliance_v, nplc=nplc, four_wire=four_wire
        )

    def set_voltage(self, level_v: float) -> None:
        """Set the source voltage in volts (float, within the model limits and, above 21 V,
        within the current envelope of the configured compliance; above 21 V only once labctl
        configured the compliance, since the instrument's own may be beyond the envelope)."""
        with self.lock:
            self.limits.check(voltage_v=level_v, compliance_a=self._compliance_a)
            if self._compliance_a is None:
                self._refuse_unknown_compliance("voltage_v", level_v, "V", "current")
            if self._source_function == "CURR":
                raise SmuError(f"{self.name}: set_voltage() while configured to source current")
            self._write(f":SOUR:VOLT {scpi_number(level_v)}")

    def set_current(self, level_a: float) -> None:
        """Set the source current in amperes (float, within the model limits and, above the
        high-voltage current limit, with a configured compliance of at most 21 V)."""
        with self.lock:
            self.limits.check(current_a=level_a, compliance_v=self._compliance_v)
            if self._compliance_v is None:
                self._refuse_unknown_compliance("current_a", level_a, "A", "voltage")
            if self._source_function == "VOLT":
                raise SmuError(f"{self.name}: set_current() while configured to source voltage")
            self._write(f":SOUR:CURR {scpi_number(level_a)}")

    def _refuse_unknown_compliance(self, name: str, level: float, unit: str, other: str) -> None:
        """Refuse a level in the part of the envelope that depends on the compliance when labctl
        does not know the compliance (nothing configured yet)."""
        limits = self.limits
        if unit == "V":
            safe = abs(float(level)) <= limits.high_current_max_voltage_v
        else:
            safe = abs(float(level)) <= limits.high_voltage_max_current_a
        if not safe:
            raise ValueError(
                f"Keithley {self.model}: {name}={float(level):g} {unit} needs a known {other} "
                "compliance (the combined envelope); configure the source first"
            )

    def enable_output(self) -> None:
        """Switch the output on (``:OUTP ON``)."""
        with self.lock:
            self._write(":OUTP ON")

    def disable_output(self) -> None:
        """Switch the output off (``:OUTP OFF``)."""
        with self.lock:
            self._write(":OUTP OFF")

    @property
    def output_enabled(self) -> bool:
        """Get whether the output is on, queried with ``:OUTP?`` (bool)."""
        with self.lock:
            return self._query_flag(":OUTP?")

    # --- sweeps --------------------------------------------------------------------------
    def _check_sweep(
        self, voltages_v: Sequence[float], source_delay_s: float, compliance_a: float, nplc: float
    ) -> None:
        """Refuse, before anything is sent, a sweep point or setting outside :attr:`limits`
        (each voltage alone, then the peak voltage with the compliance)."""
        peak_v = max((abs(float(v)) for v in voltages_v), default=0.0)
        for value in voltages_v:
            self.limits.check(voltage_v=value)
        self.limits.check(
            voltage_v=peak_v, compliance_a=compliance_a, nplc=nplc, source_delay_s=source_delay_s
        )

    def expected_sweep_duration_s(self, points: int, source_delay_s: float, nplc: float) -> float:
        """Estimate the duration of a hardware sweep of ``points`` points in seconds (float):
        :func:`instruments.timing.sweep_duration_s` of this model at :attr:`line_frequency_hz`
        (2400/2420: per point the SDM cycle with the source delay, auto-zero on, V and I
        measured; 2450: the sweep delay, NPLC / f_line and 1 ms).

        :raises ValueError: for points, delay or NPLC outside :attr:`limits`.
        """
        self.limits.check_sweep_points(points, kind="any")
        self.limits.check(nplc=nplc, source_delay_s=source_delay_s)
        return timing.sweep_duration_s(
            self.model, points, source_delay_s, nplc, self.line_frequency_hz
        )

    def _write_voltage_list(self, voltages_v: Sequence[float]) -> None:
        """Upload a source list: ``:SOUR:LIST:VOLT`` with the first 100 values, then
        ``:SOUR:LIST:VOLT:APP`` with each further 100."""
        for start in range(0, len(voltages_v), LIST_CHUNK_POINTS):
            chunk = ",".join(scpi_number(v) for v in voltages_v[start : start + LIST_CHUNK_POINTS])
            header = ":SOUR:LIST:VOLT" if start == 0 else ":SOUR:LIST:VOLT:APP"
            self._write(f"{header} {chunk}")

    # --- housekeeping --------------------------------------------------------------------
    @property
    def identity(self) -> str:
        """Get the identification string (``*IDN?``, str), e.g.
        ``KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C34 ...``."""
        with self.lock:
            return self._ask("*IDN?").strip()

    def shutdown(self) -> None:
        """Bring the SMU to a safe state without ramping, sleeping or querying: ``:OUTP OFF``
        first, then :attr:`shutdown_commands_after_output_off`, then the source level to 0.
        Each command is attempted even if the previous one failed (dead instrument, timeout);
        waits at most :data:`SHUTDOWN_LOCK_TIMEOUT_S` for the lock; never raises."""
        locked = self.lock.acquire(timeout=SHUTDOWN_LOCK_TIMEOUT_S)
        if not locked:
            log.warning("%s: lock busy, shutting down without it", self.name)
        try:
            level_command = ":SOUR:CURR 0" if self._source_function == "CURR" else ":SOUR:VOLT 0"
            commands = (":OUTP OFF", *self.shutdown_commands_after_output_off, level_command)
            for command in commands:
                try:
                    self._write(command)
                except Exception as error:  # noqa: BLE001 - shutdown must reach every step
                    log.error("%s: shutdown command %s failed: %s", self.name, command, error)
            self.isShutdown = True
        finally:
            if locked:
                self.lock.release()
