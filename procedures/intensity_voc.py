"""Voc (and Jsc) against light intensity: the ``intensity_voc`` step (docs/methods.md §4).

For each level, high to low (``down``), low to high (``up``) or both:

1. **Levels.** The grid of ``points_per_decade`` from ``min_sun`` to ``max_sun`` is mapped to
   the optical densities the attenuator can make (two wheels reach only the sums of their
   slots, or the combinations a stored calibration measured, :mod:`labctl.calibration`),
   OD = −log10(sun) with the open beam at 1 sun; each grid point takes the nearest reachable
   OD and repeated ones are dropped, so the levels are distinct. A range whose ends the
   attenuator misses by more than :data:`OD_TOLERANCE` is bad input (exit 2, naming
   ``min_sun`` or ``max_sun``) before any instrument is touched. A station without wheels and
   with an LED of programmable intensity sets the LED to the level (100 % = 1 sun).
2. **Dark offset.** With the shutter closed, the irradiance sensor's dark current is measured
   and subtracted from every later reading (``IrradianceSensor.measure_dark``).
3. **Voc hold.** The cell is held at open circuit (0 A) and its voltage read every
   :data:`READING_INTERVAL_S` until at least ``settle_s`` has passed and the drift |dV/dt|,
   fitted over the last :data:`SETTLE_WINDOW_S`, is below ``settle_tolerance_v_s`` (or
   ``max_hold_s`` is reached); ``Settle time (s)`` and ``Settled`` record which.
4. **Irradiance** from the sensor (dark offset subtracted; ``Below noise floor`` = 1 when the
   reading is under the sensor's floor: such rows are not fitted and give a warning).
5. **Jsc** (``measure_jsc``): one reading at 0 V, then back to open circuit at once, so the
   next level's hold starts from the cell's open-circuit state.

One row per level, flushed as it is measured. The analysis is
:func:`labctl.analysis.intensity.analyze_intensity`; the figure shows Voc against
log irradiance with the fit and n(I) on a second panel with the regimes shaded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator
from pymeasure.experiment import Metadata, Parameter

from instruments.attenuator import AttenuatorError
from instruments.timing import point_reading_s
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
    Compliance,
    Nplc,
    StepBase,
    compliance_field,
    describe_smu,
    nplc_field,
    smu_field,
)
from labctl.yamlio import located_error
from procedures.base import LabctlProcedure, LightPathFault, ProcedureError

__all__ = ["PLUGIN", "IntensityVocProcedure", "IntensityVocStep", "analyze_intensity_measurement",
           "choose_levels_od", "station_available_ods"]

#: How far (OD) the attenuator may miss an end of the requested range.
OD_TOLERANCE = 0.1
#: Wait between Voc readings of a hold, on top of the reading itself [s].
READING_INTERVAL_S = 0.25
#: Window the Voc drift is fitted over [s].
SETTLE_WINDOW_S = 2.0
#: Time per filter-wheel move assumed by the run-time estimate (s).
WHEEL_MOVE_S = 1.0
ONE_SUN_MW_CM2 = 100.0
COLUMNS = ["Time (s)", "Irradiance (mW/cm**2)", "Sun", "Voc (V)", "Jsc (mA/cm**2)",
           "Optical density", "Settle time (s)", "Settled", "Below noise floor",
           "Sensor current (A)", "Compliance"]


class IntensityVocStep(StepBase):
    """Voc (and Jsc) against light intensity, for the ideality factor and the Jsc power law."""

    procedure: ClassVar[str] = "intensity_voc"

    min_sun: float = Field(
        1e-3, gt=0, lt=1, title="Lowest intensity",
        description="Lowest intensity (suns, 1 sun = 100 mW/cm²), >0…<1.")
    max_sun: float = Field(1.0, gt=0, le=10, title="Highest intensity",
                           description="Highest intensity (suns), >0…10.")
    points_per_decade: int = Field(5, ge=1, le=20, title="Points per decade",
                                   description="Intensity levels per decade, 1…20.")
    settle_s: float = Field(
        5.0, ge=0, le=3600, title="Minimum hold",
        description="Shortest hold at open circuit per level (s), 0…3600.")
    settle_tolerance_v_s: float = Field(
        1e-4, gt=0, le=1, title="Settling tolerance",
        description="A hold ends when |dVoc/dt| over the last 2 s is below this (V/s), >0…1 "
        "(default 0.1 mV/s).")
    max_hold_s: float = Field(60.0, gt=0, le=86400, title="Maximum hold",
                              description="Longest hold per level (s), >0…86400; recorded.")
    direction: Literal["up", "down", "both"] = Field(
        "down", title="Direction",
        description="down (high to low), up, or both (down, then up).")
    measure_jsc: bool = Field(True, title="Measure Jsc",
                              description="Also measure Jsc (V = 0) at each level.")
    voc_compliance_v: float = Field(
        3.0, ge=0.1, le=210, title="Voc compliance voltage",
        description="Voltage limit of the open-circuit hold (V), 0.1…210.")
    temperature_k: float = Field(298.15, gt=0, le=500, title="Device temperature",
                                 description="Device temperature for kT/q (K), >0…500.")
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    smu: str | None = smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_sun >= self.max_sun:
            raise located_error(
                f"min_sun ({self.min_sun:g}) must be below max_sun ({self.max_sun:g})",
                ("min_sun",),
            )
        if self.settle_s > self.max_hold_s:
            raise located_error(f"settle_s ({self.settle_s:g}) is longer than max_hold_s "
                                f"({self.max_hold_s:g})", ("settle_s",))
        return self

    def grid_sun(self) -> list[float]:
        """The ``points_per_decade`` grid from ``min_sun`` to ``max_sun``, ascending."""
        decades = math.log10(self.max_sun / self.min_sun)
        n = max(2, round(decades * self.points_per_decade) + 1)
        return [10 ** (math.log10(self.min_sun) + decades * k / (n - 1)) for k in range(n)]

    def levels_sun(self) -> list[float]:
        """Intensity levels of the grid in measurement order (``both``: down, then up without
        repeating the lowest level)."""
        return _ordered(self.grid_sun(), self.direction)

    def bias_voltages_v(self) -> dict[str, float]:
        return {"voc_compliance_v": self.voc_compliance_v}


def _ordered(up: list[float], direction: str) -> list[float]:
    down = up[::-1]
    if direction == "up":
        return list(up)
    if direction == "down":
        return down
    return down + list(up[1:])


def choose_levels_od(grid_sun: Sequence[float], available_ods: Sequence[float]
                     ) -> tuple[list[float], str | None, str | None]:
    """(distinct reachable ODs, ascending in sun, the field whose end is missed, why).

    Each grid point takes the reachable OD nearest to −log10(sun); repeats are dropped."""
    ods = np.asarray(sorted(available_ods), dtype=float)
    chosen: list[float] = []
    for sun in grid_sun:
        target = -math.log10(sun)
        od = float(ods[int(np.argmin(np.abs(ods - target)))])
        if not chosen or abs(od - chosen[-1]) > 1e-9:
            chosen.append(od)
    for name, sun, od in (("min_sun", grid_sun[0], chosen[0]),
                          ("max_sun", grid_sun[-1], chosen[-1])):
        miss = abs(od + math.log10(sun))
        if miss > OD_TOLERANCE:
            return chosen, name, (
                f"{name} = {sun:g} sun needs OD {-math.log10(sun):.2f}, but the nearest the "
                f"attenuator reaches is OD {od:.2f} (missed by {miss:.2f} > {OD_TOLERANCE} OD; "
                f"reachable: OD {ods[0]:.2f} to {ods[-1]:.2f})")
    return chosen, None, None


def station_available_ods(station: Any) -> list[float] | None:
    """Every total OD the station's wheels make, with the stored calibration in use (None:
    no wheels); no instrument is touched."""
    import itertools

    from labctl.calibration import calibration_in_use

    wheels = station.attenuator()
    if not wheels:
        return None
    tables = [list(station.instruments[w].od) for w in wheels]
    combos: dict[tuple[int, ...], float] = {}
    calibration = calibration_in_use(station)
    if calibration is not None:
        tables = [list(calibration.od_per_slot[w]) for w in wheels]
        combos = calibration.measured_combinations()
    totals = set()
    for index in itertools.product(*(range(len(t)) for t in tables)):
        positions = tuple(p + 1 for p in index)
        totals.add(round(combos.get(positions, sum(t[p] for t, p in zip(tables, index,
                                                                        strict=True))), 9))
    return sorted(totals)


def _planned_ods(step: IntensityVocStep, station: Any) -> list[float] | None:
    available = station_available_ods(station)
    if available is None:
        return None
    chosen, _, _ = choose_levels_od(step.grid_sun(), available)
    return _ordered(chosen, step.direction)  # chosen: ascending sun (descending OD)


@parameters_from(IntensityVocStep, exclude={"smu"})
class IntensityVocProcedure(LabctlProcedure):
    """Measure Voc (and Jsc) at each planned intensity level; one row per level."""

    levels_od = Parameter("Optical densities", default="",
                          description="Planned total ODs in measurement order (comma list); "
                          "empty = LED levels from the step.")
    attenuator_calibration = Metadata("Attenuator calibration", default="none (nominal ODs)")
    sensor_dark_current_a = Metadata("Irradiance sensor dark current (A)", default=math.nan)

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        **LabctlProcedure.RESULT_ATTRIBUTES,
        "levels_unsettled": "Levels at max hold",
        "levels_below_floor": "Levels below noise floor",
    }
    levels_unsettled: int = 0
    levels_below_floor: int = 0
    DATA_COLUMNS: ClassVar[list[str]] = list(COLUMNS)

    def planned_levels(self) -> list[tuple[float | None, float]]:
        """(OD or None for an LED level, nominal sun) in measurement order."""
        text = str(self.levels_od or "").strip()
        if text:
            return [(float(od), 10 ** -float(od)) for od in text.split(",")]
        grid = IntensityVocStep(min_sun=float(self.min_sun), max_sun=float(self.max_sun),
                                points_per_decade=int(self.points_per_decade),
                                direction=str(self.direction)).levels_sun()
        return [(None, sun) for sun in grid]

    def startup(self) -> None:
        super().startup()
        roles = self.roles
        if roles.irradiance_sensor is None:
            raise ProcedureError("intensity_voc needs an irradiance sensor")
        if roles.attenuator is not None:
            from labctl.calibration import apply_calibration, calibration_in_use

            roles.attenuator.verify_moves = True
            calibration = calibration_in_use(roles.station) if roles.station else None
            if calibration is not None:
                apply_calibration(roles.attenuator, calibration, roles.station.attenuator())
                self.attenuator_calibration = calibration.label()
                self.attenuator_description = roles.attenuator.describe()
        elif not (roles.light is not None and roles.light.has_programmable_intensity):
            raise ProcedureError("intensity_voc needs filter wheels or an LED source")
        self.require_darkness()
        self.compliance_used_a = self.compliance_for_a([0.0, float(self.voc_compliance_v)])
        # the sensor's dark offset, shutter closed (or LED off), before any light: its value
        # goes into the header with the sensor's constants
        self.light_off()
        self.sensor_dark_current_a = float(roles.irradiance_sensor.measure_dark())
        self.irradiance_sensor_calibration = roles.irradiance_sensor.calibration_description()

    def execute(self) -> None:
        levels = self.planned_levels()
        self.emit_progress(0.0)
        if not self.light_on(full_intensity=True):
            return
        self._voc_mode()
        for index, (od, sun) in enumerate(levels):
            if self.stop_requested():
                return
            reached_od = self._set_level(od, sun)
            row = self._measure_level(reached_od)
            if row is None:
                return
            self.emit_row(row)
            self.emit_progress(100.0 * (index + 1) / len(levels))
        self.end_light_exposure()  # a stuck shutter or a late light-path fault fails it here

    def _voc_mode(self) -> None:
        smu = self.roles.smu
        smu.configure_voc_mode(compliance_v=float(self.voc_compliance_v), nplc=float(self.nplc))
        smu.enable_output()

    def _set_level(self, od: float | None, sun: float) -> float:
        roles = self.roles
        if od is None:
            roles.light.set_relative_intensity(sun)
            return abs(math.log10(sun))  # the OD equivalent (sun <= 1)
        try:
            return float(roles.attenuator.set_od(od))
        except AttenuatorError as exc:
            wheels = roles.station.attenuator() if roles.station is not None else []
            label = "attenuator"
            if 0 <= exc.wheel_index < len(wheels):
                key = wheels[exc.wheel_index]
                inst = roles.station.instruments[key]
                label = f"{key} ({inst.driver} at {getattr(inst, 'resource', '?')})"
            raise LightPathFault(f"{label}: {exc} (found at Time {self.elapsed_s():.1f} s)"
                                 ) from exc

    def _hold_voc(self) -> tuple[Any, float, bool] | None:
        """Read Voc until it settles (or ``max_hold_s``): (last reading, hold time, settled);
        None when a stop was requested."""
        smu = self.roles.smu
        set_s = clock.now_s()
        times_s: list[float] = []
        volts: list[float] = []
        shortest_s, longest_s = float(self.settle_s), float(self.max_hold_s)
        while True:
            before_s = clock.now_s()
            reading = smu.read()
            at_s = 0.5 * (before_s + clock.now_s())
            times_s.append(at_s)
            volts.append(float(reading.voltage_v))
            hold_s = at_s - set_s
            if hold_s >= shortest_s:
                window = [i for i, t in enumerate(times_s) if t >= at_s - SETTLE_WINDOW_S]
                if len(window) >= 3 and times_s[window[-1]] > times_s[window[0]]:
                    drift_v_s = abs(np.polyfit(np.asarray(times_s)[window],
                                               np.asarray(volts)[window], 1)[0])
                    if drift_v_s < float(self.settle_tolerance_v_s):
                        return reading, hold_s, True
            if hold_s >= longest_s:
                return reading, hold_s, False
            if not self.wait(min(READING_INTERVAL_S, max(0.0, longest_s - hold_s))):
                return None

    def _measure_level(self, od: float) -> dict[str, float] | None:
        held = self._hold_voc()
        if held is None:
            return None
        reading, hold_s, settled = held
        at_s = clock.now_s()
        sensed = self.roles.irradiance_sensor.reading()
        jsc_ma_cm2 = math.nan
        compliance = bool(reading.in_compliance)
        if self.measure_jsc:
            smu = self.roles.smu
            smu.configure_voltage_source(level_v=0.0, compliance_a=float(self.compliance_used_a),
                                         nplc=float(self.nplc), source_delay_s=0.0)
            smu.enable_output()
            short = smu.read()
            jsc_ma_cm2 = -float(short.current_a) / float(self.area_cm2) * 1e3
            compliance = compliance or bool(short.in_compliance)
            self._voc_mode()
        if not settled:
            self.levels_unsettled = int(self.levels_unsettled) + 1
        if sensed.below_noise_floor:
            self.levels_below_floor = int(self.levels_below_floor) + 1
        self.irradiance_source = "irradiance sensor"
        return {
            "Time (s)": self.elapsed_s(at_s),
            "Irradiance (mW/cm**2)": float(sensed.irradiance_mw_cm2),
            "Sun": float(sensed.irradiance_mw_cm2) / ONE_SUN_MW_CM2,
            "Voc (V)": float(reading.voltage_v),
            "Jsc (mA/cm**2)": jsc_ma_cm2,
            "Optical density": float(od),
            "Settle time (s)": float(hold_s),
            "Settled": 1 if settled else 0,
            "Below noise floor": 1 if sensed.below_noise_floor else 0,
            "Sensor current (A)": float(sensed.current_a),
            "Compliance": 1 if compliance else 0,
        }


# --- the plug-in ----------------------------------------------------------------------------

def _plan(step: IntensityVocStep, context: PlanContext) -> list[PlannedMeasurement]:
    ods = _planned_ods(step, context.station)
    levels = "" if ods is None else ",".join(f"{od:.6g}" for od in ods)
    return [PlannedMeasurement(
        step=context.step_index, procedure=step.procedure, direction=None,
        filename=context.filename(step.procedure),
        parameters={**context.common_parameters(), **step.model_dump(exclude={"smu"}),
                    "levels_od": levels},
        channel=context.channel)]


def _level_count(step: IntensityVocStep) -> int:
    return len(step.levels_sun())


def _estimate_duration_s(step: IntensityVocStep, timing: StepTiming) -> float:
    """levels × (settle + a wheel move + the readings)."""
    readings = 2 if step.measure_jsc else 1
    reading_s = point_reading_s(timing.smu_model, step.nplc, timing.line_frequency_hz)
    per_level_s = max(step.settle_s, SETTLE_WINDOW_S) + WHEEL_MOVE_S + readings * reading_s
    return _level_count(step) * per_level_s


def _describe(step: IntensityVocStep) -> str:
    jsc = ", Voc and Jsc" if step.measure_jsc else ", Voc only"
    return (f"intensity_voc: {step.min_sun:g}–{step.max_sun:g} sun, "
            f"{step.points_per_decade}/decade ({_level_count(step)} grid points; the "
            "distinct reachable ODs nearest them), "
            f"{step.direction}, settle {step.settle_s:g}–{step.max_hold_s:g} s{jsc}"
            f"{describe_smu(step)}")


def _check_station(step: IntensityVocStep, station: Any
                   ) -> str | tuple[str, tuple[str, ...]] | None:
    """The light must be varied (filter wheels or a programmable LED) and measured; the
    attenuator must reach both ends of the range within 0.1 OD."""
    label = station.describe_source()
    if not station.attenuator() and not station.has_programmable_intensity():
        return (f"the station {label} has no attenuator (filter wheels) and no light source "
                "with programmable intensity (g2v_pico) to vary the light")
    if station.irradiance_sensor() is None:
        return (f"the station {label} has no irradiance sensor (smu_photodiode or "
                "thorlabs_pm100) to measure each intensity")
    available = station_available_ods(station)
    if available is not None:
        _, field, reason = choose_levels_od(step.grid_sun(), available)
        if field is not None and reason is not None:
            return f"the attenuator of {label}: {reason}", (field,)
    elif step.max_sun > 1.0:
        return (f"the LED of {label} gives at most 1 sun at 100 %: max_sun must be ≤ 1",
                ("max_sun",))
    return None


def analyze_intensity_measurement(data: Any, context: AnalysisContext
                                  ) -> tuple[dict[str, Any], list[str]]:
    """Metrics of an intensity series (a labctl file or a plain CSV with ``Irradiance
    (mW/cm**2)``, ``Voc (V)`` and optionally ``Jsc (mA/cm**2)``); rows below the sensor's
    noise floor are left out with a warning."""
    from labctl.analysis.intensity import analyze_intensity

    columns = data.columns
    for name in ("Irradiance (mW/cm**2)", "Voc (V)"):
        if name not in columns:
            raise ValueError(f"no {name!r} column (found {', '.join(columns)})")
    irradiance = np.asarray(columns["Irradiance (mW/cm**2)"], dtype=float)
    voc = np.asarray(columns["Voc (V)"], dtype=float)
    jsc = columns.get("Jsc (mA/cm**2)")
    warnings: list[str] = []
    keep = np.ones(irradiance.shape, dtype=bool)
    if "Below noise floor" in columns:
        below = np.asarray(columns["Below noise floor"]) == 1
        if below.any():
            warnings.append(f"{int(below.sum())} level(s) below the irradiance sensor's noise "
                            "floor were left out")
        keep &= ~below
    if "Settled" in columns and (np.asarray(columns["Settled"]) == 0).any():
        warnings.append(f"{int((np.asarray(columns['Settled']) == 0).sum())} level(s) reached "
                        "max_hold_s before Voc settled")
    temperature_k = float(context.parameters.get("temperature_k", 298.15) or 298.15)
    metrics, more = analyze_intensity(
        irradiance[keep], voc[keep], None if jsc is None else np.asarray(jsc)[keep],
        temperature_k=temperature_k)
    return metrics, warnings + more


def plot_intensity_step(results: Sequence[StepResult], path: Path, title: str) -> None:
    """Voc against log irradiance with the global fit; n(I) below with the regimes shaded."""
    from labctl.analysis.intensity import local_ideality, shunt_dominated, thermal_voltage_v
    from labctl.plots import _new_figure, _save
    from labctl.storage import read_measurement

    figure = _new_figure()
    top, bottom = figure.subplots(2, 1, sharex=True)
    for result in results:
        data = read_measurement(result.path)
        sun = np.asarray(data.columns["Irradiance (mW/cm**2)"]) / ONE_SUN_MW_CM2
        voc = np.asarray(data.columns["Voc (V)"])
        metrics = result.record.get("metrics", {})
        shunted = shunt_dominated(sun * ONE_SUN_MW_CM2, voc)
        top.semilogx(sun[~shunted], voc[~shunted], "o", color="C0", label="Voc")
        if shunted.any():
            top.semilogx(sun[shunted], voc[shunted], "o", mfc="none", color="C0",
                         label="shunt-dominated (not fitted)")
        n = metrics.get("ideality")
        low, high = (metrics.get("fit_range_sun") or [math.nan, math.nan])[:2]
        if isinstance(n, float) and math.isfinite(n) and math.isfinite(low):
            inside = (sun >= low) & (sun <= high)
            offset = np.mean(voc[inside] - n * thermal_voltage_v(298.15) * np.log(sun[inside]))
            line = np.geomspace(low, high, 50)
            top.semilogx(line, offset + n * thermal_voltage_v(298.15) * np.log(line), "-",
                         label=f"fit n = {n:.2f}")
        bottom.semilogx(sun, local_ideality(sun * ONE_SUN_MW_CM2, voc), ".-", label="n(I)")
        for k, regime in enumerate(metrics.get("regimes") or []):
            bottom.axvspan(regime["sun_min"], regime["sun_max"], alpha=0.15,
                           color=f"C{k % 10}", label=f"n ≈ {regime['n']:.2f}")
    top.set_ylabel("Voc (V)")
    top.set_title(title)
    top.legend(fontsize="small")
    bottom.set_xlabel("Irradiance (sun)")
    bottom.set_ylabel("ideality n (kT/q)")
    bottom.legend(fontsize="small")
    _save(figure, path)


PLUGIN = ProcedurePlugin(
    name="intensity_voc",
    summary="Voc (and Jsc) against light intensity: ideality factor and the Jsc power law",
    step_model=IntensityVocStep,
    procedure_class=IntensityVocProcedure,
    plan=_plan,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="intensity",
    analyze=analyze_intensity_measurement,
    metric_names=("ideality", "ideality_local", "alpha", "j0_ma_cm2", "regimes",
                  "fit_range_sun", "shunt_dominated_points"),
    headline_metrics=("ideality", "alpha"),
    check_station=_check_station,
    figure=plot_intensity_step,
)
