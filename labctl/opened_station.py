"""The opened station: its instruments, real or simulated, and the roles procedures use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labctl.errors import error_line
from labctl.events import Notice
from labctl.guard import InstrumentFault, InstrumentGuard, guard_station
from labctl.registry.instruments import OpenContext, instrument_entry
from labctl.station.config import StationConfig, load_station
from labctl.yamlio import InputError

if TYPE_CHECKING:
    from instruments.roles import Attenuator, IrradianceSensor, LightSource, Shutter, SourceMeter

class RecoveredFault(Notice):
    """A transient instrument fault recovered by a retry (a warning of the measurement)."""


class OpenError(InputError):
    """An instrument of the station could not be opened (named with its file and line)."""


@dataclass
class Roles:
    """The instruments a procedure talks to, by role (docs/contracts.md, "Semantics")."""

    smu: SourceMeter
    smu_name: str
    light: LightSource | None = None
    shutter: Shutter | None = None
    attenuator: Attenuator | None = None
    irradiance_sensor: IrradianceSensor | None = None
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
        self.guards: dict[str, InstrumentGuard] = {}
        if self.simulated:
            import pyvisa

            from labctl.sim.bench import station_spec

            self._visa_library = pyvisa.ResourceManager(f"{station_spec(config)}@labsim").visalib
            self.bench = self._visa_library.bench
            self._previous_clock = clock.use(self.bench.clock)
        try:
            for name in self._opening_order():
                self.instruments[name] = self._open(name, config.instruments[name])
            self.guards = guard_station(self)
        except BaseException:
            self.close()
            raise

    def _opening_order(self) -> list[str]:
        """Station order, except that an instrument built on another opens after it."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            inst = self.config.instruments[name]
            for needed in instrument_entry(inst.driver).depends_on(inst):
                visit(needed)
            order.append(name)

        for name in self.config.instruments:
            visit(name)
        return order

    def _open(self, name: str, inst: Any) -> Any:
        context = OpenContext(
            visa_library=self._visa_library,
            line_frequency_hz=float(self.config.simulation.line_frequency_hz),
            opened=self.instruments)
        try:
            return instrument_entry(inst.driver).open(inst, context)
        except Exception as exc:  # every failure to open is reported the same way
            where = getattr(inst, "resource", None) or f"SMU {getattr(inst, 'smu', '?')!r}"
            reason = (f"cannot open {inst.driver} at {where}: "
                      f"{error_line(exc, with_type=False)}")
            at = ("instruments", name, "resource" if hasattr(inst, "resource") else "driver")
            error = self.config._error(reason, at=at)
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
            attenuator = watched_attenuator([self.instruments[w] for w in wheels],
                                            [config.instruments[w].od for w in wheels],
                                            [self.label(w) for w in wheels])
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
            out[name] = identity_of(inst)
        return out

    def make_safe(self) -> list[str]:
        """Outputs off and shutter closed on every instrument; return what failed. An SMU's
        shutdown never raises, so its output is read back: one that does not answer is
        listed (its output may still be on)."""
        failures: list[str] = []
        order = sorted(self.instruments.items(),
                       key=lambda item: 0 if self.role_of(item[0]) == "smu" else 1)
        for name, inst in order:
            shutdown = getattr(inst, "shutdown", None)
            if shutdown is None:
                continue
            try:
                shutdown()
                self._confirm_output_off(name, inst)
            except Exception as exc:  # keep going: every other instrument must be made safe
                failures.append(f"{self.label(name)}: {self._short(exc)}")
        return failures

    def label(self, name: str) -> str:
        """``"shutter (thorlabs_sc10 at ASRL2::INSTR)"``: how errors name an instrument."""
        inst = self.config.instruments[name]
        where = getattr(inst, "resource", None) or f"SMU {getattr(inst, 'smu', '?')}"
        return f"{name} ({inst.driver} at {where})"

    @staticmethod
    def _short(exc: Exception) -> str:
        if isinstance(exc, InstrumentFault):
            return str(exc).split(": ", 1)[-1]
        return error_line(exc, with_type=False)

    def _confirm_output_off(self, name: str, inst: Any) -> None:
        if self.role_of(name) != "smu" or not hasattr(type(inst), "output_enabled"):
            return
        try:
            on = inst.output_enabled
        except Exception as exc:
            raise RuntimeError(f"output may still be on, it does not answer "
                               f"({self._short(exc)})") from exc
        if on:
            raise RuntimeError("output still on after :OUTP OFF")

    def watcher(self, document: Any) -> None:
        """Event subscriber: each data row counts on the simulated bench (``at_row``); a
        fault one retry recovered becomes a warning of the measurement (raised, the event
        stream reports it)."""
        if document.kind == "row" and self.bench is not None:
            self.bench.row_written()
        warnings = [w for guard in self.guards.values() for w in guard.take_warnings()]
        if warnings:
            raise RecoveredFault("; ".join(warnings))

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


def watched_attenuator(wheels: list[Any], od_per_slot: list[Any], labels: list[str]) -> Any:
    """The station's filter wheels as one :class:`instruments.attenuator.Attenuator` that
    remembers the positions it last set (``set_to``, station order; None until it moves or
    a procedure records where the wheels are) and how errors name each wheel (``labels``):
    ``procedures/base.py`` watches that every wheel keeps reading the position it was set to
    (a stuck wheel answers its old one)."""
    from instruments.attenuator import Attenuator

    class WatchedAttenuator(Attenuator):
        def __init__(self) -> None:
            super().__init__(wheels, od_per_slot)
            self.labels = list(labels)
            self.set_to: tuple[int, ...] | None = None

        def _move(self, current: Any, positions: Any) -> None:
            self.set_to = tuple(int(p) for p in positions)
            super()._move(current, positions)

    return WatchedAttenuator()


def identity_of(instrument: Any) -> str:
    """An instrument's ``identity`` (a property on every labctl driver), "none" for None."""
    if instrument is None:
        return "none"
    return str(instrument.identity).strip()
