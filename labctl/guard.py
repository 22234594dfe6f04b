"""Instrument errors named, and one retry after reconnecting.

:func:`guard_station` wraps the adapter of every instrument of an opened station (as
:mod:`labctl.traffic` wraps them to log the traffic): a VISA error, or a reply that is not text,
becomes an :class:`InstrumentFault` whose one-line message names the instrument (station key,
driver and resource) and the command it was sent. A reply that fails to come or to decode after
a *query* (a command with ``?``: asking again changes nothing) is retried once after
reconnecting -- the VISA session closed and reopened, then a device clear, which drops a late
reply -- and, when that works, the run goes on with a warning naming the instrument. Commands
that are not queries are never sent twice (a toggle such as the SC10's ``ens``, a sweep's
``:INIT``); a driver may name more in a ``not_retried`` class attribute (command texts), or set
``_retry_allowed`` false around a query that starts an operation (the 2400's ``:READ?`` that
runs a hardware sweep).
The retry waits :data:`RETRY_PAUSE_S` first (a serial supply such as the Newport 69907 takes
no command sooner than 50 ms after the previous one).

A driver whose replies are read byte by byte inside one exchange method (the Thorlabs
terminals read echo, reply and prompt in ``write``) names that method in a
``guarded_exchange`` class attribute and the errors that mean a spoiled reply in
``exchange_errors``: the guard then wraps the method itself, names its failures and retries a
query's whole exchange once after reconnecting, as above.
"""

from __future__ import annotations

import threading
from typing import Any

from pyvisa import constants
from pyvisa.errors import VisaIOError

from labctl import clock
from labctl.errors import error_line

__all__ = ["InstrumentFault", "InstrumentGuard", "RETRY_PAUSE_S", "guard_station"]

#: Pause before the one retry after reconnecting [s, labctl clock].
RETRY_PAUSE_S = 0.1


class InstrumentFault(VisaIOError):
    """An instrument failed; the message names it, the operation and why. A VisaIOError (its
    ``error_code`` that of the VISA error, VI_ERROR_IO for a reply that was no text), so
    code that catches VISA errors still catches it."""

    labctl_message = True

    def __init__(self, message: str, *, instrument: str, cause: BaseException) -> None:
        Exception.__init__(self, message)
        self.error_code = getattr(cause, "error_code", constants.VI_ERROR_IO)
        # a traffic log compares VISA errors by these: the cause's own
        self.abbreviation = getattr(cause, "abbreviation", "")
        self.description = getattr(cause, "description", "")
        self.instrument = instrument

    def __reduce__(self) -> tuple[Any, ...]:
        return (Exception, (str(self),))


class InstrumentGuard:
    """The adapter wrapper of one instrument (``name``: station key)."""

    def __init__(self, name: str, instrument: Any, label: str) -> None:
        self.name = name
        self.label = label
        self.instrument = instrument
        self.adapter = instrument.adapter
        self.last_command: str | None = None
        self.warnings: list[str] = []
        self.not_retried = frozenset(getattr(type(instrument), "not_retried", ()))
        # a driver that finds a fault itself (an SMU's interlock) names it as the guard does,
        # and a procedure that finds one it does not fail on reports it here (add_warning)
        try:
            instrument._station_label = label
            instrument._labctl_guard = self
        except AttributeError:  # a driver with __slots__ or a refusing __setattr__
            pass
        self._lock = threading.Lock()
        self._write = self.adapter.write
        self._read = self.adapter.read
        self.adapter.write = self.write
        self.adapter.read = self.read
        exchange = getattr(type(instrument), "guarded_exchange", None)
        if exchange:
            self._exchange_errors = (VisaIOError, UnicodeDecodeError,
                                     *getattr(type(instrument), "exchange_errors", ()))
            self._exchange = getattr(instrument, exchange)
            setattr(instrument, exchange, self.exchange)

    def _fault(self, what: str, exc: BaseException) -> InstrumentFault:
        return InstrumentFault(f"{self.label}: {what}: {self._reason(exc)}",
                               instrument=self.name, cause=exc)

    def write(self, command: str, **kwargs: Any) -> None:
        self.last_command = command
        try:
            self._write(command, **kwargs)
        except VisaIOError as exc:
            raise self._fault(f"sending {command!r}", exc) from exc

    def _retryable(self) -> bool:
        command = self.last_command or ""
        return ("?" in command and command not in self.not_retried
                and getattr(self.instrument, "_retry_allowed", True))

    def read(self, **kwargs: Any) -> str:
        try:
            return self._read(**kwargs)
        except (VisaIOError, UnicodeDecodeError) as exc:
            command = self.last_command
            if not self._retryable():
                raise self._fault(f"reading the reply to {command!r}", exc) from exc
            try:
                self.reconnect()
                clock.sleep(RETRY_PAUSE_S)
                self._write(command)
                reply = self._read(**kwargs)
            except (VisaIOError, UnicodeDecodeError) as again:
                raise self._fault(f"reading the reply to {command!r} (again after "
                                  f"reconnecting; first: {error_line(exc)})", again) from again
            self._recovered(exc, command)
            return reply

    def _recovered(self, exc: BaseException, command: str | None) -> None:
        with self._lock:
            self.warnings.append(f"{self.label}: {error_line(exc)} on {command!r}, "
                                 "recovered by one retry after reconnecting")

    def exchange(self, command: str, **kwargs: Any) -> Any:
        """The driver's exchange method (``guarded_exchange``), named and retried once."""
        try:
            return self._exchange(command, **kwargs)
        except (InstrumentFault, *self._exchange_errors) as exc:
            if not self._retryable_exchange(command):
                if isinstance(exc, InstrumentFault):
                    raise
                raise self._fault(f"exchanging {command!r}", exc) from exc
            first = exc
        try:
            self.reconnect()
            clock.sleep(RETRY_PAUSE_S)
            reply = self._exchange(command, **kwargs)
        except (InstrumentFault, *self._exchange_errors) as again:
            raise self._fault(f"exchanging {command!r} (again after reconnecting; first: "
                              f"{self._reason(first)})", again) from again
        self._recovered(first, command)
        return reply

    def _reason(self, exc: BaseException) -> str:
        """The error without this instrument's label (an InstrumentFault carries it)."""
        text = error_line(exc)
        prefix = f"{self.label}: "
        return text[len(prefix):] if text.startswith(prefix) else text

    def _retryable_exchange(self, command: str) -> bool:
        return "?" in command and command not in self.not_retried

    def reconnect(self) -> None:
        """Close and reopen the VISA session (timeout and read termination kept), then a device
        clear."""
        connection = getattr(self.adapter, "connection", None)
        if connection is None or not hasattr(connection, "open"):
            return
        timeout = connection.timeout
        # a reopened session has the default attributes: a serial session's read would wait
        # for the default termination character, so the resource's termination is set again
        termination = getattr(connection, "read_termination", None)
        connection.close()
        connection.open()
        connection.timeout = timeout
        if termination is not None:
            connection.read_termination = termination
        connection.clear()

    def add_warning(self, text: str) -> None:
        """A warning about this instrument for the measurement running (a procedure's: a lamp
        fault during a dark measurement); the station's watcher reports it with the next
        document, as a recovered fault."""
        with self._lock:
            if text not in self.warnings:
                self.warnings.append(text)

    def take_warnings(self) -> list[str]:
        with self._lock:
            taken, self.warnings = self.warnings, []
        return taken


def guard_station(station: Any) -> dict[str, InstrumentGuard]:
    """Guard every instrument of an opened station that talks through a VISA adapter."""
    guards: dict[str, InstrumentGuard] = {}
    for name, instrument in station.instruments.items():
        adapter = getattr(instrument, "adapter", None)
        if adapter is None or not hasattr(adapter, "read") or not hasattr(adapter, "write"):
            continue
        guards[name] = InstrumentGuard(name, instrument, station.label(name))
    return guards
