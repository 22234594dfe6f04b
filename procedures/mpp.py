"""Maximum-power-point tracking and long stability runs: the ``mpp`` step.

The loop of :mod:`labctl.mpp.tracker` runs on the SMU role: the tracker asks for a set-point
and a wait, the procedure sets the voltage when it changed, waits on the labctl clock and gives
the tracker the reading taken after the wait. Rows are logged every ``log_interval_s``
(docs/architecture.md, "Long runs"): time (``Time (s)`` and, for the absolute time of a long
run, ``Time (UTC)`` in ISO 8601), V, I, J, power density, PCE, irradiance and the tracker's
state; in simulation a column with the device's true steady-state maximum power density, read
by the runner's bench hook, never by the tracker.

A long run (``duration_h``) may measure a J-V every ``jv_every_min`` with the parameters of
its ``jv`` block (each direction of each J-V in its own file, its metrics appended to the
step's J-V series file as they come), hold the cell at its MPP, at open circuit or at short
circuit between J-Vs (``hold``: ISOS-L-1, ISOS-D-1), and cycle the light
(``light_cycle: {on_h, off_h}``, ISOS-LC-1). The procedure can continue within a measurement
(``resumable_within``): after a kill the runner appends to the same file and the procedure
starts again from the last complete row and its state file (``.state.json`` beside the CSV).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator
from pymeasure.experiment import FloatParameter, Parameter

from labctl import clock
from labctl.analysis import mpp as mpp_analysis
from labctl.models import StrictModel
from labctl.mpp import make_tracker
from labctl.mpp.tracker import Reading, Tracker
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
    Irradiance,
    Nplc,
    ReferableVoltage,
    StepBase,
    compliance_field,
    describe_smu,
    describe_value,
    format_duration,
    irradiance_field,
    multi_smu_field,
    nplc_field,
)
from labctl.yamlio import located_error
from procedures.base import (
    BASE_DATA_COLUMNS,
    WATCH_INTERVAL_S,
    LabctlProcedure,
    ProcedureError,
    _finite_or_none,
)
from procedures.jv import JVStep, sweep_voltages_v

__all__ = ["PLUGIN", "LightCycle", "MPPProcedure", "MPPStep", "MPP_COLUMNS"]

#: Fraction of the on-the-spot Voc the tracker starts from when nothing else says.
START_FRACTION_OF_VOC = 0.8
#: The light path (lamp fault, shutter open) is checked at most this often while tracking
#: [s of labctl time]: a 1000-hour run is not polled at every row (two serial queries each).
LIGHT_WATCH_INTERVAL_S = 300.0
#: Rows between two writes of the state file (it is also written at each J-V and light change).
STATE_EVERY_ROWS = 20
#: Bytes per logged row assumed by the disk-space estimate (about 14 numbers and a date).
ROW_BYTES = 260
#: Columns of an MPP file (the simulation-only truth column is added on a simulated bench).
MPP_COLUMNS: list[str] = [
    "Time (s)", "Time (UTC)", "Voltage (V)", "Current (A)", "Current density (mA/cm**2)",
    "Power density (mW/cm**2)", "PCE (percent)", "Irradiance (mW/cm**2)", "Compliance",
    "Set-point (V)", "Step (V)", "Dwell (s)", "Predicted current (A)", "Light", "Hold"]
TRUE_MPP_COLUMN = "True MPP power density (mW/cm**2)"
#: Columns of the series of the periodic J-Vs (one row per J-V file).
SERIES_COLUMNS: list[str] = [
    "Time (s)", "Time (UTC)", "J-V index", "Direction", "PCE (percent)", "Voc (V)",
    "Jsc (mA/cm**2)", "FF", "Vmpp (V)"]
HOLD_CODES = {"mpp": 0, "voc": 1, "jsc": 2}
#: Columns of a periodic J-V file (those of every J-V).
JV_COLUMNS = tuple(BASE_DATA_COLUMNS)


def tracker_parameters(algorithm: str, step_v: float, settle_s: float, log_interval_s: float,
                       area_cm2: float) -> dict[str, Any]:
    """The step's keys as each algorithm's parameters (``settle_s`` is perturb-and-observe's
    dwell and gradient ascent's; the default tracker adapts its own)."""
    dwell_s = max(float(settle_s), 1e-3)
    if algorithm == "fixed_voltage":
        return {"dwell_s": min(float(log_interval_s), 60.0)}
    if algorithm == "perturb_observe":
        return {"step_v": float(step_v), "settle_s": dwell_s}
    if algorithm == "gradient":
        return {"dwell_s": dwell_s, "first_step_v": float(step_v), "area_cm2": float(area_cm2)}
    # The default tracker, settled, reads once per logged point, on the logged row's reading
    # (at least every 2 s, at most every 10 minutes): a light step is seen at the next row,
    # and a settled 1000-hour run at a 60 s log interval reads 6e4 times, not 1.8e6.
    read_interval_s = min(max(2.0, float(log_interval_s)), 600.0)
    return {"step_v": float(step_v), "read_interval_s": read_interval_s}


def _final_window(time_s: np.ndarray, fraction: float = 0.2) -> np.ndarray:
    """Mask of the last ``fraction`` of the run's time (Vmpp and Jmpp are its means)."""
    start_s = time_s[-1] - fraction * (time_s[-1] - time_s[0])
    return time_s >= start_s


def _mpp_metrics(time_s: np.ndarray, voltage_v: np.ndarray, j_ma_cm2: np.ndarray,
                 irradiance_mw_cm2: np.ndarray, true_mw_cm2: np.ndarray | None
                 ) -> dict[str, float]:
    """The MPP metrics (labctl.analysis.mpp): the stabilized PCE and its settling time, Vmpp
    and Jmpp over the final window, the tracking efficiency against the simulated truth."""
    nan = math.nan
    if time_s.size < 2:
        return {"pce_stabilized_pct": nan, "vmpp_v": nan, "jmpp_ma_cm2": nan,
                "settling_time_s": nan, "tracking_efficiency": nan}
    power = voltage_v * j_ma_cm2
    with np.errstate(divide="ignore", invalid="ignore"):
        pce = np.where(irradiance_mw_cm2 > 0, power / irradiance_mw_cm2 * 100.0, np.nan)
    final = _final_window(time_s)
    metrics = {"pce_stabilized_pct": float(mpp_analysis.pce_stabilized_pct(time_s, pce)),
               "settling_time_s": float(mpp_analysis.settling_time_s(time_s, pce)),
               "vmpp_v": float(np.mean(voltage_v[final])),
               "jmpp_ma_cm2": float(np.mean(j_ma_cm2[final])), "tracking_efficiency": nan}
    if true_mw_cm2 is not None and np.isfinite(true_mw_cm2).sum() > 1:
        metrics["tracking_efficiency"] = float(
            mpp_analysis.tracking_efficiency(time_s, power, true_mw_cm2))
    return metrics


def _stability_metrics(time_s: np.ndarray, power: np.ndarray) -> dict[str, float]:
    """T95, T80 and Ts80 [h] (labctl.analysis.mpp); the burn-in of Ts80 ends at the power's
    maximum."""
    if time_s.size < 2:
        return {"t95_h": math.nan, "t80_h": math.nan, "ts80_h": math.nan}
    time_h = time_s / 3600.0
    burn_in_h = float(time_h[int(np.nanargmax(power))])
    return {"t95_h": float(mpp_analysis.t95_h(time_h, power)),
            "t80_h": float(mpp_analysis.t80_h(time_h, power)),
            "ts80_h": float(mpp_analysis.ts80_h(time_h, power, burn_in_h))}


class LightCycle(StrictModel):
    """Light-dark cycling (ISOS-LC-1): ``on_h`` hours lit, then ``off_h`` hours dark."""

    on_h: float = Field(gt=0, le=1e4, description="Hours under light per cycle, >0…1e4.")
    off_h: float = Field(gt=0, le=1e4, description="Hours in the dark per cycle, >0…1e4.")


class MPPStep(StepBase):
    """Maximum-power-point tracking (or a fixed-voltage hold) under light."""

    procedure: ClassVar[str] = "mpp"
    #: ``smu`` may be a list of SMUs or ``all``: one measurement per SMU, in parallel.
    multi_channel: ClassVar[bool] = True

    duration_s: float | None = Field(
        None, gt=0, le=3.6e8,
        description="Tracking time (s), >0…3.6e8 (1e5 h); default 300 unless duration_h is "
        "given.")
    duration_h: float | None = Field(
        None, gt=0, le=1e5,
        description="Tracking time in hours (alternative to duration_s), >0…1e5.")
    algorithm: Literal["default", "perturb_observe", "gradient", "fixed_voltage"] = Field(
        "default", title="Algorithm",
        description="default, perturb_observe, gradient, or fixed_voltage (stabilized power "
        "output at start_v or the Vmpp of the preceding J-V).")
    start_v: ReferableVoltage | None = Field(
        None, description="Starting (or fixed) voltage (V); None = the vmpp_v of the "
        "preceding J-V's reverse scan, else 0.8 Voc measured on the spot; or from an earlier "
        "step: {from_step: 0, metric: vmpp_v}.")
    step_v: float = Field(
        0.01, title="Voltage step",
        ge=1e-4, le=0.1, description="Perturbation / initial step (V), 1e-4…0.1.")
    settle_s: float = Field(
        0.5, title="Settle time",
        ge=0, le=3600, description="Delay after each voltage change (s), 0…3600.")
    log_interval_s: float = Field(
        10.0, title="Log interval",
        gt=0, le=86400, description="Interval between logged points (s), >0…86400.")
    jv_every_min: float | None = Field(
        None, gt=0, le=1e6,
        description="A J-V with the parameters of 'jv' every this many minutes (the first "
        "at the start), >0…1e6; None = no periodic J-V.")
    jv: JVStep | None = Field(
        None, description="Parameters of the periodic J-Vs (a jv step's keys).")
    hold: Literal["mpp", "voc", "jsc"] = Field(
        "mpp", title="Hold between J-Vs",
        description="Between J-Vs: mpp (track), voc (open circuit) or jsc (0 V).")
    light_cycle: LightCycle | None = Field(
        None, description="Light-dark cycling {on_h, off_h} (ISOS-LC-1); None = always lit.")
    irradiance_mw_cm2: Irradiance = irradiance_field()
    light: bool = Field(
        True, title="Light",
        description="Under light; false only with algorithm fixed_voltage and start_v "
        "(dark bias stress).")
    compliance_a: Compliance | None = compliance_field()
    nplc: Nplc = nplc_field()
    smu: str | list[str] | None = multi_smu_field()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.duration_s is not None and self.duration_h is not None:
            raise located_error("give duration_s or duration_h, not both", ("duration_h",))
        if self.duration_s is None and self.duration_h is None:
            self.duration_s = 300.0
        if self.log_interval_s > self.run_duration_s:
            raise located_error(
                f"log_interval_s ({self.log_interval_s:g} s) is longer than the run "
                f"({format_duration(self.run_duration_s)})", ("log_interval_s",))
        if not self.light and (self.algorithm != "fixed_voltage" or self.start_v is None):
            raise located_error(
                "tracking needs light; a dark hold needs algorithm: fixed_voltage and start_v",
                ("light",))
        if (self.jv_every_min is None) != (self.jv is None):
            raise located_error("periodic J-Vs need both jv_every_min and jv",
                                ("jv" if self.jv is None else "jv_every_min",))
        return self

    @property
    def run_duration_s(self) -> float:
        """The tracking time in seconds, whichever key gave it."""
        if self.duration_h is not None:
            return self.duration_h * 3600.0
        return float(self.duration_s if self.duration_s is not None else 300.0)

    def bias_voltages_v(self) -> dict[str, float]:
        return {"start_v": self.start_v} if isinstance(self.start_v, float) else {}

    def jv_count(self) -> int:
        """How many periodic J-Vs the run measures (each of one or two directions)."""
        if self.jv_every_min is None:
            return 0
        return math.ceil(self.run_duration_s / (self.jv_every_min * 60.0) - 1e-9)

    def logged_rows(self) -> int:
        """Rows the MPP file gets (one per log interval)."""
        return math.floor(self.run_duration_s / self.log_interval_s) + 1

    def disk_bytes(self) -> int:
        """Disk space the run's files need (the MPP file, the J-V files and their series)."""
        jv_rows = 0
        if self.jv is not None:
            jv_rows = self.jv_count() * self.jv.points * len(self.jv.directions)
        return (self.logged_rows() + jv_rows) * ROW_BYTES + (self.jv_count() + 2) * 4096


@parameters_from(MPPStep, exclude={"smu", "jv", "light_cycle", "start_v", "duration_s",
                                   "duration_h", "jv_every_min"})
class MPPProcedure(LabctlProcedure):
    """Track the maximum power point (or hold a voltage) and log it every ``log_interval_s``.

    Set by the runner besides the roles: ``true_mpp_mw_cm2`` (simulation only: a callable
    giving the device's true steady-state maximum power density now, for the truth column),
    ``open_side_file(name, columns)`` (a writer for the periodic J-V files and their series),
    ``state_path`` (the state file beside the CSV), ``resume_from`` (``{"last_row": ...,
    "state": ...}`` when the runner continues a partial file) and ``earlier_results`` (the
    records of the run so far, for the default start at the preceding J-V's Vmpp).
    """

    #: The runner may continue a partial file of this procedure (docs/architecture.md,
    #: "Long runs": resume within a measurement).
    resumable_within: ClassVar[bool] = True

    start_v = FloatParameter("Start voltage", units="V", default=math.nan,
                             description="Starting (or fixed) voltage (V); NaN = the "
                             "preceding J-V's Vmpp, else 0.8 Voc measured on the spot.")
    duration_s = FloatParameter("Duration", units="s", default=300.0, minimum=0.0,
                                description="Tracking time (s).")
    jv_every_min = FloatParameter("J-V interval", units="min", default=0.0, minimum=0.0,
                                  description="Minutes between periodic J-Vs; 0 = none.")
    jv_parameters = Parameter("Periodic J-V", default="",
                              description="The periodic J-V's parameters (JSON), or empty.")
    light_on_h = FloatParameter("Light on", units="h", default=0.0, minimum=0.0,
                                description="Hours lit per light-dark cycle; 0 = no cycle.")
    light_off_h = FloatParameter("Light off", units="h", default=0.0, minimum=0.0,
                                 description="Hours dark per light-dark cycle.")

    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        **LabctlProcedure.RESULT_ATTRIBUTES,
        "algorithm_used": "Algorithm",
        "algorithm_parameters": "Algorithm parameters",
        "start_v_used": "Start voltage used (V)",
        "start_source": "Start voltage from",
        "moves": "Set-point moves",
        "tracked_s": "Tracked time (s)",
        "jv_done": "Periodic J-Vs",
    }
    algorithm_used: str = ""
    algorithm_parameters: str = ""
    start_v_used: float = math.nan
    start_source: str = ""
    moves: int = 0
    tracked_s: float = 0.0
    jv_done: int = 0

    DATA_COLUMNS: ClassVar[list[str]] = list(MPP_COLUMNS)

    true_mpp_mw_cm2: Any = None
    open_side_file: Any = None
    state_path: Path | None = None
    resume_from: dict[str, Any] | None = None
    earlier_results: Sequence[dict[str, Any]] = ()

    @staticmethod
    def parse_columns(columns: Sequence[str]) -> dict[str, Any]:
        """pymeasure's units of the columns; ``Time (UTC)`` holds text and carries none."""
        from pymeasure.experiment import Procedure

        from labctl.storage.columns import TEXT_COLUMNS

        return Procedure.parse_columns([c for c in columns if c not in TEXT_COLUMNS])

    # --- start ----------------------------------------------------------------------------
    def startup(self) -> None:
        super().startup()
        self.DATA_COLUMNS = list(MPP_COLUMNS) + (
            [TRUE_MPP_COLUMN] if self.true_mpp_mw_cm2 is not None else [])
        if not self.light:
            self.require_darkness()
        start = _finite_or_none(self.start_v)
        self.compliance_used_a = self.compliance_for_a([start or 0.0, 1.5])
        self.tracker = self._make_tracker()
        self.algorithm_used = str(self.algorithm)
        self.algorithm_parameters = json.dumps(self.tracker.parameters(), sort_keys=True)
        self.jv_step = (JVStep.model_validate(json.loads(self.jv_parameters))
                        if self.jv_parameters else None)
        self._series: Any = None
        self._state_written_s = -math.inf

    def _make_tracker(self) -> Tracker:
        algorithm = "fixed_voltage" if self.hold == "jsc" else str(self.algorithm)
        params = tracker_parameters(algorithm, float(self.step_v), float(self.settle_s),
                                    float(self.log_interval_s), float(self.area_cm2))
        return make_tracker(algorithm, **params)

    def header_metadata(self) -> dict[str, Any]:
        """The algorithm and its parameters, for the CSV header (the runner adds them)."""
        return {"Algorithm": self.algorithm_used,
                "Algorithm parameters": self.algorithm_parameters}

    # --- the run --------------------------------------------------------------------------
    def execute(self) -> None:
        self._begin()
        self.setpoint_v, self.cmd_end_s = math.nan, math.inf
        self._lit = bool(self.light) and self._lit_phase(self.elapsed_s())
        if self._lit:
            if not self.light_on():
                return
        else:
            self.light_off()
        smu = self.roles.smu
        smu.configure_voltage_source(
            level_v=0.0, compliance_a=float(self.compliance_used_a), nplc=float(self.nplc),
            four_wire=False, source_delay_s=0.0)
        self.last_jv_vmpp_v: float | None = None
        if self._jv_due(self.elapsed_s()):
            smu.enable_output()
            if not self._periodic_jv():
                return
        start_v = self._start_voltage()
        self._hold_start(start_v)
        self._loop()

    def _begin(self) -> None:
        """Where the run is: a new one starts now; a resumed one continues from its state file
        and the last complete row of its CSV (``Time (s)`` continues)."""
        now_s = self.elapsed_s()
        saved = dict((self.resume_from or {}).get("state") or {})
        last_row = (self.resume_from or {}).get("last_row") or {}
        self.t0_s = float(saved.get("t0_s", now_s))
        origin = saved.get("utc_origin")
        self.utc_origin = (datetime.fromisoformat(origin) if origin else
                           datetime.now(UTC) - timedelta(seconds=now_s))
        self.end_s = self.t0_s + float(self.duration_s)
        interval_s = float(self.log_interval_s)
        last_logged_s = float(last_row.get("Time (s)", math.nan))
        self.next_log_s = (last_logged_s + interval_s if math.isfinite(last_logged_s)
                           else now_s)
        self.jv_done = int(saved.get("jv_done", 0))
        self.moves_before = int(saved.get("moves", 0))
        self.resumed_setpoint_v = _finite_or_none(
            saved.get("setpoint_v", last_row.get("Set-point (V)")))
        # The light cycle's origin: on parallel channels one for all (the first channel's
        # start, on the shared clock), so they switch the one shutter at the same instants.
        origin_s = float(saved.get("cycle_origin_s", self.t0_s))
        if self.light_share is not None:
            offset_s = now_s - clock.now_s()  # Time (s) = labctl clock + offset
            origin_s = self.light_share.cycle_origin_clock_s(origin_s - offset_s) + offset_s
        self.cycle_origin_s = origin_s
        if saved.get("tracker"):
            self.tracker.restore(saved["tracker"])
        self.start_source = str(saved.get("start_source", ""))
        self.start_v_used = float(saved.get("start_v_used", math.nan))

    def _start_voltage(self) -> float:
        """The set-point to start from: the resumed one, ``start_v``, the preceding J-V's
        Vmpp (its reverse scan), else 0.8 Voc measured now with the SMU at I = 0."""
        if self.resumed_setpoint_v is not None:
            return self.resumed_setpoint_v
        if self.hold == "jsc":
            value, source = 0.0, "hold jsc"
        elif _finite_or_none(self.start_v) is not None:
            value, source = float(self.start_v), "start_v"
        elif self.last_jv_vmpp_v is not None:
            value, source = self.last_jv_vmpp_v, "vmpp_v of the first periodic J-V"
        else:
            found = self._earlier_vmpp_v()
            if found is not None:
                value, source = found
            else:
                value = START_FRACTION_OF_VOC * self._voc_now_v()
                source = f"{START_FRACTION_OF_VOC:g} Voc measured"
        self.start_v_used, self.start_source = float(value), source
        return float(value)

    def _earlier_vmpp_v(self) -> tuple[float, str] | None:
        """The vmpp_v of the latest J-V (reverse scan first) of this SMU, or None."""
        smu = str(self.roles.smu_name)
        for record in reversed(list(self.earlier_results)):
            if record.get("status") != "ok" or record.get("procedure") not in ("jv",
                                                                               "jv_steady"):
                continue
            if record.get("channel") not in (None, smu):
                continue
            if record.get("direction") not in (None, "reverse"):
                continue
            value = _finite_or_none(record.get("metrics", {}).get("vmpp_v"))
            if value is not None:
                return value, f"vmpp_v of step {record['step']}"
        return None

    def _voc_now_v(self) -> float:
        """Voc measured on the spot (SMU at I = 0), the source put back to voltage after."""
        smu = self.roles.smu
        smu.configure_voc_mode(compliance_v=3.0, nplc=float(self.nplc), four_wire=False)
        smu.enable_output()
        self._sleep(max(float(self.settle_s), 0.1))
        voc_v = float(smu.read().voltage_v)
        self._configure_voltage(0.0)
        if not voc_v > 0:
            raise ProcedureError(f"the open-circuit voltage measured to start from is "
                                 f"{voc_v:.4g} V: give start_v for a dark or dead device")
        return voc_v

    # --- holding and tracking -------------------------------------------------------------
    def _configure_voltage(self, level_v: float) -> None:
        self.roles.smu.configure_voltage_source(
            level_v=float(level_v), compliance_a=float(self.compliance_used_a),
            nplc=float(self.nplc), four_wire=False, source_delay_s=0.0)
        self.roles.smu.enable_output()

    def _hold_start(self, setpoint_v: float) -> None:
        """Begin (or take up again) what the cell does between J-Vs: tracking from
        ``setpoint_v``, a 0 V hold, or open circuit (the SMU at I = 0)."""
        self.setpoint_v = float(setpoint_v)
        self.cmd_end_s = math.inf
        if self.hold == "voc":
            smu = self.roles.smu
            smu.configure_voc_mode(compliance_v=3.0, nplc=float(self.nplc), four_wire=False)
            smu.enable_output()
            return
        self._configure_voltage(self.setpoint_v)
        if self.light and not self._lit:
            return  # the dark part of a light cycle: the set-point is held, not tracked
        command = self.tracker.start(self.setpoint_v)
        self._apply(command.setpoint_v, command.wait_s)

    def _apply(self, setpoint_v: float, wait_s: float) -> None:
        """Set the voltage if it changed; the tracker reads again after ``wait_s`` -- on the
        logged row's reading when a log time is within 10 % of that wait (a settled tracker
        that waits about a log interval costs one reading per row, not two)."""
        if setpoint_v != self.setpoint_v:
            self.roles.smu.set_voltage(float(setpoint_v))
            self.setpoint_v = float(setpoint_v)
        wait_s = max(float(wait_s), 0.0)
        end_s = self.elapsed_s() + wait_s
        interval_s = float(self.log_interval_s)
        if wait_s >= interval_s:
            steps = round((end_s - self.next_log_s) / interval_s)
            nearest_s = self.next_log_s + max(steps, 0) * interval_s
            if abs(nearest_s - end_s) <= 0.1 * wait_s:
                end_s = nearest_s
        self.cmd_end_s = end_s

    def _loop(self) -> None:
        """Until the end of the run: wait for the next event (the tracker's next reading, a
        logged row, a J-V, a light change), then do what is due."""
        smu = self.roles.smu
        interval_s = float(self.log_interval_s)
        while True:
            now_s = self.elapsed_s()
            if now_s >= self.end_s - 1e-9:
                break
            if self.light and self._lit_phase(now_s) != self._lit:
                self._set_light(not self._lit)
                continue
            if self._jv_due(now_s):
                if not self._periodic_jv():
                    return
                self._hold_start(self.setpoint_v)
                continue
            target_s = min(self.cmd_end_s, self.next_log_s, self._next_jv_s(),
                           self._next_light_change_s(now_s), self.end_s)
            if not self._sleep(target_s - now_s):
                return
            now_s = self.elapsed_s()
            due_command = now_s >= self.cmd_end_s - 1e-9
            due_log = now_s >= min(self.next_log_s, self.end_s) - 1e-9
            if not (due_command or due_log):
                continue
            reading = smu.read()
            at_s = self.elapsed_s()
            if (self.light_share is not None and self.light
                    and self._lit_phase(at_s) != self._lit):
                # Another channel switched the shared light during this reading, at the
                # cycle's switch: the reading is neither lit nor dark. Switch, read again.
                continue
            if due_log:
                self._log(reading, at_s)
                self.next_log_s += interval_s * max(1, math.floor(
                    (now_s - self.next_log_s) / interval_s + 1e-9) + 1)
            if due_command:
                command = self.tracker.update(Reading(at_s, float(reading.voltage_v),
                                                      -float(reading.current_a)))
                self._apply(command.setpoint_v, command.wait_s)
        self._finish_counts()

    def _finish_counts(self) -> None:
        self.tracked_s = self.elapsed_s() - self.t0_s
        self.moves = self.moves_before + int(self.tracker.moves)
        self._write_state()

    def _sleep(self, duration_s: float) -> bool:
        """Wait on the labctl clock; on a virtual clock in one sleep (a 1000-hour run is not
        cut into half-second slices), on a real one in :meth:`wait`'s slices."""
        if self.stop_requested():
            return False
        if duration_s <= 0:
            return True
        if not clock.active().is_virtual:
            return self.wait(duration_s, reason="MPP tracking" if duration_s > 5 else None)
        clock.sleep(duration_s)
        return not self.stop_requested()

    # --- rows -----------------------------------------------------------------------------
    def _log(self, reading: Any, at_s: float) -> None:
        voltage_v, current_a = float(reading.voltage_v), float(reading.current_a)
        j_ma_cm2 = -current_a / float(self.area_cm2) * 1e3
        power_mw_cm2 = voltage_v * j_ma_cm2
        lit = self._lit if self.light else False
        irradiance = (self.measured_irradiance_mw_cm2() if lit or
                      self.roles.irradiance_sensor is not None else 0.0)
        self.irradiance_for_pce_mw_cm2 = irradiance if lit else self.irradiance_for_pce_mw_cm2
        state = self.tracker.state()
        tracking = self.hold != "voc" and (lit or not self.light)
        row: dict[str, Any] = {
            "Time (s)": at_s,
            "Time (UTC)": (self.utc_origin + timedelta(seconds=at_s)).isoformat(
                timespec="milliseconds"),
            "Voltage (V)": voltage_v, "Current (A)": current_a,
            "Current density (mA/cm**2)": j_ma_cm2, "Power density (mW/cm**2)": power_mw_cm2,
            "PCE (percent)": power_mw_cm2 / irradiance * 100.0 if irradiance > 0 else math.nan,
            "Irradiance (mW/cm**2)": irradiance,
            "Compliance": 1 if reading.in_compliance else 0,
            "Set-point (V)": self.setpoint_v if self.hold != "voc" else math.nan,
            "Step (V)": state.step_v if tracking else None,
            "Dwell (s)": state.dwell_s if tracking else None,
            "Predicted current (A)": state.predicted_current_a if tracking else None,
            "Light": 1 if lit else 0, "Hold": HOLD_CODES[str(self.hold)]}
        if self.true_mpp_mw_cm2 is not None:
            row[TRUE_MPP_COLUMN] = float(self.true_mpp_mw_cm2())
        self.emit("results", row)
        self.watch_light_path(interval_s=LIGHT_WATCH_INTERVAL_S)
        self.emit_progress(100.0 * (at_s - self.t0_s) / max(float(self.duration_s), 1e-9))
        self._rows_since_state = getattr(self, "_rows_since_state", 0) + 1
        if self._rows_since_state >= STATE_EVERY_ROWS:
            self._write_state()

    def _write_state(self) -> None:
        """The state file beside the CSV: what a resumed run needs besides the last row (the
        run's start, the J-Vs done, the tracker's snapshot). Written atomically."""
        self._rows_since_state = 0
        if self.state_path is None:
            return
        state = {"t0_s": self.t0_s, "utc_origin": self.utc_origin.isoformat(),
                 "jv_done": self.jv_done, "setpoint_v": self.setpoint_v,
                 "moves": self.moves_before + int(self.tracker.moves),
                 "tracker": self.tracker.snapshot(), "start_source": self.start_source,
                 "start_v_used": self.start_v_used, "cycle_origin_s": self.cycle_origin_s}
        path = Path(self.state_path)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(state, default=float), encoding="utf-8")
        os.replace(temporary, path)

    # --- light cycle ----------------------------------------------------------------------
    def _cycle_s(self) -> tuple[float, float]:
        return float(self.light_on_h) * 3600.0, float(self.light_off_h) * 3600.0

    def _lit_phase(self, now_s: float) -> bool:
        on_s, off_s = self._cycle_s()
        if on_s <= 0 or not self.light:
            return bool(self.light)
        return (now_s - self.cycle_origin_s) % (on_s + off_s) < on_s - 1e-9

    def _next_light_change_s(self, now_s: float) -> float:
        on_s, off_s = self._cycle_s()
        if on_s <= 0 or not self.light:
            return math.inf
        phase_s = (now_s - self.cycle_origin_s) % (on_s + off_s)
        base_s = now_s - phase_s
        return base_s + on_s if phase_s < on_s - 1e-9 else base_s + on_s + off_s

    def watch_light_path(self, force: bool = False,
                         interval_s: float = WATCH_INTERVAL_S) -> None:
        """As :meth:`LabctlProcedure.watch_light_path`; on parallel channels that cycle the
        light, a shutter another channel has just closed at the cycle's switch (the one that
        got there first) is what the schedule says, not a fault."""
        if (self.light_share is not None and self.light and self._lit
                and not self._lit_phase(self.elapsed_s())):
            return
        super().watch_light_path(force=force, interval_s=interval_s)

    def _set_light(self, lit: bool) -> None:
        if lit:
            self.light_on()
        else:
            self.light_off()
        self._lit = lit
        self._write_state()
        if self.hold != "voc":
            self._hold_start(self.setpoint_v)

    # --- periodic J-Vs --------------------------------------------------------------------
    def _next_jv_s(self) -> float:
        if self.jv_step is None or float(self.jv_every_min) <= 0:
            return math.inf
        return self.t0_s + self.jv_done * float(self.jv_every_min) * 60.0

    def _jv_due(self, now_s: float) -> bool:
        return self._next_jv_s() <= now_s + 1e-9 and self._next_jv_s() < self.end_s

    def _periodic_jv(self) -> bool:
        """One periodic J-V (each direction into its own file, its metrics appended to the
        series); False when a stop was requested."""
        jv = self.jv_step
        assert jv is not None
        if self.hold == "voc":
            self._configure_voltage(jv.voltages_v(jv.directions[0])[0])
        for direction in jv.directions:
            curve = self._sweep(jv, direction)
            if curve is None:
                return False
            self._append_series(direction, *curve)
        self.jv_done += 1
        self._write_state()
        return True

    def _sweep(self, jv: JVStep, direction: str) -> tuple[float, np.ndarray, np.ndarray,
                                                          float] | None:
        """Point by point over the J-V's voltages: ``(time, V, J, irradiance)`` or None."""
        smu = self.roles.smu
        name = f"jv{self.jv_done:04d}_{direction}"
        writer = self.open_side_file(name, list(JV_COLUMNS)) if self.open_side_file else None
        irradiance = self.measured_irradiance_mw_cm2() if self._lit else 0.0
        started_s = self.elapsed_s()
        voltages, densities = [], []
        complete = False
        try:
            for voltage_v in sweep_voltages_v(jv.start_v, jv.stop_v, jv.step_v, direction):
                smu.set_voltage(voltage_v)
                if not self._sleep(jv.source_delay_s()):
                    return None
                reading = smu.read()
                row = self.reading_row(reading.voltage_v, reading.current_a, clock.now_s(),
                                       reading.in_compliance, irradiance)
                voltages.append(row["Voltage (V)"])
                densities.append(row["Current density (mA/cm**2)"])
                if writer is not None:
                    writer.append(row)
            complete = True
        finally:
            if writer is not None:
                (writer.finish if complete else writer.close)()
        self.roles.smu.set_voltage(self.setpoint_v if math.isfinite(self.setpoint_v)
                                   else 0.0)
        return started_s, np.asarray(voltages), np.asarray(densities), irradiance

    def _append_series(self, direction: str, at_s: float, voltage_v: np.ndarray,
                       j_ma_cm2: np.ndarray, irradiance_mw_cm2: float) -> None:
        from labctl.analysis.jv import jv_metrics

        metrics, _ = jv_metrics(voltage_v, j_ma_cm2,
                                irradiance_mw_cm2=irradiance_mw_cm2 or math.nan)
        vmpp = _finite_or_none(metrics.get("vmpp_v"))
        if vmpp is not None and (direction == "reverse" or self.last_jv_vmpp_v is None):
            self.last_jv_vmpp_v = vmpp
        if self.open_side_file is None:
            return
        if self._series is None:
            self._series = self.open_side_file("jv_series", list(SERIES_COLUMNS))
        self._series.append({
            "Time (s)": at_s, "Time (UTC)": (self.utc_origin + timedelta(seconds=at_s))
            .isoformat(timespec="milliseconds"), "J-V index": self.jv_done,
            "Direction": direction, "PCE (percent)": metrics.get("pce_pct"),
            "Voc (V)": metrics.get("voc_v"), "Jsc (mA/cm**2)": metrics.get("jsc_ma_cm2"),
            "FF": metrics.get("ff"), "Vmpp (V)": metrics.get("vmpp_v")})

    # --- shutdown -------------------------------------------------------------------------
    #: Set by the runner on parallel channels: ``release() -> True`` when this channel is the
    #: last to need the shared light path (the shutter closes only then).
    light_share: Any = None

    def shutdown(self) -> None:
        """The safe end of :class:`LabctlProcedure` (SMU output off first); on parallel
        channels the shutter and light source are left to the last channel that ends."""
        series, self._series = getattr(self, "_series", None), None
        if series is not None:
            try:
                series.close()
            except Exception:  # noqa: BLE001 - the shutdown must go on
                pass
        share = self.light_share
        if share is not None and not share.release():
            roles = self.roles
            if roles is not None:
                from dataclasses import replace

                self.roles = replace(roles, shutter=None, light=None)
                try:
                    super().shutdown()
                finally:
                    self.roles = roles
                return
        super().shutdown()


# --- the plug-in ----------------------------------------------------------------------------

def _plan(step: MPPStep, context: PlanContext) -> list[PlannedMeasurement]:
    params = step.model_dump(exclude={"smu", "jv", "light_cycle", "duration_h", "duration_s",
                                      "jv_every_min", "start_v"})
    params["duration_s"] = step.run_duration_s
    params["start_v"] = step.start_v if isinstance(step.start_v, float) else None
    params["jv_every_min"] = step.jv_every_min or 0.0
    params["jv_parameters"] = (json.dumps(step.jv.model_dump(mode="json", exclude={"smu"},
                                                             exclude_none=True))
                               if step.jv is not None else "")
    if step.light_cycle is not None:
        params["light_on_h"] = step.light_cycle.on_h
        params["light_off_h"] = step.light_cycle.off_h
    return [PlannedMeasurement(
        step=context.step_index, procedure=step.procedure, direction=None,
        filename=context.filename(step.procedure),
        parameters={**context.common_parameters(), **params}, channel=context.channel)]


def _estimate_duration_s(step: MPPStep, timing: StepTiming) -> float:
    return step.run_duration_s


def _size(n_bytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{n_bytes:.0f} B"


def _describe(step: MPPStep) -> str:
    start = f" from {describe_value(step.start_v)}" if step.start_v is not None else ""
    light = f"{step.irradiance_mw_cm2:g} mW/cm²" if step.light else "dark"
    extra = ""
    if step.jv is not None and step.jv_every_min is not None:
        extra += (f", {step.jv_count()} J-Vs every {format_duration(step.jv_every_min * 60)}"
                  f" ({step.jv.points} points, {step.jv.direction})")
    if step.hold != "mpp":
        extra += f", hold {step.hold} between J-Vs"
    if step.light_cycle is not None:
        extra += f", light {step.light_cycle.on_h:g} h on / {step.light_cycle.off_h:g} h off"
    channels = len(step.smu) if isinstance(step.smu, list) else 1
    per = " per channel" if channels > 1 or step.smu == "all" else ""
    return (f"mpp: {step.algorithm} for {format_duration(step.run_duration_s)}{start}, "
            f"step {step.step_v:g} V, settle {step.settle_s:g} s, log every "
            f"{step.log_interval_s:g} s, {light}{extra}{describe_smu(step)}; "
            f"{step.logged_rows()} points, about {_size(step.disk_bytes())} on disk{per}")


def analyze_mpp_measurement(data: Any, context: AnalysisContext
                            ) -> tuple[dict[str, Any], list[str]]:
    """The MPP metrics of an MPP file (docs/contracts.md, "Summary JSON"): the stabilized
    PCE, Vmpp and Jmpp, the settling time, in simulation the tracking efficiency, and for a
    run of an hour or more T95, T80 and Ts80 of the logged power."""
    columns = data.columns
    time_s = columns["Time (s)"]
    lit = columns.get("Light", np.ones_like(time_s)) > 0.5
    if not context.parameters.get("light", True):  # a dark bias hold: every row counts
        lit = np.ones_like(time_s, dtype=bool)
    truth = columns.get(TRUE_MPP_COLUMN)
    metrics = dict(_mpp_metrics(
        time_s[lit], columns["Voltage (V)"][lit], columns["Current density (mA/cm**2)"][lit],
        columns["Irradiance (mW/cm**2)"][lit], None if truth is None else truth[lit]))
    if time_s.size and time_s[-1] - time_s[0] >= 3600.0:
        metrics.update(_stability_metrics(time_s[lit] - time_s[0],
                                         columns["Power density (mW/cm**2)"][lit]))
    moves = context.details.get("moves")
    tracked_s = context.details.get("tracked_s")
    if moves and tracked_s:
        metrics["mean_move_interval_s"] = float(tracked_s) / float(moves)
    return metrics, []


#: Columns the MPP analysis reads, and the most rows it reads (longer files are binned).
ANALYSIS_COLUMNS = ["Time (s)", "Voltage (V)", "Current density (mA/cm**2)",
                    "Power density (mW/cm**2)", "Irradiance (mW/cm**2)", "Light",
                    TRUE_MPP_COLUMN]
ANALYSIS_MAX_ROWS = 100_000
FIGURE_MAX_ROWS = 5_000


def read_mpp_file(path: Path) -> Any:
    """The columns of an MPP file the analysis needs, in constant memory (a 10^6-row file
    is read in chunks and binned to 10^5 rows: :func:`labctl.storage.read_binned`)."""
    from labctl.storage import read_binned

    return read_binned(path, ANALYSIS_COLUMNS, max_rows=ANALYSIS_MAX_ROWS)


analyze_mpp_measurement.read = read_mpp_file  # type: ignore[attr-defined]


def plot_mpp_step(results: Sequence[StepResult], path: Path, title: str) -> None:
    """One figure per MPP file (PCE against time, decimated) and one for all its periodic
    J-Vs (PCE, Voc, Jsc and FF against time). The step's figures are drawn again each time
    one of its channels is recorded; a figure newer than its data is left as it is (eight
    channels: 8 figures drawn, not 1 + 2 + ... + 8 = 36)."""
    from labctl.plots import plot_timeseries
    from labctl.storage import read_binned

    for result in results:
        channel = result.record.get("channel")
        stem = result.path.stem
        figure_path = path.with_name(stem + ".png")
        if not _newer(figure_path, result.path):
            data = read_binned(result.path, ["Time (s)", "PCE (percent)"],
                               max_rows=FIGURE_MAX_ROWS)
            plot_timeseries(data.columns["Time (s)"], data.columns["PCE (percent)"],
                            figure_path, ylabel="PCE [%]",
                            title=title + (f" {channel}" if channel else ""))
        series = result.path.with_name(stem + "_jv_series.csv")
        series_figure = path.with_name(stem + "_jv_series.png")
        if series.is_file() and not _newer(series_figure, series):
            _plot_series(series, series_figure, title)


def _newer(figure: Path, data: Path) -> bool:
    """True when ``figure`` exists and was written after ``data`` last changed."""
    try:
        return figure.stat().st_mtime_ns >= data.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _plot_series(series_path: Path, path: Path, title: str) -> None:
    from labctl.plots import _new_figure, _save, _time_axis
    from labctl.storage import read_measurement

    columns = read_measurement(series_path).columns
    time_s = columns["Time (s)"]
    divisor, unit = _time_axis(time_s)
    figure = _new_figure()
    panels = (("PCE (percent)", "PCE [%]"), ("Voc (V)", "Voc [V]"),
              ("Jsc (mA/cm**2)", "Jsc [mA/cm²]"), ("FF", "FF"))
    for k, (column, label) in enumerate(panels):
        axes = figure.add_subplot(2, 2, k + 1)
        axes.plot(time_s / divisor, columns[column], "o-", markersize=3, linewidth=0.8)
        axes.set_xlabel(f"Time [{unit}]")
        axes.set_ylabel(label)
        axes.grid(True, linewidth=0.4, alpha=0.5)
    figure.suptitle(f"{title}: periodic J-Vs")
    _save(figure, path)


def _check_station(step: MPPStep, station: Any) -> str | None:
    if step.light_cycle is not None and station.shutter() is None:
        return "light_cycle needs a shutter to darken the device between the lit hours"
    return None


PLUGIN = ProcedurePlugin(
    name="mpp",
    summary="maximum-power-point tracking and long stability runs (periodic J-Vs, light "
    "cycling, parallel channels)",
    step_model=MPPStep,
    procedure_class=MPPProcedure,
    plan=_plan,
    estimate_duration_s=_estimate_duration_s,
    describe=_describe,
    analysis_kind="mpp",
    analyze=analyze_mpp_measurement,
    metric_names=("pce_stabilized_pct", "vmpp_v", "jmpp_ma_cm2", "settling_time_s",
                  "tracking_efficiency", "t95_h", "t80_h", "ts80_h", "mean_move_interval_s"),
    headline_metrics=("pce_stabilized_pct", "vmpp_v", "jmpp_ma_cm2"),
    check_station=_check_station,
    figure=plot_mpp_step,
)
