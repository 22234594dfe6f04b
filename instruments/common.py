"""Helpers every labctl driver shares: the VISA timeout of one operation, bounded waits on an
instrument lock, and the SCPI error queue (``code,"message"``).

One copy of each, so the SMU drivers, the light-path drivers and the power meter size their
timeouts, wait for their locks and read their error queues the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "MAX_ERROR_ENTRIES",
    "drain_error_queue",
    "locked",
    "on_off",
    "parse_scpi_error",
    "visa_timeout",
]

#: Most error-queue entries read by :func:`drain_error_queue` (more than any queue holds).
MAX_ERROR_ENTRIES = 32


def on_off(flag: bool) -> str:
    """SCPI boolean token: ``"ON"`` or ``"OFF"``."""
    return "ON" if flag else "OFF"


@contextmanager
def visa_timeout(instrument: Any, timeout_s: float) -> Iterator[None]:
    """Set the VISA timeout of ``instrument`` to ``timeout_s`` seconds for the block, and
    restore it after.

    Drivers size the timeout from the expected duration of the operation (a sweep, a wheel
    move, a lamp reset) instead of one long timeout for everything. Adapters without a
    ``timeout`` (protocol adapters in tests) are left alone.
    """
    connection = getattr(getattr(instrument, "adapter", None), "connection", None)
    if connection is None or not hasattr(connection, "timeout"):
        yield
        return
    previous = connection.timeout
    connection.timeout = max(1, round(timeout_s * 1000.0))
    try:
        yield
    finally:
        connection.timeout = previous


@contextmanager
def locked(
    lock: threading.RLock, timeout_s: float, what: str, error_class: type[Exception]
) -> Iterator[None]:
    """Hold ``lock`` for the block, waiting at most ``timeout_s`` seconds for it.

    :raises error_class: another thread held the lock for longer (``what`` names the
        instrument in the message).
    """
    if not lock.acquire(timeout=timeout_s):
        raise error_class(f"{what}: busy in another thread for more than {timeout_s:g} s")
    try:
        yield
    finally:
        lock.release()


def parse_scpi_error(reply: str, error_class: type[Exception] = ValueError) -> tuple[int, str]:
    """Split a ``SYST:ERR?`` reply into its code and message.

    Accepts the 2400 / PM100 form ``-222,"Parameter data out of range"`` and the 2450 form
    ``-222,"Parameter data out of range;1;2025/01/01 12:00:00.000"`` (severity and timestamp are
    kept in the message).

    :raises error_class: if the reply does not start with an integer code.
    """
    code_text, _, message = reply.strip().partition(",")
    try:
        code = int(float(code_text))
    except ValueError:
        raise error_class(f"unexpected error-queue reply {reply!r}") from None
    return code, message.strip().strip('"')


def drain_error_queue(
    ask: Callable[[str], str],
    command: str,
    name: str,
    error_class: type[Exception],
) -> None:
    """Read the error queue with ``ask(command)`` until it is empty (code 0).

    :raises error_class: listing every non-zero entry found (at most
        :data:`MAX_ERROR_ENTRIES` are read), or for a reply that is not ``code,"message"``.
    """
    errors = []
    for _ in range(MAX_ERROR_ENTRIES):
        code, message = parse_scpi_error(ask(command), error_class)
        if code == 0:
            break
        errors.append(f"{code},{message}")
    if errors:
        raise error_class(f"{name} reported: {'; '.join(errors)}")
