"""The opened station: its instruments, real or simulated, and the roles procedures use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from labctl.station.config import StationConfig, load_station
from labctl.yamlio import InputError

# ---------------------------------------------------------------------------------------------
# Opening instruments (real VISA or the simulated bench) follows below.

#: station driver name -> "module:Class" of the labctl driver.
DRIVER_CLASSES: dict[str, str] = {
    "keithley2400": "instruments.keithley24xx:Keithley2400SMU",
    "keithley2420": "instruments.keithley24xx:Keithley2420SMU",
    "keithley2450": "instruments.keithley2450:Keithley2450SMU",
    "newport69907": "instruments.newport:Newport69907",
    "newport69920": "instruments.newport:Newport69920",
    "thorlabs_sc10": "instruments.thorlabs:SC10",
    "thorlabs_fw102c": "instruments.thorlabs:FW102C",
    "thorlabs_fw212c": "instruments.thorlabs:FW212C",
    "thorlabs_pm100": "instruments.thorlabs:PM100",
    "g2v_pico": "instruments.g2v:G2VPico",
}


class OpenError(InputError):
    """An instrument of the station could not be opened (named with its file and line)."""


@dataclass
class Roles:
    """The instruments a procedure talks to, by role (DESIGN.md, "Semantics")."""

    smu: Any
    smu_name: str
    light: Any | None = None
    shutter: Any | None = None
    attenuator: Any | None = None
    irradiance_sensor: Any | None = None
    station: StationConfig | None = None
    simulated: bool = False
    #: The simulated bench (simulation only: the truth a benchmark compares against).
    bench: Any | None = None


class OpenStation:
    """The opened instruments of a station, real or simulated.

    Use as a context manager: on exit every instrument is made safe (outputs off, shutter
    closed) and closed, whatever happened inside.
    """

    def __init__(self, config: StationConfig, simulated: bool | None = None) -> None:
        from labctl import clock

        self.config = config
        self.simulated = config.simulated if simulated is None else simulated
        self.instruments: dict[str, Any] = {}
        self.bench: Any | None = None
        self._visa_library: Any | None = None
        self._previous_clock = None
        if self.simulated:
            import pyvisa

            self._visa_library = pyvisa.ResourceManager(f"{config.path}@labsim").visalib
            self.bench = self._visa_library.bench
            self._previous_clock = clock.use(self.bench.clock)
        try:
            for name, inst in config.instruments.items():
                if inst.driver != "smu_photodiode":
                    self.instruments[name] = self._open(name, inst)
            for name, inst in config.instruments.items():
                if inst.driver == "smu_photodiode":
                    from instruments.photodiode import SmuPhotodiode

                    self.instruments[name] = SmuPhotodiode(
                        self.instruments[inst.smu], inst.responsivity_a_per_w, inst.area_mm2,
                        one_sun_current_a=inst.one_sun_current_a)
        except BaseException:
            self.close()
            raise

    def _open(self, name: str, inst: Any) -> Any:
        from importlib import import_module

        module_name, class_name = DRIVER_CLASSES[inst.driver].split(":")
        cls = getattr(import_module(module_name), class_name)
        kwargs: dict[str, Any] = {}
        if self._visa_library is not None:
            kwargs["visa_library"] = self._visa_library
        if getattr(inst, "timeout_ms", None):
            kwargs["timeout"] = inst.timeout_ms
        if self.role_of(name) == "smu":
            kwargs["line_frequency_hz"] = float(self.config.simulation.line_frequency_hz)
        if inst.driver == "g2v_pico":
            kwargs["pico_id"] = inst.pico_id
        if inst.driver == "thorlabs_pm100":
            kwargs["wavelength_nm"] = inst.wavelength_nm
        try:
            return cls(inst.resource, **kwargs)
        except Exception as exc:  # every failure to open is reported the same way
            reason = f"cannot open {inst.driver} at {inst.resource}: {_one_line(exc)}"
            error = self.config._error(reason, at=("instruments", name, "resource"))
            raise OpenError(error.reason, file=error.file, line=error.line,
                            field=error.field) from exc

    def role_of(self, name: str) -> str:
        return self.config.role_of(name)

    def roles(self, smu: str | None = None) -> Roles:
        """The instruments of each role, with the SMU ``smu`` (default: the one named smu)."""
        config = self.config
        smu_name = config.dut_smu(smu)
        wheels = config.attenuator()
        attenuator = None
        if wheels:
            from instruments.attenuator import Attenuator

            attenuator = Attenuator([self.instruments[w] for w in wheels],
                                    [config.instruments[w].od for w in wheels])
        light, shutter, sensor = (config.light_source(), config.shutter(),
                                  config.irradiance_sensor())
        return Roles(
            smu=self.instruments[smu_name], smu_name=smu_name,
            light=self.instruments[light] if light else None,
            shutter=self.instruments[shutter] if shutter else None,
            attenuator=attenuator,
            irradiance_sensor=self.instruments[sensor] if sensor else None,
            station=config, simulated=self.simulated, bench=self.bench)

    def identities(self) -> dict[str, str]:
        """Each instrument's identity as it reports it."""
        out: dict[str, str] = {}
        for name, inst in self.instruments.items():
            ident = getattr(inst, "identity", None)
            out[name] = str(ident() if callable(ident) else ident)
        return out

    def make_safe(self) -> list[str]:
        """Outputs off and shutter closed on every instrument; return what failed."""
        failures: list[str] = []
        order = sorted(self.instruments.items(),
                       key=lambda item: 0 if self.role_of(item[0]) == "smu" else 1)
        for name, inst in order:
            shutdown = getattr(inst, "shutdown", None)
            if shutdown is None:
                continue
            try:
                shutdown()
            except Exception as exc:  # keep going: every other instrument must be made safe
                failures.append(f"{name}: {_one_line(exc)}")
        return failures

    def close(self) -> None:
        from labctl import clock

        for inst in self.instruments.values():
            adapter = getattr(inst, "adapter", None)
            try:
                if adapter is not None:
                    adapter.close()
            except Exception:  # noqa: BLE001 - closing a dead connection is not an error
                pass
        self.instruments.clear()
        if self._previous_clock is not None:
            clock.use(self._previous_clock)
            self._previous_clock = None

    def __enter__(self) -> OpenStation:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.make_safe()
        finally:
            self.close()


def open_station(config: StationConfig | str | os.PathLike[str],
                 simulated: bool | None = None) -> OpenStation:
    """Open every instrument of a station, on the simulated bench when ``simulated``."""
    if not isinstance(config, StationConfig):
        config = load_station(config)
    return OpenStation(config, simulated)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
