"""J-V sweep of a solar cell, one direction per run (docs/methods.md §1 and §6).

A run measures ONE direction: ``reverse`` (high to low voltage, Voc -> Jsc) or ``forward`` (low to
high), whatever the order of ``start_v`` and ``stop_v`` (docs/contracts.md, "Configuration
files"). A ``direction: both`` step is two runs, reverse then forward, with the same step and
dwell, into two CSV files; the runner sets ``precondition`` on the first only, so the forward scan
follows the reverse one directly, as in [Hao 2020] (docs/methods.md §1) and as the hysteresis
index needs (section 6: report it with the scan rate and the preconditioning).

Per-point time is not the dwell (docs/methods.md §1, per-point time): the dwell is
the source delay, the time from setting a voltage to the start of its reading, and each point
also takes the integration (NPLC) and the instrument's overhead. ``scan_rate_v_s`` asks for a
rate instead: the dwell is then derived from the SMU's timing model
(``expected_sweep_duration_s``). Either way the *achieved* scan rate is measured from the
timestamps and recorded in the metadata field ``Achieved scan rate (V/s)``.

The sweep is hardware-timed by default (one SMU operation, instrument timestamps); with
``hardware_sweep`` false it runs point by point (set, wait the dwell on the labctl clock, read,
emit), checking ``should_stop()`` between points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator
from pymeasure.experiment import BooleanParameter, ListParameter

from instruments.timing import point_reading_s, source_delay_for_scan_rate_s, sweep_duration_s
from labctl import clock
from labctl.registry.parameters import parameters_from
from labctl.registry.procedures import (
    AnalysisContext,
    PlanContext,
    PlannedMeasurement,
    ProcedurePlugin,
    StepResult,
    StepTiming,
)
from labctl.steps import (
    MAX_SWEEP_POINTS,
    Compliance,
    Irradiance,
    Nplc,
    StepBase,
    Voltage,
    compliance_field,
    describe_light,
    describe_smu,
    format_duration,
    four_wire_field,
    irradiance_field,
    light_field,
    linear_point_count,
    nplc_field,
    smu_field,
    step_too_large_error,
)
from labctl.yamlio import located_error
from procedures.base import BASE_DATA_COLUMNS, LabctlProcedure, ProcedureError, _finite_or_none

__all__ = ["DEFAULT_LIGHT_SOAK_S", "DIRECTIONS", "JVProcedure", "JVStep", "PLUGIN",
           "sweep_voltages_v"]

#: Light soak before a lit J-V sweep when the step does not say (s).
DEFAULT_LIGHT_SOAK_S = 10.0

#: The directions one run can measure.
DIRECTIONS = ("reverse", "forward")


def sweep_voltages_v(start_v: float, stop_v: float, step_v: float, direction: str) -> list[float]:
    """Set-points of one J-V sweep [V] (the rule of ``labctl.sequence.JVStep.voltages_v``).

    ``round(|stop - start| / step) + 1`` points spread evenly over the range; ``reverse`` runs
    from the higher end to the lower one, ``forward`` the other way, whatever the order of
    ``start_v`` and ``stop_v``.

    :raises ValueError: equal ends, a non-positive step, fewer than 2 points or an unknown
        direction.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    if not step_v > 0:
        raise ValueError(f"step_v must be a positive magnitude, got {step_v!r}")
    if start_v == stop_v:
        raise ValueError("start_v and stop_v must differ")
    low, high = sorted((float(start_v), float(stop_v)))
    n = round((high - low) / float(step_v)) + 1
    if n < 2:
        raise ValueError(f"step_v={step_v:g} V is larger than the range {high - low:g} V")
    values = [high - (high - low) * k / (n - 1) for k in range(n)]
    return values if direction == "reverse" else values[::-1]


class JVStep(StepBase):
    """A J-V sweep (hardware-timed where the SMU allows), one file per direction."""

    procedure: ClassVar[str] = "jv"

    start_v: Voltage = Field(1.3, title="Start voltage",
                             description="One end of the voltage range (V), −210…210.")
    stop_v: Voltage = Field(-0.1, title="Stop voltage",
                            description="The other end of the range (V), −210…210.")
    step_v: float = Field(
        0.01, ge=1e-4, le=1, title="Voltage step",
        description="Voltage step, a positive magnitude (V), 1e-4…1.",
    )
    dwell_s: float | None = Field(
        None,
        ge=0,
        le=100,
        title="Dwell",
        description="Source delay: time from setting a voltage to the start of its reading "
        "(s), 0…100; default 0.01 unless scan_rate_v_s is given.",
        json_schema_extra={"none_as": 0.01},
    )
    scan_rate_v_s: float | None = Field(
        None,
        gt=0,
        le=100,
        title="Scan rate",
        description="Alternative to dwell_s: the wanted scan rate (V/s), >0…100 (0 in a "
        "procedure = use dwell_s); the dwell is derived from the SMU's timing. The achieved "
        "rate is always measured and recorded.",
        json_schema_extra={"none_as": 0.0, "automatic": True},
    )
    direction: Literal["reverse", "forward", "both"] = Field(
        "both",
        description="reverse (high to low V), forward (low to high) or both (reverse, then "
        "forward), whatever the order of start_v and stop_v.",
    )
    light: bool = light_field("Illuminated (true) or dark (false) sweep.")
    irradiance_mw_cm2: Irradiance = irradiance_field()
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    four_wire: bool = four_wire_field()
    hardware_sweep: bool = Field(
        True, title="Hardware sweep",
        description="Use the SMU's built-in sweep (false: point by point).",
    )
    precondition_light_s: float = Field(
        DEFAULT_LIGHT_SOAK_S, ge=0, le=86400, title="Light soak",
        description="Light soak at open circuit before a lit sweep (s), 0…86400; "
        f"{DEFAULT_LIGHT_SOAK_S:g} s by default -- the cell waits in the dark behind the "
        "shutter while the source warms up, and its mobile ions need time under light to "
        "settle, as in the usual lab protocol. A dark sweep has no light soak.",
    )
    precondition_bias_v: Voltage | None = Field(
        None, title="Preconditioning bias",
        description="Bias held before the sweep (V); None = no bias preconditioning (in a "
        "procedure the bias is held only when precondition_bias_s > 0).",
        json_schema_extra={"none_as": 0.0},
    )
    precondition_bias_s: float = Field(
        0.0, ge=0, le=86400, title="Preconditioning bias time",
        description="How long precondition_bias_v is held (s), 0…86400.",
    )
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.dwell_s is not None and self.scan_rate_v_s is not None:
            raise located_error("give dwell_s or scan_rate_v_s, not both", ("scan_rate_v_s",))
        if self.dwell_s is None and self.scan_rate_v_s is None:
            self.dwell_s = 0.01
        if not self.light and "precondition_light_s" not in self.model_fields_set:
            self.precondition_light_s = 0.0  # a dark sweep has no light soak
        if self.start_v == self.stop_v:
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        if self.points < 2:
            raise step_too_large_error(self.start_v, self.stop_v, self.step_v)
        if self.points > MAX_SWEEP_POINTS:
            raise located_error(
                f"{self.points} points (|stop_v − start_v|/step_v + 1) is more than "
                f"{MAX_SWEEP_POINTS}; use a larger step_v",
                ("step_v",),
            )
        if self.precondition_bias_s > 0 and self.precondition_bias_v is None:
            raise located_error(
                "precondition_bias_s needs precondition_bias_v (the bias to hold)",
                ("precondition_bias_s",),
            )
        if self.precondition_bias_v is not None and self.precondition_bias_s == 0:
            raise located_error(
                "precondition_bias_v needs precondition_bias_s > 0 (how long to hold it)",
                ("precondition_bias_v",),
            )
        return self

    @property
    def points(self) -> int:
        """Points per direction: round(|stop − start| / step) + 1."""
        return linear_point_count(self.start_v, self.stop_v, self.step_v)

    @property
    def directions(self) -> list[str]:
        """The sweeps in the order they run: ``["reverse", "forward"]`` for ``both``."""
        return ["reverse", "forward"] if self.direction == "both" else [self.direction]

    def voltages_v(self, direction: str) -> list[float]:
        """Set-points of one sweep: reverse runs from the higher end to the lower one."""
        return sweep_voltages_v(self.start_v, self.stop_v, self.step_v, direction)

    def source_delay_s(self, timing: StepTiming | None = None) -> float:
        """The dwell to program: ``dwell_s``, or the one that gives ``scan_rate_v_s`` on the
        SMU's timing model (:func:`instruments.timing.source_delay_for_scan_rate_s`; 0 when
        the rate is out of reach)."""
        if self.scan_rate_v_s is None:
            return float(self.dwell_s or 0.0)
        timing = timing or StepTiming()
        return source_delay_for_scan_rate_s(timing.smu_model, self.step_v, self.scan_rate_v_s,
                                            self.nplc, timing.line_frequency_hz)

    def bias_voltages_v(self) -> dict[str, float]:
        extra = ({"precondition_bias_v": self.precondition_bias_v}
                 if self.precondition_bias_v is not None else {})
        return {"start_v": self.start_v, "stop_v": self.stop_v, **extra}



@parameters_from(JVStep, exclude={"direction", "smu"})
class JVProcedure(LabctlProcedure):
    """Measure one J-V sweep (one direction) under light or in the dark.

    ``execute()``: optional preconditioning (``precondition`` true: a light soak with the
    output off, the cell floating at open circuit, then a bias hold); light on (or shutter
    closed for a dark sweep); the SMU configured as a voltage source with explicit compliance,
    NPLC and sensing; the sweep; one row per point. Metadata written at the end (the runner
    re-reads them): ``Achieved scan rate (V/s)``, ``Expected scan rate (V/s)``,
    ``Source delay (s)``, ``Points measured``, ``Preconditioning``,
    ``Irradiance for PCE (mW/cm**2)``.

    Its parameters are generated from :class:`JVStep` (one definition each); ``direction``
    is one run's direction and ``precondition`` is set by the runner on a step's first run.
    """

    direction = ListParameter(
        "Direction", choices=list(DIRECTIONS), default="reverse",
        description="reverse (high to low voltage) or forward (low to high).",
    )
    precondition = BooleanParameter(
        "Precondition", default=False,
        description="Apply the preconditioning below before the sweep (the runner sets it on "
        "the first direction only).",
    )

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        **LabctlProcedure.RESULT_ATTRIBUTES,
        "achieved_scan_rate_v_s": "Achieved scan rate (V/s)",
        "expected_scan_rate_v_s": "Expected scan rate (V/s)",
        "source_delay_used_s": "Source delay (s)",
        "points_measured": "Points measured",
        "preconditioning_applied": "Preconditioning",
    }
    achieved_scan_rate_v_s: float = math.nan
    expected_scan_rate_v_s: float = math.nan
    source_delay_used_s: float = math.nan
    points_measured: int = 0
    preconditioning_applied: str = "none"

    DATA_COLUMNS: ClassVar[list[str]] = list(BASE_DATA_COLUMNS)

    # --- plan -----------------------------------------------------------------------------
    def voltages_v(self) -> list[float]:
        """Set-points of this run's sweep [V], in the order they are measured."""
        return sweep_voltages_v(self.start_v, self.stop_v, self.step_v, self.direction)

    def actual_step_v(self) -> float:
        """Spacing of the set-points [V] (the range divided evenly; close to ``step_v``)."""
        voltages = self.voltages_v()
        return abs(voltages[-1] - voltages[0]) / (len(voltages) - 1)

    def wanted_scan_rate_v_s(self) -> float | None:
        """``scan_rate_v_s`` when it is given (> 0), else None."""
        rate = _finite_or_none(self.scan_rate_v_s)
        return rate if rate is not None and rate > 0 else None

    def source_delay_s(self) -> float:
        """The dwell to program [s]: ``dwell_s``, or the one that gives ``scan_rate_v_s`` with
        the SMU's per-point time (its ``expected_sweep_duration_s`` for one point without
        delay); 0 when the rate is out of reach (the achieved rate is recorded anyway)."""
        rate = self.wanted_scan_rate_v_s()
        if rate is None:
            return float(self.dwell_s)
        overhead_s = float(self.roles.smu.expected_sweep_duration_s(1, 0.0, float(self.nplc)))
        return max(0.0, self.actual_step_v() / rate - overhead_s)

    def sweep_limits_v(self) -> list[float]:
        """Every voltage this run may source [V] (for the compliance envelope)."""
        voltages = [float(self.start_v), float(self.stop_v)]
        if self._bias_requested():
            voltages.append(float(self.precondition_bias_v))
        return voltages

    def _bias_requested(self) -> bool:
        return bool(self.precondition) and float(self.precondition_bias_s or 0.0) > 0

    def _soak_requested(self) -> bool:
        return (bool(self.precondition) and bool(self.light)
                and float(self.precondition_light_s or 0.0) > 0)

    # --- run ------------------------------------------------------------------------------
    def startup(self) -> None:
        """Check the parameters against the station before anything moves (then the common
        start-up of :class:`~procedures.base.LabctlProcedure`)."""
        super().startup()
        if self.direction not in DIRECTIONS:
            raise ProcedureError(
                f"direction must be one of {DIRECTIONS} for one run, not {self.direction!r} "
                "(the runner runs 'both' as a reverse run, then a forward run)"
            )
        try:
            voltages = self.voltages_v()
        except ValueError as error:
            raise ProcedureError(f"J-V sweep: {error}") from None
        limits = getattr(self.roles.smu, "limits", None)
        if self.hardware_sweep and limits is not None:
            limits.check_sweep_points(len(voltages), kind="linear")
        if not self.light:
            self.require_darkness()
        self.compliance_used_a = self.compliance_for_a(self.sweep_limits_v())

    def execute(self) -> None:
        smu = self.roles.smu
        voltages = self.voltages_v()
        compliance_a = float(self.compliance_used_a)
        nplc = float(self.nplc)
        self.emit_progress(0.0)
        if not self._precondition_soak():
            return
        if self.light:
            if not self.light_on():
                return
        else:
            self.light_off()
        if not self._precondition_bias(compliance_a):
            return
        if self.stop_requested():
            return
        irradiance_mw_cm2 = self.row_irradiance_mw_cm2()
        self.irradiance_for_pce_mw_cm2 = irradiance_mw_cm2
        delay_s = self.source_delay_s()
        self.source_delay_used_s = delay_s
        per_point_s = float(smu.expected_sweep_duration_s(1, delay_s, nplc))
        if per_point_s > 0:
            self.expected_scan_rate_v_s = self.actual_step_v() / per_point_s
        smu.configure_voltage_source(
            level_v=voltages[0], compliance_a=compliance_a, nplc=nplc,
            four_wire=bool(self.four_wire),
            source_delay_s=delay_s if self.hardware_sweep else 0.0,
        )
        smu.enable_output()
        self.emit_progress(5.0)
        if self.hardware_sweep:
            self._sweep_hardware(voltages, delay_s, compliance_a, irradiance_mw_cm2)
        else:
            self._sweep_points(voltages, delay_s, irradiance_mw_cm2)
        # a stuck shutter or a late light-path fault ends this direction, not the next one
        self.end_light_exposure()

    def _precondition_soak(self) -> bool:
        """Light soak with the output off (the cell floats at open circuit). False = abort."""
        if not self._soak_requested():
            return True
        soak_s = float(self.precondition_light_s)
        if not self.light_on():
            return False
        self.roles.smu.disable_output()
        self.preconditioning_applied = f"light soak {soak_s:g} s at open circuit"
        return self.wait(soak_s, reason="light soak")

    def _precondition_bias(self, compliance_a: float) -> bool:
        """Hold ``precondition_bias_v`` for ``precondition_bias_s``. False = abort."""
        if not self._bias_requested():
            return True
        bias_v, bias_s = float(self.precondition_bias_v), float(self.precondition_bias_s)
        smu = self.roles.smu
        smu.configure_voltage_source(
            level_v=bias_v, compliance_a=compliance_a, nplc=float(self.nplc),
            four_wire=bool(self.four_wire),
        )
        smu.enable_output()
        text = f"bias {bias_v:g} V for {bias_s:g} s ({'light' if self.light else 'dark'})"
        previous = self.preconditioning_applied
        self.preconditioning_applied = text if previous in ("", "none") else f"{previous}; {text}"
        return self.wait(bias_s, reason=f"bias hold at {bias_v:g} V")

    def _sweep_hardware(
        self, voltages: list[float], delay_s: float, compliance_a: float, irradiance_mw_cm2: float
    ) -> None:
        """One hardware-timed staircase; rows keep the instrument's point spacing."""
        if self.stop_requested():
            return
        before_s = clock.now_s()
        sweep = self.roles.smu.sweep_voltage_linear(
            voltages[0], voltages[-1], len(voltages),
            source_delay_s=delay_s, compliance_a=compliance_a, nplc=float(self.nplc),
        )
        after_s = clock.now_s()
        duration_s = float(sweep.time_s[-1] - sweep.time_s[0]) if len(sweep) > 1 else 0.0
        if duration_s > 0:
            self.achieved_scan_rate_v_s = abs(voltages[-1] - voltages[0]) / duration_s
        self.points_measured = len(sweep)
        rows = self.sweep_rows(sweep, before_s, after_s, irradiance_mw_cm2)
        for k, row in enumerate(rows):
            self.emit_row(row)
            self.emit_progress(5.0 + 95.0 * (k + 1) / len(rows))
        # the rows took no labctl time: what happened meanwhile is seen now, before any
        # further sweep (docs/contracts.md, "Safety and failure")
        self.watch_light_path(force=True)

    def _sweep_points(
        self, voltages: list[float], delay_s: float, irradiance_mw_cm2: float
    ) -> None:
        """Point by point: set, wait the dwell, read, emit; stop cleanly on should_stop().

        With ``scan_rate_v_s`` each set-point is paced at ``step / rate`` intervals on the
        labctl clock, and the dwell of each point is the period minus the time the previous
        point spent setting and reading (the bus transfer of a point-by-point reading is not in
        the SMU's sweep timing model), so the achieved rate does not depend on the overhead.
        ``Source delay (s)`` then records the mean dwell.
        """
        smu = self.roles.smu
        rate = self.wanted_scan_rate_v_s()
        period_s = self.actual_step_v() / rate if rate is not None else None
        first_set_s: float | None = None
        first: tuple[float, float] | None = None  # (set-point, time) of the first reading
        dwells_s: list[float] = []
        for k, voltage in enumerate(voltages):
            if self.stop_requested():
                break
            if period_s is not None and first_set_s is not None:
                if not self.wait(first_set_s + k * period_s - clock.now_s()):
                    break
            set_s = clock.now_s()
            if first_set_s is None:
                first_set_s = set_s
            smu.set_voltage(voltage)
            if not self.wait(delay_s):
                break
            dwells_s.append(delay_s)
            before_s = clock.now_s()
            reading = smu.read()
            after_s = clock.now_s()
            at_s = 0.5 * (before_s + after_s)
            if period_s is not None:
                delay_s = max(0.0, period_s - (after_s - set_s - delay_s))
            self.emit_row(self.reading_row(
                reading.voltage_v, reading.current_a, at_s, reading.in_compliance,
                irradiance_mw_cm2))
            self.points_measured = k + 1
            if first is None:
                first = (voltage, at_s)
            elif at_s > first[1]:
                self.achieved_scan_rate_v_s = abs(voltage - first[0]) / (at_s - first[1])
            self.emit_progress(5.0 + 95.0 * (k + 1) / len(voltages))
        if dwells_s:
            self.source_delay_used_s = float(sum(dwells_s) / len(dwells_s))


# --- the plug-in ----------------------------------------------------------------------------

def _plan(step: JVStep, context: PlanContext) -> list[PlannedMeasurement]:
    """A ``both`` step is two measurements, reverse then forward, one file each; only the
    first is preconditioned, so the forward scan follows the reverse one directly."""
    params = step.model_dump(exclude={"direction", "smu"})
    params["dwell_s"] = step.source_delay_s(context.timing)
    params["scan_rate_v_s"] = 0.0  # the dwell above already gives the rate
    return [
        PlannedMeasurement(
            step=context.step_index, procedure=step.procedure, direction=direction,
            filename=context.filename(step.procedure, direction),
            parameters={**context.common_parameters(), **params, "direction": direction},
            precondition=(k == 0), channel=context.channel)
        for k, direction in enumerate(step.directions)
    ]


#: Configuration, output and read-back messages of one J-V run around its sweep (s): about
#: 20 messages at the 2400's 4.5 ms each (instruments.timing.MESSAGE_OVERHEAD_S).
JV_SETUP_S = 0.1


def _estimate_duration_s(step: JVStep, timing: StepTiming) -> float:
    """Per direction: the hardware sweep on the SMU's timing model (or, point by point, each
    point's dwell and reading) and its set-up; plus the preconditioning."""
    delay_s = step.source_delay_s(timing)
    model, lf = timing.smu_model, timing.line_frequency_hz
    if step.hardware_sweep:
        per_direction_s = sweep_duration_s(model, step.points, delay_s, step.nplc, lf)
    elif step.scan_rate_v_s is not None:
        per_direction_s = step.points * max(step.step_v / step.scan_rate_v_s,
                                            point_reading_s(model, step.nplc, lf))
    else:
        per_direction_s = step.points * (delay_s + point_reading_s(model, step.nplc, lf))
    preconditioning_s = step.precondition_light_s + step.precondition_bias_s
    return (per_direction_s + JV_SETUP_S) * len(step.directions) + preconditioning_s


def _describe(step: JVStep) -> str:
    timing = (f"{step.scan_rate_v_s:g} V/s" if step.scan_rate_v_s is not None
              else f"dwell {step.dwell_s or 0.0:g} s")
    precondition = ""
    if step.precondition_light_s:
        precondition += f", light soak {format_duration(step.precondition_light_s)}"
    if step.precondition_bias_v is not None:
        precondition += (f", {step.precondition_bias_v:g} V for "
                         f"{format_duration(step.precondition_bias_s)}")
    return (f"jv: {step.start_v:g} → {step.stop_v:g} V, step {step.step_v:g} V "
            f"({step.points} points), {timing}, {'+'.join(step.directions)}, "
            f"{describe_light(step)}, NPLC {step.nplc:g}{precondition}{describe_smu(step)}")


def analyze_jv_measurement(data: Any, context: AnalysisContext
                           ) -> tuple[dict[str, Any], list[str]]:
    """J-V metrics of a J-V file (jv and jv_steady): the names of docs/contracts.md,
    "Summary JSON"; PCE over the irradiance of :func:`labctl.irradiance.pce_irradiance_mw_cm2`,
    NaN for a dark measurement."""
    from labctl.analysis.jv import jv_metrics
    from labctl.irradiance import pce_irradiance_mw_cm2
    from labctl.storage import jv_curve, mean_irradiance_mw_cm2

    voltage_v, j_ma_cm2, warnings = jv_curve(data, area_cm2=context.area_override_cm2)
    lit = bool(context.parameters.get("light", True))
    irradiance_mw_cm2 = pce_irradiance_mw_cm2(
        override_mw_cm2=context.irradiance_override_mw_cm2,
        measured_mw_cm2=mean_irradiance_mw_cm2(data),
        default_mw_cm2=context.parameters.get("irradiance_mw_cm2"))
    metrics, more = jv_metrics(voltage_v, j_ma_cm2, irradiance_mw_cm2=irradiance_mw_cm2)
    metrics = dict(metrics)
    if context.parameters:  # a run: say which irradiance PCE is over (NaN in the dark)
        metrics["irradiance_mw_cm2"] = irradiance_mw_cm2 if lit else math.nan
    if not lit:
        metrics["pce_pct"] = math.nan
        # the dark-J-V route to the ideality factor, beside Rsh (labctl/analysis/dark_jv.py)
        from labctl.analysis.dark_jv import dark_diode_fit

        dark, dark_warnings = dark_diode_fit(voltage_v, j_ma_cm2)
        metrics.update(dark)
        more = [*more, *dark_warnings]
    rate = context.details.get("achieved_scan_rate_v_s")
    if rate is not None and math.isfinite(float(rate)):
        metrics["scan_rate_v_s"] = float(rate)
    return metrics, warnings + list(more)


def plot_jv_step(results: Sequence[StepResult], path: Path, title: str) -> None:
    """One figure for a step's J-V curves (both directions of a ``both`` step)."""
    from labctl.plots import plot_jv
    from labctl.storage import jv_curve, read_measurement

    curves = []
    metrics: dict[str, dict[str, float]] = {}
    for result in results:
        voltage_v, j_ma_cm2, _ = jv_curve(read_measurement(result.path))
        label = result.record.get("direction") or result.record["procedure"]
        curves.append((label, voltage_v, j_ma_cm2))
        metrics[label] = dict(result.record.get("metrics", {}))
    plot_jv(curves, path, title=title, metrics=metrics)


def _hysteresis(results: Sequence[StepResult]) -> None:
    """Hysteresis indices of a completed reverse/forward pair, on both results
    (docs/contracts.md, "Summary JSON")."""
    from labctl.analysis.jv import hysteresis_index, hysteresis_index_08voc
    from labctl.storage import jv_curve, read_measurement

    pair = {r.record.get("direction"): r for r in results}
    if "reverse" not in pair or "forward" not in pair:
        return
    rev, fwd = pair["reverse"], pair["forward"]
    hi = float(hysteresis_index(rev.record["metrics"].get("pce_pct", math.nan),
                                fwd.record["metrics"].get("pce_pct", math.nan)))
    (v_rev, j_rev, _), (v_fwd, j_fwd, _) = (jv_curve(read_measurement(r.path))
                                            for r in (rev, fwd))
    hi08 = float(hysteresis_index_08voc(v_rev, j_rev, v_fwd, j_fwd))
    for result in (rev, fwd):
        result.record["metrics"]["hysteresis_index"] = hi
        result.record["metrics"]["hysteresis_index_08voc"] = hi08


#: Metric names of a J-V analysis (docs/contracts.md, "Summary JSON").
JV_METRICS = ("voc_v", "jsc_ma_cm2", "ff", "pce_pct", "vmpp_v", "jmpp_ma_cm2", "pmax_mw_cm2",
              "rs_ohm_cm2", "rsh_ohm_cm2", "irradiance_mw_cm2")
#: The metrics of a one-line J-V result.
JV_HEADLINE = ("voc_v", "jsc_ma_cm2", "ff", "pce_pct", "hysteresis_index")

PLUGIN = ProcedurePlugin(
    name="jv",
    summary="J-V sweep (hardware-timed where the SMU allows), one file per direction",
    step_model=JVStep,
    procedure_class=JVProcedure,
    plan=_plan,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="jv",
    analyze=analyze_jv_measurement,
    metric_names=(*JV_METRICS, "scan_rate_v_s", "hysteresis_index", "hysteresis_index_08voc"),
    headline_metrics=JV_HEADLINE,
    figure=plot_jv_step,
    finish_step=_hysteresis,
)
