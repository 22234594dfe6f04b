"""PyVISA backend ``@labsim``: the simulated bench of a labctl station file.

``pyvisa.ResourceManager("configs/stations/simulated.yaml@labsim")`` opens every instrument of
that station at the resource name the station gives it, and ``pyvisa-shell -b
STATION.yaml@labsim`` lets a person type SCPI at the simulated bench. A station built in
memory opens with ``pyvisa.ResourceManager(f"{labctl.sim.bench.register_bench(config)}@labsim")``.
PyVISA finds this module by its name (``pyvisa_<backend>``) and uses ``WRAPPER_CLASS``.
"""

from labctl.sim.backend import LabsimVisaLibrary

WRAPPER_CLASS = LabsimVisaLibrary

__all__ = ["WRAPPER_CLASS"]
