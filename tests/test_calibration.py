"""The calibrate step and the stored calibrations: what the wheels really transmit, found in
place, used by intensity_voc, named in its header, and flagged by validate when old."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import labctl.subscribers
from labctl.calibration import (
    AttenuatorCalibration,
    calibration_in_use,
    load_calibration,
    save_calibration,
)
from labctl.cli import main
from labctl.sim.bench import bench_for, forget_benches
from labctl.station import load_station
from labctl.storage import read_measurement

LIGHT_PATH = ("smu", "shutter", "wheel_a", "wheel_b", "ref_smu", "photodiode")


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labctl.subscribers.FigureSubscriber, "__call__",
                        lambda self, document: None)


def _station(example_station: Callable[..., Path], **top: Any) -> Path:
    path = example_station(keep=LIGHT_PATH)
    data = yaml.safe_load(path.read_text())
    data["simulation"]["noise"] = True
    data.update(top)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(tmp_path: Path, station: Path, steps: list[dict[str, Any]]) -> tuple[int, dict, Path]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "C-1", "area_cm2": 0.09},
                                        "steps": steps}, sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    summary = next((tmp_path / "out").rglob("summary.json"))
    return code, json.loads(summary.read_text()), summary.parent


def _settings(table: dict[str, list[float]]) -> dict[tuple[int, ...], float]:
    wheels = list(table.values())
    return {tuple(p + 1 for p in index): sum(w[p] for w, p in zip(wheels, index, strict=True))
            for index in itertools.product(*(range(len(w)) for w in wheels))}


def test_calibrated_levels_are_within_1_percent_and_3x_better_than_nominal(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    station = _station(example_station)
    code, summary, folder = _run(tmp_path, station, [
        {"calibrate": {"settle_s": 0.1}},
        {"intensity_voc": {"min_sun": 1e-4, "points_per_decade": 2, "settle_s": 0.2,
                           "max_hold_s": 2, "measure_jsc": False}}])
    assert code == 0
    calibration = calibration_in_use(load_station(station))
    assert calibration is not None and calibration.path is not None
    assert calibration.path.parent == station.parent  # beside the station file
    assert summary["results"][0]["details"]["Calibration file"] == str(calibration.path)
    data = read_measurement(folder / summary["results"][1]["file"])
    assert calibration.path.name in data.metadata["Attenuator calibration"]

    truth = {name: entry["true_od"] for name, entry in
             yaml.safe_load(station.read_text())["instruments"].items() if "true_od" in entry}
    true_od = _settings(truth)
    nominal_od = _settings(calibration.nominal_od_per_slot)
    calibrated_od = {**_settings(calibration.od_per_slot),
                     **calibration.measured_combinations()}
    nominal_errors, calibrated_errors = [], []
    for od in data.columns["Optical density"]:
        positions = min(calibrated_od, key=lambda p: abs(calibrated_od[p] - od))
        assert calibrated_od[positions] == pytest.approx(od, abs=1e-6)
        for ods, errors in ((nominal_od, nominal_errors), (calibrated_od, calibrated_errors)):
            errors.append(abs(10 ** (true_od[positions] - ods[positions]) - 1.0))
    assert len(calibrated_errors) >= 9  # four decades
    assert max(calibrated_errors) <= 0.01
    assert max(calibrated_errors) * 3 <= max(nominal_errors)
    assert np.sqrt(np.mean(np.square(calibrated_errors))) * 3 <= np.sqrt(
        np.mean(np.square(nominal_errors)))


def test_combinations_too_dark_at_1_sun_are_derived_from_their_slots(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    station = _station(example_station, calibration_dir="cals")
    code, _, _ = _run(tmp_path, station, [{"calibrate": {"settle_s": 0.0, "readings": 2}}])
    assert code == 0
    files = list((station.parent / "cals").glob("*.yaml"))
    assert len(files) == 1  # the folder the station names
    calibration = load_calibration(files[0])
    slots = _settings(calibration.od_per_slot)
    derived = [c for c in calibration.combinations if c.derived]
    measured = [c for c in calibration.combinations if not c.derived]
    assert derived and measured
    assert min(c.od for c in derived) > max(c.od for c in measured) - 0.5
    for combination in derived:
        assert combination.od == pytest.approx(slots[combination.positions], abs=1e-5)
    assert min(c.od for c in derived) > 7  # brighter ones are measured (OD 7: 60 pA)


def test_validate_warns_when_the_calibration_is_older_than_the_station_allows(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    station_path = _station(example_station, calibration_max_age_days=30)
    station = load_station(station_path)
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "C-1", "area_cm2": 0.09},
                                        "steps": [{"intensity_voc": {"min_sun": 0.01}}]}))
    for age_days in (10, 45):
        for old in station_path.parent.glob("*.calibration.*.yaml"):
            old.unlink()
        ods = {w: list(station.instruments[w].od) for w in station.attenuator()}
        save_calibration(station, AttenuatorCalibration(
            station=station.station,
            date_utc=(datetime.now(UTC) - timedelta(days=age_days)).replace(microsecond=0),
            od_per_slot=ods, nominal_od_per_slot=ods))
        assert main(["validate", str(sequence), "--station", str(station_path)]) == 0
        out = capsys.readouterr().out
        assert ("older than the station's calibration_max_age_days" in out) == (age_days > 30)


def test_calibrate_sets_1_sun_with_the_arc_lamp_power(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    path = example_station(keep=(*LIGHT_PATH, "lamp"))
    data = yaml.safe_load(path.read_text())
    data["simulation"]["light"] = {"irradiance_mw_cm2": 88.0}  # a lamp that gives 0.88 sun
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, summary, _ = _run(tmp_path, path, [{"calibrate": {"settle_s": 0.0, "readings": 1}}])
    assert code == 0
    details = summary["results"][0]["details"]
    assert details["Open-beam irradiance (mW/cm**2)"] == pytest.approx(100.0, rel=0.005)
    assert details["Readings to set 1 sun"] >= 2 and not details["Warning"]
    from labctl.sim.bench import bench_for

    assert bench_for(path).instruments["lamp"].settings["power_preset_w"] == pytest.approx(
        150 / 0.88, abs=1)


def test_a_shutter_stuck_open_ends_the_calibration_failed_and_named(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    station = _station(example_station)
    data = yaml.safe_load(station.read_text())
    data["simulation"]["faults"] = [{"instrument": "shutter", "kind": "shutter_stuck",
                                     "at_row": 2}]
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    code, summary, _folder = _run(tmp_path, station, [{"calibrate": {"settle_s": 0.1}}])
    assert code == 1 and summary["status"] == "failed"
    error = summary["error"]
    assert "\n" not in error and "shutter (thorlabs_sc10 at ASRL2::INSTR)" in error
    assert "closing it" in error
    bench = bench_for(station)
    assert bench.instruments["ref_smu"].output_on is False
    assert bench.instruments["smu"].output_on is False
