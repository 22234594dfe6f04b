"""Space-charge-limited current of a single-carrier device, in the dark (docs/methods.md §5).

A step runs DC sweeps, pulsed sweeps, or both, ``repeats`` times; each sweep is one run into
one CSV file, labelled by its ``direction`` (``forward``: start to stop; ``return``: back,
with ``direction: both``), its ``mode`` (``dc`` or ``pulsed``) and its ``repeat`` index
(0-based), so resume and the catalog tell them apart: ``s00_sclc_forward.csv``,
``s00_sclc_pulsed_r1_return.csv``. Within a repeat the pulsed sweeps run before the DC ones,
so the pulses find the ions at rest rather than poled by a DC sweep.

**DC**: point by point, set the voltage, wait ``dwell_s`` on the labctl clock, read
(instruments.timing: per point ``dwell_s + point_reading_s``).

**Pulsed** (``pulse_width_s``, ``rest_s``): the output rests at 0 V; each pulse is one
hardware-timed list sweep ``[0 V, V, 0 V]`` whose source delay makes the V point last
``pulse_width_s`` (set to the end of its reading), followed by a wait of ``rest_s`` at 0 V on
the labctl clock. Each pulse is read on a fixed current range (no auto-range inside a
pulse), chosen between pulses from the previous pulse's current (``Current range (A)``
column). Why not one list sweep with 0 V points between the pulse
points: a list sweep has one source delay for all its points, so each rest would be a whole
number of pulse-long 0 V points, each read (a 10 ms pulse with a 1 s rest is 100 rest points
per pulse, and the 2400's list holds 2500 points: 24 pulses); and the first list value is
applied while the sweep is configured (about 10 messages, ~45 ms on a 2400 on GPIB), which is
why each one-pulse list starts at 0 V. The timing numbers are in docs/methods.md §5.6.

SCLC files keep the SMU's sign (injection positive): ``Current density (mA/cm**2)`` is
``+I/area``, unlike the solar-cell procedures (docs/contracts.md, "CSV columns").

The dark: where the station has a shutter it is closed and checked closed, and an irradiance
sensor, if any, must read dark; an LED without shutter is switched off; a station without a
light path (a dark box) is dark; an arc lamp without a shutter cannot be darkened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator
from pymeasure.experiment import IntegerParameter, ListParameter, Metadata

from instruments.timing import MESSAGE_OVERHEAD_S, family, point_reading_s, sweep_duration_s
from labctl import clock
from labctl.registry.parameters import parameters_from
from labctl.registry.procedures import (
    AnalysisContext,
    AnalysisOption,
    PlanContext,
    PlannedMeasurement,
    ProcedurePlugin,
    StepResult,
    StepTiming,
)
from labctl.steps import (
    MAX_SWEEP_POINTS,
    Compliance,
    Nplc,
    StepBase,
    Voltage,
    describe_smu,
    linear_point_count,
    nplc_field,
    smu_field,
    step_too_large_error,
)
from labctl.yamlio import located_error
from procedures.base import BASE_DATA_COLUMNS, LabctlProcedure, ProcedureError

__all__ = ["PLUGIN", "SCLCProcedure", "SCLCStep", "sclc_voltages_v"]

#: Points per decade of a log sweep when the step does not say.
DEFAULT_POINTS_PER_DECADE = 20
#: An irradiance sensor reading above this means the device is not dark [mW/cm^2].
DARK_LIMIT_MW_CM2 = 0.01
#: Messages of one one-pulse list sweep besides its points: configuration, list, trigger
#: count, :READ? and the return to fixed mode (instruments/keithley24xx.py).
PULSE_MESSAGES = 17
#: A pulse's fixed current range holds this multiple of its current [unitless].
RANGE_HEADROOM = 1.5
#: Steepest log-log slope expected between two pulses, for the next pulse's range [unitless].
EXPECTED_MAX_SLOPE = 10.0
#: A pulse read on a range up to this factor above the one it needs is kept [unitless].
RANGE_SPAN_ACCEPTED = 100.0
#: Times a pulse is measured again on a better range [times].
RANGE_RETRIES = 3
#: Modes one run can measure.
MODES = ("dc", "pulsed")
DIRECTIONS = ("forward", "return")


def sclc_voltages_v(start_v: float, stop_v: float, step_v: float | None,
                    points_per_decade: int | None, log_start_v: float) -> list[float]:
    """Set-points of a forward sweep [V]: linear with ``step_v``, else log-spaced in |V| with
    ``points_per_decade`` (20 when None or 0) from ``|start_v|`` (``log_start_v`` when
    ``start_v`` is 0) to ``|stop_v|``, with the sign of ``stop_v``."""
    if step_v:
        n = linear_point_count(start_v, stop_v, step_v)
        return [start_v + (stop_v - start_v) * k / (n - 1) for k in range(n)]
    per_decade = int(points_per_decade or DEFAULT_POINTS_PER_DECADE)
    sign = 1.0 if stop_v > 0 else -1.0
    low, high = (abs(start_v) if start_v != 0 else log_start_v), abs(stop_v)
    decades = math.log10(high / low)
    n = max(2, round(decades * per_decade) + 1)
    return [sign * 10 ** (math.log10(low) + decades * k / (n - 1)) for k in range(n)]


class SCLCStep(StepBase):
    """Space-charge-limited current sweeps of a single-carrier device, in the dark."""

    procedure: ClassVar[str] = "sclc"

    start_v: Voltage = Field(0.0, title="Start voltage",
                             description="Start of the sweep (V), −210…210.")
    stop_v: Voltage = Field(5.0, title="Stop voltage",
                            description="End of the sweep (V), −210…210.")
    points_per_decade: int = Field(
        DEFAULT_POINTS_PER_DECADE, ge=1, le=100, title="Points per decade",
        description="Log spacing: points per decade of |V|, 1…100 (not with step_v).",
    )
    step_v: float | None = Field(
        None, gt=0, le=10, title="Voltage step",
        description="Linear spacing instead of log: step (V), >0…10 (0 in a procedure = log).",
        json_schema_extra={"none_as": 0.0},
    )
    log_start_v: float = Field(
        1e-3, gt=0, le=10, title="Log start voltage",
        description="Lowest |V| of a log sweep when start_v is 0 (V), >0…10.",
    )
    dwell_s: float = Field(0.05, ge=0, le=100, title="Dwell",
                           description="DC: source delay per point (s), 0…100.")
    mode: Literal["dc", "pulsed", "dc_and_pulsed"] = Field(
        "dc", title="Mode", description="dc (a staircase), pulsed (pulses from a 0 V rest) or "
        "dc_and_pulsed (both, pulsed first, compared).",
    )
    pulse_width_s: float = Field(
        0.01, ge=1e-3, le=10, title="Pulse width",
        description="Pulsed: time at each voltage, from setting it to the end of its reading "
        "(s), 1e-3…10 (at least the SMU's shortest point).",
    )
    rest_s: float = Field(1.0, ge=0, le=3600, title="Rest",
                          description="Pulsed: time at 0 V before each pulse (s), 0…3600.")
    repeats: int = Field(1, ge=1, le=100, title="Repeats",
                         description="Times the sweeps are repeated, 1…100.")
    thickness_nm: float = Field(ge=1, le=1e7, title="Thickness",
                                description="Active-layer thickness L (nm), 1…1e7 (1 cm).")
    eps_r: float = Field(ge=1, le=1e4, title="Relative permittivity",
                         description="Relative permittivity εr, 1…1e4.")
    temperature_k: float = Field(
        298.15, ge=4, le=500, title="Temperature",
        description="Device temperature for the analysis (K), 4…500.",
    )
    direction: Literal["both", "forward"] = Field(
        "both", description="forward (start to stop) or both (forward, then the return sweep)."
    )
    compliance_a: Compliance = Field(0.1, title="Compliance current",
                                     description="Current compliance (A), >0…10.")
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if "points_per_decade" in self.model_fields_set and self.step_v is not None:
            raise located_error("give points_per_decade or step_v, not both", ("step_v",))
        if self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        if (
            self.step_v is not None
            and linear_point_count(self.start_v, self.stop_v, self.step_v) < 2
        ):
            raise step_too_large_error(self.start_v, self.stop_v, self.step_v)
        if self.step_v is None:
            if self.start_v * self.stop_v < 0:
                raise located_error(
                    "a log sweep cannot cross 0 V: give start_v and stop_v of the same sign, "
                    "or a linear step_v",
                    ("stop_v",),
                )
            if abs(self.stop_v) <= self._log_low_v():
                raise located_error(
                    f"a log sweep runs up in |V|: |stop_v| must exceed "
                    f"{self._log_low_v():g} V (or give step_v for a linear sweep)",
                    ("stop_v",),
                )
        if self.points > MAX_SWEEP_POINTS:
            raise located_error(
                f"{self.points} points is more than {MAX_SWEEP_POINTS}",
                ("step_v",) if self.step_v is not None else ("points_per_decade",),
            )
        return self

    def _log_low_v(self) -> float:
        return abs(self.start_v) if self.start_v != 0 else self.log_start_v

    @property
    def spacing(self) -> Literal["log", "linear"]:
        """``linear`` when step_v is given, else ``log``."""
        return "linear" if self.step_v is not None else "log"

    @property
    def effective_points_per_decade(self) -> int:
        """Points per decade of a log sweep (20 unless given)."""
        return self.points_per_decade or DEFAULT_POINTS_PER_DECADE

    def voltages_v(self) -> list[float]:
        """Set-points of the forward sweep (``both`` then runs them back)."""
        return sclc_voltages_v(self.start_v, self.stop_v, self.step_v, self.points_per_decade,
                               self.log_start_v)

    @property
    def points(self) -> int:
        """Points per direction."""
        return len(self.voltages_v())

    @property
    def directions(self) -> list[str]:
        """``["forward", "return"]`` for ``both``."""
        return list(DIRECTIONS) if self.direction == "both" else ["forward"]

    @property
    def modes(self) -> list[str]:
        """The modes of each repeat, in the order they run (pulsed first)."""
        return ["pulsed", "dc"] if self.mode == "dc_and_pulsed" else [self.mode]

    def bias_voltages_v(self) -> dict[str, float]:
        return {"start_v": self.start_v, "stop_v": self.stop_v}


# --- the procedure -----------------------------------------------------------------------------

@parameters_from(SCLCStep, exclude={"direction", "mode", "repeats", "smu"})
class SCLCProcedure(LabctlProcedure):
    """Measure one SCLC sweep (one mode, one direction) in the dark.

    Parameters are generated from :class:`SCLCStep`; ``direction``, ``mode`` and ``repeat``
    are one run's. Metadata: ``Darkness`` (how the dark was made and checked), ``Sign
    convention``; after the run ``Pulse width achieved (s)`` (from the instrument's
    timestamps), ``Pulse source delay (s)``, ``Pulse current range (A)``, ``Points measured``.
    """

    direction = ListParameter("Direction", choices=list(DIRECTIONS), default="forward",
                              description="forward (start to stop) or return (back).")
    mode = ListParameter("Mode", choices=list(MODES), default="dc",
                         description="dc (a staircase) or pulsed (pulses from a 0 V rest).")
    repeat = IntegerParameter("Repeat", default=0, minimum=0, maximum=99,
                              description="Index of the repeat (0-based).")

    sign_convention = Metadata("Sign convention", default="injection positive (SMU sign): "
                               "Current density = +Current / Area")

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "darkness": "Darkness",
        "points_measured": "Points measured",
        "pulse_width_achieved_s": "Pulse width achieved (s)",
        "pulse_source_delay_s": "Pulse source delay (s)",
        "pulse_current_range_a": "Pulse current range, last (A)",
    }
    darkness: str = ""
    points_measured: int = 0
    pulse_width_achieved_s: float = math.nan
    pulse_source_delay_s: float = math.nan
    pulse_current_range_a: float = math.nan

    def voltages_v(self) -> list[float]:
        """Set-points of this run, in the order they are measured [V]."""
        values = sclc_voltages_v(float(self.start_v), float(self.stop_v),
                                 float(self.step_v or 0.0) or None,
                                 int(self.points_per_decade),
                                 float(self.log_start_v))
        return values if self.direction == "forward" else values[::-1]

    DATA_COLUMNS: ClassVar[list[str]] = [*BASE_DATA_COLUMNS, "Current range (A)"]

    def reading_row(self, voltage_v: float, current_a: float, clock_s: float,
                    in_compliance: bool, irradiance_mw_cm2: float) -> dict[str, float]:
        """The base row with the SMU's sign kept (``Current density = +I/area``) and the
        fixed current range of a pulse (NaN: auto range, DC)."""
        row = super().reading_row(voltage_v, current_a, clock_s, in_compliance,
                                  irradiance_mw_cm2)
        row["Current density (mA/cm**2)"] = float(current_a) / float(self.area_cm2) * 1e3
        row["Current range (A)"] = math.nan
        return row

    def startup(self) -> None:
        super().startup()
        if self.direction not in DIRECTIONS or self.mode not in MODES:
            raise ProcedureError(f"one SCLC run is one of {MODES} in one of {DIRECTIONS}, not "
                                 f"{self.mode!r} {self.direction!r}")
        try:
            voltages = self.voltages_v()
        except (ValueError, ZeroDivisionError) as error:
            raise ProcedureError(f"SCLC sweep: {error}") from None
        self._check_dark_possible()
        peak_v = max(abs(v) for v in voltages)
        self.compliance_used_a = self.compliance_for_a([peak_v])
        if self.mode == "pulsed":
            self.pulse_source_delay_s = self.pulse_delay_s()

    def pulse_delay_s(self) -> float:
        """Source delay that makes one list point last ``pulse_width_s`` [s]
        (ProcedureError when the SMU's shortest point is longer)."""
        shortest_s = float(self.roles.smu.expected_sweep_duration_s(1, 0.0, float(self.nplc)))
        width_s = float(self.pulse_width_s)
        if width_s < shortest_s:
            raise ProcedureError(f"pulse_width_s {width_s:g} s is shorter than the SMU's "
                                 f"shortest point at NPLC {float(self.nplc):g} "
                                 f"({shortest_s * 1e3:.2f} ms)")
        return width_s - shortest_s

    # --- the dark ---------------------------------------------------------------------------
    def _check_dark_possible(self) -> None:
        """An arc lamp without a shutter cannot be darkened; a dark box (no light path) is."""
        roles = self.roles
        if roles.light is not None or roles.shutter is not None:
            self.require_darkness()

    def go_dark(self) -> None:
        """Darken the device and check it: the shutter closed and reading closed, an
        irradiance sensor reading dark; records how in ``darkness``."""
        roles = self.roles
        if roles.light is None and roles.shutter is None:
            self.darkness = "no light path (dark box)"
        else:
            self.light_off()
            if roles.shutter is not None:
                if roles.shutter.is_open:
                    raise ProcedureError(f"{self._light_path_label('shutter')}: it reads open "
                                         "after closing it: the device is not dark")
                self.darkness = "shutter closed (read back closed)"
            else:
                self.darkness = "LED source off"
        sensor = roles.irradiance_sensor
        if sensor is not None:
            reading = float(sensor.irradiance_mw_cm2())
            if reading > DARK_LIMIT_MW_CM2:
                raise ProcedureError(f"not dark: the irradiance sensor reads {reading:.3g} "
                                     f"mW/cm² (> {DARK_LIMIT_MW_CM2:g}) with the light off")
            self.darkness += f"; irradiance sensor {reading:.2g} mW/cm²"

    # --- run ------------------------------------------------------------------------------
    def execute(self) -> None:
        self.emit_progress(0.0)
        self.go_dark()
        if self.stop_requested():
            return
        if self.mode == "dc":
            self._sweep_dc(self.voltages_v())
        else:
            self._sweep_pulsed(self.voltages_v())

    def _sweep_dc(self, voltages: list[float]) -> None:
        """Point by point: set, wait the dwell on the clock, read, emit."""
        smu = self.roles.smu
        smu.configure_voltage_source(level_v=voltages[0], compliance_a=float(
            self.compliance_used_a), nplc=float(self.nplc), source_delay_s=0.0)
        smu.enable_output()
        for k, voltage in enumerate(voltages):
            if self.stop_requested():
                return
            smu.set_voltage(voltage)
            if not self.wait(float(self.dwell_s)):
                return
            before_s = clock.now_s()
            reading = smu.read()
            at_s = 0.5 * (before_s + clock.now_s())
            self.emit_row(self.reading_row(reading.voltage_v, reading.current_a, at_s,
                                           reading.in_compliance, 0.0))
            self.points_measured = k + 1
            self.emit_progress(100.0 * (k + 1) / len(voltages))

    def current_range_for_a(self, current_a: float) -> float:
        """The SMU's smallest current range holding ``current_a`` [A], at most the
        compliance's range."""
        ranges = sorted(getattr(self.roles.smu.limits, "current_ranges_a", ()) or (
            float(self.compliance_used_a),))

        def holding(value_a: float) -> float:
            return next((r for r in ranges if r >= value_a), ranges[-1])

        return min(holding(abs(current_a)), holding(float(self.compliance_used_a)))

    def _set_pulse_range(self, range_a: float) -> None:
        """Configure the pulses' fixed current range (at 0 V; the output is off for the
        configuration, during the rest) unless it is the range in use."""
        if range_a == self.pulse_current_range_a:
            return
        smu = self.roles.smu
        smu.configure_voltage_source(level_v=0.0, compliance_a=float(self.compliance_used_a),
                                     nplc=float(self.nplc), current_range_a=range_a,
                                     source_delay_s=float(self.pulse_source_delay_s))
        smu.enable_output()
        self.pulse_current_range_a = range_a

    def _pulse(self, voltage_v: float) -> Any:
        """One pulse after a rest: a ``[0, V, 0]`` list sweep (None when stopped)."""
        if not self.wait(float(self.rest_s)) or self.stop_requested():
            return None
        before_s = clock.now_s()
        sweep = self.roles.smu.sweep_voltage_list(
            [0.0, voltage_v, 0.0], source_delay_s=float(self.pulse_source_delay_s),
            compliance_a=float(self.compliance_used_a), nplc=float(self.nplc))
        return sweep, self.sweep_clock_times_s(sweep.time_s, before_s, clock.now_s())

    def _sweep_pulsed(self, voltages: list[float]) -> None:
        """One ``[0, V, 0]`` list sweep per pulse, each after ``rest_s`` at 0 V, on a fixed
        current range: the smallest that holds the pulse's current with
        :data:`RANGE_HEADROOM` (from the previous pulse, grown as a slope of
        :data:`EXPECTED_MAX_SLOPE` would grow it); a pulse read on a range too small for it
        (or :data:`RANGE_SPAN_ACCEPTED` times too large: the first one, read on the
        compliance's range) is measured again, at most :data:`RANGE_RETRIES` times."""
        self.pulse_current_range_a = math.nan
        self._set_pulse_range(self.current_range_for_a(float(self.compliance_used_a)))
        widths_s: list[float] = []
        previous: tuple[float, float] | None = None     # (|V|, |I|) of the last pulse
        for k, voltage in enumerate(voltages):
            if previous is not None:
                growth = min(100.0, (abs(voltage) / max(previous[0], 1e-12)) ** EXPECTED_MAX_SLOPE)
                self._set_pulse_range(self.current_range_for_a(
                    RANGE_HEADROOM * previous[1] * max(growth, 1.0)))
            for _ in range(RANGE_RETRIES + 1):
                pulse = self._pulse(voltage)
                if pulse is None:
                    return
                sweep, times_s = pulse
                current_a = abs(float(sweep.current_a[1]))
                wanted_a = self.current_range_for_a(RANGE_HEADROOM * current_a)
                if bool(sweep.in_compliance[1]) and wanted_a <= self.pulse_current_range_a:
                    wanted_a = self.current_range_for_a(10 * self.pulse_current_range_a)
                # measured again only on a range too small, or 100x too large for it
                if self.pulse_current_range_a / RANGE_SPAN_ACCEPTED <= wanted_a <= \
                        self.pulse_current_range_a:
                    break
                self._set_pulse_range(wanted_a)
            widths_s.append(float(sweep.time_s[2] - sweep.time_s[1]))
            row = self.reading_row(sweep.voltage_v[1], sweep.current_a[1], times_s[1],
                                   bool(sweep.in_compliance[1]), 0.0)
            row["Current range (A)"] = float(self.pulse_current_range_a)
            self.emit_row(row)
            previous = (abs(voltage), current_a)
            self.points_measured = k + 1
            self.pulse_width_achieved_s = sum(widths_s) / len(widths_s)
            self.emit_progress(100.0 * (k + 1) / len(voltages))


# --- the plug-in ----------------------------------------------------------------------------

def _file_label(mode: str, direction: str, repeat: int, repeats: int) -> str:
    """``forward``, ``pulsed_return``, ``r1_forward``: the direction last, as the figure's
    name (the file's stem without it, then without mode and repeat) expects."""
    parts = [] if mode == "dc" else [mode]
    if repeats > 1:
        parts.append(f"r{repeat}")
    parts.append(direction)
    return "_".join(parts)


def _plan(step: SCLCStep, context: PlanContext) -> list[PlannedMeasurement]:
    """Per repeat: the pulsed sweeps (when asked), then the DC ones; per mode forward, then
    return."""
    params = step.model_dump(exclude={"direction", "mode", "repeats", "smu"})
    params["step_v"] = step.step_v or 0.0
    planned = []
    for repeat in range(step.repeats):
        for mode in step.modes:
            for direction in step.directions:
                label = _file_label(mode, direction, repeat, step.repeats)
                planned.append(PlannedMeasurement(
                    step=context.step_index, procedure=step.procedure, direction=direction,
                    filename=context.filename(step.procedure, label),
                    parameters={**context.common_parameters(), **params,
                                "direction": direction, "mode": mode, "repeat": repeat},
                    precondition=False, channel=context.channel))
    return planned


def _pulse_delay_s(step: SCLCStep, timing: StepTiming) -> float:
    shortest_s = sweep_duration_s(timing.smu_model, 1, 0.0, step.nplc, timing.line_frequency_hz)
    return max(0.0, step.pulse_width_s - shortest_s)


def _estimate_duration_s(step: SCLCStep, timing: StepTiming) -> float:
    """DC: per point the dwell and a point-by-point reading; pulsed: per pulse the rest, a
    three-point list sweep and its messages."""
    model, lf = timing.smu_model, timing.line_frequency_hz
    total_s = 0.0
    for mode in step.modes:
        if mode == "dc":
            per_point_s = step.dwell_s + point_reading_s(model, step.nplc, lf)
        else:
            per_point_s = (step.rest_s + PULSE_MESSAGES * MESSAGE_OVERHEAD_S[family(model)]
                           + sweep_duration_s(model, 3, _pulse_delay_s(step, timing),
                                              step.nplc, lf))
        # a pulsed sweep measures its first pulse again, on the range it needs
        points = step.points + (1 if mode == "pulsed" else 0)
        total_s += points * per_point_s * len(step.directions)
    return total_s * step.repeats


def _describe(step: SCLCStep) -> str:
    if step.step_v is not None:
        spacing = f"step {step.step_v:g} V"
    else:
        spacing = f"log {step.effective_points_per_decade}/decade from {step._log_low_v():g} V"
    modes = []
    for mode in step.modes:
        modes.append(f"dwell {step.dwell_s:g} s" if mode == "dc" else
                     f"pulsed {step.pulse_width_s * 1e3:g} ms, rest {step.rest_s:g} s")
    repeats = f", ×{step.repeats}" if step.repeats > 1 else ""
    return (f"sclc: {step.start_v:g} → {step.stop_v:g} V, {spacing} ({step.points} points), "
            f"{'; '.join(modes)}, {'+'.join(step.directions)}{repeats}, "
            f"L {step.thickness_nm:g} nm, εr {step.eps_r:g}, dark{describe_smu(step)}")


def _check_station(step: SCLCStep, station: Any) -> str | None:
    """The dark must be possible, and a pulse as long as the SMU's shortest point."""
    label = station.describe_source()
    light = station.light_source()
    if light is not None and station.shutter() is None:
        driver = station.instruments[light].driver
        if driver.startswith("newport"):
            return (f"sclc needs the dark: the station {label} has an arc lamp ({light!r}) and "
                    "no shutter, and arc lamps are not switched off per measurement")
    if "pulsed" in step.modes:
        timing = StepTiming.for_station(station, step.smu)
        shortest_s = sweep_duration_s(timing.smu_model, 1, 0.0, step.nplc,
                                      timing.line_frequency_hz)
        if step.pulse_width_s < shortest_s:
            return (f"pulse_width_s {step.pulse_width_s:g} s is shorter than the shortest point "
                    f"of the {timing.smu_model} at NPLC {step.nplc:g} ({shortest_s * 1e3:.2f} "
                    "ms): lower nplc or lengthen the pulse")
    return None


# --- analysis ---------------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    """A header value such as ``"500 nm"`` or a number, as a float (None if not one)."""
    if value is None or value == "":
        return None
    try:
        return float(str(value).split()[0]) if isinstance(value, str) else float(value)
    except (ValueError, IndexError, TypeError):
        return None


def _setting(data: Any, context: AnalysisContext, name: str, label: str) -> float | None:
    """A CLI option, else the run's parameter, else the file header's ``label``."""
    for value in (context.options.get(name), context.parameters.get(name),
                  data.parameters.get(label)):
        number = _number(value)
        if number is not None:
            return number
    return None


def sclc_curve(data: Any, area_cm2: float | None = None) -> tuple[Any, Any, list[str]]:
    """(voltage [V], current density [A/cm^2], warnings) of an SCLC file or plain CSV:
    ``Current density (mA/cm**2)``, else ``Current (A)`` over the area."""
    columns = data.columns
    if "Voltage (V)" not in columns:
        raise ValueError("no 'Voltage (V)' column")
    if "Current density (mA/cm**2)" in columns:
        return columns["Voltage (V)"], columns["Current density (mA/cm**2)"] * 1e-3, []
    if "Current (A)" not in columns:
        raise ValueError("no 'Current density (mA/cm**2)' or 'Current (A)' column")
    area = area_cm2 if area_cm2 is not None else _number(data.parameters.get("Area"))
    if area is None or not area > 0:
        raise ValueError("the file has 'Current (A)' but no current density: give the area "
                         "(--area-cm2)")
    return (columns["Voltage (V)"], columns["Current (A)"] / area,
            [f"current density from Current (A) / {area:g} cm²"])


def analyze_sclc_measurement(data: Any, context: AnalysisContext
                             ) -> tuple[dict[str, Any], list[str]]:
    """V_TFL, N_trap and mobility of one SCLC file (docs/methods.md §5.3) with warnings."""
    from labctl.analysis.sclc import sclc_metrics

    thickness_nm = _setting(data, context, "thickness_nm", "Thickness")
    eps_r = _setting(data, context, "eps_r", "Relative permittivity")
    if thickness_nm is None or eps_r is None:
        raise ValueError("the thickness and εr are not in the file: give --thickness-nm and "
                         "--eps-r")
    temperature_k = _setting(data, context, "temperature_k", "Temperature") or 298.15
    voltage_v, j_a_cm2, warnings = sclc_curve(data, context.area_override_cm2)
    metrics, more = sclc_metrics(voltage_v, j_a_cm2, thickness_nm=thickness_nm, eps_r=eps_r,
                                 temperature_k=temperature_k)
    return metrics, warnings + more


def _run_label(result: StepResult) -> tuple[str, str, int]:
    """(mode, direction, repeat) of a result, from its file's header."""
    from labctl.storage import read_measurement

    record = result.record
    if "mode" not in record or "repeat" not in record:
        parameters = read_measurement(result.path).parameters
        record["mode"] = str(parameters.get("Mode", "dc")).strip() or "dc"
        record["repeat"] = int(_number(parameters.get("Repeat")) or 0)
    return record["mode"], str(record.get("direction") or "forward"), int(record["repeat"])


def _finish_step(results: Sequence[StepResult]) -> None:
    """Label every result with its ``mode`` and ``repeat``, and warn where the sweeps of one
    repeat disagree (forward/return of one mode, DC/pulsed of one direction)."""
    from labctl.analysis.sclc import disagreement_warnings

    labelled = {_run_label(result): result for result in results}
    for (mode, direction, repeat), result in labelled.items():
        partners = {f"{m} {d}": other.record.get("metrics", {})
                    for (m, d, r), other in labelled.items()
                    if r == repeat and (m == mode) != (d == direction)}
        for label, metrics in partners.items():
            pair = {f"{mode} {direction}": result.record.get("metrics", {}), label: metrics}
            for warning in disagreement_warnings(pair):
                if warning not in result.record.setdefault("warnings", []):
                    result.record["warnings"].append(warning)


#: Marker colours of the regimes on the figure (ohmic, trap filling, Child).
REGIME_COLOURS = {1: "tab:blue", 2: "tab:red", 3: "tab:green"}


def plot_sclc(curves: Sequence[tuple[str, Any, Any, float | None, float | None]], path: Path,
              title: str = "") -> None:
    """log J against log V: each curve with its points coloured by regime, the ohmic and
    trap-filling tangents (dashed) and V_TFL marked; ``curves`` are (label, V [V],
    J [A/cm^2], thickness [nm] or None, eps_r or None)."""
    import numpy as np

    from labctl.analysis.sclc import REGIME_NAMES, sclc_analysis
    from labctl.plots import _new_figure, _save

    figure = _new_figure()
    axes = figure.add_subplot()
    for label, voltage_v, j_a_cm2, thickness_nm, eps_r in curves:
        result = sclc_analysis(voltage_v, j_a_cm2, thickness_nm=thickness_nm or 1.0,
                               eps_r=eps_r or 1.0)
        v, j = np.abs(np.asarray(voltage_v)), np.abs(np.asarray(j_a_cm2)) * 1e3
        line, = axes.loglog(v, j, "-", lw=1, label=label)
        for code, colour in REGIME_COLOURS.items():
            keep = np.asarray(result.regime) == code
            axes.loglog(v[keep], j[keep], "o", ms=3, color=colour,
                        label=REGIME_NAMES[code] if label == curves[0][0] else None)
        v_tfl = float(result.v_tfl_v)
        if math.isfinite(v_tfl):
            span = np.geomspace(np.nanmin(v[v > 0]), np.nanmax(v), 50)
            for slope, intercept in ((result.ohmic_slope, result.ohmic_intercept),
                                     (result.tfl_slope, result.tfl_intercept)):
                tangent = np.exp(float(intercept) + float(slope) * np.log(span)) * 1e3
                inside = (tangent <= 3 * np.nanmax(j)) & (tangent >= np.nanmin(j[j > 0]) / 3)
                axes.loglog(span[inside], tangent[inside], "--", lw=0.8, color=line.get_color())
            axes.axvline(v_tfl, color=line.get_color(), lw=0.8, ls=":")
            axes.annotate(f"V_TFL {v_tfl:.3g} V", (v_tfl, np.nanmin(j[j > 0])), fontsize=7,
                          rotation=90, va="bottom", ha="right", color=line.get_color())
    axes.set_xlabel("|Voltage| (V)")
    axes.set_ylabel("|Current density| (mA/cm²)")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7)
    _save(figure, path)


def plot_sclc_step(results: Sequence[StepResult], path: Path, title: str) -> None:
    """log J against log V of a step's sweeps, with the tangents, regimes and V_TFL."""
    from labctl.storage import read_measurement

    curves = []
    for result in results:
        data = read_measurement(result.path)
        voltage_v, j_a_cm2, _ = sclc_curve(data)
        label = " ".join(str(part) for part in (result.record.get("mode", ""),
                                                  result.record.get("direction", ""))).strip()
        if "repeat" in result.record and int(result.record["repeat"]) > 0:
            label += f" r{result.record['repeat']}"
        thickness_nm = _number(data.parameters.get("Thickness"))
        eps_r = _number(data.parameters.get("Relative permittivity"))
        curves.append((label or "sclc", voltage_v, j_a_cm2, thickness_nm, eps_r))
    # one figure per step, whatever mode and repeat its first file has: s00_sclc.png
    stem = re.sub(r"(_pulsed)?(_r\d+)?$", "", path.stem)
    plot_sclc(curves, path.with_name(stem + path.suffix), title=title)


#: Metric names of an SCLC analysis (docs/contracts.md, "Summary JSON").
SCLC_METRICS = ("v_tfl_v", "n_trap_cm3", "mobility_cm2_vs", "n_trap_min_cm3", "max_slope")

PLUGIN = ProcedurePlugin(
    name="sclc",
    summary="space-charge-limited current of a single-carrier device, DC and pulsed, in the "
    "dark",
    step_model=SCLCStep,
    procedure_class=SCLCProcedure,
    plan=_plan,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="sclc",
    analyze=analyze_sclc_measurement,
    metric_names=SCLC_METRICS,
    headline_metrics=("v_tfl_v", "n_trap_cm3", "mobility_cm2_vs"),
    check_station=_check_station,
    figure=plot_sclc_step,
    finish_step=_finish_step,
    device_kinds=("single_carrier",),
    analysis_options=(
        AnalysisOption("thickness_nm", float, "active-layer thickness L (nm)"),
        AnalysisOption("eps_r", float, "relative permittivity εr"),
        AnalysisOption("temperature_k", float, "device temperature (K), default 298.15"),
    ),
)
