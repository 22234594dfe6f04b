"""intensity_voc on the simulated bench: the ideality factor against an independent truth
(pvlib's single-diode Voc), shunt-dominated low light, bad ranges and light-path faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import labctl.subscribers
from labctl.cli import main
from labctl.sim.bench import bench_for, forget_benches
from labctl.storage import read_measurement

LIGHT_PATH = ("smu", "shutter", "wheel_a", "wheel_b", "ref_smu", "photodiode")
#: kT/q at 298.15 K [V].
VT_V = 8.617333262e-5 * 298.15


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labctl.subscribers.FigureSubscriber, "__call__",
                        lambda self, document: None)


def _station(example_station: Callable[..., Path], keep: tuple[str, ...] = LIGHT_PATH,
             device: dict[str, Any] | None = None, faults: list[dict] | None = None,
             simulation: dict[str, Any] | None = None) -> Path:
    path = example_station(keep=keep)
    data = yaml.safe_load(path.read_text())
    data["simulation"]["device"].update(device or {})
    data["simulation"].update(simulation or {})
    if faults:
        data["simulation"]["faults"] = faults
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(tmp_path: Path, station: Path, step: dict[str, Any]) -> tuple[int, dict, Path]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(
        {"sample": {"id": "IV-1", "area_cm2": 0.09}, "steps": [{"intensity_voc": step}]},
        sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    summary_path = next((tmp_path / "out").rglob("summary.json"))
    return code, json.loads(summary_path.read_text()), summary_path.parent


FAST = {"settle_s": 0.3, "max_hold_s": 3, "points_per_decade": 2}


def _pvlib_ideality(sun: np.ndarray, device: dict[str, float]) -> float:
    """The slope of Voc against ln(sun) of the single-diode cell, computed by pvlib."""
    from pvlib.pvsystem import singlediode

    voc = singlediode(photocurrent=device["jph_ma_cm2"] * 1e-3 * sun,
                      saturation_current=device["j0_ma_cm2"] * 1e-3,
                      resistance_series=device["rs_ohm_cm2"],
                      resistance_shunt=device["rsh_ohm_cm2"],
                      nNsVth=device["ideality"] * VT_V)["v_oc"]
    return float(np.polyfit(np.log(sun), np.asarray(voc), 1)[0] / VT_V)


@pytest.mark.parametrize("ideality", [1.45, 2.07])
def test_ideality_matches_the_device_within_3_percent(
        tmp_path: Path, example_station: Callable[..., Path], ideality: float) -> None:
    device = {"ideality": ideality, "rsh_ohm_cm2": 1e6, "j0_ma_cm2": 1e-9}
    station = _station(example_station, device=device)
    code, summary, folder = _run(tmp_path, station, {"min_sun": 1e-3, **FAST})
    assert code == 0
    result = summary["results"][0]
    data = read_measurement(folder / result["file"])
    sun = data.columns["Irradiance (mW/cm**2)"] / 100.0
    # three decades (the example wheels' real ODs differ from the nominal by up to 0.14)
    assert np.log10(sun.max() / sun.min()) > 2.8 and sun.max() == pytest.approx(1, rel=0.01)
    truth = yaml.safe_load(station.read_text())["simulation"]["device"]
    true_n = _pvlib_ideality(sun, truth)
    assert true_n == pytest.approx(ideality, rel=0.05)  # Rs bends it a little at 1 sun
    assert result["metrics"]["ideality"] == pytest.approx(true_n, rel=0.03)
    assert result["metrics"]["alpha"] == pytest.approx(1.0, abs=0.02)
    # every row flushed as measured, with the columns of docs/contracts.md
    for column in ("Voc (V)", "Jsc (mA/cm**2)", "Optical density", "Settle time (s)",
                   "Settled", "Below noise floor"):
        assert column in data.columns
    assert np.all(np.diff(data.columns["Optical density"]) > 0)  # down: OD rising
    assert float(data.metadata["Irradiance sensor dark current (A)"].split()[0]) < 0


def test_the_example_cell_flags_its_low_light_points_as_shunt_dominated(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    station = _station(example_station)  # Rsh 3000 ohm cm2
    code, summary, _ = _run(tmp_path, station, {"min_sun": 1e-3, "direction": "up", **FAST})
    assert code == 0
    result = summary["results"][0]
    assert result["metrics"]["shunt_dominated_points"] >= 2
    assert result["metrics"]["fit_range_sun"][0] > 5e-3
    assert any("shunt-dominated" in w for w in result["warnings"])


@pytest.mark.parametrize(("step", "field"), [({"min_sun": 1e-10}, "min_sun"),
                                             ({"max_sun": 3.0}, "max_sun")])
def test_a_range_the_attenuator_misses_is_bad_input_before_any_instrument(
        tmp_path: Path, example_station: Callable[..., Path], step: dict, field: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    station = _station(example_station)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(
        {"sample": {"id": "IV-1", "area_cm2": 0.09}, "steps": [{"intensity_voc": step}]}))
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and f"intensity_voc.{field}" in err[0] and "OD" in err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


@pytest.mark.parametrize(("instrument", "kind", "label"), [
    ("wheel_b", "wheel_stuck", "wheel_b (thorlabs_fw102c at ASRL4::INSTR)"),
    ("lamp", "lamp_fault", "lamp (newport69907 at ASRL1::INSTR)"),
])
def test_light_path_faults_end_the_run_safely(
        tmp_path: Path, example_station: Callable[..., Path], instrument: str, kind: str,
        label: str, capsys: pytest.CaptureFixture[str]) -> None:
    keep = LIGHT_PATH + (("lamp",) if instrument == "lamp" else ())
    station = _station(example_station, keep=keep,
                       faults=[{"instrument": instrument, "kind": kind, "at_row": 2}])
    code, summary, folder = _run(tmp_path, station,
                                 {"min_sun": 1e-2, "measure_jsc": False, **FAST})
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and label in err[0]
    bench = bench_for(station)
    assert bench.instruments["smu"].output_on is False
    assert bench.light.shutter_open is False
    rows = read_measurement(next(folder.glob("s00_intensity_voc*.csv")))
    assert len(rows) >= 2


def test_dark_jv_and_intensity_voc_give_the_same_ideality_in_one_summary(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    device = {"ideality": 1.45, "rsh_ohm_cm2": 1e6, "j0_ma_cm2": 1e-9}
    station = _station(example_station, device=device)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "IV-2", "area_cm2": 0.09}, "steps": [
        {"jv": {"start_v": -0.1, "stop_v": 1.0, "step_v": 0.02, "light": False}},
        {"intensity_voc": {"min_sun": 1e-3, **FAST}}]}, sort_keys=False))
    forget_benches()
    assert main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")]) == 0
    summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())
    by_procedure = {r["procedure"]: r["metrics"] for r in summary["results"]}
    dark, intensity = by_procedure["jv"], by_procedure["intensity_voc"]
    assert dark["ideality_dark"] == pytest.approx(1.45, rel=0.03)
    assert dark["j0_dark_ma_cm2"] == pytest.approx(1e-9, rel=0.2)
    assert intensity["ideality"] == pytest.approx(dark["ideality_dark"], rel=0.03)
    assert intensity["j0_ma_cm2"] == pytest.approx(1e-9, rel=0.2)


def test_the_figure_shows_voc_and_the_local_ideality(tmp_path: Path) -> None:
    from labctl.registry.procedures import StepResult
    from procedures.intensity_voc import analyze_intensity_measurement, plot_intensity_step

    sun = np.geomspace(1e-4, 1, 13)
    voc = 1.2 + 1.5 * VT_V * np.log(sun)
    path = tmp_path / "series.csv"
    path.write_text("Irradiance (mW/cm**2),Voc (V)\n" + "\n".join(
        f"{100 * s:.6g},{v:.6g}" for s, v in zip(sun, voc, strict=True)) + "\n")
    from labctl.analysis.intensity import analyze_intensity
    from labctl.registry.procedures import AnalysisContext

    metrics, _ = analyze_intensity_measurement(read_measurement(path), AnalysisContext())
    assert metrics["ideality"] == pytest.approx(1.5, rel=1e-5)  # CSV values to 6 digits
    direct = analyze_intensity(100 * sun, voc)[0]
    assert [r["n"] for r in metrics["regimes"]] == pytest.approx([r["n"] for r in
                                                                  direct["regimes"]], rel=1e-4)
    figure = tmp_path / "series.png"
    plot_intensity_step([StepResult({"metrics": metrics, "procedure": "intensity_voc"}, path)],
                        figure, "series")
    assert figure.stat().st_size > 10_000


def test_an_led_station_sets_the_levels_with_the_led(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    led = {"led": {"driver": "g2v_pico", "resource": "TCPIP0::10.0.0.5::50000::SOCKET",
                   "pico_id": "0123456789abcdef"}}
    station = example_station(keep=("smu", "ref_smu", "photodiode"), add=led)
    code, summary, folder = _run(tmp_path, station, {"min_sun": 1e-2, **FAST})
    assert code == 0
    data = read_measurement(folder / summary["results"][0]["file"])
    sun = data.columns["Irradiance (mW/cm**2)"] / 100.0
    assert sun == pytest.approx(10 ** -data.columns["Optical density"], rel=1e-6)
    assert sun == pytest.approx(np.geomspace(1, 1e-2, 5), rel=1e-6)


def test_levels_are_the_distinct_reachable_ods_nearest_the_grid() -> None:
    from procedures.intensity_voc import IntensityVocStep, _ordered, choose_levels_od

    step = IntensityVocStep(min_sun=1e-3, points_per_decade=5, direction="both")
    reachable = sorted({a + b for a in (0, 0.5, 1, 2, 3, 4) for b in (0, 1, 2, 3, 4, 5)})
    chosen, field, reason = choose_levels_od(step.grid_sun(), reachable)
    assert field is None and reason is None
    assert chosen == [3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0]  # 16 grid points, 7 distinct ODs
    both = _ordered(chosen, "both")
    assert both == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0]
    grid = IntensityVocStep(min_sun=10 ** -4.2).grid_sun()
    chosen, field, _ = choose_levels_od(grid, [0.0, 1.0, 2.0, 4.15])
    assert field is None and chosen == [4.15, 2.0, 1.0, 0.0]  # a gap inside the range is fine
    _, field, reason = choose_levels_od(grid, [0.0, 1.0, 2.0, 4.05])
    assert field == "min_sun" and reason is not None and "0.15" in reason  # an end is not


def test_a_shutter_stuck_open_is_found_when_the_measurement_ends(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    """The shutter does not close at the end (``shutter_stuck``): the run fails naming it,
    with the SMU's output off and every level's row kept."""
    station = _station(example_station, keep=LIGHT_PATH,
                       faults=[{"instrument": "shutter", "kind": "shutter_stuck",
                                "at_row": 2}])
    code, summary, folder = _run(tmp_path, station,
                                 {"min_sun": 1e-2, "measure_jsc": False, **FAST})
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and summary["status"] == "failed"
    assert len(err) == 1 and "shutter (thorlabs_sc10 at ASRL2::INSTR)" in err[0]
    assert "closing it" in summary["error"] and "stuck" in summary["error"]
    bench = bench_for(station)
    assert bench.instruments["smu"].output_on is False
    assert bench.light.shutter_open is True  # stuck: what the error says
    rows = read_measurement(next(folder.glob("s00_intensity_voc*.csv")))
    assert len(rows) >= 3
