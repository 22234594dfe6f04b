"""Quasi-steady-state J-V, as accredited labs certify perovskite cells (docs/methods.md §2.3).

[Hao 2020]'s certified cell was measured with a 10-point I-V in which each bias is held until
the measured current stops changing, Voc found by holding the current at 0 A until the voltage
stops changing; NREL certifies emerging PV only from steady state, because fast scans of cells
with mobile ions deviate from the asymptotic P_max (docs/methods.md §2.3). labctl's mode:

1. **Voc**: source 0 A and read the voltage until its relative drift |dV/dt| / |V|, fitted over
   the last ``settle_window_s``, falls below ``settle_tolerance_pct_per_s`` (or ``max_hold_s``
   is reached; never before ``min_hold_s``).
2. **Coarse biases**: ``max(7, points/3)`` biases evenly spaced from the start end to the stop
   end -- by default from 2 % above the Voc just found (so the curve brackets J = 0) down to
   0 V, whose hold is the Jsc (V = 0) hold.
3. **Refinement**: the remaining biases go where the power is largest: each one at the vertex
   of the parabola through the settled power maximum and its two neighbours (successive
   parabolic interpolation, golden-section steps when the vertex is unusable, never closer
   than ``max(10 mV, 1 % of the range)`` to a measured bias), so points are dense around the
   maximum power point without assuming where it is. On exact single-diode curves (Voc
   0.8-1.6 V, FF 0.6-0.85) ten biases give P_max within 0.3 % and twelve within 0.01 %
   through :func:`labctl.analysis.jv.analyze_jv`.

Each bias is held until the relative drift of J, |dJ/dt| / max(|J|, 2 % of the largest |J|
settled so far, 1 µA/cm²) fitted over the last ``settle_window_s``, falls below the tolerance
(or ``max_hold_s``); readings are taken point by point every ``reading_interval_s`` (plus the
reading's own time, a few per second) and **every reading is a row**, so the file shows the
settling: ``Hold time (s)`` is the time since the bias was set, ``Settled`` is 1 on the final
reading of each hold (the I = 0 hold included) and 0 otherwise. The runner analyses the
``Settled == 1`` rows only. A hold that reached ``max_hold_s`` still ends with a Settled row;
their number is in the metadata field ``Points at max hold``. Tolerance and window have no
published values (docs/methods.md §2.3 ⚠); the defaults (0.1 %/s over 2 s) leave a residual
error of about tau x 0.1 %/s on each point for an ionic time constant tau.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import Field, field_validator, model_validator
from pymeasure.experiment import (
    Parameter,
)

from instruments.timing import hold_reading_s, point_reading_s
from labctl import clock
from labctl.registry.parameters import parameters_from
from labctl.registry.procedures import (
    PlanContext,
    PlannedMeasurement,
    ProcedurePlugin,
    StepTiming,
)
from labctl.steps import (
    Compliance,
    Irradiance,
    Nplc,
    ReferableVoltage,
    StepBase,
    Voltage,
    compliance_field,
    describe_light,
    describe_smu,
    describe_value,
    four_wire_field,
    irradiance_field,
    light_field,
    nplc_field,
    smu_field,
)
from labctl.yamlio import located_error
from procedures.base import (
    BASE_DATA_COLUMNS,
    LabctlProcedure,
    ProcedureError,
    _finite_or_none,
    current_density_ma_cm2,
)

__all__ = [
    "PLUGIN",
    "JVSteadyStep",
    "GOLDEN_FRACTION",
    "MIN_COARSE_POINTS",
    "VOC",
    "VOC_OVERSHOOT_FRACTION",
    "JVSteadyProcedure",
    "VoltageOrVocParameter",
    "coarse_count",
    "min_separation_v",
    "next_refinement_v",
    "relative_drift_pct_per_s",
]

#: Value of ``start_v`` meaning "the Voc found by the I = 0 hold".
VOC = "Voc"
#: The default start bias lies this fraction above the measured Voc, so J = 0 is bracketed.
VOC_OVERSHOOT_FRACTION = 0.02
#: Fewest evenly spaced biases before refinement: three at V <= Vmpp/2 for the Jsc fit.
MIN_COARSE_POINTS = 7
#: Golden-section step into the larger side of the bracket.
GOLDEN_FRACTION = 0.381966011250105
#: Smallest spacing between biases [V] (and 1 % of the range when that is larger).
MIN_SEPARATION_V = 0.010
#: Voltage scale below which the Voc drift is judged in absolute terms [V].
VOC_SCALE_FLOOR_V = 0.1
#: Current-density scale floor for the drift of J: absolute [mA/cm^2] and relative to the
#: largest settled |J| so far [fraction].
J_SCALE_FLOOR_MA_CM2 = 1e-3
J_SCALE_FRACTION = 0.02
#: Smallest voltage range of the biases [V].
MIN_RANGE_V = 0.05


class VoltageOrVocParameter(Parameter):
    """A voltage in volts, or ``"Voc"``: the open-circuit voltage found by the I = 0 hold.

    ``None``, ``""``, ``"Voc"`` and NaN all mean Voc; numbers (or ``"1.2 V"``) are volts,
    strictly -210 to 210.
    """

    def __init__(self, name: str, units: str = "V", **kwargs: Any) -> None:
        self.units = units
        super().__init__(name, **kwargs)

    def convert(self, value: Any) -> float | str:
        if value is None:
            return VOC
        if isinstance(value, str):
            text = value.strip()
            if text.endswith(" " + self.units):
                text = text[: -len(self.units)].strip()
            if text.lower() in ("", "voc", "none", "nan"):
                return VOC
            value = text
        number = float(value)
        if math.isnan(number):
            return VOC
        if not -210.0 <= number <= 210.0:
            raise ValueError(f"{self.name}: {number:g} V is outside -210 to 210 V")
        return number

    def __str__(self) -> str:
        if not self.is_set():
            return ""
        return VOC if self._value == VOC else f"{self._value:g} {self.units}"


def coarse_count(points: int) -> int:
    """Number of evenly spaced biases measured before refinement: ``max(7, ceil(points/3))``,
    at most ``points``."""
    return min(int(points), max(MIN_COARSE_POINTS, math.ceil(points / 3)))


def min_separation_v(low_v: float, high_v: float) -> float:
    """Closest spacing allowed between two biases [V]: max(10 mV, 1 % of the range)."""
    return max(MIN_SEPARATION_V, 0.01 * abs(high_v - low_v))


def next_refinement_v(
    voltages_v: Sequence[float], power_mw_cm2: Sequence[float], min_separation: float
) -> float | None:
    """Where to place the next bias [V], given the settled biases and their power density.

    Successive parabolic interpolation on the power maximum, as in Brent's method: the vertex
    of the parabola through the largest sampled power (photovoltaic sign, > 0) and its two
    neighbours in voltage; if the vertex falls outside the bracket or within
    ``min_separation`` of a measured bias, a golden-section step into the larger side of the
    bracket; if that too is too close, or there is no interior power maximum (a dark curve, a
    maximum at the edge), the middle of the largest gap between biases. None when every gap
    is narrower than ``2 * min_separation``.

    Parameters
    ----------
    voltages_v : sequence of float
        Biases measured so far [V], any order.
    power_mw_cm2 : sequence of float
        Settled power density V·J at each bias [mW/cm^2], photovoltaic sign.
    min_separation : float
        Closest allowed distance to a measured bias [V], > 0.
    """
    voltage = np.asarray(voltages_v, dtype=float)
    power = np.asarray(power_mw_cm2, dtype=float)
    order = np.argsort(voltage)
    voltage, power = voltage[order], power[order]

    def far_enough(x: float) -> bool:
        return bool(np.min(np.abs(voltage - x)) >= min_separation * (1 - 1e-9))

    k = int(np.argmax(power)) if power.size else 0
    if power.size >= 3 and power[k] > 0 and 0 < k < voltage.size - 1:
        a, b, c = voltage[k - 1], voltage[k], voltage[k + 1]
        pa, pb, pc = power[k - 1], power[k], power[k + 1]
        numerator = (b - a) ** 2 * (pb - pc) - (b - c) ** 2 * (pb - pa)
        denominator = (b - a) * (pb - pc) - (b - c) * (pb - pa)
        if denominator != 0:
            vertex = float(b - 0.5 * numerator / denominator)
            if a < vertex < c and far_enough(vertex):
                return vertex
        golden = float(b + GOLDEN_FRACTION * (c - b) if c - b > b - a
                       else b - GOLDEN_FRACTION * (b - a))
        if far_enough(golden):
            return golden
    if voltage.size < 2:
        return None
    gaps = np.diff(voltage)
    i = int(np.argmax(gaps))
    if gaps[i] < 2 * min_separation:
        return None
    return float(0.5 * (voltage[i] + voltage[i + 1]))


def relative_drift_pct_per_s(
    times_s: Sequence[float], values: Sequence[float], floor: float
) -> float:
    """Relative drift of a reading [%/s]: the least-squares slope over the given samples
    divided by max(|mean|, floor), times 100. ``inf`` for fewer than 3 samples or no time
    span."""
    t = np.asarray(times_s, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.size < 3 or not t[-1] > t[0]:
        return math.inf
    slope = np.polyfit(t - t[0], y, 1)[0]
    scale = max(abs(float(np.mean(y))), float(floor))
    return abs(float(slope)) / scale * 100.0


class JVSteadyStep(StepBase):
    """Quasi-steady-state J-V: each bias held until the current stops changing."""

    procedure: ClassVar[str] = "jv_steady"

    points: int = Field(10, ge=MIN_COARSE_POINTS, le=200, title="Points",
                        description="Number of held biases (the Voc hold not counted), 7…200: "
                        "the Jsc fit of the analysis needs three biases at V ≤ Vmpp/2, which "
                        "seven evenly spaced from Voc to 0 V give.")
    start_v: ReferableVoltage | None = Field(
        None, title="Start voltage",
        description="First bias (V); None (Voc in a procedure) = 2 % above the Voc found by "
        "the I = 0 hold. May come from an earlier step: {from_step: 0, metric: voc_v}.",
        json_schema_extra={"none_as": VOC},
    )
    stop_v: Voltage | None = Field(
        None, title="Stop voltage",
        description="Last coarse bias (V); None (0 in a procedure) = 0 V, the short-circuit "
        "(Jsc) hold.",
        json_schema_extra={"none_as": 0.0},
    )
    settle_tolerance_pct_per_s: float = Field(
        0.1, gt=0, le=100, title="Settling tolerance",
        description="A hold ends when |dJ/dt|/|J| over the window is below this (percent per "
        "s), >0…100.",
    )
    settle_window_s: float = Field(
        2.0, gt=0, le=3600, title="Settling window",
        description="Sliding window the drift is fitted over (s), >0…3600.",
    )
    max_hold_s: float = Field(
        60.0, gt=0, le=86400, title="Maximum hold",
        description="Longest hold per bias (s), >0…86400; recorded if reached.",
    )
    min_hold_s: float = Field(1.0, ge=0, le=86400, title="Minimum hold",
                              description="Shortest hold per bias (s), 0…86400.")
    reading_interval_s: float = Field(
        0.25, ge=0, le=60, title="Reading interval",
        description="Wait between readings of a hold, on top of the reading itself (s), "
        "0…60.",
    )
    voc_compliance_v: float = Field(
        3.0, ge=0.1, le=210, title="Voc compliance voltage",
        description="Voltage limit during the I = 0 hold (V), 0.1…210.",
    )
    light: bool = light_field()
    irradiance_mw_cm2: Irradiance = irradiance_field()
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    four_wire: bool = four_wire_field()
    smu: str | None = smu_field()

    @field_validator("points", mode="before")
    @classmethod
    def _enough_for_the_analysis(cls, value: Any) -> Any:
        # analyze_jv fits Jsc with a quadratic through the biases at V <= Vmpp/2 (3 of them at
        # least); the coarse biases are evenly spaced from 1.02 Voc to 0 V, and 7 of them put
        # the third at 0.34 Voc, below Vmpp/2 for any cell with Vmpp > 0.68 Voc. With 3-5
        # points every metric is NaN.
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value < \
                MIN_COARSE_POINTS:
            raise ValueError(
                f"must be ≥ {MIN_COARSE_POINTS} (got {value}): the analysis fits Jsc through "
                f"three biases at V ≤ Vmpp/2, which {MIN_COARSE_POINTS} evenly spaced biases "
                "from Voc to 0 V give; with fewer every metric is NaN")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_hold_s > self.max_hold_s:
            raise located_error(
                f"min_hold_s ({self.min_hold_s:g}) is longer than max_hold_s "
                f"({self.max_hold_s:g})", ("min_hold_s",))
        if self.settle_window_s > self.max_hold_s:
            raise located_error(
                f"settle_window_s ({self.settle_window_s:g}) is longer than max_hold_s "
                f"({self.max_hold_s:g})", ("settle_window_s",))
        if (isinstance(self.start_v, float) and self.stop_v is not None
                and self.start_v == self.stop_v):
            raise located_error("start_v and stop_v must differ", ("stop_v",))
        return self

    def typical_hold_s(self) -> float:
        """Hold time assumed per point by the run-time estimate."""
        return min(self.max_hold_s, max(self.min_hold_s, 2 * self.settle_window_s))

    def bias_voltages_v(self) -> dict[str, float]:
        """start_v and stop_v where known, and voc_compliance_v: the I = 0 hold may drive
        the voltage up to it (with the default start_v the first bias is 2 % above Voc)."""
        known = {name: value for name, value in (("start_v", self.start_v),
                                                  ("stop_v", self.stop_v))
                 if isinstance(value, float)}
        return {**known, "voc_compliance_v": self.voc_compliance_v}


@parameters_from(JVSteadyStep, exclude={"smu"})
class JVSteadyProcedure(LabctlProcedure):
    """Measure a quasi-steady-state J-V: Voc by an I = 0 hold, then ``points`` held biases.

    Columns: the J-V columns plus ``Hold time (s)`` and ``Settled``; every reading is a row,
    and **only the rows with Settled = 1 form the steady-state curve** (one per hold, the
    I = 0 hold included) -- the runner analyses those. Metadata written during the run (the
    runner re-reads them): ``Voc from I = 0 hold (V)``, ``Points at max hold``,
    ``Longest hold (s)``, ``Irradiance for PCE (mW/cm**2)`` (the mean of the readings at the
    start of each hold, or the parameter).
    """

    start_v = VoltageOrVocParameter(
        "Start voltage", default=VOC,
        description=JVSteadyStep.model_fields["start_v"].description,
    )

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        **LabctlProcedure.RESULT_ATTRIBUTES,
        "voc_hold_v": "Voc from I = 0 hold (V)",
        "points_at_max_hold": "Points at max hold",
        "longest_hold_s": "Longest hold (s)",
    }
    voc_hold_v: float = math.nan
    points_at_max_hold: int = 0
    longest_hold_s: float = math.nan

    DATA_COLUMNS: ClassVar[list[str]] = [*BASE_DATA_COLUMNS, "Hold time (s)", "Settled"]

    # --- plan -----------------------------------------------------------------------------
    def start_bias_v(self) -> float | None:
        """``start_v`` in volts, or None for "from the measured Voc"."""
        value = self.start_v
        if isinstance(value, str):
            value = None if value.strip().lower() in ("", "voc") else float(value)
        return _finite_or_none(value)

    def stop_bias_v(self) -> float:
        """``stop_v`` in volts (None means 0 V, the short-circuit hold)."""
        value = _finite_or_none(self.stop_v)
        return 0.0 if value is None else value

    def bias_range_v(self, voc_v: float) -> tuple[float, float]:
        """(start end, stop end) of the coarse biases [V] once Voc is known.

        :raises ProcedureError: the range is narrower than 50 mV (a dark cell without
            ``start_v``, or equal ends).
        """
        start = self.start_bias_v()
        if start is None:
            start = voc_v * (1.0 + VOC_OVERSHOOT_FRACTION)
        stop = self.stop_bias_v()
        if abs(start - stop) < MIN_RANGE_V:
            raise ProcedureError(
                f"steady-state J-V: the bias range {stop:g} V to {start:g} V is narrower than "
                f"{MIN_RANGE_V * 1e3:g} mV (Voc from the I = 0 hold: {voc_v:.4g} V); give "
                "start_v for a dark or non-generating device"
            )
        return start, stop

    # --- run ------------------------------------------------------------------------------
    def startup(self) -> None:
        """Check the parameters (holds, light) before anything moves, then the common
        start-up of :class:`~procedures.base.LabctlProcedure`."""
        super().startup()
        if float(self.min_hold_s) > float(self.max_hold_s):
            raise ProcedureError("min_hold_s is longer than max_hold_s")
        if float(self.settle_window_s) > float(self.max_hold_s):
            raise ProcedureError("settle_window_s is longer than max_hold_s")
        if not self.light:
            self.require_darkness()
        start = self.start_bias_v()
        ends = [self.stop_bias_v(), float(self.voc_compliance_v) if start is None else start]
        self.compliance_used_a = self.compliance_for_a(ends)

    def execute(self) -> None:
        smu = self.roles.smu
        self._irradiances_mw_cm2: list[float] = []
        self._largest_j_ma_cm2 = 0.0
        self._longest_hold_s = 0.0
        self.points_at_max_hold = 0
        total_holds = int(self.points) + 1
        self.emit_progress(0.0)
        if self.light:
            if not self.light_on():
                return
        else:
            self.light_off()
        if self.stop_requested():
            return

        # 1. Voc: I = 0 hold
        smu.configure_voc_mode(
            compliance_v=float(self.voc_compliance_v), nplc=float(self.nplc),
            four_wire=bool(self.four_wire),
        )
        smu.enable_output()
        voc_reading = self._hold(lambda r: float(r.voltage_v), VOC_SCALE_FLOOR_V,
                                 reason=f"settling at I = 0 (point 1 of {total_holds})")
        if voc_reading is None:
            return
        if voc_reading.in_compliance:
            raise ProcedureError(
                f"the open-circuit voltage reached the {float(self.voc_compliance_v):g} V "
                "compliance of the I = 0 hold; raise voc_compliance_v"
            )
        voc_v = float(voc_reading.voltage_v)
        self.voc_hold_v = voc_v
        self.emit_progress(100.0 / total_holds)

        # 2. coarse biases, start end first; 3. refinement around the power maximum
        start_v, stop_v = self.bias_range_v(voc_v)
        coarse = list(np.linspace(start_v, stop_v, coarse_count(int(self.points))))
        separation_v = min_separation_v(start_v, stop_v)
        low_v, high_v = sorted((start_v, stop_v))
        smu.configure_voltage_source(
            level_v=float(coarse[0]), compliance_a=float(self.compliance_used_a),
            nplc=float(self.nplc), four_wire=bool(self.four_wire), source_delay_s=0.0,
        )
        smu.enable_output()
        biases_v: list[float] = []
        power_mw_cm2: list[float] = []
        if low_v <= voc_v <= high_v:  # the I = 0 point brackets the power curve too
            biases_v.append(voc_v)
            power_mw_cm2.append(0.0)
        for index in range(int(self.points)):
            if index < len(coarse):
                bias_v = float(coarse[index])
            else:
                bias_v = next_refinement_v(biases_v, power_mw_cm2, separation_v)
                if bias_v is None:
                    break
            smu.set_voltage(bias_v)
            reading = self._hold(
                lambda r: current_density_ma_cm2(r.current_a, self.area_cm2),
                max(J_SCALE_FLOOR_MA_CM2, J_SCALE_FRACTION * self._largest_j_ma_cm2),
                reason=f"settling at {bias_v:.3g} V (point {index + 2} of {total_holds})",
            )
            if reading is None:
                return
            j_ma_cm2 = current_density_ma_cm2(reading.current_a, self.area_cm2)
            self._largest_j_ma_cm2 = max(self._largest_j_ma_cm2, abs(j_ma_cm2))
            biases_v.append(bias_v)
            power_mw_cm2.append(bias_v * j_ma_cm2)
            self.emit_progress(100.0 * (index + 2) / total_holds)
        self.end_light_exposure()  # a stuck shutter or a late light-path fault fails it here

    def _hold(self, quantity: Callable[[Any], float], floor: float,
              reason: str | None = None) -> Any | None:
        """Read until the quantity settles or ``max_hold_s`` passes; emit every reading.

        :param quantity: The settling quantity of a reading (V for the I = 0 hold, J in
            mA/cm² for a bias).
        :param floor: Smallest scale for the relative drift, in the quantity's unit.
        :param reason: What the hold is, for the progress bar (``"settling at 0.55 V (point 3
            of 7)"``): on a real clock each hold is shown with the time it may still take
            (up to ``max_hold_s``), though each of its waits is short
            (:meth:`~procedures.base.LabctlProcedure.announce_hold`).
        :returns: The final reading, or None when ``should_stop()`` ended the hold.
        """
        try:
            return self._hold_until_settled(quantity, floor, reason)
        finally:
            if reason is not None:
                self.announce_hold(reason, 0.0)

    def _hold_until_settled(self, quantity: Callable[[Any], float], floor: float,
                            reason: str | None) -> Any | None:
        smu = self.roles.smu
        irradiance_mw_cm2 = self.row_irradiance_mw_cm2()
        if self.light or self.roles.irradiance_sensor is not None:
            self._irradiances_mw_cm2.append(irradiance_mw_cm2)
            self.irradiance_for_pce_mw_cm2 = float(np.mean(self._irradiances_mw_cm2))
        else:
            self.irradiance_for_pce_mw_cm2 = 0.0
        window_s = float(self.settle_window_s)
        shortest_s = max(float(self.min_hold_s), window_s)
        longest_s = float(self.max_hold_s)
        tolerance_pct_per_s = float(self.settle_tolerance_pct_per_s)
        set_s = clock.now_s()
        times_s: list[float] = []
        values: list[float] = []
        while True:
            before_s = clock.now_s()
            reading = smu.read()
            at_s = 0.5 * (before_s + clock.now_s())
            hold_s = at_s - set_s
            times_s.append(at_s)
            values.append(quantity(reading))
            settled = False
            if hold_s >= shortest_s:
                first = next(i for i, t in enumerate(times_s) if t >= at_s - window_s)
                drift_pct_per_s = relative_drift_pct_per_s(times_s[first:], values[first:], floor)
                settled = drift_pct_per_s < tolerance_pct_per_s
            at_limit = hold_s >= longest_s
            done = settled or at_limit
            row = self.reading_row(reading.voltage_v, reading.current_a, at_s,
                                   reading.in_compliance, irradiance_mw_cm2)
            row["Hold time (s)"] = hold_s
            row["Settled"] = 1 if done else 0
            self.emit_row(row)
            if done:
                self._longest_hold_s = max(self._longest_hold_s, hold_s)
                self.longest_hold_s = self._longest_hold_s
                if not settled:
                    self.points_at_max_hold = int(self.points_at_max_hold) + 1
                return reading
            if reason is not None:
                self.announce_hold(reason, longest_s - hold_s)
            if not self.wait(min(float(self.reading_interval_s), max(0.0, longest_s - hold_s))):
                return None


# --- the plug-in ----------------------------------------------------------------------------

def _plan(step: JVSteadyStep, context: PlanContext) -> list[PlannedMeasurement]:
    return [PlannedMeasurement(
        step=context.step_index, procedure=step.procedure, direction=None,
        filename=context.filename(step.procedure),
        parameters={**context.common_parameters(), **step.model_dump(exclude={"smu"})},
        channel=context.channel)]


def _estimate_duration_s(step: JVSteadyStep, timing: StepTiming) -> float:
    """The holds of a cell that settles within the window: the Voc hold (when ``start_v`` is
    not given) and ``points`` biases, each ``max(min_hold_s, settle_window_s)`` rounded up to
    whole reading periods (``reading_interval_s`` plus a reading on the SMU's timing model).
    Mobile ions slower than the window lengthen each hold, up to ``max_hold_s``: the estimate
    is then a lower bound (``describe`` gives the hold range)."""
    model, lf = timing.smu_model, timing.line_frequency_hz
    period_s = step.reading_interval_s + hold_reading_s(model, step.nplc, lf)
    shortest_s = min(step.max_hold_s, max(step.min_hold_s, step.settle_window_s))
    hold_s = math.ceil(shortest_s / period_s - 1e-9) * period_s + point_reading_s(
        model, step.nplc, lf)
    holds = step.points + (1 if step.start_v is None else 0)
    return holds * hold_s


def _describe(step: JVSteadyStep) -> str:
    start = describe_value(step.start_v, none="Voc")
    stop = "0 V" if step.stop_v is None else f"{step.stop_v:g} V"
    return (f"jv_steady: {step.points} points {start} → {stop}, hold until "
            f"< {step.settle_tolerance_pct_per_s:g} %/s over {step.settle_window_s:g} s "
            f"({step.min_hold_s:g}–{step.max_hold_s:g} s), {describe_light(step)}"
            f"{describe_smu(step)}")


def _plugin() -> ProcedurePlugin:
    from procedures.jv import JV_METRICS, analyze_jv_measurement, plot_jv_step

    return ProcedurePlugin(
        name="jv_steady",
        summary="quasi-steady-state J-V: each bias held until the current stops changing",
        step_model=JVSteadyStep,
        procedure_class=JVSteadyProcedure,
        plan=_plan,
        estimate_duration_s=_estimate_duration_s,
        describe=_describe,
        analysis_kind="jv",
        analyze=analyze_jv_measurement,
        metric_names=JV_METRICS,
        headline_metrics=("voc_v", "jsc_ma_cm2", "ff", "pce_pct"),
        figure=plot_jv_step,
    )


PLUGIN = _plugin()
