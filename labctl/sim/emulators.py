"""Which emulator answers for which station driver: the instrument registry's entry."""

from __future__ import annotations

from labctl.registry.instruments import instrument_entry
from labctl.sim.scpi import ScpiDevice


def emulator_class(driver: str) -> type[ScpiDevice]:
    """The emulator class of a station driver name (its instrument registry entry's)."""
    try:
        return instrument_entry(driver).emulator()
    except KeyError:
        raise ValueError(f"no simulator for driver {driver!r}") from None
