"""Which emulator answers for which station driver."""

from __future__ import annotations

from importlib import import_module

from labctl.sim.scpi import ScpiDevice

#: station driver name -> "module:Class" of its emulator (one module per instrument family).
EMULATORS: dict[str, str] = {
    "keithley2400": "labctl.sim.keithley24xx:Keithley2400Emulator",
    "keithley2420": "labctl.sim.keithley24xx:Keithley2420Emulator",
    "keithley2450": "labctl.sim.keithley2450:Keithley2450Emulator",
    "newport69907": "labctl.sim.newport:Newport69907Emulator",
    "newport69920": "labctl.sim.newport:Newport69920Emulator",
    "thorlabs_sc10": "labctl.sim.thorlabs:SC10Emulator",
    "thorlabs_fw102c": "labctl.sim.thorlabs:FW102CEmulator",
    "thorlabs_fw212c": "labctl.sim.thorlabs:FW212CEmulator",
    "thorlabs_pm100": "labctl.sim.thorlabs:PM100Emulator",
    "g2v_pico": "labctl.sim.g2v:PicoEmulator",
}


def emulator_class(driver: str) -> type[ScpiDevice]:
    """The emulator class of a station driver name."""
    try:
        module_name, class_name = EMULATORS[driver].split(":")
    except KeyError:
        raise ValueError(f"no simulator for driver {driver!r}") from None
    return getattr(import_module(module_name), class_name)
