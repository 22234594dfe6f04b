"""Station files and opened stations.

- :mod:`labctl.station.config`: the validated station file (:class:`StationConfig`, the
  instrument entries, role look-up);
- :mod:`labctl.station.opened`: the opened instruments (:class:`OpenStation`) and the typed
  :class:`Roles` procedures talk to.
"""

from labctl.station.config import *  # noqa: F403
from labctl.station.config import __all__ as _config_all
from labctl.station.opened import OpenError, OpenStation, Roles, open_station

__all__ = [*_config_all, "OpenError", "OpenStation", "Roles", "open_station"]
