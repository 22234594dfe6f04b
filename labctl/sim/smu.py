"""What every simulated source-measure unit shares: the wiring to its device model.

The emulators of the 2400-series and the 2450 differ in their command sets, reply formats and
timing; both derive from :class:`SmuEmulator` (model limits, output, terminals, error queue,
source lists) and drive the device under test through :class:`SmuEngine`, which

- keeps the device model up to date between operations (output on: held at the source value;
  output off: floating at open circuit) -- :meth:`SmuEngine.sync`,
- runs a train of source-delay-measure points (a fixed level, a staircase or a list) against
  the model on the bench clock, with compliance clamping as the instrument does it --
  :meth:`SmuEngine.measure_points`.

Currents are in the SMU's sign: current delivered by an illuminated cell flows into HI and
reads negative (docs/instruments.md §9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from instruments.smu import KEITHLEY_2400_LIMITS, SmuLimits
from labctl.sim.scpi import (
    DATA_TYPE_ERROR,
    OUT_OF_RANGE,
    ScpiDevice,
    command,
    error,
    parse_bool,
    parse_choice,
    parse_number,
)

if TYPE_CHECKING:
    from labctl.sim.bench import Bench
    from labctl.sim.physics import DeviceModel

#: Leakage of open leads (what an SMU reads with nothing connected) [ohm].
OPEN_LEADS_OHM = 1e13


@dataclass
class Points:
    """Result of a train of source-delay-measure points."""

    voltage_v: np.ndarray       # terminal voltage (measured)
    current_a: np.ndarray       # SMU sign
    source_value: np.ndarray    # programmed source value (V sourcing voltage, A sourcing current)
    time_s: np.ndarray          # bench time at each measurement
    in_compliance: np.ndarray   # bool


class SmuEngine:
    """Couples an SMU emulator to the device model wired to it."""

    def __init__(self, bench: Bench, name: str) -> None:
        self.bench = bench
        self.name = name
        self.reset()

    @property
    def dut(self) -> DeviceModel | None:
        return self.bench.duts.get(self.name)

    def reset(self) -> None:
        self.output_on = False
        self.source_function = "VOLT"
        #: Source level and compliance: in V and A sourcing voltage, in A and V sourcing current.
        self.level = 0.0
        self.compliance = 1.05e-4
        self._dut_time_s = self.bench.clock.now_s()

    # --- state between operations --------------------------------------------------------
    def configure(self, *, output_on: bool, source_function: str, level: float,
                  compliance: float) -> None:
        """Change what the outputs do, after bringing the device up to the instrument's now."""
        self.sync(self.bench.clock.now_s())
        self.output_on = output_on
        self.source_function = source_function
        self.level = level
        self.compliance = compliance

    def sync(self, t_s: float) -> None:
        """Advance the device model to ``t_s`` under the present output condition."""
        dut = self.dut
        duration_s = t_s - self._dut_time_s
        if duration_s <= 0:
            return
        if dut is not None:
            irradiance_mw_cm2 = self.bench.irradiance_mw_cm2(self._dut_time_s)
            if self.output_on:
                voltage_v = self._held_voltage_v(dut, irradiance_mw_cm2)
                dut.hold(voltage_v, duration_s, irradiance_mw_cm2)
            else:
                dut.float_open_circuit(duration_s, irradiance_mw_cm2)
        self._dut_time_s = t_s

    def _held_voltage_v(self, dut: DeviceModel, irradiance_mw_cm2: float) -> float:
        if self.source_function == "VOLT":
            current_a = -dut.current_density_a_cm2(self.level, irradiance_mw_cm2) * dut.area_cm2
            if abs(current_a) <= self.compliance:
                return self.level
            limit_a = np.sign(current_a) * self.compliance
            return float(dut.voltage_at_current_density_v(-limit_a / dut.area_cm2,
                                                          irradiance_mw_cm2))
        voltage_v = float(dut.voltage_at_current_density_v(-self.level / dut.area_cm2,
                                                           irradiance_mw_cm2))
        return float(np.clip(voltage_v, -self.compliance, self.compliance))

    # --- measurement ---------------------------------------------------------------------
    def measure_points(self, source_values: np.ndarray, *, start_s: float, settle_s: float,
                       point_s: float, source_function: str, compliance: float) -> Points:
        """Source each value, wait ``settle_s``, measure; each point lasts ``point_s``.

        The device is brought to ``start_s`` first. After the train the output holds the last
        source value (the caller sets the level it returns to).
        """
        self.sync(start_s)
        source_values = np.asarray(source_values, dtype=float)
        n_points = source_values.size
        times_s = start_s + np.arange(n_points) * point_s + settle_s
        dut = self.dut
        irradiance_mw_cm2 = self.bench.irradiance_mw_cm2(start_s)
        if source_function == "VOLT":
            voltage_v = source_values.copy()
            if dut is None:
                current_a = voltage_v / OPEN_LEADS_OHM
            else:
                j_a_cm2 = dut.staircase(voltage_v, settle_s, point_s, irradiance_mw_cm2)
                current_a = -np.asarray(j_a_cm2, dtype=float) * dut.area_cm2
            clamped = np.abs(current_a) > compliance
            if clamped.any():
                current_a = np.where(clamped, np.sign(current_a) * compliance, current_a)
                if dut is not None:
                    for k in np.flatnonzero(clamped):
                        voltage_v[k] = dut.voltage_at_current_density_v(
                            -current_a[k] / dut.area_cm2, irradiance_mw_cm2)
            self._dut_time_s = start_s + n_points * point_s
        else:
            current_a = source_values.copy()
            voltage_v = np.empty(n_points)
            clamped = np.zeros(n_points, dtype=bool)
            for k, level_a in enumerate(source_values):
                if dut is None:
                    v = np.inf if level_a > 0 else (-np.inf if level_a < 0 else 0.0)
                    dut_v = v
                else:
                    j_a_cm2 = -level_a / dut.area_cm2
                    dut_v = float(dut.voltage_at_current_density_v(j_a_cm2, irradiance_mw_cm2))
                    dut.hold(float(np.clip(dut_v, -compliance, compliance)), settle_s,
                             irradiance_mw_cm2)
                    dut_v = float(dut.voltage_at_current_density_v(j_a_cm2, irradiance_mw_cm2))
                if abs(dut_v) > compliance:
                    clamped[k] = True
                    voltage_v[k] = np.sign(dut_v) * compliance
                    if dut is None:
                        current_a[k] = voltage_v[k] / OPEN_LEADS_OHM
                    else:
                        current_a[k] = -dut.current_density_a_cm2(
                            voltage_v[k], irradiance_mw_cm2) * dut.area_cm2
                else:
                    voltage_v[k] = dut_v
                if dut is not None:
                    dut.hold(float(voltage_v[k]), max(point_s - settle_s, 0.0), irradiance_mw_cm2)
            self._dut_time_s = start_s + n_points * point_s
        return Points(voltage_v=voltage_v, current_a=np.asarray(current_a, dtype=float),
                      source_value=source_values, time_s=times_s, in_compliance=clamped)


#: Relative tolerance of the model-limit checks (a value printed at the limit is at the limit).
LIMIT_TOLERANCE = 1.0000001


class SmuEmulator(ScpiDevice):
    """What the 2400-series and 2450 emulators share: the model's limits, the engine wiring,
    ``:OUTP``, ``:ROUT:TERM``, ``:SYST:ERR?`` and the source list (<= 100 values per command,
    2500 in all). Subclasses provide ``_sync_engine`` (the engine's level and compliance).
    """

    #: The model's limits: the same object the labctl driver of the model checks against
    #: (``instruments.smu``; Keithley 2400 manual p. 118, 2450 reference manual p. 387).
    limits: ClassVar[SmuLimits] = KEITHLEY_2400_LIMITS

    @property
    def max_voltage_v(self) -> float:
        return self.limits.max_voltage_v

    @property
    def max_current_a(self) -> float:
        return self.limits.max_current_a

    family_faults: tuple[str, ...] = ("interlock",)
    #: The error ``:OUTP ON`` queues while the interlock is open (2400 manual, error +802
    #: "OUTPUT blocked by output enable" ⚠ the 2450's own code is not confirmed).
    interlock_error: ClassVar[tuple[int, str]] = (802, "Output blocked by output enable")

    @property
    def output_on(self) -> bool:
        """Whether the output is on; it cannot be switched on while the interlock is open."""
        return self.__dict__.get("_output_on", False)

    @output_on.setter
    def output_on(self, value: bool) -> None:
        if value and self.fault == "interlock":
            self.push_error(*self.interlock_error)
            value = False
        self.__dict__["_output_on"] = bool(value)

    def on_fault(self, kind: str) -> None:
        """``interlock``: the interlock opens, a running sweep stops and the output turns off
        (``once``: it closes again at once, so the output may be switched on again)."""
        if kind != "interlock":
            return
        now_s = self.now_s()
        self.engine.sync(now_s)
        abort = getattr(self, "_abort_run", None) or getattr(self, "abort", None)
        if abort is not None:
            abort()
        self.output_on = False
        self._sync_engine()
        self.push_error(*self.interlock_error)
        if self.fault_once:
            self.heal()

    #: The error a level/compliance pair beyond the combined envelope queues.
    envelope_error: ClassVar[tuple[int, str]] = OUT_OF_RANGE

    def reset(self) -> None:
        """Output off, source 0 V with 105 uA compliance, front terminals, empty lists."""
        if not hasattr(self, "engine"):
            self.engine = SmuEngine(self.bench, self.name)
        else:
            self.engine.configure(output_on=False, source_function="VOLT", level=0.0,
                                  compliance=1.05e-4)
        self.output_on = False
        self.terminals = "FRON"

    def _sync_engine(self) -> None:
        raise NotImplementedError

    def sync(self, t_s: float) -> None:
        self.engine.sync(t_s)

    # --- limits --------------------------------------------------------------------------
    def _check_level(self, function: str, value: float) -> None:
        """``-222`` for a level beyond the model (docs/instruments.md §1.2, §2)."""
        limit = self.max_voltage_v if function == "VOLT" else self.max_current_a
        if abs(value) > limit * LIMIT_TOLERANCE:
            raise error(OUT_OF_RANGE)

    def _check_envelope(self, voltage_v: float, current_a: float) -> None:
        """Combined limit: above 21 V only the lower current ranges."""
        limits = self.limits
        if abs(voltage_v) > limits.high_current_max_voltage_v * LIMIT_TOLERANCE and \
                abs(current_a) > limits.high_voltage_max_current_a * LIMIT_TOLERANCE:
            raise error(self.envelope_error)

    # --- source lists --------------------------------------------------------------------
    def _list(self, function: str, args: list[str], append: bool) -> None:
        # <= 100 values per command, 2500 in all (docs/instruments.md §1.7, §2.1); the error code is
        # not given ⚠
        if not args or len(args) > 100:
            raise error(OUT_OF_RANGE)
        values = [parse_number(a) for a in args]
        for value in values:
            self._check_level(function, value)
        new = (self.list_values[function] if append else []) + values
        if len(new) > 2500:
            raise error(OUT_OF_RANGE)
        self.list_values[function] = new

    # --- shared commands -----------------------------------------------------------------
    @command(":SYSTem:ERRor[:NEXT]", query=True)
    def _syst_err(self, args: list[str]) -> str:
        return self.pop_error()

    @command(":ROUTe:TERMinals")
    def _term(self, args: list[str]) -> None:
        self.terminals = parse_choice(args[0], {"FRON": "FRON", "FRONT": "FRON",
                                                 "REAR": "REAR"})

    @command(":ROUTe:TERMinals", query=True)
    def _term_q(self, args: list[str]) -> str:
        return self.terminals

    @command(":OUTPut[:STATe]")
    def _outp(self, args: list[str]) -> None:
        if not args:
            raise error(DATA_TYPE_ERROR)
        state = parse_bool(args[0])
        self.engine.sync(self.start_time_s())
        self.output_on = state
        self._sync_engine()

    @command(":OUTPut[:STATe]", query=True)
    def _outp_q(self, args: list[str]) -> str:
        return "1" if self.output_on else "0"
