"""The mpp step run end to end on the simulated bench: the start from the preceding J-V, the
columns and header, holds between J-Vs, light-dark cycling and validate's estimate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

from labctl.cli import main
from labctl.sim.bench import bench_for
from labctl.storage import read_measurement
from procedures.mpp import MPP_COLUMNS, TRUE_MPP_COLUMN


def run(tmp_path: Path, station: Path, steps: list) -> tuple[dict, Path]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "R-1", "area_cm2": 0.09},
                                        "steps": steps}))
    code = main(["run", str(sequence), "--station", str(station), "--out",
                 str(tmp_path / "runs"), "--quiet"])
    (folder,) = (tmp_path / "runs").glob("R-1_*")
    summary = json.loads((folder / "summary.json").read_text())
    assert code == 0, summary.get("error")
    return summary, folder


def test_fixed_voltage_starts_at_the_preceding_jv_vmpp_and_logs_every_column(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    summary, folder = run(tmp_path, example_station(), [
        {"jv": {"direction": "both", "step_v": 0.02}},
        {"mpp": {"algorithm": "fixed_voltage", "duration_s": 120, "log_interval_s": 10}}])
    jv, mpp = summary["results"][0], summary["results"][2]
    assert mpp["details"]["Start voltage from"] == "vmpp_v of step 0"
    data = read_measurement(folder / "s01_mpp.csv")
    assert list(data.columns)[:len(MPP_COLUMNS)] == MPP_COLUMNS or \
        set(MPP_COLUMNS) <= set(data.columns)
    assert TRUE_MPP_COLUMN in data.columns                     # simulated bench only
    assert np.allclose(data.columns["Set-point (V)"], jv["metrics"]["vmpp_v"])
    assert np.allclose(np.diff(data.columns["Time (s)"])[1:], 10.0, atol=0.05)
    assert data.metadata["Algorithm"] == "fixed_voltage"
    # the held power is the J-V's, and below the true steady-state maximum
    power = data.columns["Power density (mW/cm**2)"]
    assert np.all(power <= data.columns[TRUE_MPP_COLUMN] * (1 + 1e-6))
    assert mpp["metrics"]["pce_stabilized_pct"] == pytest.approx(
        jv["metrics"]["pce_pct"], rel=0.02)
    utc = (folder / "s01_mpp.csv").read_text().splitlines()[-2].split(",")[1]
    assert utc.startswith("20") and utc.endswith("+00:00")     # ISO 8601, UTC


def test_hold_voc_between_jvs_and_light_cycling(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    station = example_station()
    summary, folder = run(tmp_path, station, [
        {"mpp": {"duration_h": 4, "log_interval_s": 300, "hold": "voc",
                 "light_cycle": {"on_h": 1, "off_h": 1}, "jv_every_min": 120,
                 "jv": {"direction": "reverse", "start_v": 1.2, "stop_v": 0.0,
                        "step_v": 0.1}}}])
    data = read_measurement(folder / "s00_mpp.csv")
    time_h = (data.columns["Time (s)"] - data.columns["Time (s)"][0]) / 3600
    light = data.columns["Light"]
    assert np.all(light[(time_h > 0.05) & (time_h < 0.95)] == 1)
    assert np.all(light[(time_h > 1.05) & (time_h < 1.95)] == 0)
    assert np.all(light[(time_h > 2.05) & (time_h < 2.95)] == 1)
    # at open circuit: no current, the cell's Voc under light, far lower in the dark
    assert np.all(np.abs(data.columns["Current (A)"]) < 1e-6)
    lit_v = data.columns["Voltage (V)"][light == 1]
    dark_v = data.columns["Voltage (V)"][(light == 0) & (time_h > 1.5)]
    assert np.all(lit_v > 1.0) and np.all(dark_v < 0.5 * np.min(lit_v))
    series = read_measurement(folder / "s00_mpp_jv_series.csv")
    assert len(series.columns["Time (s)"]) == 2             # at 0 h and 2 h, both lit
    assert np.all(series.columns["Voc (V)"] > 1.0)
    assert (folder / "s00_mpp_jv_series.png").is_file()
    assert not bench_for(station).instruments["shutter"].shutter_open


def test_validate_prints_the_length_points_and_disk_space(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "V-1", "area_cm2": 0.09}, "steps": [
        {"mpp": {"duration_h": 500, "log_interval_s": 60, "jv_every_min": 60,
                 "jv": {"direction": "both", "step_v": 0.02}}}]}))
    assert main(["validate", str(sequence), "--station", str(example_station())]) == 0
    out = capsys.readouterr().out
    assert "for 20.8 d" in out and "500 J-Vs every 1 h" in out
    assert "30001 points" in out and "MB on disk" in out


def test_a_long_file_is_read_in_chunks_and_binned(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from pymeasure.experiment import Procedure

    from labctl.storage import CsvWriter, csv_reader, read_binned

    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 64)       # many chunks, bins across them
    path = tmp_path / "long.csv"
    columns = ["Time (s)", "Time (UTC)", "Voltage (V)", "Power density (mW/cm**2)"]
    with CsvWriter(path, Procedure(), columns) as writer:
        for k in range(1000):
            writer.append({"Time (s)": float(k), "Time (UTC)": "2026-01-01T00:00:00+00:00",
                           "Voltage (V)": 1.0, "Power density (mW/cm**2)": float(k % 10)})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("1000.0,x,1.0")                         # a torn last row
    data = read_binned(path, ["Time (s)", "Power density (mW/cm**2)", "Missing (V)"],
                       max_rows=100)
    assert data.parameters["Rows"] == 1000 and len(data.warnings) == 1
    assert set(data.columns) == {"Time (s)", "Power density (mW/cm**2)"}
    assert np.allclose(data.columns["Time (s)"], np.arange(100) * 10 + 4.5)
    assert np.allclose(data.columns["Power density (mW/cm**2)"], 4.5)
    whole = read_binned(path, ["Time (s)"], max_rows=5000)   # short enough: not binned
    assert np.array_equal(whole.columns["Time (s)"], np.arange(1000.0))
