"""The simulated bench in a lab's own test suite: labctl's pytest plugin.

Installed with labctl (a ``pytest11`` entry point named ``labctl``), so a lab's tests get these
fixtures without any import:

``labsim_station``
    Factory: ``labsim_station(station=None, **changes)`` opens a simulated station from a
    station file, a dict (the content of one) or a :class:`~labctl.station.StationConfig`,
    and returns a :class:`SimStation`. ``changes`` update top-level keys of the file's content
    (a mapping updates the mapping under that key; a key set to None in it is removed).
    Without ``station``: the file of the ``labsim_station`` ini option (or
    ``--labsim-station``), else labctl's default simulated station.
``labsim``
    The :class:`SimStation` of that default station.
``labsim_rm``, ``labsim_instruments``, ``labsim_clock``, ``labsim_faults``, ``labsim_truth``
    Its PyVISA resource manager (``pyvisa.ResourceManager("STATION.yaml@labsim")``), its
    opened labctl drivers by name, its :class:`ClockControl`, :class:`Faults` and
    :class:`Truth`.

Every station a test opens starts on a fresh bench at virtual time 0; at the end of the test
its instruments are made safe and closed, the clock that was active before is restored and
every bench is forgotten (:func:`labctl.sim.bench.forget_benches`).

A station file's own relative paths (``simulation.pyvisa_sim``) resolve beside the file; a
station given as a dict, or with ``changes``, is written to a temporary file first.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from labctl import clock
from labctl.station.faults import FAMILY_KINDS, FAULT_KINDS

if TYPE_CHECKING:
    from labctl.opened_station import OpenStation, Roles
    from labctl.sim.bench import Bench
    from labctl.sim.scpi import ScpiDevice
    from labctl.station.config import StationConfig

__all__ = [
    "FAULTS",
    "CellTruth",
    "ClockControl",
    "Faults",
    "SimStation",
    "Truth",
    "labsim",
    "labsim_clock",
    "labsim_faults",
    "labsim_instruments",
    "labsim_rm",
    "labsim_station",
    "labsim_truth",
]

#: The faults an emulator can be given, the kinds of ``simulation.faults``
#: (:data:`labctl.station.faults.FAULT_KINDS`: ``"no_reply"``, ``"dead"``, ``"error_reply"``,
#: ``"garbage"``, ``"slow"`` on any instrument; ``"lamp_fault"``, ``"wheel_stuck"``,
#: ``"shutter_stuck"``, ``"interlock"`` on their family; :mod:`labctl.sim.faults`).
FAULTS = tuple(FAULT_KINDS)


# --- what a test reads and moves ------------------------------------------------------------

class ClockControl:
    """The bench clock, read and moved by a test."""

    def __init__(self, bench: Bench) -> None:
        self._bench = bench

    @property
    def clock(self) -> Any:
        """The bench's clock object (:class:`labctl.clock.VirtualClock` by default)."""
        return self._bench.clock

    def now_s(self) -> float:
        """Bench time [s]."""
        return self._bench.clock.now_s()

    def _require_virtual(self) -> None:
        if not self._bench.clock.is_virtual:
            raise RuntimeError("the station runs on the real clock (simulation.clock: real); "
                               "a test moves only the virtual one")

    def advance(self, duration_s: float) -> float:
        """Move the clock on by ``duration_s`` (the instruments' pending work runs in that
        time, as if the test had slept); return the new time."""
        self._require_virtual()
        if duration_s < 0:
            raise ValueError(f"the clock only moves forward (advance({duration_s}))")
        self._bench.clock.sleep(duration_s)
        return self.now_s()

    def advance_to(self, time_s: float) -> float:
        """Move the clock on to ``time_s`` (nothing if it is already later); the new time."""
        self._require_virtual()
        self._bench.clock.sleep_until(time_s)
        return self.now_s()


class Faults:
    """Faults and queued errors injected into the bench's emulators, by instrument name."""

    def __init__(self, bench: Bench) -> None:
        self._bench = bench

    def emulator(self, name: str) -> ScpiDevice:
        """The emulator of a station instrument (KeyError naming the ones there are)."""
        try:
            return self._bench.instruments[name]
        except KeyError:
            known = ", ".join(self._bench.instruments) or "none"
            raise KeyError(f"no simulated instrument {name!r} (instruments: {known})") from None

    def inject(self, name: str, fault: str, *, once: bool = False) -> None:
        """Give an instrument a fault now, one of :data:`FAULTS` (``once``: it heals after
        one spoiled exchange); a family fault on another family is a ValueError."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
        emulator = self.emulator(name)
        if fault in FAMILY_KINDS and fault not in emulator.family_faults:
            raise ValueError(f"{fault} is a fault of a {FAMILY_KINDS[fault]}, not of {name!r}")
        emulator.start_fault(fault, once=once)

    def clear(self, name: str | None = None) -> None:
        """Heal one instrument (or all of them)."""
        names = [name] if name is not None else list(self._bench.instruments)
        for each in names:
            self.emulator(each).heal()

    @contextmanager
    def during(self, name: str, fault: str) -> Iterator[None]:
        """``with faults.during("smu", "dead"): ...``: the fault inside the block only."""
        self.inject(name, fault)
        try:
            yield
        finally:
            self.clear(name)

    def queue_error(self, name: str, code: int, message: str) -> None:
        """Put an error in an instrument's error queue, as if it had raised it."""
        self.emulator(name).push_error(code, message)

    def errors(self, name: str) -> list[tuple[int, str]]:
        """The instrument's error queue now (left as it is)."""
        return list(self.emulator(name).errors)

    def unhandled(self, name: str) -> list[str]:
        """Every header the emulator did not know, in the order received."""
        return list(self.emulator(name).unhandled)

    def received(self, name: str) -> list[str]:
        """The messages the instrument received (the last 2000)."""
        return list(self.emulator(name).traffic)


@dataclass(frozen=True)
class CellTruth:
    """The true steady-state figures of a simulated solar cell at one irradiance."""

    irradiance_mw_cm2: float
    area_cm2: float
    voc_v: float
    #: Short-circuit current density, positive (photovoltaic sign) [mA/cm²].
    jsc_ma_cm2: float
    vmpp_v: float
    jmpp_ma_cm2: float
    pmax_mw_cm2: float

    @property
    def isc_a(self) -> float:
        """Short-circuit current [A] (the SMU reads it negative)."""
        return self.jsc_ma_cm2 * 1e-3 * self.area_cm2

    @property
    def pmax_w(self) -> float:
        return self.pmax_mw_cm2 * 1e-3 * self.area_cm2

    @property
    def fill_factor(self) -> float:
        product = self.voc_v * self.jsc_ma_cm2
        return self.pmax_mw_cm2 / product if product > 0 else 0.0

    @property
    def efficiency_pct(self) -> float:
        if self.irradiance_mw_cm2 <= 0:
            return 0.0
        return 100.0 * self.pmax_mw_cm2 / self.irradiance_mw_cm2


class Truth:
    """The device's true values: the bench's exact models (no noise), via labctl.sim.physics."""

    def __init__(self, bench: Bench) -> None:
        self._bench = bench

    def irradiance_mw_cm2(self) -> float:
        """Irradiance at the devices now, from the state of the light instruments."""
        return self._bench.irradiance_mw_cm2()

    def model(self, smu: str = "smu") -> Any:
        """The exact device model wired to an SMU (None for open leads)."""
        try:
            return self._bench.models[smu]
        except KeyError:
            known = ", ".join(self._bench.models) or "none"
            raise KeyError(f"no SMU {smu!r} on the simulated bench (SMUs: {known})") from None

    def cell(self, smu: str = "smu", irradiance_mw_cm2: float | None = None) -> CellTruth:
        """Voc, Jsc and the maximum power point of the solar cell on ``smu``, settled, at the
        irradiance now (or the one given)."""
        from labctl.sim import physics

        cell = self.model(smu)
        if not isinstance(cell, physics.SolarCell):
            raise TypeError(f"the device on {smu!r} is a {type(cell).__name__}, "
                            "not a solar cell")
        irradiance = (self.irradiance_mw_cm2() if irradiance_mw_cm2 is None
                      else float(irradiance_mw_cm2))
        vmpp_v, jmpp_a_cm2, pmax_w_cm2 = cell.steady_state_mpp(irradiance)
        jsc = float(cell.steady_state_current_density_a_cm2(0.0, irradiance))
        return CellTruth(
            irradiance_mw_cm2=irradiance, area_cm2=cell.area_cm2,
            voc_v=cell.steady_state_open_circuit_voltage_v(irradiance),
            jsc_ma_cm2=jsc * 1e3, vmpp_v=vmpp_v, jmpp_ma_cm2=jmpp_a_cm2 * 1e3,
            pmax_mw_cm2=pmax_w_cm2 * 1e3)


# --- one simulated station --------------------------------------------------------------------

class SimStation:
    """A station on the simulated bench, as a test uses it.

    ``path`` is its station file (None for a StationConfig held in memory) and
    ``visa_library`` the PyVISA library spec that opens its bench
    (``pyvisa.ResourceManager(sim.visa_library)``, the same instruments the labctl drivers
    talk to). The labctl drivers are opened on first use of :attr:`station`,
    :attr:`instruments` or :meth:`roles`.
    """

    def __init__(self, config: StationConfig, path: Path | None) -> None:
        from labctl.sim.bench import bench_for, station_spec

        self.config = config
        self.path = path
        self.spec = station_spec(config)
        self.visa_library = f"{self.spec}@labsim"
        self.bench: Bench = bench_for(self.spec)
        self.clock = ClockControl(self.bench)
        self.faults = Faults(self.bench)
        self.truth = Truth(self.bench)
        self._previous_clock: Any | None = clock.use(self.bench.clock)
        self._station: OpenStation | None = None
        self._manager: Any | None = None
        self.closed = False

    @property
    def station(self) -> OpenStation:
        """The opened labctl station (opened on first use)."""
        if self.closed:
            raise RuntimeError("the simulated station is closed")
        if self._station is None:
            from labctl.opened_station import OpenStation

            self._station = OpenStation(self.config, simulated=True)
        return self._station

    @property
    def instruments(self) -> dict[str, Any]:
        """The opened labctl drivers, by instrument name."""
        return self.station.instruments

    def roles(self, smu: str | None = None) -> Roles:
        """The instruments by role, as a procedure gets them."""
        return self.station.roles(smu)

    def resource_manager(self) -> Any:
        """The PyVISA resource manager of the bench (one per station, closed with it)."""
        if self._manager is None:
            import pyvisa

            self._manager = pyvisa.ResourceManager(self.visa_library)
        return self._manager

    def emulator(self, name: str) -> ScpiDevice:
        """The emulator behind a station instrument."""
        return self.faults.emulator(name)

    def close(self) -> None:
        """Make the instruments safe, close them and the resource manager, restore the clock
        that was active before (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._station is not None:
                self._station.__exit__(None, None, None)
            if self._manager is not None:
                self._manager.close()
        finally:
            if self._previous_clock is not None:
                clock.use(self._previous_clock)
                self._previous_clock = None


def _apply_changes(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
            data[key] = {k: v for k, v in data[key].items() if v is not None}
        elif value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


class StationFactory:
    """What the ``labsim_station`` fixture returns: call it to open a simulated station."""

    def __init__(self, default: Path, folder: Callable[[], Path]) -> None:
        self.default = default
        self._folder = folder
        self.opened: list[SimStation] = []
        self._written = 0

    def __call__(self, station: Any = None, /, **changes: Any) -> SimStation:
        from labctl.station.config import StationConfig, load_station

        if isinstance(station, StationConfig):
            if changes:
                raise TypeError("changes apply to a station file or dict, not a StationConfig")
            sim = SimStation(station, None)
        else:
            path = self.default if station is None else station
            if isinstance(path, dict) or changes:
                data = path if isinstance(path, dict) else yaml.safe_load(Path(path).read_text())
                path = self._write(_apply_changes(data, changes))
            path = Path(path)
            sim = SimStation(load_station(path), path)
        self.opened.append(sim)
        return sim

    def _write(self, data: dict[str, Any]) -> Path:
        self._written += 1
        path = self._folder() / f"station{self._written}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def close(self) -> None:
        errors: list[BaseException] = []
        for sim in reversed(self.opened):
            try:
                sim.close()
            except Exception as exc:  # noqa: BLE001 - close the others, then report
                errors.append(exc)
        self.opened.clear()
        if errors:
            raise errors[0]


# --- the plugin -------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labsim", "labctl simulated bench")
    group.addoption("--labsim-station", default=None, metavar="FILE",
                    help="station file the labsim fixtures open by default")
    parser.addini("labsim_station", "station file the labsim fixtures open by default "
                  "(relative to the rootdir); default: labctl's simulated station", default="")


def _default_station(config: pytest.Config) -> Path:
    from labctl.sim.bench import DEFAULT_STATION

    option = config.getoption("--labsim-station", default=None)
    if option:
        return Path(option).expanduser().resolve()
    ini = str(config.getini("labsim_station") or "").strip()
    if ini:
        return (config.rootpath / os.path.expanduser(ini)).resolve()
    return DEFAULT_STATION


@pytest.fixture
def labsim_station(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationFactory]:
    """Factory: ``labsim_station(station=None, **changes)`` -> :class:`SimStation`."""
    from labctl.sim.bench import forget_benches

    forget_benches()
    previous = clock.active()
    folder: list[Path] = []

    def station_folder() -> Path:
        if not folder:
            folder.append(tmp_path_factory.mktemp("labsim"))
        return folder[0]

    factory = StationFactory(_default_station(request.config), station_folder)
    try:
        yield factory
    finally:
        try:
            factory.close()
        finally:
            clock.use(previous)
            forget_benches()


@pytest.fixture
def labsim(labsim_station: StationFactory) -> SimStation:
    """The default simulated station (``labsim_station`` ini option, else labctl's)."""
    return labsim_station()


@pytest.fixture
def labsim_rm(labsim: SimStation) -> Any:
    """PyVISA resource manager of the default simulated station."""
    return labsim.resource_manager()


@pytest.fixture
def labsim_instruments(labsim: SimStation) -> dict[str, Any]:
    """The default simulated station's opened labctl drivers, by instrument name."""
    return labsim.instruments


@pytest.fixture
def labsim_clock(labsim: SimStation) -> ClockControl:
    """Read and move the default simulated station's virtual clock."""
    return labsim.clock


@pytest.fixture
def labsim_faults(labsim: SimStation) -> Faults:
    """Inject faults into the default simulated station's instruments."""
    return labsim.faults


@pytest.fixture
def labsim_truth(labsim: SimStation) -> Truth:
    """The true values of the default simulated station's devices."""
    return labsim.truth
