"""Emulators of the Newport/Oriel 69907 and 69920 arc-lamp power supplies
(docs/instruments.md §5, docs/simulation.md §5).

RS-232, CR-terminated, no echo, no prompt. The byte streams::

    IDN?\\r        -> 69907\\r
    STB?\\r        -> STB21\\r          (lamp off, power mode, interlock closed)
    ESR?\\r        -> ESR80\\r          (power-on bit; reading clears the register)
    START\\r       -> ESR00\\r          (every setter answers ESR<2 hex>, then clears it)
    P-PRESET=0600\\r -> ESR10\\r        (execution error: above the limit / the model)
    FOO\\r         -> ESR20\\r          (command error: anything the supply does not know ⚠)

docs/instruments.md §5 says every *setter* answers ``ESR<hex>``; that an unknown command or query
also answers ``ESR20`` is an assumption ⚠, as are the 69907's 500 W / 25 A maxima, the factory
presets and the lamp voltage below.

Status byte: b7 lamp lit, b5 power mode, b2 front panel locked (``COMM=1``), b1 output at a
limit, b0 interlock closed (always, in simulation). Event register: b7 power on, b5 command
error, b4 execution error. Rules: a preset must stay below its limit, and ``MODE`` changes
only with the lamp off (execution error otherwise); ``RST`` restores the factory presets and
limits without touching the lamp and keeps the supply busy for 5 s.

Light: the supply drives a :class:`labctl.sim.physics.ArcLamp` built from
``simulation.light`` (``relative_start``, ``warmup_tau_s``, ``drift_pct_per_h``); ``START``
ignites it after 5 s, then it warms up exponentially; ``STOP`` puts it out. The station's light
source (the first lamp supply or LED in station order) becomes ``bench.light.source``; its
output is the lamp's (warm-up, drift) times the electrical power the presets give relative to
the factory setting (150 W on a 69907 in power mode), so a calibration can set 1 sun by the
power preset.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from labctl.sim.physics import ArcLamp
from labctl.sim.scpi import ScpiDevice

# Status byte bits.
STB_LAMP_ON = 0x80
STB_POWER_MODE = 0x20
STB_FAULT = 0x08
STB_COMM = 0x04
STB_LIMIT = 0x02
STB_INTERLOCK_OK = 0x01
# Event status register bits.
ESR_POWER_ON = 0x80
ESR_COMMAND_ERROR = 0x20
ESR_EXECUTION_ERROR = 0x10

#: Time from START to light [s] (docs/instruments.md §5: wait 5-6 s after START).
IGNITION_S = 5.0
#: Time the supply is busy after RST [s].
RESET_BUSY_S = 5.0
#: Warm-up time constant used when the station asks for none (ArcLamp needs one > 0) [s].
INSTANT_WARMUP_TAU_S = 1e-9

_AMPS = re.compile(r"\d{1,2}(\.\d)?")
_WATTS = re.compile(r"\d{1,4}")


class _ExecutionError(Exception):
    """A well-formed setter the supply cannot carry out."""


class Newport69907Emulator(ScpiDevice):
    """A Newport/Oriel 69907 arc-lamp supply (50-500 W) on the simulated bench."""

    terminators: tuple[bytes, ...] = (b"\r",)
    reply_terminator: bytes = b"\r"

    model: ClassVar[str] = "69907"
    max_power_w: ClassVar[int] = 500
    max_current_a: ClassVar[float] = 25.0
    #: Voltage of the burning lamp [V] (a 150 W Xe lamp runs near 18 V).
    lamp_voltage_v: ClassVar[float] = 18.0
    #: Factory presets and limits.
    factory: ClassVar[dict[str, float]] = {
        "power_preset_w": 150, "power_limit_w": 200,
        "current_preset_a": 8.5, "current_limit_a": 12.0,
    }
    #: Hours on the lamp at power-on in simulation.
    initial_lamp_hours: ClassVar[float] = 120.0

    # --- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Power-on state: lamp off, factory settings, power-on bit in the event register."""
        light = self.bench.station.simulation.light
        tau_s = light.warmup_tau_s if light.warmup_tau_s > 0 else INSTANT_WARMUP_TAU_S
        self.lamp = ArcLamp(
            relative_start=light.relative_start if light.warmup_tau_s > 0 else 1.0,
            warmup_tau_s=tau_s,
            ignition_s=IGNITION_S,
            drift_pct_per_h=light.drift_pct_per_h,
        )
        self.lamp.power_scale = self.output_scale
        self.event_register = ESR_POWER_ON
        self.settings = dict(self.factory)
        self.power_mode = True
        self.front_panel_locked = False
        self.burn_hours = 0.0
        self._burn_since_s: float | None = None
        if self._coupled():
            self.bench.light_changing()
            self.bench.light.source = self.lamp

    def _coupled(self) -> bool:
        """Only the station's light source lights the devices under test."""
        return self.bench.station.light_source() == self.name

    def persistent_state(self) -> dict[str, Any]:
        """What the supply keeps while no computer talks to it: the lamp on or off and since
        when (bench clock [s]), and the hours burnt so far."""
        return {"lamp": self.lamp.state_dict(), "burn_hours": self.burn_hours,
                "burn_since_s": self._burn_since_s}

    def restore_persistent_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`persistent_state` (the bench clock already at the saved time)."""
        try:
            self.lamp.load_state(state["lamp"])
            self.burn_hours = float(state["burn_hours"])
            since_s = state["burn_since_s"]
            self._burn_since_s = None if since_s is None else float(since_s)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: not a lamp-supply state: {exc}") from None

    def _lit(self) -> bool:
        return self.lamp.is_ignited(self.now_s())

    def lamp_hours(self) -> float:
        hours = self.initial_lamp_hours + self.burn_hours
        if self._burn_since_s is not None and self.lamp.is_on(self.now_s()):
            hours += (self.now_s() - self._burn_since_s) / 3600.0
        return hours

    def output(self) -> tuple[float, float, float, bool]:
        """(amps, volts, watts, at a limit) of the supply now."""
        if not self._lit():
            return 0.0, 0.0, 0.0, False
        volts = self.lamp_voltage_v
        s = self.settings
        if self.power_mode:
            watts = min(s["power_preset_w"], s["power_limit_w"], s["current_limit_a"] * volts)
            amps = watts / volts
            limited = watts < s["power_preset_w"]
        else:
            amps = min(s["current_preset_a"], s["current_limit_a"], s["power_limit_w"] / volts)
            watts = amps * volts
            limited = amps < s["current_preset_a"]
        return amps, volts, watts, limited

    family_faults: tuple[str, ...] = ("lamp_fault",)

    def on_fault(self, kind: str) -> None:
        """``lamp_fault``: the lamp goes out at once (an arc that extinguished)."""
        if kind == "lamp_fault":
            self._extinguish(self.now_s())

    def _extinguish(self, now_s: float) -> None:
        if self.lamp.is_on(now_s):
            if self._coupled():
                self.bench.light_changing()
            self.burn_hours = self.lamp_hours() - self.initial_lamp_hours
            self._burn_since_s = None
            self.lamp.stop(now_s)

    def status_byte(self) -> int:
        stb = STB_INTERLOCK_OK
        if self.fault == "lamp_fault":
            self.spend_fault()  # once: the fault bit is reported once, then START may relight
            return stb | STB_FAULT | (STB_POWER_MODE if self.power_mode else 0)
        if self._lit():
            stb |= STB_LAMP_ON
            if self.output()[3]:
                stb |= STB_LIMIT
        if self.power_mode:
            stb |= STB_POWER_MODE
        if self.front_panel_locked:
            stb |= STB_COMM
        return stb

    def _report_esr(self) -> str:
        reply = f"ESR{self.event_register:02X}"
        self.event_register = 0
        return reply

    # --- messages -------------------------------------------------------------------------
    def _match(self, query: bytes) -> bytes:
        text = query.decode("ascii", errors="replace").strip()
        self.traffic.append(text)
        if self.fault == "error_reply":  # refused: the event register says so, and only that
            self.spend_fault()
            self.event_register |= ESR_EXECUTION_ERROR
            return self._report_esr().encode("ascii")
        reply = self._query(text) if text.endswith("?") else None
        if reply is None:
            try:
                if not self._setter(text):
                    self.unhandled.append(text)
                    self.event_register |= ESR_COMMAND_ERROR
            except _ExecutionError:
                self.event_register |= ESR_EXECUTION_ERROR
            reply = self._report_esr()
        return reply.encode("ascii")

    def _query(self, text: str) -> str | None:
        s = self.settings
        if text == "IDN?":
            return self.model
        if text == "STB?":
            return f"STB{self.status_byte():02X}"
        if text == "ESR?":
            return self._report_esr()
        amps, volts, watts, _ = self.output()
        replies = {
            "AMPS?": f"{amps:.1f}",
            "VOLTS?": f"{volts:.1f}",
            "WATTS?": f"{round(watts):d}",
            "LAMP HRS?": f"{int(self.lamp_hours()):d}",
            "A-PRESET?": f"{s['current_preset_a']:.1f}",
            "P-PRESET?": f"{int(s['power_preset_w']):04d}",
            "A-LIM?": f"{s['current_limit_a']:.1f}",
            "P-LIM?": f"{int(s['power_limit_w']):04d}",
        }
        return replies.get(text)

    def _setter(self, text: str) -> bool:
        """Carry out a setter; False if the supply does not know it."""
        now_s = self.now_s()
        if text == "START":
            if self.fault == "lamp_fault":
                raise _ExecutionError  # the supply will not ignite while it reports a fault
            if not self.lamp.is_on(now_s):
                if self._coupled():
                    self.bench.light_changing()
                self.lamp.start(now_s)
                self._burn_since_s = now_s
            return True
        if text == "STOP":
            self._extinguish(now_s)
            return True
        if text == "RST":
            self.bench.light_changing()
            self.settings = dict(self.factory)
            self.power_mode = True
            self.front_panel_locked = False
            self.occupy(RESET_BUSY_S)
            return True
        name, equals, argument = text.partition("=")
        if not equals:
            return False
        if name in ("A-PRESET", "A-LIM"):
            if not _AMPS.fullmatch(argument):
                return False
            self._set_amps(name, float(argument))
            return True
        if name in ("P-PRESET", "P-LIM"):
            if not _WATTS.fullmatch(argument):
                return False
            self._set_watts(name, int(argument))
            return True
        if name == "MODE" and argument in ("0", "1"):
            if self.lamp.is_on(now_s):
                raise _ExecutionError
            self.power_mode = argument == "0"
            return True
        if name == "COMM" and argument in ("0", "1"):
            self.front_panel_locked = argument == "1"
            return True
        return False

    def output_scale(self) -> float:
        """Light relative to the factory setting: the electrical power the present presets
        and limits give over the factory power (an arc lamp's output follows its power)."""
        volts = self.lamp_voltage_v
        s, f = self.settings, self.factory
        if self.power_mode:
            watts = min(s["power_preset_w"], s["power_limit_w"], s["current_limit_a"] * volts)
            return watts / f["power_preset_w"]
        amps = min(s["current_preset_a"], s["current_limit_a"], s["power_limit_w"] / volts)
        return amps / f["current_preset_a"]

    def _set_amps(self, name: str, value: float) -> None:
        if value > self.max_current_a:
            raise _ExecutionError
        preset = value if name == "A-PRESET" else self.settings["current_preset_a"]
        limit = value if name == "A-LIM" else self.settings["current_limit_a"]
        if not preset < limit:
            raise _ExecutionError
        self.bench.light_changing()
        self.settings["current_preset_a"], self.settings["current_limit_a"] = preset, limit

    def _set_watts(self, name: str, value: int) -> None:
        if value > self.max_power_w:
            raise _ExecutionError
        preset = value if name == "P-PRESET" else self.settings["power_preset_w"]
        limit = value if name == "P-LIM" else self.settings["power_limit_w"]
        if not preset < limit:
            raise _ExecutionError
        self.bench.light_changing()
        self.settings["power_preset_w"], self.settings["power_limit_w"] = preset, limit


class Newport69920Emulator(Newport69907Emulator):
    """A Newport/Oriel 69920 arc-lamp supply (up to 1000 W) on the simulated bench."""

    model: ClassVar[str] = "69920"
    max_power_w: ClassVar[int] = 1000
    max_current_a: ClassVar[float] = 50.0
    lamp_voltage_v: ClassVar[float] = 23.0
    factory: ClassVar[dict[str, float]] = {
        "power_preset_w": 800, "power_limit_w": 1000,
        "current_preset_a": 35.0, "current_limit_a": 45.0,
    }


__all__ = ["Newport69907Emulator", "Newport69920Emulator"]
