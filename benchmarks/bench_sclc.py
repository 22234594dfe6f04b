"""Benchmark: labctl's batch SCLC analysis on 10,000 single-carrier curves (docs/methods.md §5).

Generates curves with the simulated single-carrier device's construction
(:class:`labctl.sim.physics.SingleCarrierDevice`, docs/simulation.md §4) over a range of
parameters -- trap density 1e15-5e16 cm^-3, mobility 1e-5-1e-1 cm^2/V s, thickness
200-1000 nm, eps_r 10-60, conductivity a factor 1e-3-1e-1 below the one that hides the
trap-filling rise -- swept log-spaced, 20 points per decade from 1 mV to 10 V_TFL (at most
150 V), with 0.5 % Gaussian noise on the current, then

- runs :func:`labctl.analysis.sclc.sclc_analysis` once on the whole (curves, points) batch;
- as the baseline in the same run, calls it curve by curve over a subset (``--loop-curves``,
  1,000 by default) and extrapolates the time to all curves;

and prints both wall times, the speed ratio, and the largest and 99th-percentile relative
errors of N_trap and of the mobility against each curve's true values, plus how many curves
had no result.

Run: ``python benchmarks/bench_sclc.py [--curves 10000] [--loop-curves 1000] [--seed 0]``
(a few seconds, most of it generating the curves).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labctl.analysis.sclc import sclc_analysis  # noqa: E402
from labctl.sim.physics import SingleCarrierDevice  # noqa: E402
from labctl.station.simulation import SingleCarrierDevice as Params  # noqa: E402

POINTS_PER_DECADE = 20
NOISE_REL = 0.005


def make_curves(n_curves: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(voltages [V], current densities [A/cm^2], true values), each (curves, points); NaN
    pads curves shorter than the longest."""
    rng = np.random.default_rng(seed)
    log_uniform = lambda low, high: 10 ** rng.uniform(np.log10(low), np.log10(high), n_curves)  # noqa: E731
    truth = {"n_trap_cm3": log_uniform(1e15, 5e16), "mobility_cm2_vs": log_uniform(1e-5, 1e-1),
             "thickness_nm": rng.uniform(200, 1000, n_curves),
             "eps_r": rng.uniform(10, 60, n_curves)}
    rows_v, rows_j = [], []
    for k in range(n_curves):
        probe = SingleCarrierDevice(Params(
            thickness_nm=truth["thickness_nm"][k], eps_r=truth["eps_r"][k],
            mobility_cm2_vs=truth["mobility_cm2_vs"][k], trap_density_cm3=truth["n_trap_cm3"][k]))
        v_tfl = probe.v_tfl_v
        # the conductivity at which the ohmic current at V_TFL reaches the Child current
        hiding_s_cm = (9 / 8 * probe.permittivity_f_cm * probe.params.mobility_cm2_vs * v_tfl
                       / probe.thickness_cm**2)
        device = SingleCarrierDevice(probe.params.model_copy(update={
            "conductivity_s_cm": hiding_s_cm * 10 ** rng.uniform(-3, -1)}))
        stop_v = min(150.0, 10 * v_tfl)
        voltages = np.geomspace(1e-3, stop_v, round(np.log10(stop_v / 1e-3) * POINTS_PER_DECADE)
                                + 1)
        j = np.asarray(device.sclc_current_density_a_cm2(voltages))
        rows_v.append(voltages)
        rows_j.append(j * (1 + NOISE_REL * rng.standard_normal(j.shape)))
    width = max(len(row) for row in rows_v)
    pad = lambda rows: np.stack([np.pad(r, (0, width - len(r)), constant_values=np.nan)  # noqa: E731
                                 for r in rows])
    return pad(rows_v), pad(rows_j), truth


def errors(result_value: np.ndarray, true_value: np.ndarray) -> tuple[float, float, int]:
    relative = np.abs(result_value / true_value - 1)
    finite = relative[np.isfinite(relative)]
    missing = int((~np.isfinite(relative)).sum())
    return float(finite.max()), float(np.percentile(finite, 99)), missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curves", type=int, default=10_000)
    parser.add_argument("--loop-curves", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    voltage_v, j_a_cm2, truth = make_curves(args.curves, args.seed)
    print(f"{args.curves} curves of up to {voltage_v.shape[1]} points generated in "
          f"{time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    batch = sclc_analysis(voltage_v, j_a_cm2, thickness_nm=truth["thickness_nm"],
                          eps_r=truth["eps_r"])
    batch_s = time.perf_counter() - started
    n_loop = min(args.loop_curves, args.curves)
    started = time.perf_counter()
    for k in range(n_loop):
        sclc_analysis(voltage_v[k], j_a_cm2[k], thickness_nm=truth["thickness_nm"][k],
                      eps_r=truth["eps_r"][k])
    loop_s = (time.perf_counter() - started) * args.curves / max(n_loop, 1)
    print(f"batch call:      {batch_s:8.3f} s for {args.curves} curves")
    print(f"per-curve loop:  {loop_s:8.3f} s (extrapolated from {n_loop} curves); "
          f"batch {loop_s / batch_s:.0f}x faster")
    for name, key in (("N_trap", "n_trap_cm3"), ("mobility", "mobility_cm2_vs")):
        largest, p99, missing = errors(getattr(batch, key), truth[key])
        print(f"{name:<9} error against the true values: largest {100 * largest:.2f} %, "
              f"99th percentile {100 * p99:.2f} %, no result {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
