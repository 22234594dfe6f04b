"""Shared machinery of the simulated instruments: SCPI parsing, error queue, timing.

An emulator is a :class:`pyvisa_sim.devices.Device` whose ``_match`` parses the message as the
instrument's firmware does instead of looking it up in a table:

- headers in long or short form, any case (``:SOURce:VOLTage:LEVel`` = ``:sour:volt``),
  optional nodes (written in brackets in a command pattern) and numeric suffixes
  (``SOUR2``; ``SOUR1`` = ``SOUR``);
- several commands in one message separated by ``;``, a header without a leading colon being
  relative to the previous command's path, and the replies of the queries in one message
  joined by ``;`` (IEEE 488.2 response message), as a real instrument sends them;
- an unknown header gives **no reply** and queues ``-113,"Undefined header"``; a bad
  parameter queues ``-104``/``-224``/``-222`` the way the manuals describe.

Every emulator owns a ``busy_until_s`` time on the bench clock: an operation that takes time
(a reading, a sweep, a wheel move) occupies the instrument, and the VISA library makes a read
wait until the instrument is done (:meth:`labctl.sim.backend.LabsimVisaLibrary.read`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvisa_sim.component import NoResponse
from pyvisa_sim.devices import Device

if TYPE_CHECKING:
    from labctl.sim.bench import Bench

# Interfaces a simulated instrument answers on; the terminator is handled by ScpiDevice.write.
_INTERFACES = ("GPIB INSTR", "USB INSTR", "TCPIP INSTR", "TCPIP SOCKET", "ASRL INSTR", "USB RAW")


class ScpiError(Exception):
    """An error the instrument puts in its error queue (code and message as the manual)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code},{message}")
        self.code = code
        self.message = message


UNDEFINED_HEADER = (-113, "Undefined header")
DATA_TYPE_ERROR = (-104, "Data type error")
MISSING_PARAMETER = (-109, "Missing parameter")
SETTINGS_CONFLICT = (-221, "Settings conflict")
OUT_OF_RANGE = (-222, "Parameter data out of range")
ILLEGAL_VALUE = (-224, "Illegal parameter value")
DATA_STALE = (-230, "Data corrupt or stale")
QUEUE_OVERFLOW = (-350, "Queue overflow")


def error(pair: tuple[int, str]) -> ScpiError:
    """The exception that queues one of the errors above, e.g. ``raise error(OUT_OF_RANGE)``."""
    return ScpiError(*pair)


# --- parameters -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: str, *, minimum: float | None = None, maximum: float | None = None,
                 default: float | None = None) -> float:
    """Parse an SCPI numeric parameter (NR1/NR2/NR3, MIN, MAX, DEF) and check its range."""
    token = text.strip().upper()
    if token in ("MIN", "MINIMUM") and minimum is not None:
        return minimum
    if token in ("MAX", "MAXIMUM") and maximum is not None:
        return maximum
    if token in ("DEF", "DEFAULT") and default is not None:
        return default
    if not _NUMBER.match(token):
        raise error(DATA_TYPE_ERROR)
    value = float(token)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise error(OUT_OF_RANGE)
    return value


def parse_bool(text: str) -> bool:
    """Parse ON|OFF|1|0."""
    token = text.strip().upper()
    if token in ("ON", "1"):
        return True
    if token in ("OFF", "0"):
        return False
    raise error(ILLEGAL_VALUE)


def parse_choice(text: str, choices: dict[str, str]) -> str:
    """Parse a character parameter given {accepted spelling: canonical value}."""
    token = text.strip().strip("'\"").upper()
    if token in choices:
        return choices[token]
    raise error(ILLEGAL_VALUE)


def unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    raise error(DATA_TYPE_ERROR)


def split_outside_quotes(text: str, separator: str) -> list[str]:
    """Split on ``separator`` except inside '…' or "…"."""
    if "'" not in text and '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            current.append(char)
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def nr3(value: float) -> str:
    """Format like the 2400's ASCII data: +1.234567E-03 (overflow +9.91E+37 for NaN)."""
    if not math.isfinite(value):
        return "+9.910000E+37"
    return f"{value:+.6E}"


# --- command table ----------------------------------------------------------------------------

Handler = Callable[[list[str]], str | None]


@dataclass(frozen=True)
class _Node:
    short: str
    long: str
    optional: bool
    suffix: str = ""   # a numeric suffix the pattern writes (``CALCulate3`` -> "3"; "1" -> "")


#: A mnemonic of a pattern: letters, digits inside the word (``PK2Pk``), a trailing numeric
#: suffix (``CALCulate3``), an optional ``?``.
_PATTERN_WORD = re.compile(r"(\[)?:?([A-Za-z*][A-Za-z0-9]*?)([0-9]*)(\??)(\])?(?=[:\[\]?]|$)")
#: A header token: the mnemonic and its numeric suffix (``CALC3``, ``SOUR2``, ``PK2P``).
_TOKEN = re.compile(r"([A-Z][A-Z0-9]*?)(\d*)")


def _parse_pattern(pattern: str) -> list[_Node]:
    """``[:SOURce]:VOLTage[:LEVel]`` -> nodes with short form (capitals) and long form; a
    trailing number is the node's numeric suffix, a digit inside the word is part of it."""
    nodes: list[_Node] = []
    for match in _PATTERN_WORD.finditer(pattern):
        word, suffix = match.group(2), match.group(3)
        if word.startswith("*"):
            nodes.append(_Node(word.upper(), word.upper(), False))
            continue
        short = "".join(c for c in word if c.isupper() or c.isdigit())
        nodes.append(_Node(short, word.upper(), bool(match.group(1)),
                           "" if suffix == "1" else suffix))
    return nodes


class CommandTable:
    """Map normalised SCPI headers to handlers, separately for commands and queries."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[tuple[str, ...], bool], str] = {}
        self._long_to_short: dict[str, str] = {}
        self._normal: dict[str, tuple[str, ...] | None] = {}

    def add(self, pattern: str, handler_name: str, *, query: bool) -> None:
        nodes = _parse_pattern(pattern)
        for node in nodes:
            self._long_to_short[node.long] = node.short
            self._long_to_short[node.short] = node.short
        self._normal.clear()
        optional = [i for i, n in enumerate(nodes) if n.optional]
        for keep in itertools.product((True, False), repeat=len(optional)):
            dropped = {i for i, k in zip(optional, keep, strict=True) if not k}
            key = tuple(n.short + n.suffix for i, n in enumerate(nodes) if i not in dropped)
            self._handlers[(key, query)] = handler_name

    def normalise(self, header: str) -> tuple[str, ...] | None:
        """Header text -> tuple of short mnemonics, or None if a mnemonic is unknown."""
        try:
            return self._normal[header]
        except KeyError:
            pass
        normal = self._normalise(header)
        if len(self._normal) < 4096:  # the headers a client sends are few; bound the cache
            self._normal[header] = normal
        return normal

    def _normalise(self, header: str) -> tuple[str, ...] | None:
        out: list[str] = []
        for token in header.strip(":").upper().split(":"):
            if token.startswith("*"):
                out.append(token)
                continue
            match = _TOKEN.fullmatch(token)
            if not match:
                return None
            word, suffix = match.groups()
            short = self._long_to_short.get(word)
            if short is None:
                return None
            if suffix and suffix != "1":
                short = f"{short}{suffix}"
            out.append(short)
        return tuple(out)

    def lookup(self, header: str, query: bool) -> str | None:
        """Name of the emulator method handling ``header``, or None."""
        return self.handler(self.normalise(header), query)

    def handler(self, normal: tuple[str, ...] | None, query: bool) -> str | None:
        """Name of the emulator method handling a normalised header, or None."""
        if normal is None:
            return None
        return self._handlers.get((normal, query))


def command(pattern: str, *, query: bool = False) -> Callable[[Handler], Handler]:
    """Decorator marking an emulator method as the handler of an SCPI command or query."""

    def mark(func: Handler) -> Handler:
        func.__dict__.setdefault("_scpi", []).append((pattern, query))
        return func

    return mark


# --- the device base class --------------------------------------------------------------------

class ScpiDevice(Device):
    """A simulated message-based instrument on the shared bench.

    Subclasses declare handlers with :func:`command` and keep their state in attributes set by
    :meth:`reset` (the state after ``*RST``). ``busy_until_s`` is the bench time at which the
    instrument has finished what it was asked.
    """

    #: Message terminators accepted (the emulator takes CR, LF or CR LF).
    terminators: tuple[bytes, ...] = (b"\n", b"\r")
    #: Terminator appended to replies.
    reply_terminator: bytes = b"\n"
    #: Size of the error queue before -350 Queue overflow.
    error_queue_size: int = 10
    #: Reply to :SYST:ERR? on an empty queue.
    no_error_reply: str = '0,"No error"'
    #: Time the instrument takes to parse one message [s].
    message_overhead_s: float = 0.0

    _tables: dict[type, CommandTable] = {}

    def __init__(self, name: str, bench: Bench, config: dict[str, Any] | None = None) -> None:
        super().__init__(name, b"")
        for interface in _INTERFACES:
            self.add_eom(interface, "\n", "\n")
        self.bench = bench
        self.config = dict(config or {})
        self.busy_until_s = 0.0
        self.errors: deque[tuple[int, str]] = deque()
        #: Headers the emulator did not know (coverage loop against real drivers).
        self.unhandled: list[str] = []
        #: Every message received (for tests and the run log).
        self.traffic: deque[str] = deque(maxlen=2000)
        #: The fault the instrument has now: None (healthy) or a kind of
        #: :data:`labctl.station.faults.FAULT_KINDS` (``simulation.faults`` starts them through
        #: :class:`labctl.sim.faults.FaultSchedule`; a test may set it directly). "no_reply"
        #: executes commands but never answers (hung firmware), "dead" neither executes nor
        #: answers and every VISA call to it fails (cable pulled out).
        self.fault: str | None = None
        #: The fault heals after it spoiled one exchange (``once: true``).
        self.fault_once = False
        #: Messages received since power-on (the ``after_ops`` of a fault counts them).
        self.op_count = 0
        self.power_on()

    # table built once per class from the decorated methods
    @classmethod
    def table(cls) -> CommandTable:
        if cls not in ScpiDevice._tables:
            table = CommandTable()
            for klass in reversed(cls.__mro__):
                for attr, func in vars(klass).items():
                    for pattern, query in getattr(func, "_scpi", ()):
                        table.add(pattern, attr, query=query)
            ScpiDevice._tables[cls] = table
        return ScpiDevice._tables[cls]

    # --- state ---------------------------------------------------------------------------
    def power_on(self) -> None:
        """State at power-on: reset, empty error queue, nothing pending."""
        self.errors.clear()
        self._output_buffers.clear()
        self._input_buffer = bytearray()
        self.fault = None
        self.fault_once = False
        self.busy_until_s = 0.0
        self.reset()

    def reset(self) -> None:
        """State after *RST (subclasses extend)."""

    # --- timing --------------------------------------------------------------------------
    def now_s(self) -> float:
        return self.bench.clock.now_s()

    def start_time_s(self) -> float:
        """When a new operation can start: now, or when the previous one ends."""
        return max(self.now_s(), self.busy_until_s)

    def occupy(self, duration_s: float) -> float:
        """Mark the instrument busy for ``duration_s`` from its start time; return the start."""
        start_s = self.start_time_s()
        self.busy_until_s = start_s + max(0.0, duration_s)
        return start_s

    # --- errors --------------------------------------------------------------------------
    def push_error(self, code: int, message: str) -> None:
        if len(self.errors) >= self.error_queue_size:
            self.errors[-1] = QUEUE_OVERFLOW
            return
        self.errors.append((code, message))

    def pop_error(self) -> str:
        if not self.errors:
            return self.no_error_reply
        code, message = self.errors.popleft()
        return self.format_error(code, message)

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"' if code > 0 else f'{code},"{message}"'

    # --- faults --------------------------------------------------------------------------
    #: The error a command queues under an ``error_reply`` fault (SCPI instruments).
    fault_error: tuple[int, str] = (-240, "Hardware error")
    #: Kinds of fault this instrument's family has beside the ones every instrument has.
    family_faults: tuple[str, ...] = ()

    def start_fault(self, kind: str, *, once: bool = False) -> None:
        """Give the instrument a fault now (``once``: it heals after one spoiled exchange)."""
        self.fault = kind
        self.fault_once = once
        self.on_fault(kind)

    def on_fault(self, kind: str) -> None:
        """What a family fault does at once (the lamp goes dark, the interlock trips)."""

    def heal(self) -> None:
        """The fault is over (a ``once`` fault after its exchange, a test's ``clear``)."""
        self.fault = None
        self.fault_once = False

    def spend_fault(self) -> None:
        """A ``once`` fault did its harm: heal."""
        if self.fault_once:
            self.heal()

    def garbage(self) -> bytes:
        """A reply of bytes that parse as nothing (with the reply's usual ending)."""
        return b"\xfe\x8f#~\x15" + self.reply_terminator

    def deliver(self, response: bytes | Any) -> None:
        """Put a reply in the output buffer as the present fault lets it through."""
        if response is None or response is NoResponse:
            return
        if self.fault == "no_reply":
            self.spend_fault()
            return
        if self.fault == "garbage":
            self.spend_fault()
            self._output_buffers.append(bytearray(self.garbage()))
            return
        self._output_buffers.append(bytearray(response) + self.reply_terminator)

    def receive(self, message: bytes) -> None:
        """One complete message: count it, start the faults due, answer it."""
        self.bench.faults.poll(self)
        self.op_count += 1
        if self.fault == "dead":  # nothing is carried out; the test still sees it was sent
            self.traffic.append(message.decode("ascii", errors="replace").strip())
            return
        self.deliver(self._match(message))

    # --- message handling ----------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self._input_buffer.extend(data)
        while True:
            cut = [self._input_buffer.find(t) for t in self.terminators]
            cut = [c for c in cut if c >= 0]
            if not cut:
                return
            end = min(cut)
            message = bytes(self._input_buffer[:end])
            del self._input_buffer[: end + 1]
            if not message.strip():
                continue
            self.receive(message)

    def _error_reply(self, unit: str) -> bool:
        """Under an ``error_reply`` fault: queue :attr:`fault_error` for a unit that is not
        an error-queue query (those still answer, so the error can be read); True if so."""
        if self.fault != "error_reply":
            return False
        header = unit.split(" ")[0].upper()
        if header.startswith((":SYST:ERR", "SYST:ERR", ":SYSTEM:ERR", "*CLS", "*ESR")):
            return False
        self.push_error(*self.fault_error)
        self.spend_fault()
        return True

    def _match(self, query: bytes) -> bytes | Any:
        text = query.decode("ascii", errors="replace").strip()
        self.traffic.append(text)
        if self.fault == "dead":
            return NoResponse
        if self.message_overhead_s:
            self.occupy(self.message_overhead_s)
        replies: list[str] = []
        path: tuple[str, ...] = ()
        table = self.table()
        for unit in split_outside_quotes(text, ";"):
            unit = unit.strip()
            if not unit or self._error_reply(unit):
                continue
            header, _, argtext = unit.partition(" ")
            is_query = header.endswith("?")
            header = header.rstrip("?")
            if not header.startswith((":", "*")) and path:
                header = ":".join(path) + ":" + header
            normal = table.normalise(header)
            handler_name = table.handler(normal, is_query)
            if normal and not header.startswith("*"):
                path = normal[:-1]
            if handler_name is None:
                self.unhandled.append(unit)
                self.push_error(*UNDEFINED_HEADER)
                continue
            args = ([a.strip() for a in split_outside_quotes(argtext, ",")]
                    if argtext.strip() else [])
            try:
                reply = getattr(self, handler_name)(args)
            except ScpiError as exc:
                self.push_error(exc.code, exc.message)
                continue
            if is_query and reply is not None:
                replies.append(reply)
        if not replies:
            return NoResponse
        return ";".join(replies).encode("ascii")

    # --- common IEEE 488.2 commands --------------------------------------------------------
    def identity(self) -> str:
        return "LABCTL,SIMULATED,0,0"

    @command("*IDN", query=True)
    def _idn(self, args: list[str]) -> str:
        return self.identity()

    @command("*RST")
    def _rst(self, args: list[str]) -> None:
        self.reset()

    @command("*CLS")
    def _cls(self, args: list[str]) -> None:
        self.errors.clear()

    @command("*OPC", query=True)
    def _opc_query(self, args: list[str]) -> str:
        return "1"

    @command("*OPC")
    def _opc(self, args: list[str]) -> None:
        return None

    @command("*WAI")
    def _wai(self, args: list[str]) -> None:
        return None

    @command("*TST", query=True)
    def _tst(self, args: list[str]) -> str:
        self.occupy(1.5)
        return "0"

    @command("*ESR", query=True)
    def _esr(self, args: list[str]) -> str:
        return "0"

    @command("*STB", query=True)
    def _stb(self, args: list[str]) -> str:
        return str(4 if self.errors else 0)

