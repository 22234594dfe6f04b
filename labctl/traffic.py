"""The traffic log: every exchange with every instrument, one line each, in ``traffic.log``.

A lab compares its real bench with the simulated one by logging the same session on both; a
test drives the simulated bench with the dialogue of a log and compares the replies
(:func:`replay`). The log is taken at the pymeasure adapter of each opened instrument, the
object every driver sends through, so it is the same on a real bench and on the simulated one,
and nothing that is sent changes.

Format (version 1)
------------------
UTF-8 text. A line starting with ``#`` is a comment; the first ones describe the log::

    # labctl traffic log, format 1
    # started 2026-05-04T09:12:03.120044Z t_s=0.000000 station="bench-2" simulated=true
    # instrument name=smu resource=GPIB0::24::INSTR driver=keithley2400 ...

Every other line is one exchange: the UTC time it began, then ``key=value`` fields (logfmt);
three lines, each shown here wrapped after its resource::

    2026-05-04T09:12:03.120310Z t_s=0.000000 name=smu resource=GPIB0::24::INSTR
        sent=":SOUR:VOLT 0.5"
    2026-05-04T09:12:03.120391Z t_s=0.000000 name=smu resource=GPIB0::24::INSTR
        sent=":READ?" received="+5.000000E-01,-1.700000E-03" reply_s=0.021667
    2026-05-04T09:12:03.120502Z t_s=0.021667 name=smu resource=GPIB0::24::INSTR
        sent=":FOO?" reply_s=10.000000 read_error="VI_ERROR_TMO: Timeout expired before
        operation completed."

=================  ===========================================================================
field              meaning
=================  ===========================================================================
(first word)       UTC wall-clock time the exchange began (ISO 8601, microseconds, ``Z``)
``t_s``            the labctl clock then (:mod:`labctl.clock`: virtual on the simulated bench)
``name``           the instrument's name in the station file (absent if not known)
``resource``       its VISA resource name
``sent``           the message written (text, without the write termination)
``sent_bytes``     or the bytes written with ``write_bytes``
``received``       the reply read (text, without the read termination)
``received_bytes`` or the bytes read with ``read_bytes`` (consecutive reads joined)
``reply_s``        labctl-clock seconds from the beginning of the exchange to the end of the read
``write_error``    the error the write raised (``VI_ERROR_...: description`` for VISA errors)
``read_error``     the error the read raised (a timeout: the instrument did not answer)
=================  ===========================================================================

Values without spaces, quotes or ``=`` are written bare; every message (and any other value
that needs it) is a JSON string, so a reply with commas, quotes or control characters reads
back exactly. Bytes are written as a JSON string of their Latin-1 characters.

An exchange is a write and the read that follows it on the same instrument; a write that is
followed by another operation is a line of its own (a command), and so is a read that follows
no write. Lines are written in the order the exchanges end; each carries the time it began.
The log starts when it is installed: what a driver sent while it was being opened (pymeasure's
``*LANG?``, ``:FORM:ELEM``) comes before; :func:`replay` on a freshly opened station has the
bench in the state the logged session started from.

Use
---
::

    log = install_traffic_log(opened_station, run_folder / TRAFFIC_LOG_NAME)
    ...                       # the run; closing the station closes the log
    differences = replay(run_folder / TRAFFIC_LOG_NAME, "station.yaml")
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labctl import clock

if TYPE_CHECKING:
    from labctl.opened_station import OpenStation
    from labctl.station.config import StationConfig

__all__ = [
    "FORMAT_VERSION",
    "TRAFFIC_LOG_NAME",
    "Difference",
    "Exchange",
    "TrafficLog",
    "TrafficRecord",
    "format_exchange",
    "install_traffic_log",
    "parse_line",
    "parse_log",
    "read_log",
    "replay",
    "replies_match",
]

#: Version of the line format written in the first line of every log.
FORMAT_VERSION = 1
#: File name of the traffic log in a run folder.
TRAFFIC_LOG_NAME = "traffic.log"

_FIELDS = ("t_s", "name", "resource", "sent", "sent_bytes", "received", "received_bytes",
           "reply_s", "write_error", "read_error")
_BARE = re.compile(r"[^\s\"=\\]+")
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


# --- one exchange and its line -------------------------------------------------------------

@dataclass
class Exchange:
    """One exchange with one instrument (a line of the log)."""

    utc: str
    t_s: float
    resource: str
    name: str | None = None
    #: What was written: text (``write``), bytes (``write_bytes``) or None (a read alone).
    sent: str | bytes | None = None
    #: What was read: text (``read``), bytes (``read_bytes``) or None (no read, or it failed).
    received: str | bytes | None = None
    reply_s: float | None = None
    write_error: str | None = None
    read_error: str | None = None
    #: Line number in the file it was read from (0 when not read from a file).
    line: int = 0

    @property
    def read(self) -> bool:
        """True when a read was attempted (it returned a reply or raised)."""
        return self.received is not None or self.read_error is not None


def _value(value: object, *, quote: bool = False) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    text = str(value)
    if not quote and _BARE.fullmatch(text):
        return text
    return json.dumps(text)


def _message_fields(key: str, value: str | bytes | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bytes):
        return [f"{key}_bytes={json.dumps(value.decode('latin-1'))}"]
    return [f"{key}={json.dumps(value)}"]


def format_exchange(exchange: Exchange) -> str:
    """The log line of ``exchange`` (without the line end)."""
    parts = [exchange.utc, f"t_s={_value(float(exchange.t_s))}"]
    if exchange.name is not None:
        parts.append(f"name={_value(exchange.name)}")
    parts.append(f"resource={_value(exchange.resource)}")
    parts += _message_fields("sent", exchange.sent)
    parts += _message_fields("received", exchange.received)
    if exchange.reply_s is not None:
        parts.append(f"reply_s={_value(float(exchange.reply_s))}")
    for key in ("write_error", "read_error"):
        value = getattr(exchange, key)
        if value is not None:
            parts.append(f"{key}={_value(value, quote=True)}")
    return " ".join(parts)


def _pairs(text: str) -> dict[str, str]:
    """The ``key=value`` fields of a line (JSON strings decoded)."""
    out: dict[str, str] = {}
    for key, raw in _PAIR.findall(text):
        out[key] = json.loads(raw) if raw.startswith('"') else raw
    return out


def parse_line(text: str, line: int = 0) -> Exchange | None:
    """The exchange of one log line; None for a comment or a blank line.

    Raises:
        ValueError: the line is not an exchange of this format.
    """
    text = text.rstrip("\r\n")
    if not text.strip() or text.startswith("#"):
        return None
    utc, _, rest = text.partition(" ")
    fields = _pairs(rest)
    unknown = set(fields) - set(_FIELDS)
    if unknown or "t_s" not in fields or "resource" not in fields:
        raise ValueError(f"line {line}: not a traffic log exchange: {text!r}")

    def message(key: str) -> str | bytes | None:
        if f"{key}_bytes" in fields:
            return fields[f"{key}_bytes"].encode("latin-1")
        return fields.get(key)

    return Exchange(
        utc=utc, t_s=float(fields["t_s"]), resource=fields["resource"],
        name=fields.get("name"), sent=message("sent"), received=message("received"),
        reply_s=float(fields["reply_s"]) if "reply_s" in fields else None,
        write_error=fields.get("write_error"), read_error=fields.get("read_error"), line=line)


@dataclass
class TrafficRecord:
    """A traffic log read back: its header and its exchanges."""

    #: Fields of the ``# started`` line (``utc``, ``t_s``, ``station``, ``simulated``).
    started: dict[str, str] = field(default_factory=dict)
    #: Fields of each ``# instrument`` line, by instrument name.
    instruments: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def start_t_s(self) -> float:
        """The labctl clock when the log was installed (else at its first exchange)."""
        if "t_s" in self.started:
            return float(self.started["t_s"])
        return self.exchanges[0].t_s if self.exchanges else 0.0


def read_log(path: str | os.PathLike[str]) -> TrafficRecord:
    """Read a traffic log: its header lines and every exchange, in file order."""
    record = TrafficRecord()
    with open(path, encoding="utf-8") as file:
        for number, text in enumerate(file, start=1):
            if text.startswith("# started "):
                utc, _, rest = text[len("# started "):].partition(" ")
                record.started = {"utc": utc, **_pairs(rest)}
            elif text.startswith("# instrument "):
                fields = _pairs(text[len("# instrument "):])
                record.instruments[fields.get("name", fields.get("resource", ""))] = fields
            else:
                exchange = parse_line(text, number)
                if exchange is not None:
                    record.exchanges.append(exchange)
    return record


def parse_log(path: str | os.PathLike[str]) -> list[Exchange]:
    """The exchanges of a traffic log, in file order."""
    return read_log(path).exchanges


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def describe_error(exc: BaseException) -> str:
    """``VI_ERROR_TMO: Timeout expired ...`` for a VISA error, ``Type: message`` otherwise."""
    abbreviation = getattr(exc, "abbreviation", None)
    if abbreviation:
        return f"{abbreviation}: {getattr(exc, 'description', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _error_kind(text: str | None) -> str | None:
    return None if text is None else text.partition(":")[0].strip()


# --- recording --------------------------------------------------------------------------------

@dataclass
class _Open:
    """An exchange not written yet, with what it still waits for."""

    exchange: Exchange
    started_s: float
    reading: bool = False


_PATCHED = ("_write", "_write_bytes", "_read", "_read_bytes", "close")
_MISSING = object()


class TrafficLog:
    """Writes the exchanges of the adapters attached to it to one file.

    Parameters
    ----------
    path : path-like
        The log file (created or truncated, or appended to with ``append``: a resumed run
        adds a new header and its exchanges; its folder must exist).
    station : str
        Station name for the header.
    simulated : bool or None
        Whether the station is the simulated bench (header only).
    now_s : callable
        The clock of the ``t_s`` field (default: the active labctl clock).
    """

    def __init__(self, path: str | os.PathLike[str], *, station: str = "",
                 simulated: bool | None = None,
                 now_s: Callable[[], float] = clock.now_s, append: bool = False) -> None:
        self.path = Path(path)
        self._now_s = now_s
        self._lock = threading.RLock()
        self._file = open(self.path, "a" if append else "w", encoding="utf-8")  # close()
        self._open: dict[int, _Open] = {}
        self._attached: dict[int, tuple[Any, dict[str, Any]]] = {}
        self.closed = False
        #: Exchanges written so far.
        self.count = 0
        started = [f"t_s={self._now_s():.6f}", f"station={json.dumps(station)}"]
        if simulated is not None:
            started.append(f"simulated={str(bool(simulated)).lower()}")
        self._comment(f"labctl traffic log, format {FORMAT_VERSION}")
        self._comment(f"started {_utc_now()} " + " ".join(started))

    # --- attaching ---------------------------------------------------------------------------
    def attach(self, adapter: Any, *, name: str | None = None, resource: str | None = None,
               details: Mapping[str, object] | None = None) -> None:
        """Record every write and read of a pymeasure adapter (its ``_write``, ``_read``,
        ``_write_bytes`` and ``_read_bytes``), and detach when the adapter is closed."""
        with self._lock:
            if self.closed:
                raise ValueError("the traffic log is closed")
            owner = getattr(adapter, "_labctl_traffic_log", None)
            if owner is self:
                return
            if owner is not None:
                raise ValueError(f"{adapter!r} is already logged to {owner.path}")
            connection = getattr(adapter, "connection", None)
            resource = resource or str(getattr(connection, "resource_name", None)
                                       or getattr(adapter, "resource_name", "?"))
            saved = {attr: adapter.__dict__.get(attr, _MISSING) for attr in _PATCHED}
            self._attached[id(adapter)] = (adapter, saved)
            self._patch(adapter, name, resource)
            adapter._labctl_traffic_log = self
            fields = {"name": name, "resource": resource,
                      **_connection_details(connection), **dict(details or {})}
            self._comment("instrument " + " ".join(
                f"{key}={_value(value)}" for key, value in fields.items() if value is not None))

    def attach_instrument(self, name: str, instrument: Any,
                          details: Mapping[str, object] | None = None) -> bool:
        """Attach an instrument's ``adapter``; False when it has none (built on another)."""
        adapter = getattr(instrument, "adapter", None)
        if adapter is None or not hasattr(adapter, "_write"):
            return False
        self.attach(adapter, name=name, details=details)
        return True

    def install(self, station: OpenStation) -> list[str]:
        """Attach every instrument of an opened station; return the names attached."""
        names = []
        for name, instrument in station.instruments.items():
            inst = station.config.instruments.get(name)
            details = {"driver": getattr(inst, "driver", None)}
            if self.attach_instrument(name, instrument, details):
                names.append(name)
        return names

    def _patch(self, adapter: Any, name: str | None, resource: str) -> None:
        key = id(adapter)
        write, write_bytes = adapter._write, adapter._write_bytes
        read, read_bytes, close = adapter._read, adapter._read_bytes, adapter.close

        def logged_write(command: str, **kwargs: Any) -> None:
            self._record_write(key, name, resource, command, lambda: write(command, **kwargs))

        def logged_write_bytes(content: bytes, **kwargs: Any) -> None:
            self._record_write(key, name, resource, bytes(content),
                               lambda: write_bytes(content, **kwargs))

        def logged_read(**kwargs: Any) -> str:
            return self._record_read(key, name, resource, False, lambda: read(**kwargs))

        def logged_read_bytes(count: int, break_on_termchar: bool = False,
                              **kwargs: Any) -> bytes:
            return self._record_read(key, name, resource, True,
                                     lambda: read_bytes(count, break_on_termchar, **kwargs))

        def logged_close() -> None:
            self.detach(adapter)
            close()

        adapter._write, adapter._write_bytes = logged_write, logged_write_bytes
        adapter._read, adapter._read_bytes = logged_read, logged_read_bytes
        adapter.close = logged_close

    def detach(self, adapter: Any) -> None:
        """Stop recording an adapter (its pending exchange is written); the log closes itself
        when its last adapter is detached."""
        with self._lock:
            entry = self._attached.pop(id(adapter), None)
            if entry is None:
                return
            self._emit_open(id(adapter))
            for attr, value in entry[1].items():
                if value is _MISSING:
                    adapter.__dict__.pop(attr, None)
                else:
                    setattr(adapter, attr, value)
            adapter.__dict__.pop("_labctl_traffic_log", None)
            if not self._attached:
                self.close()

    # --- the exchanges -----------------------------------------------------------------------
    def _new(self, name: str | None, resource: str) -> _Open:
        now_s = self._now_s()
        return _Open(Exchange(utc=_utc_now(), t_s=now_s, resource=resource, name=name), now_s)

    def _record_write(self, key: int, name: str | None, resource: str,
                      message: str | bytes, write: Callable[[], None]) -> None:
        with self._lock:
            self._emit_pending(key)
            self._emit_open(key)
            pending = self._new(name, resource)
            pending.exchange.sent = message
            self._open[key] = pending
        try:
            write()
        except Exception as exc:
            with self._lock:
                pending.exchange.write_error = describe_error(exc)
                self._emit_open(key)
            raise

    def _record_read(self, key: int, name: str | None, resource: str, raw: bool,
                     read: Callable[[], Any]) -> Any:
        with self._lock:
            self._emit_pending(key)
            pending = self._open.get(key)
            received = None if pending is None else pending.exchange.received
            if pending is not None and (not raw and received is not None
                                        or raw and isinstance(received, str)):
                self._emit_open(key)
                pending = None
            if pending is None:
                pending = self._new(name, resource)
                self._open[key] = pending
            pending.reading = True
        exchange = pending.exchange
        try:
            reply = read()
        except Exception as exc:
            with self._lock:
                exchange.read_error = describe_error(exc)
                exchange.reply_s = self._now_s() - pending.started_s
                self._emit_open(key)
            raise
        with self._lock:
            pending.reading = False
            exchange.reply_s = self._now_s() - pending.started_s
            if raw:
                previous = exchange.received if isinstance(exchange.received, bytes) else b""
                exchange.received = previous + bytes(reply)
            else:
                exchange.received = reply
                self._emit_open(key)
        return reply

    def _emit_pending(self, key: int) -> None:
        """Write the finished exchanges of the other adapters (keeps the file in time order);
        one whose read is still running in another thread stays open."""
        for other in [k for k, pending in self._open.items() if k != key and not pending.reading]:
            self._emit_open(other)

    def _emit_open(self, key: int) -> None:
        pending = self._open.pop(key, None)
        if pending is not None and not self._file.closed:
            self._file.write(format_exchange(pending.exchange) + "\n")
            self._file.flush()
            self.count += 1

    def _comment(self, text: str) -> None:
        self._file.write(f"# {text}\n")
        self._file.flush()

    def flush(self) -> None:
        """Write every exchange that is still open (a command not followed by a read yet)."""
        with self._lock:
            for key in list(self._open):
                self._emit_open(key)

    def close(self) -> None:
        """Write what is pending, detach every adapter and close the file (idempotent)."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            for adapter, _saved in list(self._attached.values()):
                self.detach(adapter)
            self.flush()
            self._file.close()

    def __enter__(self) -> TrafficLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connection_details(connection: Any) -> dict[str, object]:
    """Terminations and timeout of a PyVISA resource, for the header."""
    out: dict[str, object] = {}
    for attr, key in (("write_termination", "write_termination"),
                      ("read_termination", "read_termination"), ("timeout", "timeout_ms")):
        try:
            value = getattr(connection, attr)
        except Exception:  # noqa: BLE001 - a closed or foreign connection: leave it out
            continue
        if value is not None and not callable(value):
            out[key] = value
    return out


def install_traffic_log(station: OpenStation, path: str | os.PathLike[str], *,
                        append: bool = False) -> TrafficLog:
    """Log every exchange with every instrument of an opened station to ``path`` (added to
    the end of it with ``append``).

    The log closes itself when the station closes its instruments (it detaches from each
    adapter as that adapter is closed), so a caller opens it and forgets it; ``close()`` ends
    it earlier.
    """
    log = TrafficLog(path, station=station.config.station, simulated=station.simulated,
                     append=append)
    log.install(station)
    if log.count == 0 and not log._attached:
        log.close()
    return log


# --- replay -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """An exchange of the log that the replayed bench answered otherwise."""

    line: int
    resource: str
    sent: str | bytes | None
    logged: str
    replayed: str

    def __str__(self) -> str:
        return (f"line {self.line}: {self.resource} {self.sent!r}: logged {self.logged}, "
                f"replayed {self.replayed}")


_TOKENS = re.compile(r"([,;\s]+)")


def replies_match(logged: str | bytes, replayed: str | bytes, *, rel_tol: float = 0.0,
                  abs_tol: float = 0.0) -> bool:
    """True when two replies are equal; with a tolerance, numbers in them (split at commas,
    semicolons and spaces) may differ by ``rel_tol`` relative or ``abs_tol`` absolute."""
    if logged == replayed:
        return True
    if not (rel_tol or abs_tol) or type(logged) is not type(replayed):
        return False
    a = _TOKENS.split(logged.decode("latin-1") if isinstance(logged, bytes) else logged)
    b = _TOKENS.split(replayed.decode("latin-1") if isinstance(replayed, bytes) else replayed)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x == y:
            continue
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not (math.isfinite(fx) and math.isfinite(fy)
                and math.isclose(fx, fy, rel_tol=rel_tol, abs_tol=abs_tol)):
            return False
    return True


def _show(value: str | bytes | None, error: str | None) -> str:
    if error is not None:
        return f"error {error!r}"
    if value is None:
        return "nothing"
    return repr(value)


def _replay_write(adapter: Any, exchange: Exchange) -> str | None:
    try:
        if isinstance(exchange.sent, bytes):
            adapter.write_bytes(exchange.sent)
        elif exchange.sent is not None:
            adapter.write(exchange.sent)
    except Exception as exc:  # noqa: BLE001 - compared with the logged error
        return describe_error(exc)
    return None


def _replay_read(adapter: Any, exchange: Exchange) -> tuple[str | bytes | None, str | None]:
    try:
        if isinstance(exchange.received, bytes):
            return adapter.read_bytes(len(exchange.received)), None
        return adapter.read(), None
    except Exception as exc:  # noqa: BLE001 - compared with the logged error
        return None, describe_error(exc)


def _with_logged_timeout(adapter: Any, exchange: Exchange, read: Callable[[], Any]) -> Any:
    """Run ``read`` with the VISA timeout the logged session had in effect, as far as the log
    shows it: a logged timeout ended at ``reply_s``; a logged reply came within its
    ``reply_s`` (a driver sets long timeouts for sweeps, which the log does not record)."""
    connection = getattr(adapter, "connection", None)
    if connection is None or exchange.reply_s is None:
        return read()
    previous_ms = connection.timeout
    if exchange.read_error is not None and "TMO" in exchange.read_error:
        wanted_ms = exchange.reply_s * 1000.0
    else:
        wanted_ms = max(previous_ms or 0.0, exchange.reply_s * 2000.0 + 1000.0)
    connection.timeout = wanted_ms
    try:
        return read()
    finally:
        connection.timeout = previous_ms


def _replay_exchange(adapter: Any, exchange: Exchange, rel_tol: float,
                     abs_tol: float) -> Difference | None:
    """Drive one exchange; the difference from the log, or None."""
    write_error = _replay_write(adapter, exchange)
    if _error_kind(write_error) != _error_kind(exchange.write_error):
        return Difference(exchange.line, exchange.resource, exchange.sent,
                          _show(None, exchange.write_error) + " on write",
                          _show(None, write_error) + " on write")
    if write_error is not None or not exchange.read:
        return None
    received, read_error = _with_logged_timeout(adapter, exchange,
                                                lambda: _replay_read(adapter, exchange))
    same_error = _error_kind(read_error) == _error_kind(exchange.read_error)
    same_reply = (received is None and exchange.received is None) or (
        received is not None and exchange.received is not None
        and replies_match(exchange.received, received, rel_tol=rel_tol, abs_tol=abs_tol))
    if same_error and same_reply:
        return None
    return Difference(exchange.line, exchange.resource, exchange.sent,
                      _show(exchange.received, exchange.read_error),
                      _show(received, read_error))


def replay_on(record: TrafficRecord, station: OpenStation, *, rel_tol: float = 0.0,
              abs_tol: float = 0.0, follow_clock: bool = True) -> list[Difference]:
    """Drive an opened station with the exchanges of a log; return the differences.

    With ``follow_clock`` the labctl clock is first moved (slept) to the time each exchange
    began, relative to the start of the log, so the instruments see the dialogue with the
    same pauses (virtual time on the simulated bench, real time on a real one).
    """
    from labctl.registry.instrument_configs import canonical_resource

    adapters = {}
    for instrument in station.instruments.values():
        adapter = getattr(instrument, "adapter", None)
        resource = getattr(getattr(adapter, "connection", None), "resource_name", None)
        if resource:
            adapters[canonical_resource(resource)] = adapter
    offset_s = clock.now_s() - record.start_t_s
    differences: list[Difference] = []
    for exchange in record.exchanges:
        adapter = adapters.get(canonical_resource(exchange.resource))
        if adapter is None:
            differences.append(Difference(exchange.line, exchange.resource, exchange.sent,
                                          "an instrument", "no instrument at this resource"))
            continue
        if follow_clock and exchange.t_s + offset_s > clock.now_s():
            clock.sleep_until(exchange.t_s + offset_s)
        difference = _replay_exchange(adapter, exchange, rel_tol, abs_tol)
        if difference is not None:
            differences.append(difference)
    return differences


def replay(log_path: str | os.PathLike[str],
           station: OpenStation | StationConfig | str | os.PathLike[str], *,
           rel_tol: float = 0.0, abs_tol: float = 0.0,
           follow_clock: bool = True) -> list[Difference]:
    """Replay a traffic log on the simulated bench; return where its replies differ.

    ``station`` is an opened station (used as it is: real or simulated), or a station file or
    :class:`~labctl.station.StationConfig`, opened on the simulated bench for the replay and
    closed after (its bench is the one of that station, as it stands). The log's sent messages
    are written to the instrument at the same resource, in order, and every reply (or error:
    a timeout is compared as ``VI_ERROR_TMO``) is compared with the logged one -- exactly, or
    with ``rel_tol``/``abs_tol`` on the numbers in it (see :func:`replies_match`).
    """
    from labctl.opened_station import OpenStation, open_station

    record = read_log(log_path)
    options = {"rel_tol": rel_tol, "abs_tol": abs_tol, "follow_clock": follow_clock}
    if isinstance(station, OpenStation):
        return replay_on(record, station, **options)
    with open_station(station, simulated=True) as opened:
        return replay_on(record, opened, **options)
