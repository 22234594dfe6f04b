"""J-V sweep of a solar cell, one direction per run (methods.md sections 1 and 6).

A run measures ONE direction: ``reverse`` (high to low voltage, Voc -> Jsc) or ``forward`` (low to
high), whatever the order of ``start_v`` and ``stop_v`` (DESIGN.md, "J-V semantics"). A
``direction: both`` step is two runs, reverse then forward, with the same step and dwell, into
two CSV files; the runner sets ``precondition`` on the first only, so the forward scan follows
the reverse one directly, as in [Hao 2020] (methods.md section 1) and as the hysteresis index
needs (section 6: report it with the scan rate and the preconditioning).

Per-point time is not the dwell (methods.md section 1, "Per-point time ≠ delay"): the dwell is
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
from typing import ClassVar

from pymeasure.experiment import BooleanParameter, FloatParameter, ListParameter

from labctl import clock
from procedures.base import BASE_DATA_COLUMNS, LabctlProcedure, ProcedureError, _finite_or_none

__all__ = ["DIRECTIONS", "JVProcedure", "sweep_voltages_v"]

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


class JVProcedure(LabctlProcedure):
    """Measure one J-V sweep (one direction) under light or in the dark.

    ``execute()``: optional preconditioning (``precondition`` true: a light soak with the
    output off, the cell floating at open circuit, then a bias hold); light on (or shutter
    closed for a dark sweep); the SMU configured as a voltage source with explicit compliance,
    NPLC and sensing; the sweep; one row per point. Metadata written at the end (the runner
    re-reads them): ``Achieved scan rate (V/s)``, ``Expected scan rate (V/s)``,
    ``Source delay (s)``, ``Points measured``, ``Preconditioning``,
    ``Irradiance for PCE (mW/cm**2)``.
    """

    start_v = FloatParameter(
        "Start voltage", units="V", minimum=-210.0, maximum=210.0, default=1.3,
        description="One end of the voltage range (V).",
    )
    stop_v = FloatParameter(
        "Stop voltage", units="V", minimum=-210.0, maximum=210.0, default=-0.1,
        description="The other end of the voltage range (V).",
    )
    step_v = FloatParameter(
        "Voltage step", units="V", minimum=1e-4, maximum=1.0, default=0.01,
        description="Voltage step, a positive magnitude (V).",
    )
    dwell_s = FloatParameter(
        "Dwell", units="s", minimum=0.0, maximum=100.0, default=0.01,
        description="Source delay: from setting a voltage to the start of its reading (s); "
        "ignored when scan_rate_v_s > 0.",
    )
    scan_rate_v_s = FloatParameter(
        "Scan rate", units="V/s", minimum=0.0, maximum=100.0, default=0.0,
        description="Wanted scan rate (V/s); > 0 derives the dwell from the SMU's timing "
        "model; 0 = use dwell_s.",
    )
    direction = ListParameter(
        "Direction", choices=list(DIRECTIONS), default="reverse",
        description="reverse (high to low voltage) or forward (low to high).",
    )
    light = BooleanParameter("Light", default=True, description="Illuminated or dark sweep.")
    hardware_sweep = BooleanParameter(
        "Hardware sweep", default=True,
        description="Use the SMU's built-in sweep; false = point by point.",
    )
    precondition = BooleanParameter(
        "Precondition", default=False,
        description="Apply the preconditioning below before the sweep (the runner sets it on "
        "the first direction only).",
    )
    precondition_light_s = FloatParameter(
        "Light soak", units="s", minimum=0.0, maximum=86400.0, default=0.0,
        description="Light soak at open circuit before the sweep (s).",
    )
    precondition_bias_v = FloatParameter(
        "Preconditioning bias", units="V", minimum=-210.0, maximum=210.0, default=0.0,
        description="Bias held before the sweep (V), for precondition_bias_s.",
    )
    precondition_bias_s = FloatParameter(
        "Preconditioning bias time", units="s", minimum=0.0, maximum=86400.0, default=0.0,
        description="How long precondition_bias_v is held (s); 0 = no bias.",
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
        return bool(self.precondition) and float(self.precondition_light_s or 0.0) > 0

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

    def _precondition_soak(self) -> bool:
        """Light soak with the output off (the cell floats at open circuit). False = abort."""
        if not self._soak_requested():
            return True
        soak_s = float(self.precondition_light_s)
        if not self.light_on():
            return False
        self.roles.smu.disable_output()
        self.preconditioning_applied = f"light soak {soak_s:g} s at open circuit"
        return self.wait(soak_s)

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
        return self.wait(bias_s)

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
