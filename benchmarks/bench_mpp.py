"""Every MPP tracker side by side on the same simulated cells (issue 10, item 7).

Each tracker is driven by :func:`labctl.mpp.simulate.drive` on the physics model of the cell
(virtual time, no bench), from 0.5 Voc, 0.8 Voc and Voc of a Voc-poled cell. Cells: ion_tau_s
1, 10, 100 and 300 s with ion_amplitude 0.1 and 0.5; an irradiance step 1 -> 0.5 -> 1 sun; and a
cell whose series resistance and J0 grow (Vmpp moves by >= 30 mV over the run). Baselines as the
open implementations use them: perturb-and-observe with step 0.01 V and settle 1 s and 0.1 s,
gradient ascent with momentum (alpha 1.5, momentum 0.1, steps 1-100 mV, 0.5 s dwell).

Printed per cell, start and algorithm: tracking efficiency over the whole run, settled
efficiency (last 50 %), settling_time_s of the power (+-1 % of its stabilized value; of the
ratio P/P_true on the cells whose light or ageing moves the power itself), the
stabilized power's bias against the true steady-state maximum over the same final window,
ripple (relative standard deviation of the power in the final 10 %) and the mean move
interval; then the targets of the issue for the default tracker, met or not, with numbers.
Beside the algorithms, never ranked, an oracle that reads the model and sits at the true
steady-state Vmpp from t = 0: the shortest settling time any tracker at the maximum can have
on that cell (a Voc-poled cell's surplus decays with the ions' own time constant).

Run: ``python benchmarks/bench_mpp.py`` (about 2-4 min; ``--quick`` for a shorter run).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labctl.analysis.mpp import (
    pce_stabilized_pct,
    ripple_pct,
    settling_time_s,
    tracking_efficiency,
)
from labctl.mpp import make_tracker
from labctl.mpp.simulate import drive
from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState
from labctl.sim.physics import SolarCell
from labctl.station.simulation import SolarCellDevice

SUN_MW_CM2 = 100.0
ALGORITHMS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("default", {}),
    "fixed_voltage": ("fixed_voltage", {"dwell_s": 1.0}),
    "P&O 1 s": ("perturb_observe", {"step_v": 0.01, "settle_s": 1.0}),
    "P&O 0.1 s": ("perturb_observe", {"step_v": 0.01, "settle_s": 0.1}),
    "gradient": ("gradient", {"alpha": 1.5, "momentum": 0.1, "min_step_v": 0.001,
                              "max_step_v": 0.1, "dwell_s": 0.5}),
}
BASELINES = ("P&O 1 s", "P&O 0.1 s", "gradient")
#: The physical bound, printed beside the algorithms, never ranked (:class:`OracleTracker`).
ORACLE = "oracle (bound)"
STARTS = (0.5, 0.8, 1.0)


@dataclass(frozen=True)
class Cell:
    label: str
    params: dict[str, float]
    duration_s: float
    irradiance: Callable[[float], float] = field(default=lambda _t: SUN_MW_CM2)
    #: False: the light or the cell itself changes during the run, so the power's own final
    #: value says nothing about the tracker; settling is then taken on P/P_true.
    stationary: bool = True


def cells(quick: bool) -> list[Cell]:
    scale = 0.5 if quick else 1.0
    out = []
    for tau in (1.0, 10.0, 100.0, 300.0):
        duration = scale * max(600.0, 12.0 * tau)
        for amplitude in (0.1, 0.5):
            out.append(Cell(f"tau {tau:g} s, a {amplitude:g}",
                            {"ion_tau_s": tau, "ion_amplitude": amplitude}, duration))
    step_s = scale * 1200.0

    def stepped(t_s: float) -> float:
        return SUN_MW_CM2 * (0.5 if step_s / 3 <= t_s < 2 * step_s / 3 else 1.0)

    out.append(Cell("light 1-0.5-1 sun, tau 10 s, a 0.3",
                    {"ion_tau_s": 10.0, "ion_amplitude": 0.3}, step_s, stepped,
                    stationary=False))
    hours = scale * 1800.0 / 3600.0
    out.append(Cell("Rs and J0 growth, tau 10 s, a 0.3",
                    {"ion_tau_s": 10.0, "ion_amplitude": 0.3,
                     "rs_growth_ohm_cm2_per_h": 2.0 / hours, "j0_growth_per_h": 0.5 / hours},
                    scale * 1800.0, stationary=False))
    return out


class OracleTracker(Tracker):
    """Not a tracker: the physical bound. It reads the model (which no tracker can) and sits
    at the true steady-state Vmpp of each moment from t = 0, re-set every ``dwell_s``. Its
    settling time is the shortest any tracker at the maximum can have: the poled ions'
    surplus power decays with their own time constant, whatever the tracker does."""

    name = "oracle"

    def __init__(self, model: SolarCell, irradiance: Callable[[float], float],
                 dwell_s: float = 0.5) -> None:
        self.model, self.irradiance, self.dwell_s = model, irradiance, dwell_s
        self.setpoint_v = math.nan

    def _at(self, time_s: float) -> Command:
        self.setpoint_v = float(self.model.steady_state_mpp(self.irradiance(time_s))[0])
        return Command(self.setpoint_v, self.dwell_s)

    def start(self, start_v: float) -> Command:
        return self._at(0.0)

    def update(self, reading: Reading) -> Command:
        return self._at(reading.time_s)

    def state(self) -> TrackerState:
        return TrackerState(self.setpoint_v, None, self.dwell_s, None)

    def parameters(self) -> dict[str, Any]:
        return {"dwell_s": self.dwell_s}


def run_one(cell: Cell, algorithm: str, start_fraction: float) -> dict[str, float]:
    model = SolarCell(SolarCellDevice(**cell.params))
    model.equilibrate_open_circuit(cell.irradiance(0.0))
    voc = model.steady_state_open_circuit_voltage_v(cell.irradiance(0.0))
    if algorithm == ORACLE:
        tracker: Tracker = OracleTracker(model, cell.irradiance)
    else:
        name, params = ALGORITHMS[algorithm]
        if name == "gradient":
            params = {**params, "area_cm2": model.area_cm2}
        tracker = make_tracker(name, **params)
    result = drive(tracker, model, cell.irradiance, cell.duration_s, start_fraction * voc)
    t, p, p_true = result.time_s, result.power_w, result.true_power_w
    final_start = t[-1] - 0.1 * (t[-1] - t[0])
    stabilized = pce_stabilized_pct(t, p)
    true_final = float(np.mean(p_true[t >= final_start]))
    return {
        "whole": tracking_efficiency(t, p, p_true),
        "settled": tracking_efficiency(t, p, p_true, since_s=0.5 * cell.duration_s),
        "settling_s": settling_time_s(t, p) if cell.stationary else settling_time_s(
            t, p / p_true),
        "bias_pct": (stabilized / true_final - 1.0) * 100.0,
        "ripple_pct": ripple_pct(t, p),
        "move_s": result.mean_move_interval_s,
        "vmpp_shift_mv": float(result.true_vmpp_v[0] - result.true_vmpp_v[-1]) * 1e3,
    }


def _fmt_s(value: float) -> str:
    return "never" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:8.1f}")


def check_targets(label: str, rows: dict[str, dict[str, float]]) -> list[str]:
    """The issue's targets for the default tracker on one cell and start; failures named
    (a settling time that not even the oracle reaches is said to be so)."""
    mine = rows["default"]
    failures = []
    best_other = max((r["settled"], a) for a, r in rows.items()
                     if a not in ("default", ORACLE))
    if mine["settled"] < best_other[0]:
        failures.append(f"settled {mine['settled']:.5f} < {best_other[1]} {best_other[0]:.5f}")
    if mine["settled"] < 0.995:
        failures.append(f"settled {mine['settled']:.5f} < 0.995")
    if abs(mine["bias_pct"]) > 0.1:
        failures.append(f"bias {mine['bias_pct']:+.3f} % beyond 0.1 %")
    fastest = min((rows[b]["settling_s"] for b in BASELINES
                   if not math.isnan(rows[b]["settling_s"])), default=math.nan)
    if math.isnan(mine["settling_s"]) or mine["settling_s"] > fastest:
        bound = rows[ORACLE]["settling_s"] if ORACLE in rows else math.nan
        why = (f"; not attainable: the oracle at the true Vmpp from t = 0 takes "
               f"{_fmt_s(bound).strip()} s" if bound > fastest else "")
        failures.append(f"settling {_fmt_s(mine['settling_s'])} s > fastest baseline "
                        f"{_fmt_s(fastest)} s{why}")
    return [f"{label}: {text}" for text in failures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="half-length runs")
    args = parser.parse_args()
    header = (f"{'algorithm':14s} {'whole':>8s} {'settled':>8s} {'settle_s':>8s} "
              f"{'bias_%':>7s} {'ripple_%':>8s} {'move_s':>8s}")
    failures: list[str] = []
    started = time.perf_counter()
    for cell in cells(args.quick):
        for start in STARTS:
            label = f"{cell.label}, start {start:g} Voc, {cell.duration_s:g} s"
            rows = {algorithm: run_one(cell, algorithm, start)
                    for algorithm in (*ALGORITHMS, ORACLE)}
            shift = rows["default"]["vmpp_shift_mv"]
            print(f"\n== {label}" + (f" (true Vmpp moved {shift:.1f} mV)" if abs(shift) > 1
                                      else "")
                  + ("" if cell.stationary else "; settle_s of P/P_true"))
            print(header)
            for algorithm, r in rows.items():
                print(f"{algorithm:14s} {r['whole']:8.5f} {r['settled']:8.5f} "
                      f"{_fmt_s(r['settling_s'])} {r['bias_pct']:+7.3f} "
                      f"{r['ripple_pct']:8.4f} {_fmt_s(r['move_s'])}")
            failures += check_targets(label, rows)
    print(f"\nwall time {time.perf_counter() - started:.1f} s")
    print("default tracker targets (highest settled efficiency, >= 99.5 %, |bias| <= 0.1 %, "
          "settling <= fastest baseline):")
    print("  all met" if not failures else "\n".join(f"  NOT MET {f}" for f in failures))
    bounded = sum("not attainable" in f for f in failures)
    if bounded:
        print(f"  in {bounded} of the {len(failures)} misses the fastest baseline settles sooner "
              "than the physical bound: it approaches from below the maximum, or stays biased "
              "below it, while the poled ions' surplus decays")


if __name__ == "__main__":
    main()
