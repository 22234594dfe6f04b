"""Making a bench safe on purpose: ``labctl off`` and the lamp switched off after idle minutes.

:func:`make_station_safe` does it to a station already open (the GUI's *Make safe*).
:func:`switch_off` opens a station one instrument at a time -- an instrument that cannot be
reached is named and the others are still opened -- and, SMUs first, turns every SMU output
off, closes the shutter, switches an LED source off (as every run's end does) and, with
``lamp``, an arc lamp too; each instrument's state is read back and reported in one line
(docs/contracts.md, "Command line" and "Safety and failure").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from labctl.errors import error_line
from labctl.opened_station import OpenError, OpenStation
from labctl.registry.instruments import instrument_entry
from labctl.station.config import StationConfig

log = logging.getLogger(__name__)

__all__ = ["InstrumentOutcome", "TolerantStation", "make_station_safe", "opened_tolerantly",
           "switch_off"]

#: Order in which roles are made safe: SMU outputs first, then the beam.
_ROLE_ORDER = ("smu", "shutter", "light_source", "irradiance_sensor", "filter_wheel")


@dataclass(frozen=True)
class InstrumentOutcome:
    """What ``labctl off`` did to one instrument: ``ok`` False when it is not known safe."""

    name: str
    ok: bool
    text: str


class TolerantStation(OpenStation):
    """An :class:`OpenStation` that opens what it can: an instrument that cannot be opened
    is ``None`` in :attr:`instruments` and its reason is in :attr:`unreachable`.

    ``only`` limits the opening to those instruments (and what they are built on).
    """

    def __init__(self, config: StationConfig, simulated: bool | None = None,
                 only: set[str] | None = None) -> None:
        self.unreachable: dict[str, str] = {}
        self._only = only
        super().__init__(config, simulated)

    def _opening_order(self) -> list[str]:
        order = super()._opening_order()
        if self._only is None:
            return order
        wanted = set(self._only)
        for name in reversed(order):  # what a wanted instrument is built on is wanted too
            if name in wanted:
                inst = self.config.instruments[name]
                wanted.update(instrument_entry(inst.driver).depends_on(inst))
        return [name for name in order if name in wanted]

    def _open(self, name: str, inst: Any) -> Any:
        missing = [dep for dep in instrument_entry(inst.driver).depends_on(inst)
                   if self.instruments.get(dep) is None]
        if missing:
            self.unreachable[name] = f"not opened: it is read through {', '.join(missing)}, " \
                "which cannot be reached"
            return None
        try:
            return super()._open(name, inst)
        except OpenError as exc:
            self.unreachable[name] = exc.reason
            return None


@contextmanager
def opened_tolerantly(config: StationConfig, simulated: bool | None = None,
                      only: set[str] | None = None) -> Iterator[TolerantStation]:
    """A :class:`TolerantStation`, closed (not made safe: the caller does that) on exit."""
    station = TolerantStation(config, simulated, only)
    try:
        yield station
    finally:
        station.close()


def _role_rank(config: StationConfig, name: str) -> int:
    roles = instrument_entry(config.instruments[name].driver).roles
    ranks = [_ROLE_ORDER.index(role) for role in roles if role in _ROLE_ORDER]
    return min(ranks, default=len(_ROLE_ORDER))


def switch_off(config: StationConfig, simulated: bool | None = None,
               lamp: bool = False) -> list[InstrumentOutcome]:
    """Make every instrument of the station safe; one outcome per instrument, station order.

    SMU outputs go off first, then the shutter closes, then the light source: an LED goes
    off; an arc lamp is switched off only with ``lamp`` (else it is reported as left lit).
    Filter wheels stay where they are. Every instrument is tried whatever the others did.
    """
    with opened_tolerantly(config, simulated) as station:
        return make_station_safe(station, lamp)


def make_station_safe(station: OpenStation, lamp: bool = False) -> list[InstrumentOutcome]:
    """Make an already-open station safe as ``labctl off`` does (see :func:`switch_off`) and
    say what was done: one outcome per instrument, in station order (the lines ``labctl off``
    prints). The station stays open. An instrument a :class:`TolerantStation` could not open
    is reported ``UNREACHABLE``; every other is tried whatever the others did."""
    config = station.config
    outcomes: dict[str, InstrumentOutcome] = {}
    for name, reason in getattr(station, "unreachable", {}).items():
        outcomes[name] = InstrumentOutcome(name, False, f"UNREACHABLE: {reason}")
    order = sorted((n for n in config.instruments
                    if n not in outcomes and n in station.instruments),
                   key=lambda n: _role_rank(config, n))
    for name in order:
        try:
            text = _make_safe(station.instruments[name], station.role_of(name), lamp)
            outcomes[name] = InstrumentOutcome(name, True, text)
        except Exception as exc:  # keep going: every other instrument must be made safe
            log.warning("labctl off: %s: %s", name, exc)
            outcomes[name] = InstrumentOutcome(
                name, False, f"FAILED: {error_line(exc, with_type=False)}")
    return [outcomes[name] for name in config.instruments if name in outcomes]


def _make_safe(instrument: Any, role: str, lamp: bool) -> str:
    """Make one instrument safe and say what it is now (raises when it is not known safe)."""
    if role == "smu":
        instrument.shutdown()  # never raises: the read-back says whether it worked
        if instrument.output_enabled:
            raise RuntimeError("the output still reads on after switching it off")
        return "output off"
    if role == "shutter":
        instrument.close()
        if instrument.is_open:
            raise RuntimeError("the shutter still reads open after closing it")
        return "closed"
    if role == "light_source":
        return _light_off(instrument, lamp)
    if role == "irradiance_sensor":
        instrument.shutdown()
        smu = getattr(instrument, "smu", None)
        if smu is None:
            return "nothing to switch off"
        if smu.output_enabled:
            raise RuntimeError("its SMU's output still reads on after switching it off")
        return "its SMU's output off"
    if role == "filter_wheel":
        return f"left at position {instrument.position} (nothing to switch off)"
    shutdown = getattr(instrument, "shutdown", None)
    if shutdown is not None:
        shutdown()
    return "shut down"


def _light_off(source: Any, lamp: bool) -> str:
    """Switch an LED off, and an arc lamp with ``lamp``; read back whether it is lit."""
    if source.is_arc_lamp and not lamp:
        return ("lit, left on (an arc lamp is switched off with --lamp)" if source.is_on
                else "off")
    was_on = source.is_on
    source.turn_off()
    if source.is_on:
        raise RuntimeError("the source still reads on after switching it off")
    return "switched off" if was_on else "off (it was off already)"
