"""A 70 dB light-intensity Voc series on the simulated bench, nominal against calibrated ODs.

Run: python benchmarks/bench_intensity.py [--points-per-decade N] [--settle-s S]

The example station's wheels (real ODs ``true_od`` differ from the nominal ``od``), a cell
with n = 1.45 whose shunt does not matter (Rsh 1e10 Ω·cm²), from 1e-7 to 1 sun (7 decades,
"70 dB" of docs/methods.md §4.1). Two sequences in one process:

1. ``intensity_voc`` with the nominal ODs (no stored calibration);
2. ``calibrate``, then the same ``intensity_voc`` with the calibration just stored.

Printed for each: the virtual (bench-clock) and real duration, the levels, and the ideality
error against the device's true n (pvlib's single-diode Voc at the same irradiances), with
the irradiance of every level taken (a) from the photodiode, (b) as 1 sun × 10^−OD with the
ODs the run used -- nominal in run 1, calibrated in run 2 -- the baseline being the nominal
column. Also the largest and RMS irradiance error of the levels from their ODs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labctl.analysis.intensity import global_ideality  # noqa: E402
from labctl.cli import main  # noqa: E402
from labctl.sim.bench import bench_for, forget_benches  # noqa: E402
from labctl.storage import read_measurement  # noqa: E402

KEEP = ("smu", "shutter", "wheel_a", "wheel_b", "ref_smu", "photodiode")
DEVICE = {"ideality": 1.45, "rsh_ohm_cm2": 1e10, "j0_ma_cm2": 1e-9, "ion_amplitude": 0.0}
VT_V = 8.617333262e-5 * 298.15


def _station(folder: Path) -> Path:
    data = yaml.safe_load((ROOT / "configs" / "stations" / "simulated.yaml").read_text())
    data["instruments"] = {k: v for k, v in data["instruments"].items() if k in KEEP}
    data["simulation"]["device"].update(DEVICE)
    data["simulation"]["noise"] = True
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(folder: Path, station: Path, steps: list[dict[str, Any]], name: str
         ) -> tuple[dict[str, Any], Path, float, float]:
    sequence = folder / f"{name}.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": name, "area_cm2": 0.09},
                                        "steps": steps}, sort_keys=False))
    forget_benches()
    out = folder / name
    start_real_s = time.perf_counter()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(out)])
    real_s = time.perf_counter() - start_real_s
    if code != 0:
        raise SystemExit(f"{name}: labctl run exited {code}")
    virtual_s = bench_for(station).clock.now_s()
    summary_path = next(out.rglob("summary.json"))
    return json.loads(summary_path.read_text()), summary_path.parent, virtual_s, real_s


def _true_ideality(sun: np.ndarray) -> float:
    from pvlib.pvsystem import singlediode

    base = yaml.safe_load((ROOT / "configs" / "stations" / "simulated.yaml").read_text())
    device = {**base["simulation"]["device"], **DEVICE}
    voc = singlediode(photocurrent=device["jph_ma_cm2"] * 1e-3 * sun,
                      saturation_current=device["j0_ma_cm2"] * 1e-3,
                      resistance_series=device["rs_ohm_cm2"],
                      resistance_shunt=device["rsh_ohm_cm2"],
                      nNsVth=device["ideality"] * VT_V)["v_oc"]
    return global_ideality(100 * sun, np.asarray(voc))[0]


def _report(label: str, summary: dict, folder: Path, virtual_s: float, real_s: float) -> None:
    result = next(r for r in summary["results"] if r["procedure"] == "intensity_voc")
    data = read_measurement(folder / result["file"])
    measured = data.columns["Irradiance (mW/cm**2)"]
    voc = data.columns["Voc (V)"]
    od = data.columns["Optical density"]
    open_mw_cm2 = measured[np.argmin(od)] * 10 ** od.min()
    from_od = open_mw_cm2 * 10 ** -od
    true_n = _true_ideality(measured / 100.0)
    n_sensor = global_ideality(measured, voc)[0]
    n_od = global_ideality(from_od, voc)[0]
    error = np.abs(from_od / measured - 1.0)
    print(f"{label}")
    print(f"  levels {len(od)}, {np.log10(measured.max() / measured.min()):.2f} decades; "
          f"virtual {virtual_s / 60:.1f} min, real {real_s:.1f} s")
    print(f"  true n (pvlib) {true_n:.4f}; reported ideality {result['metrics']['ideality']:.4f}")
    print(f"  n with photodiode irradiance  {n_sensor:.4f}  error {n_sensor / true_n - 1:+.2%}")
    print(f"  n with irradiance from the ODs {n_od:.4f}  error {n_od / true_n - 1:+.2%}")
    print(f"  irradiance from the ODs vs photodiode: largest {error.max():.2%}, "
          f"RMS {np.sqrt(np.mean(error ** 2)):.2%}")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points-per-decade", type=int, default=3)
    parser.add_argument("--settle-s", type=float, default=5.0)
    args = parser.parse_args()
    step = {"intensity_voc": {"min_sun": 1e-7, "points_per_decade": args.points_per_decade,
                              "settle_s": args.settle_s, "max_hold_s": 60}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        station = _station(folder)
        _report("nominal ODs (baseline)", *_run(folder, station, [step], "nominal"))
        _report("calibrated ODs (calibrate step first)",
                *_run(folder, station, [{"calibrate": {}}, step], "calibrated"))


if __name__ == "__main__":
    main_bench()
