"""Thorlabs instruments of the light path: FW102C/FW212C filter wheels, SC10 shutter controller,
PM100 optical power meter (docs/instruments.md §3, §4.1, §6; the terminal protocol as in
pyLabLib's ``pylablib/devices/Thorlabs/serial.py`` and InstrumentKit's
``src/instruments/thorlabs/sc10.py``, the PM100 SCPI tree as in pymeasure's
``pymeasure/instruments/thorlabs/thorlabspm100usb.py``).

The filter wheels and the SC10 speak a terminal-style serial protocol (CR-terminated commands):
the instrument echoes every command, then sends the reply line of a query, then a prompt that
has **no terminator** (``>`` on the wheels, ``"> "`` on the SC10). On the wire a query reads
``pos?\\r3\\r>`` and a setter ``pos=3\\r>``; an unknown command reads
``foo\\rCommand error CMD_NOT_DEFINED\\r>``. The drivers therefore read every exchange byte by
byte up to the prompt (a line read would wait for a terminator that never comes), check the
echo, and raise on any ``CMD_...``/``error`` line. A wheel sends its prompt only when a move has
finished, so ``pos=n`` blocks for the move; the driver sizes its VISA timeout for the longest
move of the model.

The SC10 ``ens`` command *toggles* the shutter enable. :meth:`SC10.open` and :meth:`SC10.close`
read ``ens?`` first, toggle only when needed, and read ``closed?`` after to confirm the shutter
really moved (an interlock or a non-manual mode leaves it shut); a toggle is never retried
(docs/architecture.md, "Implementation notes").

The PM100 is a SCPI instrument (USB-TMC, LF termination). At start-up the driver reads the
sensor head (``SYST:SENS:IDN?``) and its wavelength range, sets the power unit to W, the
averaging count and the correction wavelength ``SENS:CORR:WAV`` (the head's responsivity curve
needs it), then checks the error queue.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import deque
from typing import Any, ClassVar

from pymeasure.instruments import Instrument
from pymeasure.instruments.generic_types import SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set

from instruments.common import drain_error_queue, locked, visa_timeout
from instruments.light import (
    LightError,
    strict_finite_range,
    strict_integer_range,
)
from instruments.roles import Identified, IrradianceSensor, Shutter
from labctl import clock

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = [
    "FW102C",
    "FW212C",
    "PM100",
    "SC10",
    "FilterWheel",
    "ThorlabsError",
]

#: VISA timeout of an ordinary exchange (query or quick setter), in seconds.
DEFAULT_TIMEOUT_S = 2.0
#: Longest exchange read before the prompt must have come (guards a runaway stream), in bytes.
MAX_EXCHANGE_BYTES = 4096
#: Longest wait for the instrument lock held by another thread, in seconds (longer than the
#: longest exchange, a FW212C half-turn move); after it the call raises instead of hanging.
LOCK_TIMEOUT_S = 15.0

#: Allowance per slot crossed when sizing a wheel-move timeout (slow speed included), in s.
WHEEL_SLOT_ALLOWANCE_S = 1.0
#: Fixed allowance of a wheel-move timeout, in seconds.
WHEEL_MOVE_ALLOWANCE_S = 3.0

#: Time an SH05/SH1 shutter takes to open or close after the toggle, in seconds.
SHUTTER_TRANSIT_S = 0.025

#: Diameter of the S120C/S121C sensor aperture, in millimetres (docs/instruments.md §4.1 ⚠).
PM100_APERTURE_DIAMETER_MM = 9.5
#: Time per averaged sample of the PM100, in seconds (docs/instruments.md §4.1).
PM100_SAMPLE_TIME_S = 3e-3
#: Sensor capability flags of ``SYST:SENS:IDN?`` (pymeasure's
#: ``pymeasure/instruments/thorlabs/thorlabspm100usb.py``).
SENSOR_FLAG_POWER = 1
SENSOR_FLAG_WAVELENGTH_SETTABLE = 32


class ThorlabsError(LightError):
    """A Thorlabs instrument replied with an error or an unexpected exchange."""


def _is_error_line(line: str) -> bool:
    """True for an error line of the terminal protocol (pyLabLib checks ``CMD_``/``Error``)."""
    return "CMD_" in line or "error" in line.lower()


class _TerminalInstrument(Instrument):
    """Base of the echo + reply + prompt serial instruments (FW102C/FW212C, SC10).

    :meth:`write` sends a command and reads the whole exchange up to the prompt, so the
    instrument is ready for the next command when it returns; the reply lines of a query are
    kept for :meth:`read`. pymeasure's ``control``/``measurement`` properties work unchanged on
    top of this (``ask`` = ``write`` + ``read``).
    """

    #: The prompt that ends every exchange (no terminator follows it).
    prompt: ClassVar[bytes] = b">"
    #: Factory baud rate.
    default_baud_rate: ClassVar[int] = 115200

    def __init__(self, adapter: Any, name: str, **kwargs: Any) -> None:
        kwargs.setdefault("read_termination", "\r")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("timeout", round(DEFAULT_TIMEOUT_S * 1000))
        asrl = dict(kwargs.pop("asrl", None) or {})
        asrl.setdefault("baud_rate", self.default_baud_rate)
        super().__init__(adapter, name, includeSCPI=False, asrl=asrl, **kwargs)
        self.lock = threading.RLock()
        self._replies: deque[str] = deque()

    #: The exchange (echo, reply lines, prompt read byte by byte) is ``write``: a station's
    #: guard (labctl.guard) names its failures and retries a query's exchange once.
    guarded_exchange: ClassVar[str] = "write"
    #: Errors of a spoiled exchange (a wrong echo, no prompt, an error line).
    exchange_errors: ClassVar[tuple[type[Exception], ...]] = (ThorlabsError,)

    def _locked(self):
        """Context manager holding :attr:`lock`, waiting at most :data:`LOCK_TIMEOUT_S`.

        :raises ThorlabsError: another thread held the lock for longer.
        """
        return locked(self.lock, LOCK_TIMEOUT_S, self.name, ThorlabsError)

    # --- the exchange ---------------------------------------------------------------------
    def _read_exchange(self) -> list[str]:
        """Read bytes up to the prompt; return the lines before it (echo first)."""
        prompt = self.prompt
        buffer = bytearray()
        while True:
            chunk = self.read_bytes(1)
            if not chunk:
                raise ThorlabsError(
                    f"{self.name}: no data before the prompt (got {bytes(buffer)!r})"
                )
            buffer += chunk
            if buffer.endswith(prompt):
                start = len(buffer) - len(prompt)
                if not buffer[:start].strip():
                    # A prompt left over from an earlier exchange: every exchange starts
                    # with the echo, so drop it.
                    buffer.clear()
                    continue
                if buffer[start - 1 : start] in (b"\r", b"\n"):
                    break
            if len(buffer) > MAX_EXCHANGE_BYTES:
                raise ThorlabsError(f"{self.name}: no prompt after {len(buffer)} bytes")
        text = bytes(buffer[: -len(prompt)]).decode("ascii", errors="replace")
        lines = [line.strip() for line in re.split(r"[\r\n]+", text)]
        return [line for line in lines if line]

    def write(self, command: str, **kwargs: Any) -> None:
        """Send ``command``, read its echo, reply lines and prompt.

        :raises ThorlabsError: the echo does not match, or the instrument replied with an error.
        """
        with self._locked():
            self._replies.clear()
            self.adapter.write(command, **kwargs)
            lines = self._read_exchange()
            echo = lines[0] if lines else ""
            if echo != command.strip():
                raise ThorlabsError(f"{self.name}: sent {command!r}, echo was {lines[:1]!r}")
            replies = lines[1:]
            errors = [line for line in replies if _is_error_line(line)]
            if errors:
                raise ThorlabsError(f"{self.name}: {command!r} -> {'; '.join(errors)}")
            self._replies.extend(replies)

    def read(self, **kwargs: Any) -> str:
        """Return the next reply line of the last query.

        :raises ThorlabsError: the last command produced no (further) reply line.
        """
        with self._locked():
            if not self._replies:
                raise ThorlabsError(f"{self.name}: no reply to read")
            return self._replies.popleft()

    def ask(self, command: str, query_delay: float | None = None) -> str:
        """Send a query and return its reply line (echo and prompt consumed)."""
        with self._locked():
            self.write(command)
            return self.read()

    def _command_with_result(self, command: str) -> bool:
        """Send a command that answers ``1`` on success; return whether it succeeded."""
        with self._locked():
            self.write(command)
            replies = list(self._replies)
            self._replies.clear()
        return bool(replies) and replies[-1] == "1"


# ----------------------------------------------------------------------------------------------
# FW102C / FW212C


class FilterWheel(_TerminalInstrument, Identified):
    """Control a Thorlabs FW102C / FW212C motorized filter wheel over its serial port.

    Positions are 1-based (1 … :attr:`slot_count`). Setting :attr:`position` blocks until the
    wheel has finished moving (the prompt comes after the move).

    :param adapter: VISA resource name (e.g. ``"ASRL3::INSTR"``) or pymeasure adapter.
    :param name: Display name.
    :param check_position_count: Read ``pcount?`` at start-up and refuse a wheel whose
        position count is not :attr:`slot_count`.
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``, ``asrl``).

    .. code-block:: python

        wheel = FW102C("ASRL3::INSTR")
        wheel.position = 4
        assert wheel.position == 4
    """

    model: ClassVar[str] = "FW102C"
    slot_count: ClassVar[int] = 6
    prompt: ClassVar[bytes] = b">"
    default_baud_rate: ClassVar[int] = 115200

    def __init__(
        self,
        adapter: Any,
        name: str | None = None,
        *,
        check_position_count: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(adapter, name or f"Thorlabs {self.model} filter wheel", **kwargs)
        if check_position_count:
            count = self.position_count
            if count != self.slot_count:
                raise ThorlabsError(
                    f"{self.name}: the wheel reports {count} positions, a {self.model} has "
                    f"{self.slot_count} (set it with pcount={self.slot_count} on the wheel)"
                )

    @property
    def identity(self) -> str:
        """Get the identification string (str; ``*idn?``, the last word is the firmware
        version)."""
        return self.ask("*idn?").strip()

    position_count = Instrument.measurement(
        "pcount?",
        """Get the number of positions the wheel is configured for (int, 6 or 12).""",
        cast=int,
    )

    speed_high = Instrument.control(
        "speed?",
        "speed=%d",
        """Control whether the wheel moves at high speed (bool; False = slow).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    trigger_mode = Instrument.control(
        "trig?",
        "trig=%d",
        """Control the trigger connector (str, strictly 'input': an active-low pulse advances
        one position, or 'output': an active-high pulse on each move).""",
        validator=strict_discrete_set,
        values={"input": 0, "output": 1},
        map_values=True,
        cast=int,
    )

    # ⚠ docs/instruments.md §3 lists ``sensors=0|1`` but no ``sensors?`` query (the other settings
    # have one); unverified on a real wheel.
    sensors_on_when_idle = Instrument.control(
        "sensors?",
        "sensors=%d",
        """Control whether the position sensors stay on when the wheel is idle (bool; False
        switches them off, no stray light).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    @property
    def position(self) -> int:
        """Control the wheel position (int, strictly 1 to :attr:`slot_count`); setting it
        waits until the move has finished."""
        return int(self.ask("pos?"))

    @position.setter
    def position(self, value: int) -> None:
        self.set_position(value)

    def move_timeout_s(self) -> float:
        """Get the VISA timeout for a move: the longest move of the model (half a turn, the
        wheel takes the shorter way) at :data:`WHEEL_SLOT_ALLOWANCE_S` per slot, plus
        :data:`WHEEL_MOVE_ALLOWANCE_S` (6 s on a FW102C)."""
        return WHEEL_MOVE_ALLOWANCE_S + (self.slot_count // 2) * WHEEL_SLOT_ALLOWANCE_S

    def set_position(self, position: int) -> None:
        """Move the wheel to ``position`` (int, strictly 1 to :attr:`slot_count`) and wait
        for the move to finish.

        :raises ValueError: before anything is sent, for a position out of range.
        :raises ThorlabsError: the wheel answered with an error.
        """
        position = strict_integer_range(position, (1, self.slot_count))
        with self._locked(), visa_timeout(self, self.move_timeout_s()):
            self.write(f"pos={position}")

    def store_settings(self) -> None:
        """Store the present settings as the power-up defaults (``save``)."""
        self.write("save")

    def shutdown(self) -> None:
        """Leave the wheel where it is (nothing to make safe)."""
        self.isShutdown = True


class FW102C(FilterWheel):
    """Control a Thorlabs FW102C six-position filter wheel (6 × Ø1″ slots)."""

    model: ClassVar[str] = "FW102C"
    slot_count: ClassVar[int] = 6


class FW212C(FilterWheel):
    """Control a Thorlabs FW212C twelve-position filter wheel (12 × Ø½″ slots)."""

    model: ClassVar[str] = "FW212C"
    slot_count: ClassVar[int] = 12


# ----------------------------------------------------------------------------------------------
# SC10


SC10_MODES = {"manual": 1, "auto": 2, "single": 3, "repeat": 4, "external_gate": 5}


class SC10(_TerminalInstrument, Shutter):
    """Control a Thorlabs SC10 shutter controller (SH05/SH1 shutters) over its serial port.

    With ``manual_mode`` (the default) the driver reads ``mode?`` at start-up and sets
    ``mode=1`` if needed: in manual mode ``ens`` opens and closes the shutter.

    :param adapter: VISA resource name (e.g. ``"ASRL2::INSTR"``) or pymeasure adapter.
    :param name: Display name.
    :param manual_mode: Put the controller in manual mode at start-up.
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``, ``asrl``).

    .. code-block:: python

        shutter = SC10("ASRL2::INSTR")
        shutter.open()
        ...
        shutter.close()
    """

    prompt: ClassVar[bytes] = b"> "
    default_baud_rate: ClassVar[int] = 9600

    def __init__(
        self,
        adapter: Any,
        name: str = "Thorlabs SC10 shutter controller",
        *,
        manual_mode: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(adapter, name, **kwargs)
        if manual_mode and self.mode != "manual":
            self.mode = "manual"

    @property
    def identity(self) -> str:
        """Get the identification string (str; ``id?``)."""
        return self.ask("id?").strip()

    enabled = Instrument.measurement(
        "ens?",
        """Get whether the shutter is enabled (bool; in manual mode: open).""",
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    closed = Instrument.measurement(
        "closed?",
        """Get whether the shutter is closed (bool).""",
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    interlock_tripped = Instrument.measurement(
        "interlock?",
        """Get whether the interlock is tripped (bool; the shutter cannot open).""",
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    mode = Instrument.control(
        "mode?",
        "mode=%d",
        """Control the operating mode (str, strictly 'manual', 'auto', 'single', 'repeat' or
        'external_gate').""",
        validator=strict_discrete_set,
        values=SC10_MODES,
        map_values=True,
        cast=int,
    )

    # ⚠ docs/instruments.md §6 lists ``trig=``, ``xto=``, ``open=``, ``shut=`` and ``rep=`` as
    # setters only; their ``?`` query forms (used by the getters below) are unverified.
    trigger_external = Instrument.control(
        "trig?",
        "trig=%d",
        """Control whether the controller is triggered externally (bool; False = internal).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    trigger_out_follows_controller = Instrument.control(
        "xto?",
        "xto=%d",
        """Control the trigger output (bool; False = it follows the shutter, True = the
        controller).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
        cast=int,
    )

    open_time_ms = Instrument.control(
        "open?",
        "open=%d",
        """Control the open time of the timed modes in milliseconds (int, strictly 0 to
        999999).""",
        validator=strict_integer_range,
        values=(0, 999_999),
        cast=int,
    )

    shut_time_ms = Instrument.control(
        "shut?",
        "shut=%d",
        """Control the shut time of the timed modes in milliseconds (int, strictly 0 to
        999999).""",
        validator=strict_integer_range,
        values=(0, 999_999),
        cast=int,
    )

    repeat_count = Instrument.control(
        "rep?",
        "rep=%d",
        """Control the repeat count of the repeat mode (int, strictly 1 to 99).""",
        validator=strict_integer_range,
        values=(1, 99),
        cast=int,
    )

    @property
    def is_open(self) -> bool:
        """Get whether the shutter is open (bool, from ``closed?``)."""
        return not self.closed

    def _toggle_to(self, want_enabled: bool) -> None:
        with self._locked():
            if self.enabled == want_enabled:
                if self.closed == want_enabled:
                    state = "closed" if want_enabled else "open"
                    raise ThorlabsError(
                        f"{self.name}: the shutter reads {state} although it is "
                        f"{'enabled' if want_enabled else 'disabled'} (stuck?)")
                return
            self.write("ens")  # a toggle: sent once, never retried
            if self.closed == want_enabled:
                action = "open" if want_enabled else "close"
                raise ThorlabsError(
                    f"{self.name}: the shutter did not {action} after 'ens' "
                    "(interlock tripped or not in manual mode?)"
                )
            clock.sleep(SHUTTER_TRANSIT_S)

    def open(self) -> None:
        """Open the shutter: read ``ens?``, toggle with ``ens`` only if it is not enabled,
        confirm with ``closed?``, then wait for the blades to move.

        :raises ThorlabsError: the shutter did not open.
        """
        self._toggle_to(True)

    def close(self) -> None:
        """Close the shutter: read ``ens?``, toggle with ``ens`` only if it is enabled,
        confirm with ``closed?``, then wait for the blades to move.

        :raises ThorlabsError: the shutter did not close.
        """
        self._toggle_to(False)

    def save_parameters(self) -> bool:
        """Store the present parameters (``savp``); return True on success."""
        return self._command_with_result("savp")

    def restore_parameters(self) -> bool:
        """Load the stored parameters (``resp``); return True on success."""
        return self._command_with_result("resp")

    def restore_defaults(self) -> bool:
        """Restore the factory defaults (``default``); return True on success."""
        return self._command_with_result("default")

    def store_settings(self) -> None:
        """Store the present mode settings as power-up defaults (``save``)."""
        # ⚠ docs/instruments.md §6 says savp/resp/default reply ``1``; the reply of ``save`` is not
        # given, so any reply line (or none) is accepted.
        self._command_with_result("save")

    def shutdown(self) -> None:
        """Close the shutter (the safe state at the end of a run)."""
        try:
            self.close()
        finally:
            self.isShutdown = True


# ----------------------------------------------------------------------------------------------
# PM100


class PM100(SCPIMixin, Instrument, IrradianceSensor):
    """Control a Thorlabs PM100 optical power meter (PM100D/PM100USB/PM100A) with a Si
    photodiode head (S120C/S121C).

    At start-up: ``SYST:SENS:IDN?`` (refuses "no sensor" and heads that are not power
    sensors), ``SENS:CORR:WAV? MIN`` / ``MAX`` (the head's wavelength range),
    ``SENS:POW:UNIT W``, ``SENS:AVER:COUN <n>``, ``SENS:CORR:WAV <nm>``, ``SYST:ERR?``.

    :param adapter: VISA resource name (e.g. ``"USB0::0x1313::0x8078::P0012345::INSTR"``) or
        pymeasure adapter.
    :param name: Display name.
    :param wavelength_nm: Correction wavelength set at start-up, in nm (must be inside the
        head's range).
    :param averaging_count: Samples averaged per reading (int, 1 to 10000; ≈ 3 ms each).
    :param aperture_diameter_mm: Diameter of the head's aperture, for :meth:`irradiance_mw_cm2`.
    :param kwargs: Passed to the VISA adapter.
    """

    def __init__(
        self,
        adapter: Any,
        name: str = "Thorlabs PM100 power meter",
        *,
        wavelength_nm: float = 520.0,
        averaging_count: int = 1,
        aperture_diameter_mm: float = PM100_APERTURE_DIAMETER_MM,
        **kwargs: Any,
    ) -> None:
        strict_finite_range(wavelength_nm, (100.0, 25_000.0))
        averaging_count = strict_integer_range(averaging_count, (1, 10_000))
        aperture_diameter_mm = strict_finite_range(aperture_diameter_mm, (0.1, 100.0))
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", round(DEFAULT_TIMEOUT_S * 1000))
        super().__init__(adapter, name, **kwargs)
        self.lock = threading.RLock()
        #: Aperture area of the head, in cm².
        self.aperture_area_cm2 = math.pi * (aperture_diameter_mm / 20.0) ** 2
        self._averaging_count = averaging_count
        with self.lock:
            self.sensor = self._read_sensor()
            self.wavelength_range_nm = (
                float(self.ask("SENS:CORR:WAV? MIN")),
                float(self.ask("SENS:CORR:WAV? MAX")),
            )
            self.write("SENS:POW:UNIT W")
            self.write(f"SENS:AVER:COUN {averaging_count}")
            self.wavelength_nm = wavelength_nm
            self.raise_for_errors()

    def _read_sensor(self) -> dict[str, Any]:
        reply = self.ask("SYST:SENS:IDN?").strip()
        if reply.lower().startswith("no sensor"):
            raise ThorlabsError(f"{self.name}: no sensor head connected")
        fields = [f.strip().strip('"') for f in reply.split(",")]
        if len(fields) < 6:
            raise ThorlabsError(f"{self.name}: unexpected sensor identification {reply!r}")
        try:
            flags = int(fields[5])
        except ValueError:
            raise ThorlabsError(f"{self.name}: unexpected sensor flags in {reply!r}") from None
        if not flags & SENSOR_FLAG_POWER:
            raise ThorlabsError(f"{self.name}: head {fields[0]} is not a power sensor")
        return {
            "name": fields[0],
            "serial": fields[1],
            "calibration": fields[2],
            "type": fields[3],
            "subtype": fields[4],
            "flags": flags,
        }

    def raise_for_errors(self) -> None:
        """Read ``SYST:ERR?`` until the queue is empty; raise :class:`ThorlabsError` listing
        the errors found (at most 32 are read)."""
        with self.lock:
            drain_error_queue(self.ask, "SYST:ERR?", self.name, ThorlabsError)

    @property
    def wavelength_nm(self) -> float:
        """Control the correction wavelength in nm (float, strictly inside the head's range
        ``wavelength_range_nm``)."""
        return float(self.ask("SENS:CORR:WAV?"))

    @wavelength_nm.setter
    def wavelength_nm(self, value: float) -> None:
        if not self.sensor["flags"] & SENSOR_FLAG_WAVELENGTH_SETTABLE:
            raise ValueError(f"{self.name}: the {self.sensor['name']} head has no settable "
                             "wavelength")
        value = strict_finite_range(value, self.wavelength_range_nm)
        self.write(f"SENS:CORR:WAV {value:g}")

    @property
    def averaging_count(self) -> int:
        """Control the number of samples averaged per reading (int, strictly 1 to 10000;
        ≈ 3 ms per sample)."""
        # ⚠ docs/instruments.md §4.1 gives the setting ``SENS:AVER:COUN <n>``; the query form and
        # the 1-10000 range of this driver are not in it (unverified).
        count = int(float(self.ask("SENS:AVER:COUN?")))
        self._averaging_count = count
        return count

    @averaging_count.setter
    def averaging_count(self, value: int) -> None:
        value = strict_integer_range(value, (1, 10_000))
        self.write(f"SENS:AVER:COUN {value}")
        self._averaging_count = value

    def _reading_timeout_s(self) -> float:
        return DEFAULT_TIMEOUT_S + 1.5 * self._averaging_count * PM100_SAMPLE_TIME_S

    @property
    def power_w(self) -> float:
        """Measure the optical power in watts (float; ``MEAS:POW?``)."""
        with self.lock, visa_timeout(self, self._reading_timeout_s()):
            return float(self.ask("MEAS:POW?"))

    @property
    def current_a(self) -> float:
        """Measure the photocurrent of the head in amperes (float; ``MEAS:CURR?``)."""
        with self.lock, visa_timeout(self, self._reading_timeout_s()):
            return float(self.ask("MEAS:CURR?"))

    @property
    def responsivity_a_per_w(self) -> float:
        """Get the head's responsivity at the correction wavelength in A/W (float)."""
        return float(self.ask("SENS:CORR:POW:PDIO:RESP?"))

    @property
    def identity(self) -> str:
        """Get the meter's ``*IDN?`` and the head read at start-up (str)."""
        head = f"{self.sensor['name']} head (serial {self.sensor['serial']})"
        return f"{self.ask('*IDN?').strip()} with {head}"

    def irradiance_mw_cm2(self) -> float:
        """Measure the irradiance on the aperture in mW/cm² (power / aperture area; assumes
        the beam fills the aperture uniformly)."""
        return self.power_w * 1e3 / self.aperture_area_cm2

    def calibration_description(self) -> str:
        """Get the constants of the reading (str): the head's responsivity at the correction
        wavelength (queried), the aperture area and the correction wavelength (queried)."""
        return (f"responsivity_a_per_w={self.responsivity_a_per_w}, "
                f"aperture_area_cm2={self.aperture_area_cm2}, "
                f"wavelength_nm={self.wavelength_nm}")

    def zero(self) -> None:
        """Start the dark-zero adjustment (``SENS:CORR:COLL:ZERO:INIT``; cover the head)."""
        self.write("SENS:CORR:COLL:ZERO:INIT")

    def shutdown(self) -> None:
        """Nothing to make safe on a power meter."""
        self.isShutdown = True
