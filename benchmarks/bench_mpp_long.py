"""Speed and memory of long MPP runs on the simulated bench (virtual time).

Run: python benchmarks/bench_mpp_long.py [--only long|parallel|memory] [--memory-hours H]

Prints, in one run:
- a 1000-hour single-channel run with the ``default`` tracker, a 60 s log interval and a J-V
  every 60 minutes (11 points, reverse): the real time it takes (target <= 120 s), with its
  CPU time (the machine may be shared);
- 100 hours on eight channels in parallel against the same 100 hours on one channel (the
  baseline, in the same run): the ratio of real times (target <= 8.5x);
- peak resident memory of a ``labctl run`` process of 10^5 rows (100 h at a 3.6 s log
  interval) against one of 10^6 rows (1000 h; ``--memory-hours`` for another length),
  analysis and figures included (target: growth < 20 MB).

Each run is a ``labctl run`` subprocess on a station file written to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CELL = {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8, "j0_ma_cm2": 1.0e-12,
        "ideality": 1.5, "rs_ohm_cm2": 3.0, "rsh_ohm_cm2": 3000.0, "ion_tau_s": 10.0,
        "ion_amplitude": 0.2}
JV = {"direction": "reverse", "start_v": 1.2, "stop_v": 0.0, "step_v": 0.12,
      "dwell_s": 0.01}


def write_station(folder: Path, channels: int) -> Path:
    """A simulated station with ``channels`` 2400 SMUs (a cell on each) and a shutter."""
    instruments = {f"smu{k}" if k else "smu": {"driver": "keithley2400",
                                               "resource": f"GPIB0::{21 + k}::INSTR"}
                   for k in range(channels)}
    instruments["shutter"] = {"driver": "thorlabs_sc10", "resource": "ASRL2::INSTR"}
    simulation: dict = {"devices": {name: dict(CELL) for name in instruments
                                    if name != "shutter"}}
    path = folder / f"station{channels}.yaml"
    path.write_text(yaml.safe_dump({"station": "bench-mpp-long", "simulated": True,
                                    "instruments": instruments, "simulation": simulation}))
    return path


def write_sequence(folder: Path, name: str, mpp: dict) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": name, "area_cm2": 0.09},
                                    "steps": [{"mpp": mpp}]}))
    return path


def labctl_run(sequence: Path, station: Path, out: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "labctl.cli", "run", str(sequence),
                             "--station", str(station), "--out", str(out), "--quiet"],
                            env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def timed_run(sequence: Path, station: Path, out: Path) -> tuple[float, float]:
    """(real s, CPU s) of one ``labctl run``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started_s = time.monotonic()
    process = labctl_run(sequence, station, out)
    _, err = process.communicate()
    real_s = time.monotonic() - started_s
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"labctl run failed ({process.returncode}): {err.strip()}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return real_s, cpu_s


def bench_long(folder: Path) -> None:
    sequence = write_sequence(folder, "L-1000h", {
        "duration_h": 1000, "log_interval_s": 60, "jv_every_min": 60, "jv": JV})
    real_s, cpu_s = timed_run(sequence, write_station(folder, 1), folder / "long")
    verdict = "ok" if real_s <= 120 else "over"
    print(f"1000 h, 1 channel, log 60 s, J-V every 60 min: {real_s:.1f} s real "
          f"({cpu_s:.1f} s CPU)   target <= 120 s: {verdict}")


def bench_parallel(folder: Path) -> None:
    mpp = {"duration_h": 100, "log_interval_s": 60, "jv_every_min": 60, "jv": JV}
    one_s, one_cpu_s = timed_run(write_sequence(folder, "P-1", mpp),
                                 write_station(folder, 1), folder / "p1")
    eight_s, eight_cpu_s = timed_run(write_sequence(folder, "P-8", {**mpp, "smu": "all"}),
                                     write_station(folder, 8), folder / "p8")
    ratio = eight_s / one_s
    verdict = "ok" if ratio <= 8.5 else "over"
    print(f"100 h on 1 channel (baseline): {one_s:.1f} s real ({one_cpu_s:.1f} s CPU)")
    print(f"100 h on 8 channels in parallel: {eight_s:.1f} s real ({eight_cpu_s:.1f} s CPU)"
          f"   ratio {ratio:.2f}x, target <= 8.5x: {verdict}")


def peak_rss_mb(sequence: Path, station: Path, out: Path) -> tuple[float, float]:
    """(peak resident memory [MB], real s) of one ``labctl run`` process, its analysis and
    figures included (``wait4``'s ``ru_maxrss`` of that process alone)."""
    started_s = time.monotonic()
    process = labctl_run(sequence, station, out)
    assert process.stdout is not None and process.stderr is not None
    _, status, usage = os.wait4(process.pid, 0)
    err = process.stderr.read()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"labctl run failed ({process.returncode}): {err.strip()}")
    return usage.ru_maxrss / 1024.0, time.monotonic() - started_s


def bench_memory(folder: Path, hours: float) -> None:
    """Peak memory of a run of 10^5 rows (100 h at 3.6 s) against one of ``hours`` at
    3.6 s (10^6 rows for 1000 h): the growth is what the extra rows cost."""
    station = write_station(folder, 1)
    figures = []
    for name, run_hours in (("M-100h", 100.0), ("M-long", hours)):
        sequence = write_sequence(folder, name, {"duration_h": run_hours,
                                                  "log_interval_s": 3.6})
        peak_mb, real_s = peak_rss_mb(sequence, station, folder / name)
        rows = int(run_hours * 3600 / 3.6) + 1
        figures.append(peak_mb)
        print(f"memory, {run_hours:g} h at 3.6 s ({rows} rows): peak RSS {peak_mb:.1f} MB "
              f"(analysis and figures included), {real_s:.0f} s real")
    growth = figures[1] - figures[0]
    verdict = "ok" if growth < 20 else "over"
    print(f"memory growth from 1e5 rows to {int(hours * 1000)} rows: {growth:.1f} MB, "
          f"target < 20 MB: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("long", "parallel", "memory"))
    parser.add_argument("--memory-hours", type=float, default=1000.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "long"):
            bench_long(folder)
        if args.only in (None, "parallel"):
            bench_parallel(folder)
        if args.only in (None, "memory"):
            bench_memory(folder, args.memory_hours)


if __name__ == "__main__":
    main()
