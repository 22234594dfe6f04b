"""Station files and opened stations.

- :mod:`labctl.station.instruments`: the validated entry of each instrument, by driver name;
- :mod:`labctl.station.config`: the validated station file (:class:`StationConfig`, role
  look-up);
- :mod:`labctl.station.opened`: the opened instruments (:class:`OpenStation`) and the typed
  :class:`Roles` procedures talk to.

Names are imported from the submodules on first use, so that the instrument registry can
import :mod:`labctl.station.instruments` without importing the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_OPENED = ("OpenError", "OpenStation", "Roles", "identity_of", "open_station")


def __getattr__(name: str) -> Any:
    module = "labctl.station.opened" if name in _OPENED else "labctl.station.config"
    try:
        return getattr(import_module(module), name)
    except AttributeError:
        raise AttributeError(f"module 'labctl.station' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*import_module("labctl.station.config").__all__, *_OPENED})
