"""In-place calibration of the filter wheels: the ``calibrate`` step (docs/methods.md §4.1).

1. **Dark offset** of the irradiance sensor with the shutter closed (subtracted from then on).
2. **1 sun.** With the wheels open, the source is adjusted until the sensor reads
   ``target_sun`` within ``tolerance_pct`` (at most :data:`MAX_ADJUSTMENTS` proportional
   steps): an LED's intensity, an arc lamp's power preset (``LightSource.scale_output``; 1 W
   steps, 0.7 % of 150 W, so the nearest step is within 0.35 %). A source that cannot get there
   (at its limit) leaves a warning; the ODs are ratios to the open beam and stay valid.
3. **Every slot** of every wheel (the others open), then **every combination** of slots
   bright enough for the sensor at 1 sun (the expected photocurrent at least
   :data:`MEASURABLE_FLOOR_MULTIPLE` × the sensor's noise floor, i.e. 1 % precision); darker
   combinations are the sum of their slots' measured ODs, marked ``Derived`` = 1.
   OD = −log10(E / E_open), each E the mean of ``readings`` dark-corrected readings.
4. The calibration is stored (:func:`labctl.calibration.save_calibration`: a dated YAML file
   in the station's ``calibration_dir`` or beside the station file) and used from then on by
   the attenuator and ``intensity_voc``; the summary names the file (``details``).

One row per setting measured or derived: the wheel positions, nominal and measured OD.
"""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import Field

from instruments.attenuator import AttenuatorError
from labctl import clock
from labctl.registry.parameters import parameters_from
from labctl.registry.procedures import (
    PlanContext,
    PlannedMeasurement,
    ProcedurePlugin,
    StepTiming,
)
from labctl.steps import StepBase
from procedures.base import LabctlProcedure, LightPathFault, ProcedureError

__all__ = ["PLUGIN", "CalibrateStep", "CalibrationProcedure"]

#: Most proportional steps of an LED towards the 1-sun target.
MAX_ADJUSTMENTS = 12
#: A combination is measured when its expected photocurrent is at least this many noise floors.
MEASURABLE_FLOOR_MULTIPLE = 100.0
#: Wait after adjusting the source before reading again [s].
SOURCE_SETTLE_S = 1.0
#: Wheels with a column of their own in the file.
MAX_WHEELS = 3
ONE_SUN_MW_CM2 = 100.0
COLUMNS = ["Time (s)", *(f"Wheel {k + 1} position" for k in range(MAX_WHEELS)),
           "Nominal optical density", "Optical density", "Derived", "Irradiance (mW/cm**2)",
           "Sensor current (A)", "Below noise floor"]


class CalibrateStep(StepBase):
    """Set 1 sun with the irradiance sensor, then measure every filter slot in place."""

    procedure: ClassVar[str] = "calibrate"

    target_sun: float = Field(
        1.0, gt=0, le=10, title="Target intensity",
        description="Open-beam irradiance to set (suns, 1 sun = 100 mW/cm²), >0…10.")
    tolerance_pct: float = Field(
        0.5, gt=0, le=10, title="Tolerance",
        description="How close the sensor must read to target_sun (percent), >0…10.")
    settle_s: float = Field(
        0.5, ge=0, le=600, title="Settling time",
        description="Wait after each wheel move before reading (s), 0…600.")
    readings: int = Field(3, ge=1, le=100, title="Readings per setting",
                          description="Sensor readings averaged per setting, 1…100.")


@parameters_from(CalibrateStep)
class CalibrationProcedure(LabctlProcedure):
    """Measure the OD of every slot and bright combination of the station's wheels."""

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        **LabctlProcedure.RESULT_ATTRIBUTES,
        "calibration_file": "Calibration file",
        "open_irradiance_mw_cm2": "Open-beam irradiance (mW/cm**2)",
        "combinations_measured": "Combinations measured",
        "combinations_derived": "Combinations derived",
        "largest_deviation_od": "Largest deviation from nominal (OD)",
        "calibration_warning": "Warning",
        "one_sun_steps": "Readings to set 1 sun",
    }
    calibration_file: str = ""
    open_irradiance_mw_cm2: float = math.nan
    combinations_measured: int = 0
    combinations_derived: int = 0
    largest_deviation_od: float = math.nan
    calibration_warning: str = ""
    one_sun_steps: int = 0
    DATA_COLUMNS: ClassVar[list[str]] = list(COLUMNS)

    def startup(self) -> None:
        super().startup()
        roles = self.roles
        if roles.attenuator is None or roles.irradiance_sensor is None:
            raise ProcedureError("calibrate needs filter wheels and an irradiance sensor")
        if len(roles.attenuator.wheels) > MAX_WHEELS:
            raise ProcedureError(f"calibrate handles at most {MAX_WHEELS} wheels")
        roles.attenuator.verify_moves = True
        self.require_darkness()
        self._nominal = [list(t) for t in roles.attenuator.od_per_slot]

    def execute(self) -> None:
        roles = self.roles
        self.light_off()
        roles.irradiance_sensor.measure_dark()
        if not self.light_on(full_intensity=True):
            return
        open_positions = tuple(t.index(min(t)) + 1 for t in self._nominal)
        self._move(open_positions)
        self._set_one_sun()
        open_e, _ = self._measure(open_positions, math.nan, 0.0)
        self.open_irradiance_mw_cm2 = open_e
        floor_a = float(getattr(roles.irradiance_sensor, "noise_floor_a", 0.0) or 0.0)
        open_a = abs(self._last_photocurrent_a)
        slot_od = [list(t) for t in self._nominal]
        for wheel, table in enumerate(self._nominal):
            for slot in range(len(table)):
                positions = list(open_positions)
                positions[wheel] = slot + 1
                if tuple(positions) == open_positions:
                    slot_od[wheel][slot] = 0.0
                    continue
                _, od = self._measure(tuple(positions), open_e, self._nominal_od(positions))
                slot_od[wheel][slot] = od
                if self.stop_requested():
                    return
        combinations = self._combinations(open_positions, slot_od, open_e, open_a, floor_a)
        if combinations is None:
            return
        self.end_light_exposure()  # a light-path fault found now keeps the calibration unstored
        self._store(slot_od, combinations, open_e)

    def _nominal_od(self, positions: tuple[int, ...] | list[int]) -> float:
        return sum(t[p - 1] for t, p in zip(self._nominal, positions, strict=True))

    def _combinations(self, open_positions: tuple[int, ...], slot_od: list[list[float]],
                      open_e: float, open_a: float, floor_a: float) -> list[Any] | None:
        from labctl.calibration import CombinationOD

        combinations = []
        ranges = [range(1, len(t) + 1) for t in self._nominal]
        for positions in itertools.product(*ranges):
            moved = sum(1 for p, o in zip(positions, open_positions, strict=True) if p != o)
            if moved < 2:
                continue
            summed = sum(t[p - 1] for t, p in zip(slot_od, positions, strict=True))
            nominal = self._nominal_od(positions)
            if open_a * 10 ** -summed >= MEASURABLE_FLOOR_MULTIPLE * floor_a:
                _, od = self._measure(positions, open_e, nominal)
                combinations.append(CombinationOD(positions, od, False))
                self.combinations_measured = int(self.combinations_measured) + 1
            else:
                self._emit(positions, nominal, summed, True, math.nan, math.nan, False)
                combinations.append(CombinationOD(positions, summed, True))
                self.combinations_derived = int(self.combinations_derived) + 1
            if self.stop_requested():
                return None
        return combinations

    def _set_one_sun(self) -> None:
        """Adjust the source (an LED's intensity, an arc lamp's power preset) until the open
        beam reads target_sun within the tolerance; a warning when it cannot."""
        light = self.roles.light
        target = float(self.target_sun) * ONE_SUN_MW_CM2
        tolerance = float(self.tolerance_pct) / 100.0
        fraction = 1.0
        for _ in range(MAX_ADJUSTMENTS):
            reading = self._mean_irradiance()
            self.one_sun_steps = int(self.one_sun_steps) + 1
            if abs(reading / target - 1.0) <= tolerance:
                return
            if light is None or reading <= 0:
                break
            if light.has_programmable_intensity:
                fraction = min(1.0, fraction * target / reading)
                light.set_relative_intensity(fraction)
            elif light.has_adjustable_output:
                if light.scale_output(target / reading) == 1.0:
                    break  # at the supply's limit or resolution
            else:
                break
            if not self.wait(max(float(self.settle_s), SOURCE_SETTLE_S)):
                return
        reading = self._mean_irradiance()
        if abs(reading / target - 1.0) > tolerance:
            self.calibration_warning = (
                f"the open beam reads {reading:.4g} mW/cm², not {target:.4g} within "
                f"{self.tolerance_pct:g} % (the source could not be adjusted further); the "
                "ODs are ratios to the open beam and stay valid")

    def _mean_irradiance(self) -> float:
        readings = [self.roles.irradiance_sensor.reading() for _ in range(int(self.readings))]
        self._last_photocurrent_a = statistics.fmean(r.photocurrent_a for r in readings) \
            if all(math.isfinite(r.photocurrent_a) for r in readings) else math.nan
        self._below_floor = any(r.below_noise_floor for r in readings)
        return statistics.fmean(r.irradiance_mw_cm2 for r in readings)

    def _move(self, positions: tuple[int, ...]) -> None:
        try:
            self.roles.attenuator.set_positions(positions)
        except AttenuatorError as exc:
            wheels = self.roles.station.attenuator() if self.roles.station else []
            key = wheels[exc.wheel_index] if exc.wheel_index < len(wheels) else "attenuator"
            inst = self.roles.station.instruments.get(key) if self.roles.station else None
            label = key if inst is None else f"{key} ({inst.driver} at {inst.resource})"
            raise LightPathFault(f"{label}: {exc}") from exc
        if float(self.settle_s) > 0:
            self.wait(float(self.settle_s))

    def _measure(self, positions: tuple[int, ...], open_e: float, nominal: float
                 ) -> tuple[float, float]:
        """(irradiance, OD) of a setting, with its row."""
        self._move(positions)
        irradiance = self._mean_irradiance()
        od = 0.0 if not math.isfinite(open_e) else (
            -math.log10(irradiance / open_e) if irradiance > 0 else math.inf)
        self._emit(positions, nominal, od, False, irradiance, self._last_photocurrent_a,
                   self._below_floor)
        return irradiance, od

    def _emit(self, positions: tuple[int, ...], nominal: float, od: float, derived: bool,
              irradiance: float, current_a: float, below: bool) -> None:
        row = {"Time (s)": self.elapsed_s(clock.now_s()), "Nominal optical density": nominal,
               "Optical density": od, "Derived": 1 if derived else 0,
               "Irradiance (mW/cm**2)": irradiance, "Sensor current (A)": current_a,
               "Below noise floor": 1 if below else 0}
        for k in range(MAX_WHEELS):
            row[f"Wheel {k + 1} position"] = positions[k] if k < len(positions) else 0
        self.emit_row(row)

    def _store(self, slot_od: list[list[float]], combinations: list[Any],
               open_e: float) -> None:
        from labctl.calibration import (
            AttenuatorCalibration,
            apply_calibration,
            save_calibration,
        )

        roles = self.roles
        wheels = roles.station.attenuator() if roles.station is not None else [
            f"wheel_{k + 1}" for k in range(len(slot_od))]
        calibration = AttenuatorCalibration(
            station=roles.station.station if roles.station is not None else "",
            date_utc=datetime.now(UTC).replace(microsecond=0),
            od_per_slot=dict(zip(wheels, slot_od, strict=True)),
            nominal_od_per_slot=dict(zip(wheels, self._nominal, strict=True)),
            combinations=combinations,
            reference={"sensor": self.irradiance_sensor_identity,
                       "sensor_calibration": roles.irradiance_sensor.calibration_description(),
                       "open_irradiance_mw_cm2": round(open_e, 6),
                       "target_sun": float(self.target_sun),
                       "light_source": self.light_source_identity})
        deviations = [abs(a - b) for t, n in zip(slot_od, self._nominal, strict=True)
                      for a, b in zip(t, n, strict=True)]
        self.largest_deviation_od = max(deviations, default=math.nan)
        if roles.station is not None:
            self.calibration_file = str(save_calibration(roles.station, calibration))
        apply_calibration(roles.attenuator, calibration, wheels)


def _plan(step: CalibrateStep, context: PlanContext) -> list[PlannedMeasurement]:
    return [PlannedMeasurement(
        step=context.step_index, procedure=step.procedure, direction=None,
        filename=context.filename(step.procedure),
        parameters={**context.common_parameters(), **step.model_dump()},
        channel=context.channel)]


def _estimate_duration_s(step: CalibrateStep, timing: StepTiming) -> float:
    """About 40 settings (two six-slot wheels) × (a move + settle + the readings)."""
    return 40 * (1.0 + step.settle_s + 0.1 * step.readings)


def _describe(step: CalibrateStep) -> str:
    return (f"calibrate: open beam to {step.target_sun:g} sun ± {step.tolerance_pct:g} %, "
            f"then every slot and bright combination ({step.readings} readings each)")


def _check_station(step: CalibrateStep, station: Any) -> str | None:
    label = station.describe_source()
    if not station.attenuator():
        return f"the station {label} has no filter wheels to calibrate"
    if station.irradiance_sensor() is None:
        return f"the station {label} has no irradiance sensor to calibrate against"
    if len(station.attenuator()) > MAX_WHEELS:
        return f"the station {label} has more than {MAX_WHEELS} filter wheels"
    return None


PLUGIN = ProcedurePlugin(
    name="calibrate",
    summary="in-place calibration of the filter wheels against the irradiance sensor",
    step_model=CalibrateStep,
    procedure_class=CalibrationProcedure,
    plan=_plan,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    check_station=_check_station,
)
