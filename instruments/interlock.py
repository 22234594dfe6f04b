"""An SMU's interlock: how the Keithley drivers notice that it tripped.

An open interlock forces the output off and keeps it off (docs/instruments.md §1.9 and §2.0b):

- Keithley 2400/2420: ``:OUTP ON`` queues ``+802,"OUTPUT blocked by output enable"`` and the
  output stays off; a ``:READ?`` with the output off (auto output-off disabled, as labctl
  configures it) queues ``+803,"Not permitted with OUTPUT off"`` and gives no reply, so the
  driver sees a timeout. ``:OUTP:ENAB:TRIP?`` answers 0 while the output-enable line is open
  (2400 manual, "Output enable" and the OUTPut subsystem).
- Keithley 2450: ``:OUTP:INT:TRIP?`` answers 0 while the interlock is not asserted (1:
  asserted, the full output available); the output reads off (``:OUTP?`` = 0) and the error
  queue holds the event. A 2450 measures with its output off, so nothing fails by itself: the
  driver asks ``:OUTP?`` after each reading made with the output on.

:func:`interlock_fault` asks the instrument once something looks wrong (a failed reading, an
output that reads off) and returns the :class:`SmuInterlockError` to raise, or None when the
interlock is closed. The message names the instrument as the station names it (the guard of
an opened station sets ``_station_label``: station key, driver and resource).
"""

from __future__ import annotations

import logging
from typing import Any

from instruments.smu import SmuError, parse_scpi_error

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = ["INTERLOCK_ERROR_CODES", "SmuInterlockError", "interlock_fault", "station_label"]

#: Error-queue codes that mean the output was blocked by the interlock (2400 manual, error
#: +802; the emulated 2450 queues the same code, docs/instruments.md §2.0b ⚠).
INTERLOCK_ERROR_CODES = frozenset({802})
#: Most error-queue entries read while diagnosing (the queue holds at most 10 on a 2400).
MAX_ENTRIES = 10


class SmuInterlockError(SmuError):
    """The SMU's interlock tripped: its output was forced off. The message is a sentence for
    people naming the instrument, what was being done and what the instrument reported."""

    labctl_message = True


def station_label(smu: Any) -> str:
    """How errors name the SMU: ``"smu (keithley2400 at GPIB0::24::INSTR)"`` once an opened
    station's guard set it, else the driver's display name."""
    return str(getattr(smu, "_station_label", None) or smu.name)


def _error_entries(ask: Any) -> list[str]:
    """The error queue, emptied, as ``"802 Output blocked by output enable"`` texts."""
    entries: list[str] = []
    for _ in range(MAX_ENTRIES):
        code, message = parse_scpi_error(ask(":SYST:ERR?"))
        if code == 0:
            break
        entries.append(f"{code:+d} {message.split(';')[0]}")
    return entries


def interlock_fault(smu: Any, query: str, operation: str) -> SmuInterlockError | None:
    """Ask the SMU whether its interlock is open (``query``: ``:OUTP:ENAB:TRIP?`` on the 2400,
    ``:OUTP:INT:TRIP?`` on the 2450; 0 = open) and read its error queue.

    :param smu: The driver (``_ask`` and ``name``).
    :param operation: What the driver was doing (``"reading (:READ?)"``), for the message.
    :returns: The error to raise when the interlock is open or the queue holds an interlock
        error; None when it is closed, or when the instrument cannot be asked (the caller
        then raises its own error: a dead instrument is not an interlock).
    """
    try:
        closed = bool(int(float(smu._ask(query).strip())))
        entries = _error_entries(smu._ask)
    except Exception as exc:  # noqa: BLE001 - the caller's own failure is what gets reported
        log.debug("%s: the interlock could not be asked: %s", smu.name, exc)
        return None
    blocked = any(int(entry.split()[0]) in INTERLOCK_ERROR_CODES for entry in entries)
    if closed and not blocked:
        return None
    found = "; ".join(dict.fromkeys(entries)) if entries else "no error queued"
    return SmuInterlockError(
        f"{station_label(smu)}: interlock tripped while {operation}: the output was forced "
        f"off ({query} = {0 if not closed else 1}; {found})")
