"""Emulators of the Thorlabs light-path instruments: FW102C/FW212C filter wheels, SC10 shutter
controller, PM100 power meter (docs/instruments.md §3, §4.1, §6; docs/simulation.md §5).

Filter wheels and the SC10 are not SCPI: they are terminal-style serial devices that execute a
command on CR, **echo** it, send the reply line of a query, then a prompt without terminator.
The emulators reproduce the byte stream exactly, as one output buffer per command, which is
what the wire carries::

    FW102C   pos?\\r          -> pos?\\r3\\r>
             pos=4\\r         -> pos=4\\r>                  (the prompt after the move)
             foo\\r           -> foo\\rCommand error CMD_NOT_DEFINED\\r>
             pos=9\\r         -> pos=9\\rCommand error CMD_ARG_INVALID\\r>
    SC10     ens?\\r          -> ens?\\r0\\r>\\x20
             ens\\r           -> ens\\r>\\x20
             savp\\r          -> savp\\r1\\r>\\x20

Commands are case-sensitive, lower case as documented. Time: a wheel move takes 0.5 s per slot
crossed at high speed and 1 s per slot at slow speed, the shorter way round; the instrument is
busy until the move ends, so the prompt (and anything after) comes then. An SC10 toggle takes
20 ms. The light path is updated at the command: the new wheel slot / shutter state is in the
beam from that moment (``bench.light_changing()`` first, so the device models integrate up to
it).

The PM100 is a SCPI instrument (USB-TMC, LF): its ``MEAS:POW?`` is the irradiance at the device
under test times the aperture area (Ø 9.5 mm), in W; averaging takes 3 ms per sample.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, ClassVar

from labctl.sim.scpi import (
    DATA_STALE,
    MISSING_PARAMETER,
    ScpiDevice,
    command,
    error,
    nr3,
    parse_bool,
    parse_choice,
    parse_number,
)

#: Reply line of an unknown command (docs/instruments.md §3; pyLabLib's
#: ``pylablib/devices/Thorlabs/serial.py`` checks for ``CMD_``).
CMD_NOT_DEFINED = "Command error CMD_NOT_DEFINED"
#: Reply line of a known command with a bad argument (⚠ wording by analogy).
CMD_ARG_INVALID = "Command error CMD_ARG_INVALID"

#: Wheel move time per slot crossed at high / slow speed [s] (docs/simulation.md §5 ⚠:
#: "about half a second per slot"; docs/instruments.md §3 suggests ~1 s per step at high speed ⚠ --
#: the two unverified figures disagree; to be tuned on hardware).
WHEEL_SECONDS_PER_SLOT_HIGH = 0.5
WHEEL_SECONDS_PER_SLOT_SLOW = 1.0
#: SC10 shutter open/close time [s].
SHUTTER_TRANSIT_S = 0.02


class _ArgumentInvalid(Exception):
    """A known terminal command with an argument the instrument refuses."""


def _int_argument(text: str, allowed: range) -> int:
    if not re.fullmatch(r"\d+", text):
        raise _ArgumentInvalid(text)
    value = int(text)
    if value not in allowed:
        raise _ArgumentInvalid(text)
    return value


def shorter_way_slots(start: int, end: int, slots: int) -> int:
    """Slots crossed from position ``start`` to ``end`` going the shorter way round."""
    forward = (end - start) % slots
    return min(forward, slots - forward)


#: Queries (``name?`` -> reply), setters (``name`` -> handler of the argument) and actions
#: (``name`` -> optional reply line) of a terminal-style instrument.
CommandSet = tuple[
    dict[str, Callable[[], str]],
    dict[str, Callable[[str], None]],
    dict[str, Callable[[], "str | None"]],
]


class _TerminalEmulator(ScpiDevice):
    """Echo + reply + prompt serial device. Subclasses fill ``queries`` (``name?``),
    ``setters`` (``name=value``) and ``actions`` (bare ``name``) in :meth:`commands`."""

    terminators: tuple[bytes, ...] = (b"\r",)
    reply_terminator: bytes = b""
    #: Prompt sent after every exchange, without terminator.
    prompt: ClassVar[bytes] = b">"

    def commands(self) -> CommandSet:
        """``(queries, setters, actions)`` of the instrument, bound to its present state."""
        raise NotImplementedError

    def execute(self, text: str) -> list[str]:
        """Reply lines of one command (without echo and prompt)."""
        queries, setters, actions = self.commands()
        try:
            if text in queries:
                return [queries[text]()]
            if text in actions:
                reply = actions[text]()
                return [] if reply is None else [reply]
            name, equals, argument = text.partition("=")
            if equals and name in setters:
                setters[name](argument.strip())
                return []
        except _ArgumentInvalid:
            return [CMD_ARG_INVALID]
        self.unhandled.append(text)
        return [CMD_NOT_DEFINED]

    def garbage(self) -> bytes:
        """Bytes that parse as nothing, then the prompt (the driver reads up to it)."""
        return b"\xfe\x8f#~\x15\r" + self.prompt

    def _match(self, query: bytes) -> bytes:
        text = query.decode("ascii", errors="replace").strip()
        self.traffic.append(text)
        if self.fault == "error_reply":  # the command is refused with the protocol's error
            self.spend_fault()
            lines = [CMD_NOT_DEFINED]
        else:
            lines = self.execute(text)
        body = b"".join(line.encode("ascii") + b"\r" for line in lines)
        return text.encode("ascii", errors="replace") + b"\r" + body + self.prompt


# ----------------------------------------------------------------------------------------------
# Filter wheels


class FW102CEmulator(_TerminalEmulator):
    """A Thorlabs FW102C on the simulated bench (serial, CR; echo and ``>`` prompt).

    Its slot in the beam sets a transmission 10^-OD (the station's ``true_od`` list where
    given, else its nominal ``od``) that the bench multiplies into the irradiance; position 1
    at power-on.
    """

    default_position_count: ClassVar[int] = 6
    identity_text: ClassVar[str] = "THORLABS FW102C/FW212C Filter Wheel version 1.07"

    def reset(self) -> None:
        """Power-on state: position 1, high speed, trigger input, sensors off when idle."""
        self.position_count = self.default_position_count
        self.high_speed = True
        self.trigger_output = False
        self.sensors_on = False
        self.baud_115200 = True
        # the slot's real OD (``true_od``, simulation) attenuates; ``od`` is only nominal
        true_od = self.config.get("true_od") or self.config.get("od")
        self.od = [float(x) for x in true_od or [0.0] * self.position_count]
        self.bench.light_changing()
        self.position = 1
        attenuators = self.bench.light.attenuators
        if self.transmission not in attenuators:
            attenuators.append(self.transmission)

    def persistent_state(self) -> dict[str, Any]:
        """What the wheel keeps while no computer talks to it: its position (and count)."""
        return {"position": self.position, "position_count": self.position_count}

    def restore_persistent_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`persistent_state`."""
        try:
            count, position = int(state["position_count"]), int(state["position"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: not a filter-wheel state: {exc}") from None
        if count not in (6, 12) or not 1 <= position <= count:
            raise ValueError(f"{self.name}: not a filter-wheel state: position {position} "
                             f"of {count}")
        self.position_count, self.position = count, position

    def transmission(self) -> float:
        """Transmission of the slot in the beam (10^-OD; an unlisted slot is open)."""
        index = self.position - 1
        od = self.od[index] if 0 <= index < len(self.od) else 0.0
        return 10.0 ** (-od)

    def move_duration_s(self, start: int, end: int) -> float:
        """Time of a move from ``start`` to ``end`` at the present speed [s]."""
        per_slot_s = WHEEL_SECONDS_PER_SLOT_HIGH if self.high_speed else WHEEL_SECONDS_PER_SLOT_SLOW
        return shorter_way_slots(start, end, self.position_count) * per_slot_s

    # --- commands ---------------------------------------------------------------------------
    def commands(self) -> CommandSet:
        queries = {
            "*idn?": lambda: self.identity_text,
            "pos?": lambda: str(self.position),
            "pcount?": lambda: str(self.position_count),
            "speed?": lambda: str(int(self.high_speed)),
            "trig?": lambda: str(int(self.trigger_output)),
            "sensors?": lambda: str(int(self.sensors_on)),  # ⚠ not in docs/instruments.md §3
            "baud?": lambda: str(int(self.baud_115200)),
        }
        setters = {
            "pos": self._set_position,
            "pcount": self._set_position_count,
            "speed": lambda a: setattr(self, "high_speed", bool(_int_argument(a, range(2)))),
            "trig": lambda a: setattr(self, "trigger_output", bool(_int_argument(a, range(2)))),
            "sensors": lambda a: setattr(self, "sensors_on", bool(_int_argument(a, range(2)))),
            "baud": lambda a: setattr(self, "baud_115200", bool(_int_argument(a, range(2)))),
        }
        actions: dict[str, Callable[[], str | None]] = {"save": lambda: None}
        return queries, setters, actions

    family_faults: tuple[str, ...] = ("wheel_stuck",)

    def _set_position(self, argument: str) -> None:
        target = _int_argument(argument, range(1, self.position_count + 1))
        duration_s = self.move_duration_s(self.position, target)
        if self.fault == "wheel_stuck" and target != self.position:
            self.spend_fault()  # the motor stalls: the wheel stays, its position with it
            self.occupy(duration_s)
            return
        if target != self.position:
            self.bench.light_changing()
            self.position = target
        self.occupy(duration_s)

    def _set_position_count(self, argument: str) -> None:
        count = int(_int_argument(argument, range(6, 13)))
        if count not in (6, 12):
            raise _ArgumentInvalid(argument)
        self.position_count = count
        if self.position > count:
            self.bench.light_changing()
            self.position = 1


class FW212CEmulator(FW102CEmulator):
    """A Thorlabs FW212C (twelve positions) on the simulated bench."""

    default_position_count: ClassVar[int] = 12


# ----------------------------------------------------------------------------------------------
# SC10


_SC10_HELP = (
    "id? ens ens? mode= mode? trig= trig? xto= xto? open= open? shut= shut? rep= rep? "
    "closed? interlock? baud= baud? save savp resp default"
)


class SC10Emulator(_TerminalEmulator):
    """A Thorlabs SC10 shutter controller on the simulated bench (serial, CR; echo and ``"> "``
    prompt). ``ens`` toggles the enable; in manual mode (``mode=1``) the shutter follows it.
    In the other modes the simulated shutter stays closed (no timed cycles, no gate input ⚠).
    The shutter is closed at power-on.

    The prompt is the two bytes ``>`` and space (0x3E 0x20), with no terminator after it. The
    SC10 manual's command table (Thorlabs SC10 manual, "Keywords (Commands and Queries)", p. 15
    of the manualslib copy) gives the commands, lower case only, and says a wrong keyword or
    argument returns an error string, but not the prompt bytes; these come from two drivers
    written against the hardware: Micro-Manager's SC10 adapter
    (``DeviceAdapters/ThorlabsSC10/SC10.cpp``) reads each answer up to ``>`` and then finds a
    space before the next echo, and InstrumentKit's SC10 driver and its protocol tests use
    ``"> "``. ⚠ To be checked once on a real SC10.
    """

    prompt: ClassVar[bytes] = b"> "
    identity_text: ClassVar[str] = "THORLABS SC10 VERSION 1.07"
    _FACTORY = {"mode": 1, "trigger_external": False, "trigger_out_controller": False,
                "open_ms": 10, "shut_ms": 10, "repeat": 1}

    def reset(self) -> None:
        """Power-on state: manual mode, disabled, shutter closed."""
        self.enabled = False
        self.interlock_tripped = False
        self.baud_115200 = False
        self.params = dict(self._FACTORY)
        self.saved_params = dict(self._FACTORY)
        self.shutter_open = False
        if self._coupled():
            self.bench.light_changing()
            self.bench.light.shutter_open = False

    def persistent_state(self) -> dict[str, Any]:
        """What the controller keeps while no computer talks to it: enabled or not, the
        shutter open or closed, its parameters."""
        return {"enabled": self.enabled, "shutter_open": self.shutter_open,
                "params": dict(self.params), "saved_params": dict(self.saved_params)}

    def restore_persistent_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`persistent_state`."""
        try:
            enabled, shutter_open = bool(state["enabled"]), bool(state["shutter_open"])
            params = {key: state["params"][key] for key in self._FACTORY}
            saved = {key: state["saved_params"][key] for key in self._FACTORY}
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: not a shutter-controller state: {exc}") from None
        self.enabled, self.shutter_open = enabled, shutter_open
        self.params, self.saved_params = params, saved
        if self._coupled():
            self.bench.light.shutter_open = shutter_open

    def _coupled(self) -> bool:
        """Only the station's shutter (the first SC10) is in the beam."""
        return self.bench.station.shutter() == self.name

    family_faults: tuple[str, ...] = ("shutter_stuck",)

    def _update_shutter(self) -> None:
        want_open = self.enabled and self.params["mode"] == 1 and not self.interlock_tripped
        if want_open == self.shutter_open:
            return
        if self.fault == "shutter_stuck":
            self.spend_fault()  # the blades do not move; closed? tells where they are
            return
        if self._coupled():
            self.bench.light_changing()
            self.bench.light.shutter_open = want_open
        self.shutter_open = want_open
        self.occupy(SHUTTER_TRANSIT_S)

    # --- commands ---------------------------------------------------------------------------
    def commands(self) -> CommandSet:
        p = self.params
        # ⚠ docs/instruments.md §6 gives trig=, xto=, open=, shut=, rep=, baud= as setters only;
        # their ``?`` forms, the ``?`` help text and the ``1`` after ``save`` are not in it.
        queries = {
            "id?": lambda: self.identity_text,
            "ens?": lambda: str(int(self.enabled)),
            "mode?": lambda: str(p["mode"]),
            "trig?": lambda: str(int(p["trigger_external"])),
            "xto?": lambda: str(int(p["trigger_out_controller"])),
            "open?": lambda: str(p["open_ms"]),
            "shut?": lambda: str(p["shut_ms"]),
            "rep?": lambda: str(p["repeat"]),
            "closed?": lambda: str(int(not self.shutter_open)),
            "interlock?": lambda: str(int(self.interlock_tripped)),
            "baud?": lambda: str(int(self.baud_115200)),
            "?": lambda: _SC10_HELP,
        }
        setters = {
            "mode": lambda a: self._set_param("mode", _int_argument(a, range(1, 6))),
            "trig": lambda a: self._set_param("trigger_external", bool(_int_argument(a, range(2)))),
            "xto": lambda a: self._set_param(
                "trigger_out_controller", bool(_int_argument(a, range(2)))
            ),
            "open": lambda a: self._set_param("open_ms", self._milliseconds(a)),
            "shut": lambda a: self._set_param("shut_ms", self._milliseconds(a)),
            "rep": lambda a: self._set_param("repeat", _int_argument(a, range(1, 100))),
            "baud": lambda a: setattr(self, "baud_115200", bool(_int_argument(a, range(2)))),
        }
        actions: dict[str, Callable[[], str | None]] = {
            "ens": self._toggle,
            "save": lambda: "1",
            "savp": self._save_params,
            "resp": self._restore_params,
            "default": self._factory_defaults,
        }
        return queries, setters, actions

    @staticmethod
    def _milliseconds(argument: str) -> int:
        if not re.fullmatch(r"\d{1,6}", argument):
            raise _ArgumentInvalid(argument)
        return int(argument)

    def _set_param(self, key: str, value: Any) -> None:
        self.params[key] = value
        self._update_shutter()

    def _toggle(self) -> None:
        self.enabled = not self.enabled
        self._update_shutter()
        return None

    def _save_params(self) -> str:
        self.saved_params = dict(self.params)
        return "1"

    def _restore_params(self) -> str:
        self.params.update(self.saved_params)
        self._update_shutter()
        return "1"

    def _factory_defaults(self) -> str:
        self.params.update(self._FACTORY)
        self._update_shutter()
        return "1"


# ----------------------------------------------------------------------------------------------
# PM100


#: Sensor aperture diameter of the S120C/S121C heads [mm] (docs/instruments.md §4.1 ⚠).
PM100_APERTURE_DIAMETER_MM = 9.5
#: Averaging time per sample [s].
PM100_SAMPLE_TIME_S = 3e-3
#: Full scales of the photodiode current ranges [A] (PM100D specification: 50 nA to 5 mA in
#: decades ⚠ -- from the data sheet, not the manual's command reference).
PM100_CURRENT_RANGES_A = (5e-8, 5e-7, 5e-6, 5e-5, 5e-4, 5e-3)
#: Time of a dark zero adjustment [s] ⚠.
PM100_ZERO_TIME_S = 1.0
#: Settable beam diameters [mm] ⚠ (the limits of ``CORR:BEAM MIN|MAX`` are not in the manual
#: pages at hand).
PM100_BEAM_DIAMETER_RANGE_MM = (0.01, 100.0)
#: Bits of a 16-bit SCPI status register that can be set (bit 15 is always 0).
STATUS_ALL_BITS = 32767
#: Wavelength range of a Si head [nm].
SI_HEAD_RANGE_NM = (400.0, 1100.0)
#: Peak responsivity of a Si head and its wavelength [A/W], [nm] (an approximate Si curve).
SI_PEAK_RESPONSIVITY_A_PER_W = 0.62
SI_PEAK_WAVELENGTH_NM = 960.0


def _required(args: list[str]) -> str:
    """The parameter of a setter, or -109 Missing parameter when none was sent."""
    if not args or not args[0].strip():
        raise error(MISSING_PARAMETER)
    return args[0]


def _full_scale(text: str, ranges: tuple[float, ...]) -> float:
    """The smallest range whose full scale holds ``text`` (MIN/MAX: the ends), -222 above."""
    value = parse_number(text, minimum=0.0, maximum=ranges[-1])
    return next(r for r in ranges if r >= value * (1 - 1e-9))


def si_responsivity_a_per_w(wavelength_nm: float) -> float:
    """Approximate responsivity of a Si photodiode head [A/W]: linear rise to the peak at
    960 nm (quantum efficiency ~0.8), linear fall to the band gap at 1100 nm."""
    peak_nm = SI_PEAK_WAVELENGTH_NM
    if wavelength_nm <= peak_nm:
        return SI_PEAK_RESPONSIVITY_A_PER_W * wavelength_nm / peak_nm
    high_nm = SI_HEAD_RANGE_NM[1]
    return max(0.01, SI_PEAK_RESPONSIVITY_A_PER_W * (high_nm - wavelength_nm) / (high_nm - peak_nm))


class PM100Emulator(ScpiDevice):
    """A Thorlabs PM100D with an S121C Si head at the device plane (USB-TMC, LF).

    Sources of the command set: ``SYST:SENS:IDN?`` fields and flag bits, PM100D operation
    manual (Thorlabs 17654-D02) §6.4, p. 49; the SENSe tree (``CORRection:COLLect:ZERO
    [:INITiate]|:ABORt|:STATe?|:MAGNitude?``, ``CORRection:BEAMdiameter {MIN|MAX|DEF|<mm>}`` and
    its query with an optional MIN|MAX|DEF, ``CURRent[:DC]:RANGe {MIN|MAX|<A>}``), PM400
    operation manual (Thorlabs, 2017) §5.5.1, p. 42-43, which gives the SCPI set as shared
    with the PM100A/D/USB; the ``STATus`` registers (``:OPERation|:QUEStionable`` with
    ``[:EVENt]?``, ``:CONDition?``, ``:ENABle``, ``:PTRansition``, ``:NTRansition``, and
    ``STATus:PRESet``) as SCPI-1999 Vol. 2 defines the STATus subsystem. An unknown header
    gives no reply and -113; a setter without its value -109 (SCPI-1999 Vol. 2, error list).
    ⚠ Not confirmed on hardware: the meanings of the operation condition bits (always 0
    here), the unit of ``ZERO:MAGN?``, the beam-diameter limits, ``MEAS:FREQ?`` on CW light.
    """

    sensor_idn = "S121C,19010101,11-Mar-2019,1,18,289"
    aperture_area_cm2 = math.pi * (PM100_APERTURE_DIAMETER_MM / 20.0) ** 2

    def identity(self) -> str:
        return "Thorlabs,PM100D,P0012345,2.7.0"

    def reset(self) -> None:
        self.wavelength_nm = float(self.config.get("wavelength_nm") or 633.0)
        if not SI_HEAD_RANGE_NM[0] <= self.wavelength_nm <= SI_HEAD_RANGE_NM[1]:
            self.wavelength_nm = 633.0
        self.averaging_count = 1
        self.unit = "W"
        self.configured = "POW"
        self.auto_range = True
        self.range_w = 0.5
        self.bandwidth_low = True
        self.fetched: float | None = None
        self.current_auto_range = True
        self.current_range_a = PM100_CURRENT_RANGES_A[-1]
        self.zero_a = 0.0
        self.beam_diameter_mm = PM100_APERTURE_DIAMETER_MM
        self.status_preset()

    def status_preset(self) -> None:
        """STAT:PRES: every PTR filter all ones, NTR and ENAB zero, events cleared (the
        SCPI-1999 STATus subsystem; power-on state)."""
        self.status = {group: {"EVEN": 0, "COND": 0, "ENAB": 0, "PTR": STATUS_ALL_BITS, "NTR": 0}
                       for group in ("OPER", "QUES")}

    # --- physics --------------------------------------------------------------------------
    def optical_power_w(self) -> float:
        """Power on the aperture now [W]: irradiance at the device × aperture area."""
        return self.bench.irradiance_mw_cm2() * self.aperture_area_cm2 * 1e-3

    def photocurrent_a(self) -> float:
        """Photocurrent of the head now [A] (before the dark zero is subtracted)."""
        return self.optical_power_w() * si_responsivity_a_per_w(self.wavelength_nm)

    def _measure(self, what: str) -> str:
        self.occupy(self.averaging_count * PM100_SAMPLE_TIME_S)
        current_a = self.photocurrent_a() - self.zero_a
        if what == "CURR":
            return nr3(current_a)
        power_w = current_a / si_responsivity_a_per_w(self.wavelength_nm)
        if what == "PDEN":  # W/cm2 over the beam area
            return nr3(power_w / (math.pi * (self.beam_diameter_mm / 20.0) ** 2))
        if self.unit == "DBM":
            return nr3(10.0 * math.log10(max(power_w, 1e-13) / 1e-3))
        return nr3(power_w)

    # --- commands -------------------------------------------------------------------------
    @command("SYSTem:SENSor:IDN", query=True)
    def _sensor_idn(self, args: list[str]) -> str:
        return self.sensor_idn

    @command("[SENSe]:CORRection:WAVelength", query=True)
    def _wavelength_query(self, args: list[str]) -> str:
        if args:
            choice = parse_choice(args[0], {"MIN": "MIN", "MINIMUM": "MIN", "MAX": "MAX",
                                            "MAXIMUM": "MAX"})
            return nr3(SI_HEAD_RANGE_NM[0] if choice == "MIN" else SI_HEAD_RANGE_NM[1])
        return nr3(self.wavelength_nm)

    @command("[SENSe]:CORRection:WAVelength")
    def _wavelength(self, args: list[str]) -> None:
        if not args:
            raise error(MISSING_PARAMETER)
        low, high = SI_HEAD_RANGE_NM
        self.wavelength_nm = parse_number(args[0], minimum=low, maximum=high)

    @command("MEASure[:SCALar]:POWer", query=True)
    def _measure_power(self, args: list[str]) -> str:
        self.configured = "POW"
        return self._measure("POW")

    @command("MEASure[:SCALar]:CURRent", query=True)
    def _measure_current(self, args: list[str]) -> str:
        self.configured = "CURR"
        return self._measure("CURR")

    @command("CONFigure[:SCALar]:POWer")
    def _configure_power(self, args: list[str]) -> None:
        self.configured = "POW"

    @command("CONFigure[:SCALar]:CURRent")
    def _configure_current(self, args: list[str]) -> None:
        self.configured = "CURR"

    @command("CONFigure", query=True)
    def _configure_query(self, args: list[str]) -> str:
        return self.configured

    @command("READ", query=True)
    def _read(self, args: list[str]) -> str:
        return self._measure(self.configured)

    @command("INITiate[:IMMediate]")
    def _initiate(self, args: list[str]) -> None:
        self.fetched = float(self._measure(self.configured))

    @command("FETCh", query=True)
    def _fetch(self, args: list[str]) -> str:
        if self.fetched is None:
            raise error(DATA_STALE)  # ⚠ the error of FETC? before INIT is not in §4.1
        return nr3(self.fetched)

    @command("ABORt")
    def _abort(self, args: list[str]) -> None:
        self.fetched = None

    @command("[SENSe]:AVERage[:COUNt]")
    def _average(self, args: list[str]) -> None:
        # ⚠ the 1-10000 range is not in docs/instruments.md §4.1. No value: -109 (SCPI-1999
        # Vol. 1 §21.8.9 "Missing parameter"), as for every setter below.
        self.averaging_count = int(parse_number(_required(args), minimum=1, maximum=10000))

    @command("[SENSe]:AVERage[:COUNt]", query=True)
    def _average_query(self, args: list[str]) -> str:
        return str(self.averaging_count)

    @command("[SENSe]:POWer[:DC]:RANGe:AUTO")
    def _range_auto(self, args: list[str]) -> None:
        self.auto_range = parse_bool(_required(args))

    @command("[SENSe]:POWer[:DC]:RANGe:AUTO", query=True)
    def _range_auto_query(self, args: list[str]) -> str:
        return str(int(self.auto_range))

    @command("[SENSe]:POWer[:DC]:RANGe[:UPPer]")
    def _range(self, args: list[str]) -> None:
        self.range_w = parse_number(_required(args), minimum=5e-8, maximum=0.5)
        self.auto_range = False

    @command("[SENSe]:POWer[:DC]:RANGe[:UPPer]", query=True)
    def _range_query(self, args: list[str]) -> str:
        return nr3(self.range_w)

    @command("[SENSe]:POWer[:DC]:UNIT")
    def _unit(self, args: list[str]) -> None:
        self.unit = parse_choice(_required(args), {"W": "W", "DBM": "DBM"})

    @command("[SENSe]:POWer[:DC]:UNIT", query=True)
    def _unit_query(self, args: list[str]) -> str:
        return self.unit

    @command("[SENSe]:CORRection:POWer:PDIOde:RESPonse", query=True)
    def _responsivity(self, args: list[str]) -> str:
        return nr3(si_responsivity_a_per_w(self.wavelength_nm))

    @command("[SENSe]:CORRection:COLLect:ZERO[:INITiate]")
    def _zero(self, args: list[str]) -> None:
        # The meter takes the signal at its input as the dark offset (cover the head first).
        self.occupy(PM100_ZERO_TIME_S)
        self.zero_a = self.photocurrent_a()

    @command("[SENSe]:CORRection:COLLect:ZERO:ABORt")
    def _zero_abort(self, args: list[str]) -> None:
        return None

    @command("[SENSe]:CORRection:COLLect:ZERO:STATe", query=True)
    def _zero_state(self, args: list[str]) -> str:
        return str(int(self.busy_until_s > self.now_s()))

    @command("[SENSe]:CORRection:COLLect:ZERO:MAGNitude", query=True)
    def _zero_magnitude(self, args: list[str]) -> str:
        return nr3(self.zero_a)  # ⚠ in A for a photodiode head (unit not in the manual pages)

    @command("[SENSe]:CORRection:BEAMdiameter")
    def _beam(self, args: list[str]) -> None:
        low, high = PM100_BEAM_DIAMETER_RANGE_MM
        self.beam_diameter_mm = parse_number(_required(args), minimum=low, maximum=high,
                                             default=PM100_APERTURE_DIAMETER_MM)

    @command("[SENSe]:CORRection:BEAMdiameter", query=True)
    def _beam_query(self, args: list[str]) -> str:
        if not args:
            return nr3(self.beam_diameter_mm)
        low, high = PM100_BEAM_DIAMETER_RANGE_MM
        return nr3(parse_number(args[0], minimum=low, maximum=high,
                                default=PM100_APERTURE_DIAMETER_MM))

    # --- current range (photodiode input) ---------------------------------------------------
    @command("[SENSe]:CURRent[:DC]:RANGe:AUTO")
    def _current_range_auto(self, args: list[str]) -> None:
        self.current_auto_range = parse_bool(_required(args))

    @command("[SENSe]:CURRent[:DC]:RANGe:AUTO", query=True)
    def _current_range_auto_query(self, args: list[str]) -> str:
        return str(int(self.current_auto_range))

    @command("[SENSe]:CURRent[:DC]:RANGe[:UPPer]")
    def _current_range(self, args: list[str]) -> None:
        self.current_range_a = _full_scale(_required(args), PM100_CURRENT_RANGES_A)
        self.current_auto_range = False

    @command("[SENSe]:CURRent[:DC]:RANGe[:UPPer]", query=True)
    def _current_range_query(self, args: list[str]) -> str:
        """The full scale of the range in use (auto: the one the present signal needs)."""
        if args:
            return nr3(_full_scale(args[0], PM100_CURRENT_RANGES_A))
        if self.current_auto_range:
            needed_a = abs(self.photocurrent_a())
            return nr3(next((r for r in PM100_CURRENT_RANGES_A if r >= needed_a),
                            PM100_CURRENT_RANGES_A[-1]))
        return nr3(self.current_range_a)

    # --- measurements without a physics model --------------------------------------------------
    @command("MEASure[:SCALar]:PDENsity", query=True)
    def _measure_density(self, args: list[str]) -> str:
        return self._measure("PDEN")

    @command("MEASure[:SCALar]:FREQuency", query=True)
    def _measure_frequency(self, args: list[str]) -> str:
        # The simulated light is continuous (no chopper, no flicker): no frequency in the
        # signal. ⚠ the reply of a real PM100D to CW light is not confirmed (0 assumed).
        self.occupy(PM100_SAMPLE_TIME_S)
        return nr3(0.0)

    # --- status registers (SCPI-1999 STATus subsystem) -----------------------------------------
    @command("STATus:OPERation[:EVENt]", query=True)
    def _oper_event(self, args: list[str]) -> str:
        return self._read_event("OPER")

    @command("STATus:QUEStionable[:EVENt]", query=True)
    def _ques_event(self, args: list[str]) -> str:
        return self._read_event("QUES")

    @command("STATus:OPERation:CONDition", query=True)
    def _oper_condition(self, args: list[str]) -> str:
        return str(self.status["OPER"]["COND"])

    @command("STATus:QUEStionable:CONDition", query=True)
    def _ques_condition(self, args: list[str]) -> str:
        return str(self.status["QUES"]["COND"])

    @command("STATus:OPERation:ENABle")
    def _oper_enable(self, args: list[str]) -> None:
        self._set_register("OPER", "ENAB", args)

    @command("STATus:OPERation:ENABle", query=True)
    def _oper_enable_query(self, args: list[str]) -> str:
        return str(self.status["OPER"]["ENAB"])

    @command("STATus:OPERation:PTRansition")
    def _oper_ptr(self, args: list[str]) -> None:
        self._set_register("OPER", "PTR", args)

    @command("STATus:OPERation:PTRansition", query=True)
    def _oper_ptr_query(self, args: list[str]) -> str:
        return str(self.status["OPER"]["PTR"])

    @command("STATus:OPERation:NTRansition")
    def _oper_ntr(self, args: list[str]) -> None:
        self._set_register("OPER", "NTR", args)

    @command("STATus:OPERation:NTRansition", query=True)
    def _oper_ntr_query(self, args: list[str]) -> str:
        return str(self.status["OPER"]["NTR"])

    @command("STATus:QUEStionable:ENABle")
    def _ques_enable(self, args: list[str]) -> None:
        self._set_register("QUES", "ENAB", args)

    @command("STATus:QUEStionable:ENABle", query=True)
    def _ques_enable_query(self, args: list[str]) -> str:
        return str(self.status["QUES"]["ENAB"])

    @command("STATus:PRESet")
    def _status_preset(self, args: list[str]) -> None:
        self.status_preset()

    def _read_event(self, group: str) -> str:
        """An event register reads and clears."""
        value = self.status[group]["EVEN"]
        self.status[group]["EVEN"] = 0
        return str(value)

    def _set_register(self, group: str, register: str, args: list[str]) -> None:
        value = parse_number(_required(args), minimum=0, maximum=65535)
        self.status[group][register] = int(value) & STATUS_ALL_BITS

    @command("INPut:PDIode:FILTer[:LPASs][:STATe]")
    def _bandwidth(self, args: list[str]) -> None:
        self.bandwidth_low = parse_bool(_required(args))

    @command("INPut:PDIode:FILTer[:LPASs][:STATe]", query=True)
    def _bandwidth_query(self, args: list[str]) -> str:
        return str(int(self.bandwidth_low))

    @command("SYSTem:ERRor[:NEXT]", query=True)
    def _error_query(self, args: list[str]) -> str:
        return self.pop_error()


__all__ = [
    "CMD_ARG_INVALID",
    "CMD_NOT_DEFINED",
    "FW102CEmulator",
    "FW212CEmulator",
    "PM100Emulator",
    "SC10Emulator",
    "shorter_way_slots",
    "si_responsivity_a_per_w",
]
