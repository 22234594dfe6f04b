"""The station file: which instruments a bench has and, for simulation, its devices.

- :mod:`labctl.station.config`: the validated station file (:class:`StationConfig`, role
  look-up by the instrument registry);
- :mod:`labctl.station.simulation`: the models of its ``simulation:`` block (the devices,
  light, noise and clock the simulated bench is built from).

The entries of each instrument are the registry's (:mod:`labctl.registry.instrument_configs`);
the opened station is :mod:`labctl.opened_station`.
"""

from labctl.station.config import *  # noqa: F403
from labctl.station.config import __all__  # noqa: F401
