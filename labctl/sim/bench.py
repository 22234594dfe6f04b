"""The simulated bench: device models, light path and instruments on one clock.

A :class:`Bench` is built from a validated :class:`~labctl.station.StationConfig` (read from
a station file or built in memory). It owns

- the clock (virtual by default, ``simulation.clock: real`` for demos),
- one lock (pyvisa-sim is not thread-safe; every VISA read and write holds it),
- the light path: source -> shutter -> filter wheels -> the devices under test,
- one device model per SMU (the cell on ``smu``, the photodiode on the SMU that reads it, the
  devices of ``simulation.devices``), wrapped with measurement noise when ``simulation.noise``
  is on, and
- one emulator per instrument, registered at the resource name the station gives it.

There is one bench per resolved station path (:func:`bench_for`), so every ResourceManager
opened on ``STATION.yaml@labsim`` sees the same instruments, like a real bench. A station built
in memory gets its bench from :func:`register_bench`, which returns the spec to open it with
(``pyvisa.ResourceManager(f"{spec}@labsim")``).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvisa_sim.devices import Devices

from labctl.clock import ChannelLock, RealClock, VirtualClock
from labctl.sim import physics
from labctl.sim.faults import FaultSchedule
from labctl.sim.physics import MeasurementSettings
from labctl.station import StationConfig, canonical_resource, load_station
from labctl.station.simulation import NoiseSim, SingleCarrierDevice, SolarCellDevice

if TYPE_CHECKING:
    from labctl.sim.scpi import ScpiDevice

DEFAULT_STATION = Path(__file__).with_name("default_station.yaml")
#: Name of the simulated bench's state file in a run folder (:meth:`Bench.save_state`).
STATE_FILE_NAME = "simulated_bench.json"
#: ``format`` of that file; ``version`` changes when its layout does.
STATE_FORMAT = "labctl simulated bench state"
STATE_VERSION = 1


class BenchStateError(ValueError):
    """A state file that does not belong to this bench (another station, another layout)."""


class LightPath:
    """Irradiance reaching the devices under test, from the state of the light instruments.

    ``source`` is any object with ``relative_output(t_s) -> float`` (1 = nominal), set by the
    lamp or LED emulator; ``shutter_open`` is None when the station has no shutter;
    ``attenuators`` are callables returning each wheel's transmission (10^-OD). A station with
    no light source and no shutter keeps its devices lit at the nominal irradiance.
    """

    def __init__(self, nominal_mw_cm2: float) -> None:
        self.nominal_mw_cm2 = nominal_mw_cm2
        self.source: Any | None = None
        self.shutter_open: bool | None = None
        self.attenuators: list[Callable[[], float]] = []

    def transmission(self) -> float:
        value = 1.0
        for attenuator in self.attenuators:
            value *= attenuator()
        return value

    def irradiance_mw_cm2(self, t_s: float) -> float:
        source = 1.0 if self.source is None else self.source.relative_output(t_s)
        shutter = 1.0 if self.shutter_open is None or self.shutter_open else 0.0
        return self.nominal_mw_cm2 * source * shutter * self.transmission()


def device_model(config: SolarCellDevice | SingleCarrierDevice) -> physics.DeviceModel:
    """The physics of a validated ``simulation.device`` entry (the model is its parameters)."""
    if isinstance(config, SingleCarrierDevice):
        return physics.SingleCarrierDevice(config)
    return physics.SolarCell(config)


def _nplc(emulator: Any, function: str) -> float:
    nplc = getattr(emulator, "nplc", 1.0)
    return float(nplc.get(function, 1.0) if isinstance(nplc, dict) else nplc)


def _fixed_range(emulator: Any, function: str) -> float | None:
    """The SMU's fixed measurement range of ``function``, None with auto range."""
    auto = getattr(emulator, "sense_range_auto", {}).get(function, True)
    return None if auto else float(emulator.sense_range[function])


def smu_measurement_settings(emulator: Any) -> MeasurementSettings:
    """What an SMU emulator's present settings mean for the noise of its readings; its
    ranges are the model's (``emulator.limits``, the one copy in :mod:`instruments.smu`)."""
    limits = emulator.limits
    return MeasurementSettings(
        current_range_a=_fixed_range(emulator, "CURR"),
        voltage_range_v=_fixed_range(emulator, "VOLT"),
        current_ranges_a=limits.current_ranges_a, voltage_ranges_v=limits.voltage_ranges_v,
        nplc_current=_nplc(emulator, "CURR"), nplc_voltage=_nplc(emulator, "VOLT"),
    )


class Bench:
    """Everything of one simulated station that lives between the VISA calls."""

    def __init__(self, station: StationConfig) -> None:
        from labctl.sim.emulators import emulator_class  # the emulators import this module

        self.station = station
        sim = station.simulation
        self.clock: VirtualClock | RealClock = (
            VirtualClock() if sim.clock == "virtual" else RealClock()
        )
        #: Held by every VISA read and write; channels waiting for it step aside on the
        #: virtual clock (:class:`labctl.clock.ChannelLock`).
        self.lock = ChannelLock()
        self.line_frequency_hz = float(sim.line_frequency_hz)
        self.light = LightPath(sim.light.irradiance_mw_cm2)
        self.devices = Devices()
        self.instruments: dict[str, ScpiDevice] = {}
        #: Device model wired to each SMU (by instrument name); None = open leads.
        self.duts: dict[str, physics.DeviceModel | None] = {}
        #: The faults of ``simulation.faults`` not started yet (:mod:`labctl.sim.faults`).
        self.faults = FaultSchedule(self, sim.faults)

        photodiodes = station.photodiode_smus()
        for name in station.smu_names():
            if name in photodiodes:
                pd = station.instruments[photodiodes[name]]
                self.duts[name] = physics.Photodiode(
                    responsivity_a_per_w=pd.responsivity_a_per_w, area_mm2=pd.area_mm2,
                    params=sim.photodiode,
                )
            else:
                config = station.device_for_smu(name)
                self.duts[name] = None if config is None else device_model(config)

        for name, inst in station.instruments.items():
            resource = getattr(inst, "resource", None)
            if resource is None:
                continue  # a role built on another instrument (photodiode read by an SMU)
            device = emulator_class(inst.driver)(name, self, inst.model_dump())
            self.devices.add_device(canonical_resource(resource), device)
            self.instruments[name] = device

        #: The exact device models (ground truth); ``duts`` is what the SMUs read, noisy
        #: when ``simulation.noise`` is on.
        self.models: dict[str, physics.DeviceModel | None] = dict(self.duts)
        if sim.noise is not None:
            self._add_noise(sim.noise)
        if sim.pyvisa_sim:  # stored resolved (absolute) by the station validation
            self._add_pyvisa_sim_devices(Path(sim.pyvisa_sim))
        self._equilibrate_devices()
        self.faults.check()
        self.faults.arm()

    # --- state across processes ----------------------------------------------------------
    def _wiring(self) -> dict[str, list[str]]:
        """Each instrument's driver and resource: what a state file must have been saved on."""
        wiring: dict[str, list[str]] = {}
        for name, inst in self.station.instruments.items():
            resource = getattr(inst, "resource", None)
            wiring[name] = [inst.driver, canonical_resource(resource) if resource else ""]
        return wiring

    def save_state(self) -> dict[str, Any]:
        """What the bench keeps when the computer that drives it goes away: the clock, each
        device model's state (a cell's ion memory, light dose, burn-in; where each noise
        stream has got to) and each instrument's persistent state (a lamp lit and since when,
        its burn hours, the wheels' positions, the shutter). JSON-ready."""
        with self.lock:
            models = {name: model.state_dict() for name, model in self.models.items()
                      if hasattr(model, "state_dict")}
            noise = {name: dut.state_dict() for name, dut in self.duts.items()
                     if isinstance(dut, physics.NoisyDevice)}
            instruments = {name: device.persistent_state()
                           for name, device in self.instruments.items()
                           if hasattr(device, "persistent_state")}
            return {"format": STATE_FORMAT, "version": STATE_VERSION,
                    "station": self.station.station, "wiring": self._wiring(),
                    "clock_s": self.clock.now_s(), "wall_time_s": time.time(),
                    "models": models, "noise": noise, "instruments": instruments,
                    "faults": self._fault_state()}

    def _fault_state(self) -> dict[str, Any]:
        """Which ``simulation.faults`` entries have not started (by index), the rows counted
        for ``at_row``, and the fault each instrument has now (a dead one stays dead)."""
        specs = list(self.station.simulation.faults)
        pending = [i for i, spec in enumerate(specs)
                   if any(spec is other for other in self.faults.pending)]
        active = {name: [device.fault, device.fault_once]
                  for name, device in self.instruments.items() if device.fault is not None}
        return {"pending": pending, "rows_written": self.faults.rows_written, "active": active}

    def _load_faults(self, state: dict[str, Any]) -> None:
        specs = list(self.station.simulation.faults)
        pending = [int(i) for i in state["pending"]]
        if any(not 0 <= i < len(specs) for i in pending):
            raise BenchStateError("the state has faults the station file has not")
        self.faults.pending = [specs[i] for i in pending]
        self.faults.rows_written = int(state["rows_written"])
        for name, (kind, once) in state["active"].items():
            self.instruments[name].start_fault(str(kind), once=bool(once))

    def check_state(self, state: dict[str, Any]) -> None:
        """BenchStateError (one line) unless ``state`` was saved by a bench of this station."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise BenchStateError("not a labctl simulated-bench state file")
        if state.get("version") != STATE_VERSION:
            raise BenchStateError(f"state file version {state.get('version')!r}, this labctl "
                                  f"reads version {STATE_VERSION}")
        if state.get("station") != self.station.station:
            raise BenchStateError(f"it was saved by station {state.get('station')!r}, this is "
                                  f"station {self.station.station!r}")
        if state.get("wiring") != self._wiring():
            raise BenchStateError(f"it was saved by station {self.station.station!r} with "
                                  "other instruments (drivers or resources differ)")

    def restore_state(self, state: dict[str, Any]) -> None:
        """Put the bench back as :meth:`save_state` found it: the clock to the saved time (a
        real clock to the saved time plus the wall time since), then the models and the
        instruments, so a lamp's ignition time and a cell's age stay consistent.
        BenchStateError when the state is not this station's (nothing is changed then)."""
        self.check_state(state)
        with self.lock:
            saved_s = float(state["clock_s"])
            if isinstance(self.clock, VirtualClock):
                self.clock.reset(saved_s)
            else:  # the lab went on in real time while no process watched it
                away_s = max(0.0, time.time() - float(state.get("wall_time_s", time.time())))
                self.clock._origin_s = time.monotonic() - saved_s - away_s
            self.light_changing()  # every SMU's device up to now; the saved state follows
            try:
                self._load_parts(state)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BenchStateError(f"unreadable state: {exc}") from None

    def _load_parts(self, state: dict[str, Any]) -> None:
        for name, model_state in state.get("models", {}).items():
            model = self.models.get(name)
            if model is None or not hasattr(model, "load_state"):
                raise BenchStateError(f"the state has a device on {name!r}, the bench does not")
            model.load_state(model_state)
        for name, noise_state in state.get("noise", {}).items():
            dut = self.duts.get(name)
            if isinstance(dut, physics.NoisyDevice):
                dut.load_state(noise_state)  # a station with noise off ignores the streams
        for name, device_state in state.get("instruments", {}).items():
            device = self.instruments.get(name)
            if device is None or not hasattr(device, "restore_persistent_state"):
                raise BenchStateError(f"the state has an instrument {name!r}, the bench does not")
            device.restore_persistent_state(device_state)
        if "faults" in state:
            self._load_faults(state["faults"])

    def row_written(self) -> None:
        """The run wrote one data row (the ``at_row`` of a fault counts them)."""
        with self.lock:
            self.faults.row_written()

    def _add_noise(self, noise: NoiseSim) -> None:
        """Wrap each SMU's device so that what the SMU reads from it carries noise."""
        for name, dut in self.duts.items():
            if dut is None:
                continue
            def settings(name: str = name) -> MeasurementSettings:
                return smu_measurement_settings(self.instruments[name])

            self.duts[name] = physics.NoisyDevice(dut, noise, settings, stream=name)

    def _equilibrate_devices(self) -> None:
        """Cells start as they sat on the bench: lit at open circuit when nothing blocks the
        light (no shutter, no source to switch on), in the dark otherwise."""
        irradiance = self.irradiance_mw_cm2(0.0)
        for dut in self.duts.values():
            equilibrate = getattr(dut, "equilibrate_open_circuit", None)
            if equilibrate is not None:
                equilibrate(irradiance)

    def _add_pyvisa_sim_devices(self, path: Path) -> None:
        """Plain pyvisa-sim YAML devices beside the physics-backed ones."""
        from pyvisa_sim import parser

        extra = parser.get_devices(str(path), False)
        for resource in extra.list_resources():
            device = extra[resource]
            self.devices._internal[resource] = device  # already bound to its resource name

    # --- coupling ------------------------------------------------------------------------
    def irradiance_mw_cm2(self, t_s: float | None = None) -> float:
        """Irradiance at the devices under test now (or at ``t_s``) [mW/cm²]."""
        return self.light.irradiance_mw_cm2(self.clock.now_s() if t_s is None else t_s)

    def light_changing(self) -> None:
        """Bring every device model up to now before the light changes."""
        now_s = self.clock.now_s()
        for device in self.instruments.values():
            sync = getattr(device, "sync", None)
            if sync is not None:
                sync(now_s)

    def true_mpp_mw_cm2(self, smu_name: str) -> float:
        """The true steady-state maximum power density [mW/cm²] of the device on SMU
        ``smu_name`` now, at the irradiance reaching it (simulation only: the truth a
        simulation-only column and the tracking efficiency compare against; never given to
        a tracker). NaN for a device with no such point (open leads, an SCLC device)."""
        with self.lock:
            model = self.models.get(smu_name)
            steady = getattr(model, "steady_state_mpp", None)
            if steady is None:
                return math.nan
            return float(steady(self.irradiance_mw_cm2())[2]) * 1e3

    def smu_emulator(self, name: str) -> ScpiDevice:
        return self.instruments[name]

    def reset(self) -> None:
        """Power-cycle the bench: clock to 0, every instrument and device model as new."""
        with self.lock:
            if isinstance(self.clock, VirtualClock):
                self.clock.reset(0.0)
            for dut in self.duts.values():
                if dut is not None:
                    dut.reset()
            self.light.source = None
            self.light.shutter_open = None
            self.light.attenuators = []
            for device in self.instruments.values():
                device.power_on()
            self._equilibrate_devices()
            self.faults.arm()


def write_state_file(path: Path, state: dict[str, Any]) -> None:
    """Write a bench state as JSON, atomically (a temporary file renamed over ``path``)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_state_file(path: Path) -> dict[str, Any]:
    """A bench state written by :func:`write_state_file` (BenchStateError: not one)."""
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BenchStateError(f"unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise BenchStateError("not a labctl simulated-bench state file")
    return state


_benches: dict[Path, Bench] = {}
#: Benches of stations built in memory, by the library spec :func:`register_bench` returned.
_memory_benches: dict[str, Bench] = {}
_benches_lock = threading.Lock()
_memory_serial = itertools.count(1)

#: Prefix of the library spec of a bench registered from a StationConfig object.
MEMORY_SPEC_PREFIX = "memory:"


def resolve_station_path(library_path: str) -> Path:
    """The station file behind a ``STATION.yaml@labsim`` spec ("" or "unset": the default)."""
    text = str(library_path).strip()
    if text in ("", "unset"):
        return DEFAULT_STATION.resolve()
    return Path(text).expanduser().resolve()


def register_bench(station: StationConfig) -> str:
    """Build the bench of a station held in memory; return its library spec.

    ``pyvisa.ResourceManager(f"{spec}@labsim")`` then opens that bench's instruments, and
    every manager opened on the same spec shares them. Registering the same StationConfig
    object again returns the same spec (and bench); a different object, even an equal one,
    gets its own bench. No file is read (a ``simulation.pyvisa_sim`` file is, as named).
    """
    with _benches_lock:
        for spec, bench in _memory_benches.items():
            if bench.station is station:
                return spec
        spec = f"{MEMORY_SPEC_PREFIX}{next(_memory_serial)}"  # never reused in a process
        _memory_benches[spec] = Bench(station)
        return spec


def station_spec(station: StationConfig) -> str:
    """The library spec of a station's bench, built from the StationConfig object itself:
    its resolved file path when it came from a file (so ``STATION.yaml@labsim`` opened
    elsewhere in the process shares the bench), else a registered in-memory spec."""
    if not station._path:
        return register_bench(station)
    path = resolve_station_path(str(station.path))
    with _benches_lock:
        if path not in _benches:
            _benches[path] = Bench(station)
    return str(path)


def bench_for(library_path: str | Path | StationConfig) -> Bench:
    """The one bench of a station file (created on first use), of a spec that
    :func:`register_bench` returned, or of a StationConfig object (registered on first use)."""
    if isinstance(library_path, StationConfig):
        library_path = register_bench(library_path)
    text = str(library_path).strip()
    if text.startswith(MEMORY_SPEC_PREFIX):
        with _benches_lock:
            bench = _memory_benches.get(text)
        if bench is None:
            raise ValueError(f"no simulated bench is registered as {text!r} (register_bench "
                             "returns the spec; forget_benches drops them)")
        return bench
    path = resolve_station_path(text)
    with _benches_lock:
        bench = _benches.get(path)
        if bench is None:
            bench = Bench(load_station(path))
            _benches[path] = bench
        return bench


def forget_benches() -> None:
    """Drop every bench and PyVISA's cached libraries of them (tests, a rewritten station)."""
    from pyvisa.highlevel import VisaLibraryBase

    from labctl.sim.backend import LabsimVisaLibrary

    with _benches_lock:
        _benches.clear()
        _memory_benches.clear()
    registry = VisaLibraryBase._registry
    for key in [k for k in list(registry.keys()) if issubclass(k[0], LabsimVisaLibrary)]:
        registry.pop(key, None)
