"""Emulator of the G2V Pico LED solar simulator: JSON over TCP port 50000
(docs/instruments.md §7, docs/simulation.md §5).

One JSON object per message and no terminator either way: the emulator cuts the incoming byte
stream into complete objects by brace matching (outside strings) and answers each with one JSON
object, serialised like the unit's Python API (``json.dumps`` defaults), with nothing after it::

    {"command": "api", "pico_id": "0123456789ABCDEF", "cmd": "get_global_intensity"}
        -> {"cmd": "get_global_intensity", "global_intensity": 100.0}
    {"command": "api", "pico_id": "0123456789ABCDEF", "cmd": "set_fixture_on", "fixture_on": true}
        -> {"cmd": "set_fixture_on", "result": true}
    ... "pico_id": "WRONG..." ...      -> {"cmd": "...", "error": "Pico ID invalid"}
    ... "cmd": "dance" ...             -> {"cmd": "dance", "error": "Command type invalid"}

A value the unit cannot take (intensity outside 0-100, a non-bool fixture state, a channel
value above its limit) answers ``"result": false`` ⚠. Malformed JSON gets no reply ⚠.

Light: irradiance = ``simulation.light.irradiance_mw_cm2`` × global intensity / 100 × (sum of
the channel values / their sum at power-on) while the fixture is on, 0 when it is off;
changes are instantaneous. At power-on the fixture is off, the global intensity 100 %.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from labctl.sim.scpi import ScpiDevice

#: Error strings of the Pico API.
PICO_ID_INVALID = "Pico ID invalid"
COMMAND_TYPE_INVALID = "Command type invalid"

#: Highest PWM value of a channel.
CHANNEL_LIMIT = 4096


class _LedOutput:
    """The LED's output relative to nominal, as the bench's light source."""

    def __init__(self, device: PicoEmulator) -> None:
        self.device = device

    def relative_output(self, t_s: float) -> float:
        return self.device.relative_output()


class PicoEmulator(ScpiDevice):
    """A G2V Pico (variable spectrum) on the simulated bench (TCPIP SOCKET, port 50000)."""

    reply_terminator: bytes = b""
    #: Channels and their wavelength ranges [nm].
    channel_ranges_nm: ClassVar[dict[int, tuple[float, float]]] = {
        1: (360.0, 400.0), 2: (400.0, 440.0), 3: (440.0, 480.0), 4: (480.0, 520.0),
        5: (520.0, 560.0), 6: (560.0, 600.0), 7: (600.0, 640.0), 8: (640.0, 700.0),
        9: (700.0, 780.0), 10: (780.0, 880.0), 11: (880.0, 980.0), 12: (980.0, 1100.0),
    }
    #: Channel values of the power-on (AM1.5G-like) spectrum.
    power_on_value: ClassVar[int] = 2048

    def reset(self) -> None:
        """Power-on state: fixture off, global intensity 100 %, the power-on spectrum."""
        self.pico_id = str(self.config.get("pico_id", ""))
        self.fixture_on = False
        self.global_intensity_pct = 100.0
        self.channel_values = {ch: self.power_on_value for ch in self.channel_ranges_nm}
        self._power_on_sum = float(sum(self.channel_values.values()))
        if not hasattr(self, "_output"):
            self._output = _LedOutput(self)
        if self._coupled():
            self.bench.light_changing()
            self.bench.light.source = self._output

    def persistent_state(self) -> dict[str, Any]:
        """What the fixture keeps while no computer talks to it: on or off, its intensity and
        its channel values."""
        return {"fixture_on": self.fixture_on, "global_intensity_pct": self.global_intensity_pct,
                "channel_values": dict(self.channel_values)}

    def restore_persistent_state(self, state: dict[str, Any]) -> None:
        """Take back :meth:`persistent_state`."""
        try:
            fixture_on = bool(state["fixture_on"])
            intensity_pct = float(state["global_intensity_pct"])
            saved = {str(ch): value for ch, value in state["channel_values"].items()}
            values = {ch: float(saved[str(ch)]) for ch in self.channel_values}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: not an LED-fixture state: {exc}") from None
        self.fixture_on, self.global_intensity_pct = fixture_on, intensity_pct
        self.channel_values = values

    def _coupled(self) -> bool:
        """Only the station's light source lights the devices under test."""
        return self.bench.station.light_source() == self.name

    def relative_output(self) -> float:
        """Output relative to nominal now (fraction)."""
        if not self.fixture_on:
            return 0.0
        spectrum = sum(self.channel_values.values()) / self._power_on_sum
        return self.global_intensity_pct / 100.0 * spectrum

    def _light_changing(self) -> None:
        if self._coupled():
            self.bench.light_changing()

    # --- transport ------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Collect bytes; answer every complete JSON object (braces balanced outside strings)."""
        self._input_buffer.extend(data)
        while True:
            end = _object_end(self._input_buffer)
            if end is None:
                return
            message = bytes(self._input_buffer[:end])
            del self._input_buffer[:end]
            self.receive(message)

    def garbage(self) -> bytes:
        """Balanced braces around bytes that are no JSON (the driver's read ends, and fails)."""
        return b"{\xfe\x8f#~}"

    def _match(self, query: bytes) -> bytes | None:
        if self.fault == "error_reply":
            self.spend_fault()
            self.traffic.append(query.decode("utf-8", errors="replace").strip())
            return json.dumps({"cmd": None, "error": COMMAND_TYPE_INVALID}).encode("utf-8")
        return self._handle(query)

    def _handle(self, message: bytes) -> bytes | None:
        text = message.decode("utf-8", errors="replace").strip()
        self.traffic.append(text)
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            self.unhandled.append(text)
            return None
        if not isinstance(request, dict):
            self.unhandled.append(text)
            return None
        reply = self.answer(request)
        return json.dumps(reply).encode("utf-8")

    # --- API ------------------------------------------------------------------------------
    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply object to one request."""
        cmd = request.get("cmd")
        if request.get("command") != "api":
            return {"cmd": cmd, "error": COMMAND_TYPE_INVALID}
        if request.get("pico_id") != self.pico_id:
            return {"cmd": cmd, "error": PICO_ID_INVALID}
        handler = getattr(self, f"_cmd_{cmd}", None) if isinstance(cmd, str) else None
        if handler is None:
            self.unhandled.append(str(cmd))
            return {"cmd": cmd, "error": COMMAND_TYPE_INVALID}
        return {"cmd": cmd, **handler(request)}

    def _channel(self, request: dict[str, Any]) -> int | None:
        channel = request.get("channel")
        if isinstance(channel, str) and channel.isdigit():
            channel = int(channel)
        if isinstance(channel, bool) or not isinstance(channel, int):
            return None
        return channel if channel in self.channel_ranges_nm else None

    def _cmd_get_channel_count(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"channel_count": len(self.channel_ranges_nm)}

    def _cmd_get_channel_list(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"channel_list": [str(ch) for ch in self.channel_ranges_nm]}

    def _cmd_get_channel_value(self, request: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(request)
        if channel is None:  # ⚠ the reply to an unknown channel is not in docs/instruments.md §7
            return {"channel": request.get("channel"), "value": None}
        return {"channel": channel, "value": self.channel_values[channel]}

    def _cmd_set_channel_value(self, request: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(request)
        value = request.get("value")
        if (channel is None or isinstance(value, bool) or not isinstance(value, int)
                or not 0 <= value <= CHANNEL_LIMIT):
            return {"channel": request.get("channel"), "result": False}
        self._light_changing()
        self.channel_values[channel] = value
        return {"channel": channel, "result": True}

    def _cmd_get_channel_limit(self, request: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(request)
        return {"channel": channel, "limit": CHANNEL_LIMIT if channel is not None else None}

    def _cmd_get_channel_range(self, request: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(request)
        if channel is None:
            return {"x_low": None, "x_high": None}
        low, high = self.channel_ranges_nm[channel]
        return {"x_low": low, "x_high": high}

    def _cmd_get_global_intensity(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"global_intensity": self.global_intensity_pct}

    def _cmd_set_global_intensity(self, request: dict[str, Any]) -> dict[str, Any]:
        value = request.get("global_intensity")
        if isinstance(value, bool) or not isinstance(value, int | float):
            return {"result": False}
        if not 0.0 <= float(value) <= 100.0:
            return {"result": False}
        self._light_changing()
        self.global_intensity_pct = float(value)
        return {"result": True}

    def _cmd_get_fixture_on(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"fixture_on": self.fixture_on}

    def _cmd_set_fixture_on(self, request: dict[str, Any]) -> dict[str, Any]:
        value = request.get("fixture_on")
        if not isinstance(value, bool):
            return {"result": False}
        self._light_changing()
        self.fixture_on = value
        return {"result": True}


def _object_end(buffer: bytearray) -> int | None:
    """Index just past the first complete JSON object in ``buffer`` (leading bytes before a
    '{' belong to it and are dropped by the parser), or None if it is not complete yet."""
    depth = 0
    in_string = False
    escaped = False
    started = False
    for index, byte in enumerate(buffer):
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"' and started:
            in_string = True
        elif char == "{":
            depth += 1
            started = True
        elif char == "}" and started:
            depth -= 1
            if depth == 0:
                return index + 1
    return None


__all__ = ["PicoEmulator"]
