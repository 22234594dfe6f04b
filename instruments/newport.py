"""Newport/Oriel 69907 and 69920 arc-lamp power supplies (docs/instruments.md §5; command set
as in lantz-drivers' ``lantz/drivers/newport/newport69907.py`` and RTS2's
``src/sensord/newport-lamp.cpp``).

RS-232, 9600 8N1, commands and replies terminated by CR, no echo. Queries answer with their
value (``STB?`` -> ``STB21``, ``ESR?`` -> ``ESR00``, ``AMPS?`` -> ``8.3``); **every setter**
(``START``, ``STOP``, ``RST``, ``A-PRESET=8.5``, ``P-PRESET=0150``, ``A-LIM=12.0``,
``P-LIM=0200``, ``MODE=0|1``, ``COMM=0|1``) answers ``ESR<2 hex>``, which the driver reads and
checks: a command, execution, device-dependent or query error bit raises :class:`LampError`.

Timing: the supply wants ~50 ms between commands (the driver paces its writes through
:mod:`labctl.clock`); ``RST`` takes ~5 s; after ``START`` the lamp lights within 5–6 s (status
bit 7), ignition is retried -- only after the status byte has been read back showing the lamp
dark -- up to three times; after ``STOP`` the status byte is polled for up to 45 s. A Xe lamp
then needs tens of minutes to stabilise: :meth:`Newport69907.turn_on` with ``wait=True`` waits
``warmup_s`` from ignition on the clock. :meth:`Newport69907.shutdown` does **not** switch the
lamp off (lamps are not cycled per measurement; docs/contracts.md, "Semantics").
"""

from __future__ import annotations

import logging
import math
import re
import threading
from typing import Any, ClassVar

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set

from instruments.common import visa_timeout
from instruments.light import (
    LightError,
    strict_finite_range,
    strict_integer_range,
)
from instruments.roles import LightSource
from labctl import clock

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["LampError", "Newport69907", "Newport69920"]

#: Minimum time between two commands, in seconds.
COMMAND_INTERVAL_S = 0.05
#: VISA timeout of an ordinary exchange, in seconds.
DEFAULT_TIMEOUT_S = 2.0
#: Time the supply needs after ``RST``, in seconds.
RESET_WAIT_S = 5.0
#: Wait after ``START`` before the first status check, in seconds.
IGNITION_WAIT_S = 5.0
#: Longest time from ``START`` to a lit lamp before the attempt counts as failed, in seconds.
IGNITION_TIMEOUT_S = 10.0
#: Ignition attempts before :meth:`Newport69907.turn_on` gives up.
IGNITION_ATTEMPTS = 3
#: Longest time from ``STOP`` until the status byte shows the lamp off, in seconds.
STOP_TIMEOUT_S = 45.0
#: Interval of status polling, in seconds.
STATUS_POLL_S = 0.5
#: Default warm-up from ignition to a stable output, in seconds (30 min: Xe lamps need tens of
#: minutes; with the simulator's 300 s time constant the output is within 0.05 % after it).
DEFAULT_WARMUP_S = 1800.0

# Status byte (STB) bits.
STB_LAMP_ON = 0x80
STB_EXT = 0x40
STB_POWER_MODE = 0x20
STB_CAL_MODE = 0x10
STB_FAULT = 0x08
STB_COMM = 0x04
STB_LIMIT = 0x02
STB_INTERLOCK_OK = 0x01

# Event status register (ESR) bits.
ESR_POWER_ON = 0x80
ESR_USER_REQUEST = 0x40
ESR_COMMAND_ERROR = 0x20
ESR_EXECUTION_ERROR = 0x10
ESR_DEVICE_ERROR = 0x08
ESR_QUERY_ERROR = 0x04
ESR_REQUEST_CONTROL = 0x02
ESR_OPERATION_COMPLETE = 0x01
#: Regulation mode -> MODE argument.
REGULATION_MODES = {"power": 0, "current": 1}
#: ESR bits that mean the last command failed.
ESR_ERROR_BITS = ESR_COMMAND_ERROR | ESR_EXECUTION_ERROR | ESR_DEVICE_ERROR | ESR_QUERY_ERROR
_ESR_NAMES = {
    ESR_COMMAND_ERROR: "command error",
    ESR_EXECUTION_ERROR: "execution error",
    ESR_DEVICE_ERROR: "device-dependent error",
    ESR_QUERY_ERROR: "query error",
}


class LampError(LightError):
    """The lamp supply reported an error, or the lamp did not light or go out."""


def parse_register(reply: str, prefix: str) -> int:
    """Value of a ``STB<hex>`` / ``ESR<hex>`` reply.

    :raises LampError: the reply is not ``prefix`` followed by two hex digits.
    """
    match = re.fullmatch(rf"\s*{prefix}([0-9A-Fa-f]{{1,2}})\s*", reply)
    if match is None:
        raise LampError(f"expected {prefix}<hex>, got {reply!r}")
    return int(match.group(1), 16)


class Newport69907(Instrument, LightSource):
    """Control a Newport/Oriel 69907 arc-lamp power supply (50–500 W) as a labctl light source.

    :param adapter: VISA resource name (e.g. ``"ASRL1::INSTR"``) or pymeasure adapter.
    :param name: Display name.
    :param warmup_s: Time from ignition until the output counts as stable, in seconds.
    :param check_identity: Read ``IDN?`` at start-up and refuse another model.
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``, ``asrl``).

    .. code-block:: python

        lamp = Newport69907("ASRL1::INSTR")
        lamp.turn_on()          # START, wait for ignition, then for the warm-up
        lamp.power_preset_w = 150
        lamp.shutdown()         # leaves the lamp burning
    """

    model: ClassVar[str] = "69907"
    #: An arc lamp: not cycled per measurement, left burning by :meth:`shutdown`.
    is_arc_lamp: ClassVar[bool] = True
    # ⚠ Not in docs/instruments.md §5: the 500 W / 25 A maxima here (1000 W / 50 A on the 69920)
    # bound the validators only; they are not sourced and are unverified on the supplies.
    max_power_w: ClassVar[int] = 500
    max_current_a: ClassVar[float] = 25.0

    def __init__(
        self,
        adapter: Any,
        name: str | None = None,
        *,
        warmup_s: float = DEFAULT_WARMUP_S,
        check_identity: bool = True,
        **kwargs: Any,
    ) -> None:
        self.warmup_s = strict_finite_range(warmup_s, (0.0, 24 * 3600.0))
        kwargs.setdefault("read_termination", "\r")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("timeout", round(DEFAULT_TIMEOUT_S * 1000))
        asrl = dict(kwargs.pop("asrl", None) or {})
        asrl.setdefault("baud_rate", 9600)
        super().__init__(
            adapter, name or f"Newport {self.model} arc-lamp supply", includeSCPI=False,
            asrl=asrl, **kwargs,
        )
        self.lock = threading.RLock()
        self._last_write_s: float | None = None
        #: Clock time at which this driver saw the lamp light (None: unknown or off).
        self.ignited_at_s: float | None = None
        if check_identity:
            identity = self.identity
            if identity.strip() != self.model:
                raise LampError(f"{self.name}: IDN? answered {identity!r}, not {self.model}")

    # --- communication --------------------------------------------------------------------
    def write(self, command: str, **kwargs: Any) -> None:
        """Send ``command``, at least 50 ms after the previous one (through labctl.clock)."""
        with self.lock:
            if self._last_write_s is not None:
                clock.sleep_until(self._last_write_s + COMMAND_INTERVAL_S)
            self.adapter.write(command, **kwargs)
            self._last_write_s = clock.now_s()

    def ask(self, command: str, query_delay: float | None = None) -> str:
        """Send a query and return its reply line."""
        with self.lock:
            self.write(command)
            return self.read()

    def check_set_errors(self) -> list:
        """Read the ``ESR<hex>`` reply of a setter and raise on an error bit.

        :raises LampError: command, execution, device-dependent or query error.
        """
        reply = self.read()
        esr = parse_register(reply, "ESR")
        if esr & ESR_ERROR_BITS:
            names = [text for bit, text in _ESR_NAMES.items() if esr & bit]
            raise LampError(f"{self.name}: {', '.join(names)} ({reply.strip()})")
        return []

    def _command(self, command: str) -> None:
        """Send a setter and check its ``ESR`` reply."""
        with self.lock:
            self.write(command)
            self.check_set_errors()

    # --- queries --------------------------------------------------------------------------
    @property
    def identity(self) -> str:
        """Get the model number (str, e.g. '69907'; ``IDN?``)."""
        return self.ask("IDN?").strip()

    status_byte = Instrument.measurement(
        "STB?",
        """Get the status byte (int; b7 lamp on, b5 power mode, b3 fault, b2 front panel
        locked, b1 limit reached, b0 interlock closed).""",
        cast=str,
        maxsplit=0,
        get_process=lambda reply: parse_register(reply, "STB"),
    )

    event_status = Instrument.measurement(
        "ESR?",
        """Get and clear the event status register (int; b5 command error, b4 execution
        error, b3 device-dependent error, b2 query error, b7 power on).""",
        cast=str,
        maxsplit=0,
        get_process=lambda reply: parse_register(reply, "ESR"),
    )

    current_a = Instrument.measurement(
        "AMPS?", """Measure the lamp current in amperes (float).""",
    )

    voltage_v = Instrument.measurement(
        "VOLTS?", """Measure the lamp voltage in volts (float).""",
    )

    power_w = Instrument.measurement(
        "WATTS?", """Measure the lamp power in watts (int).""", cast=int,
    )

    lamp_hours = Instrument.measurement(
        "LAMP HRS?", """Get the hours run by the present lamp (int).""", cast=int,
    )

    current_preset_a = Instrument.control(
        "A-PRESET?",
        "A-PRESET=%.1f",
        """Control the current preset in amperes (float, strictly 0 to the model's maximum,
        sent with one decimal; must stay below the current limit).""",
        validator=strict_finite_range,
        values=(0.0, 25.0),
        check_set_errors=True,
        dynamic=True,
    )

    current_limit_a = Instrument.control(
        "A-LIM?",
        "A-LIM=%.1f",
        """Control the current limit in amperes (float, strictly 0 to the model's maximum,
        sent with one decimal; must stay above the current preset).""",
        validator=strict_finite_range,
        values=(0.0, 25.0),
        check_set_errors=True,
        dynamic=True,
    )

    power_preset_w = Instrument.control(
        "P-PRESET?",
        "P-PRESET=%04d",
        """Control the power preset in watts (int, strictly 0 to the model's maximum; must
        stay below the power limit).""",
        validator=strict_integer_range,
        values=(0, 500),
        cast=int,
        check_set_errors=True,
        dynamic=True,
    )

    power_limit_w = Instrument.control(
        "P-LIM?",
        "P-LIM=%04d",
        """Control the power limit in watts (int, strictly 0 to the model's maximum; must
        stay above the power preset).""",
        validator=strict_integer_range,
        values=(0, 500),
        cast=int,
        check_set_errors=True,
        dynamic=True,
    )

    # --- status bits ----------------------------------------------------------------------
    @property
    def lamp_on(self) -> bool:
        """Get whether the lamp is lit (bool, status bit 7)."""
        return bool(self.status_byte & STB_LAMP_ON)

    @property
    def fault(self) -> bool:
        """Get whether the supply reports a fault, e.g. an ignition failure (bool, bit 3)."""
        return bool(self.status_byte & STB_FAULT)

    @property
    def limit_reached(self) -> bool:
        """Get whether the output runs at a limit (bool, status bit 1)."""
        return bool(self.status_byte & STB_LIMIT)

    @property
    def interlock_ok(self) -> bool:
        """Get whether the interlock is closed (bool, status bit 0; False = interlock error)."""
        return bool(self.status_byte & STB_INTERLOCK_OK)

    @property
    def regulation_mode(self) -> str:
        """Control the regulation mode (str, strictly 'power' or 'current'; the supply
        refuses a change while the lamp is on)."""
        return "power" if self.status_byte & STB_POWER_MODE else "current"

    @regulation_mode.setter
    def regulation_mode(self, mode: str) -> None:
        # ⚠ ``MODE=0|1`` comes from a 69920 driver whose repository was not resolved
        # (docs/instruments.md §5); unverified on a 69907.
        value = strict_discrete_set(mode, REGULATION_MODES)
        self._command(f"MODE={REGULATION_MODES[value]}")

    @property
    def front_panel_locked(self) -> bool:
        """Control whether the front panel is locked (bool, status bit 2; ``COMM=1|0``)."""
        return bool(self.status_byte & STB_COMM)

    @front_panel_locked.setter
    def front_panel_locked(self, locked: bool) -> None:
        if not isinstance(locked, bool):
            raise ValueError(f"{locked!r} is not a bool")
        # ⚠ ``COMM=1|0``: same unresolved source as ``MODE`` (docs/instruments.md §5).
        self._command(f"COMM={int(locked)}")

    # --- output ---------------------------------------------------------------------------
    #: The output follows the power (or current) preset: :meth:`scale_output`.
    has_adjustable_output: ClassVar[bool] = True

    def scale_output(self, factor: float) -> float:
        """Multiply the preset that regulates the lamp (power in power mode, 1 W steps;
        current in current mode, 0.1 A steps) by about ``factor`` (float, > 0), kept below
        the supply's limit; return the factor applied (new / old preset). An arc lamp's light
        follows its electrical power near the set point (a calibration uses this to set
        1 sun)."""
        if not factor > 0 or not math.isfinite(factor):
            raise ValueError(f"output factor must be a finite number > 0, got {factor!r}")
        with self.lock:
            if self.regulation_mode == "power":
                old_w = int(self.power_preset_w)
                new_w = max(1, min(round(old_w * factor), int(self.power_limit_w) - 1))
                if new_w != old_w:
                    self.power_preset_w = new_w
                return new_w / old_w
            old_a = float(self.current_preset_a)
            new_a = max(0.1, min(round(old_a * factor, 1), float(self.current_limit_a) - 0.1))
            if abs(new_a - old_a) > 1e-9:
                self.current_preset_a = new_a
            return new_a / old_a

    # --- actions --------------------------------------------------------------------------
    def start(self) -> None:
        """Send ``START`` (ignite) and check the reply; does not wait for the lamp."""
        self._command("START")

    def stop(self) -> None:
        """Send ``STOP`` (switch the lamp off) and check the reply; does not wait."""
        self._command("STOP")
        self.ignited_at_s = None

    def reset(self) -> None:
        """Restore the factory defaults (``RST``) and wait the 5 s the supply needs."""
        with self.lock, visa_timeout(self, 2 * RESET_WAIT_S):
            sent_s = clock.now_s()
            self._command("RST")
            clock.sleep_until(sent_s + RESET_WAIT_S)

    # --- LightSource ----------------------------------------------------------------------
    @property
    def is_on(self) -> bool:
        """Get whether the lamp is lit (bool, status bit 7)."""
        return self.lamp_on

    def _ignite(self) -> None:
        for attempt in range(1, IGNITION_ATTEMPTS + 1):
            started_s = clock.now_s()
            self.start()
            clock.sleep(IGNITION_WAIT_S)
            while True:
                status = self.status_byte
                if status & STB_LAMP_ON:
                    self.ignited_at_s = clock.now_s()
                    return
                if status & STB_FAULT or clock.now_s() - started_s >= IGNITION_TIMEOUT_S:
                    break
                clock.sleep(STATUS_POLL_S)
            # Read back: the lamp is dark, so sending START again is a new attempt, not a
            # blind repeat of a command that may have worked.
            log.warning("%s: ignition attempt %d failed (STB%02X)", self.name, attempt, status)
        raise LampError(f"{self.name}: the lamp did not light after {IGNITION_ATTEMPTS} attempts")

    def stable_at_s(self) -> float | None:
        """Get the labctl-clock time [s] when the warm-up ends (None: taken as warm)."""
        if self.ignited_at_s is None:
            return None
        return self.ignited_at_s + self.warmup_s

    def wait_until_stable(self) -> None:
        """Wait (through labctl.clock) until ``warmup_s`` have passed since ignition; return
        at once for a lamp found burning (its ignition time is unknown: taken as warm)."""
        if self.ignited_at_s is not None:
            clock.sleep_until(self.ignited_at_s + self.warmup_s)

    def turn_on(self, wait: bool = True) -> None:
        """Light the lamp if it is dark (``START``, wait for status bit 7, up to three
        attempts); with ``wait`` also wait for the warm-up.

        :raises LampError: the interlock is open, the lamp did not light, or the supply
            reported an error.
        """
        with self.lock:
            status = self.status_byte
            if not status & STB_LAMP_ON:
                if not status & STB_INTERLOCK_OK:
                    raise LampError(f"{self.name}: interlock open (STB{status:02X}); not starting")
                self._ignite()
            if wait:
                self.wait_until_stable()

    def turn_off(self) -> None:
        """Switch the lamp off (``STOP``) and poll the status byte until it reads off.

        :raises LampError: the lamp still reads on after 45 s.
        """
        with self.lock:
            self.stop()
            deadline_s = clock.now_s() + STOP_TIMEOUT_S
            while self.lamp_on:
                if clock.now_s() >= deadline_s:
                    raise LampError(f"{self.name}: the lamp still reads on {STOP_TIMEOUT_S} s "
                                    "after STOP")
                clock.sleep(STATUS_POLL_S)

    def shutdown(self) -> None:
        """Leave the lamp as it is: arc lamps are not cycled per measurement."""
        self.isShutdown = True


class Newport69920(Newport69907):
    """Control a Newport/Oriel 69920 arc-lamp power supply (up to 1000 W) as a labctl light
    source (the 69907 command set; ``MODE`` and ``COMM`` come from a 69920 driver ⚠)."""

    model: ClassVar[str] = "69920"
    max_power_w: ClassVar[int] = 1000
    max_current_a: ClassVar[float] = 50.0

    current_preset_a_values = (0.0, 50.0)
    current_limit_a_values = (0.0, 50.0)
    power_preset_w_values = (0, 1000)
    power_limit_w_values = (0, 1000)
