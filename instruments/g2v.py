"""G2V Pico LED solar simulator: JSON over a TCP socket (docs/instruments.md §7; the API of
G2V's own client, g2v-optics/G2VPico ``g2vpico/MainClass.py``).

Resource ``TCPIP0::<host>::50000::SOCKET``. One JSON object per message and **no terminator**
either way: the driver sends ``{"command": "api", "pico_id": "<16 chars>", "cmd": "<name>",
...}`` (serialised like G2V's own client, ``json.dumps`` defaults) and reads the reply byte by
byte until its braces balance (outside strings), since no terminator marks its end. Every reply
echoes ``"cmd"``; a reply carrying ``"error"`` (``Pico ID invalid``, ``Command type invalid``,
``Pico is not Variable``, ``Pico API not enabled``) raises :class:`PicoError`, as does a setter
whose ``"result"`` is not true.

At start-up the driver asks ``get_channel_count`` (which also proves the Pico ID).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, ClassVar

from pymeasure.instruments import Instrument

from instruments.common import locked
from instruments.light import LightError, strict_finite_range
from instruments.roles import LightSource

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["G2VPico", "PicoError"]

#: VISA timeout of one request, in seconds.
DEFAULT_TIMEOUT_S = 2.0
#: Longest reply accepted, in bytes (G2V's client reads at most 1024).
MAX_REPLY_BYTES = 65536
#: Length of a Pico ID.
PICO_ID_LENGTH = 16
#: Longest wait for the instrument lock held by another thread, in seconds; after it the
#: request raises instead of hanging (so ``shutdown()`` cannot block for ever).
LOCK_TIMEOUT_S = 10.0


class PicoError(LightError):
    """The Pico answered with an error, refused a setting, or sent a malformed reply."""


class G2VPico(Instrument, LightSource):
    """Control a G2V Pico LED solar simulator as a labctl light source.

    The global intensity scales every channel: 100 % is the nominal irradiance of the unit's
    spectrum. The LED is stable at once, so :meth:`turn_on` has nothing to wait for.

    :param adapter: VISA resource name (``"TCPIP0::10.0.0.5::50000::SOCKET"``) or pymeasure
        adapter.
    :param pico_id: The unit's 16-character Pico ID.
    :param name: Display name.
    :param kwargs: Passed to the VISA adapter (``visa_library``, ``timeout``).

    .. code-block:: python

        led = G2VPico("TCPIP0::10.0.0.5::50000::SOCKET", pico_id="0123456789ABCDEF")
        led.set_global_intensity(50.0)
        led.turn_on()
        led.shutdown()           # fixture off
    """

    has_programmable_intensity: ClassVar[bool] = True
    #: An LED: switched off per measurement where needed, and by :meth:`shutdown`.
    is_arc_lamp: ClassVar[bool] = False

    def __init__(
        self,
        adapter: Any,
        pico_id: str,
        name: str = "G2V Pico LED",
        **kwargs: Any,
    ) -> None:
        if not isinstance(pico_id, str) or len(pico_id) != PICO_ID_LENGTH:
            raise ValueError(f"pico_id must be the {PICO_ID_LENGTH}-character Pico ID, "
                             f"got {pico_id!r}")
        kwargs.setdefault("read_termination", "")
        kwargs.setdefault("write_termination", "")
        kwargs.setdefault("timeout", round(DEFAULT_TIMEOUT_S * 1000))
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.lock = threading.RLock()
        self.pico_id = pico_id
        #: Number of LED channels (read at start-up).
        self.channel_count = int(self._request("get_channel_count")["channel_count"])

    # --- the exchange ---------------------------------------------------------------------
    def _read_json(self) -> dict[str, Any]:
        """Read one JSON object byte by byte until its braces balance."""
        buffer = bytearray()
        depth = 0
        in_string = False
        escaped = False
        while True:
            chunk = self.read_bytes(1)
            if not chunk:
                raise PicoError(f"{self.name}: reply ended early ({bytes(buffer)!r})")
            char = chunk[:1]
            if not buffer and char.isspace():
                continue
            if not buffer and char != b"{":
                raise PicoError(f"{self.name}: reply does not start with '{{' ({chunk!r})")
            buffer += chunk
            if in_string:
                if escaped:
                    escaped = False
                elif char == b"\\":
                    escaped = True
                elif char == b'"':
                    in_string = False
            elif char == b'"':
                in_string = True
            elif char == b"{":
                depth += 1
            elif char == b"}":
                depth -= 1
                if depth == 0:
                    break
            if len(buffer) > MAX_REPLY_BYTES:
                raise PicoError(f"{self.name}: reply longer than {MAX_REPLY_BYTES} bytes")
        try:
            reply = json.loads(buffer.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PicoError(f"{self.name}: malformed reply {bytes(buffer)!r}") from exc
        if not isinstance(reply, dict):
            raise PicoError(f"{self.name}: reply is not a JSON object: {reply!r}")
        return reply

    def _request(self, cmd: str, **params: Any) -> dict[str, Any]:
        """Send one API request and return the checked reply.

        :raises PicoError: the reply carries ``"error"`` or answers another command, or the
            lock stayed busy for :data:`LOCK_TIMEOUT_S`.
        """
        message = {"command": "api", "pico_id": self.pico_id, "cmd": cmd, **params}
        with locked(self.lock, LOCK_TIMEOUT_S, self.name, PicoError):
            self.write(json.dumps(message))
            reply = self._read_json()
        if "error" in reply:
            raise PicoError(f"{self.name}: {cmd}: {reply['error']}")
        if reply.get("cmd") != cmd:
            raise PicoError(f"{self.name}: asked {cmd!r}, the reply is for {reply.get('cmd')!r}")
        return reply

    def _set(self, cmd: str, **params: Any) -> None:
        reply = self._request(cmd, **params)
        if reply.get("result") is not True:
            raise PicoError(f"{self.name}: {cmd} {params} was refused ({reply})")

    # --- API ------------------------------------------------------------------------------
    def get_global_intensity(self) -> float:
        """Get the global intensity in percent (float, 0 to 100)."""
        return float(self._request("get_global_intensity")["global_intensity"])

    def set_global_intensity(self, intensity_pct: float) -> None:
        """Set the global intensity in percent (float, strictly 0 to 100); takes effect at once.

        :raises ValueError: before anything is sent, for a value out of range.
        :raises PicoError: the Pico refused it.
        """
        value = strict_finite_range(intensity_pct, (0.0, 100.0))
        self._set("set_global_intensity", global_intensity=value)

    def get_fixture_on(self) -> bool:
        """Get whether the LED fixture is on (bool)."""
        value = self._request("get_fixture_on")["fixture_on"]
        if not isinstance(value, bool):
            raise PicoError(f"{self.name}: fixture_on is {value!r}, not a bool")
        return value

    def set_fixture_on(self, on: bool) -> None:
        """Switch the LED fixture on or off (bool; the channel values are kept).

        :raises ValueError: before anything is sent, for a non-bool.
        """
        if not isinstance(on, bool):
            raise ValueError(f"{on!r} is not a bool")
        self._set("set_fixture_on", fixture_on=on)

    # --- LightSource ----------------------------------------------------------------------
    @property
    def identity(self) -> str:
        """Get the unit's description (str: the Pico ID and the channel count read at
        start-up; the API has no identification query)."""
        return f"G2V Pico {self.pico_id} ({self.channel_count} LED channels)"

    @property
    def is_on(self) -> bool:
        """Get whether the LED fixture is on (bool)."""
        return self.get_fixture_on()

    def turn_on(self, wait: bool = True) -> None:
        """Switch the fixture on (the LED is stable at once; ``wait`` has nothing to wait for)."""
        self.set_fixture_on(True)

    def turn_off(self) -> None:
        """Switch the fixture off."""
        self.set_fixture_on(False)

    def set_relative_intensity(self, fraction: float) -> None:
        """Set the output relative to the nominal (float, strictly 0 to 1; 1 = 100 % global
        intensity)."""
        value = strict_finite_range(fraction, (0.0, 1.0))
        self.set_global_intensity(round(value * 100.0, 9))

    def shutdown(self) -> None:
        """Switch the fixture off (an LED needs no warm-up, so off is the safe state)."""
        try:
            self.set_fixture_on(False)
        finally:
            self.isShutdown = True
