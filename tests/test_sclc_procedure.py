"""The sclc procedure on the simulated bench (docs/methods.md §5): DC and pulsed sweeps in a
checked dark, return sweeps and repeats told apart, the device's N_trap and mobility measured
back, mobile ions exposed by the pulses, bad input refused naming the step, and
``labctl analyze sclc`` on labctl files and plain CSV."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from labctl.cli import main
from labctl.runner import Runner
from labctl.sequence import load_sequence
from labctl.sim.physics import SingleCarrierDevice
from labctl.station import load_station
from labctl.station.simulation import SingleCarrierDevice as Params
from labctl.storage import read_measurement

DEVICE = {"kind": "single_carrier"}
TRUE = SingleCarrierDevice(Params())
#: A short, fast sweep: 10 points per decade at 0.01 PLC.
FAST = {"thickness_nm": 500, "eps_r": 30, "nplc": 0.01, "dwell_s": 0.01,
        "points_per_decade": 10}


def _run(tmp_path: Path, station: Path, steps: list[dict[str, Any]]) -> dict[str, Any]:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "EO-1", "area_cm2": 0.09},
                                    "steps": steps}))
    summary = Runner(path, station, out_dir=tmp_path / "r", show_progress=False).run()
    assert summary["status"] == "ok", summary.get("error")
    return summary


def _folder(tmp_path: Path) -> Path:
    return next(p for p in (tmp_path / "r").iterdir() if p.is_dir())


def test_dc_sweeps_measure_the_device_in_the_dark(tmp_path: Path,
                                                  write_station: Callable[..., Path]) -> None:
    station = write_station(
        instruments={"shutter": {"driver": "thorlabs_sc10", "resource": "ASRL2::INSTR"}},
        simulation={"device": DEVICE})
    summary = _run(tmp_path, station, [{"sclc": FAST}])
    results = summary["results"]
    assert [(r["direction"], r["mode"], r["repeat"]) for r in results] == [
        ("forward", "dc", 0), ("return", "dc", 0)]
    assert [r["file"] for r in results] == ["s00_sclc_forward.csv", "s00_sclc_return.csv"]
    for result in results:
        metrics = result["metrics"]
        assert metrics["n_trap_cm3"] == pytest.approx(1e16, rel=0.1)
        assert metrics["mobility_cm2_vs"] == pytest.approx(1e-3, rel=0.1)
        assert result["details"]["Darkness"].startswith("shutter closed")
        assert not any("differ by" in w for w in result["warnings"])   # no ions, no hysteresis
    data = read_measurement(_folder(tmp_path) / "s00_sclc_forward.csv")
    current_a = data.columns["Current (A)"]
    assert np.all(current_a[1:] > 0)                                  # injection positive
    assert np.allclose(data.columns["Current density (mA/cm**2)"], current_a / 0.09 * 1e3)
    assert data.parameters["Thickness"] == "500 nm"
    assert data.parameters["Relative permittivity"] == "30"
    assert "Compliance used (A)" in data.metadata and "Temperature" in data.parameters
    assert (_folder(tmp_path) / "s00_sclc.png").stat().st_size > 1000


def test_with_measurement_noise_the_device_comes_back_within_20_and_25_pct(
        tmp_path: Path, write_station: Callable[..., Path]) -> None:
    station = write_station(simulation={"device": DEVICE, "noise": {"current_rel": 0.01}})
    summary = _run(tmp_path, station, [{"sclc": {**FAST, "direction": "forward"}}])
    metrics = summary["results"][0]["metrics"]
    assert metrics["n_trap_cm3"] == pytest.approx(1e16, rel=0.2)
    assert metrics["mobility_cm2_vs"] == pytest.approx(1e-3, rel=0.25)


def test_pulses_see_the_traps_where_the_dc_sweep_sees_the_ions(
        tmp_path: Path, write_station: Callable[..., Path]) -> None:
    station = write_station(simulation={"device": {**DEVICE, "ion_density_cm3": 8e15,
                                                   "ion_tau_s": 0.3}})
    step = {**FAST, "mode": "dc_and_pulsed", "direction": "forward", "pulse_width_s": 0.01,
            "rest_s": 1.0, "points_per_decade": 8, "dwell_s": 0.3}  # a slow DC sweep
    summary = _run(tmp_path, station, [{"sclc": step}])
    pulsed, dc = summary["results"]
    assert (pulsed["mode"], dc["mode"]) == ("pulsed", "dc")
    assert pulsed["file"] == "s00_sclc_pulsed_forward.csv"
    assert pulsed["metrics"]["n_trap_cm3"] == pytest.approx(1e16, rel=0.2)
    assert abs(dc["metrics"]["n_trap_cm3"] / 1e16 - 1) > 0.2
    assert any("differ by" in w and "pulsed" in w for w in dc["warnings"])
    details = pulsed["details"]
    assert details["Pulse width achieved (s)"] == pytest.approx(0.01, rel=1e-6)
    # validate's estimate is the SMU timing model the simulated run follows (pulses and DC)
    estimate_s = load_sequence(tmp_path / "seq.yaml").estimate_duration_s(load_station(station))
    assert estimate_s == pytest.approx(summary["elapsed_s"], rel=0.05)
    assert details["Pulse current range, last (A)"] == pytest.approx(0.1)
    ranges_a = read_measurement(_folder(tmp_path) / pulsed["file"]).columns["Current range (A)"]
    assert len(set(ranges_a.tolist())) >= 4          # fixed per pulse, following the current
    assert ranges_a[0] < 1e-5 and ranges_a[-1] == pytest.approx(0.1)


def test_repeats_are_told_apart(tmp_path: Path, write_station: Callable[..., Path]) -> None:
    station = write_station(simulation={"device": DEVICE})
    step = {**FAST, "direction": "forward", "repeats": 2, "points_per_decade": 3}
    summary = _run(tmp_path, station, [{"sclc": step}])
    assert [(r["file"], r["repeat"]) for r in summary["results"]] == [
        ("s00_sclc_r0_forward.csv", 0), ("s00_sclc_r1_forward.csv", 1)]
    assert (_folder(tmp_path) / "s00_sclc.png").is_file()
    assert main(["catalog", "--out", str(tmp_path / "r"), "--json"]) == 0


def _validate(tmp_path: Path, station: Path, step: dict[str, Any],
              capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "EO-1", "area_cm2": 0.09},
                                    "steps": [step]}))
    code = main(["validate", str(path), "--station", str(station)])
    return code, capsys.readouterr().err


def test_a_step_on_the_wrong_device_kind_is_bad_input(
        tmp_path: Path, write_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    cell = write_station("cell.yaml")
    code, err = _validate(tmp_path, cell, {"sclc": FAST}, capsys)
    assert code == 2 and "seq.yaml:" in err and "steps[0].sclc" in err and "solar-cell" in err
    carrier = write_station("carrier.yaml", simulation={"device": DEVICE})
    code, err = _validate(tmp_path, carrier, {"jv": {"light": False}}, capsys)
    assert code == 2 and "steps[0].jv" in err and "single-carrier" in err
    code, err = _validate(tmp_path, carrier, {"sclc": {**FAST, "mode": "pulsed",
                                                       "pulse_width_s": 0.002}}, capsys)
    assert code == 2 and "steps[0].sclc" in err and "shortest point" in err
    lamp = write_station("lamp.yaml", simulation={"device": DEVICE}, instruments={
        "lamp": {"driver": "newport69907", "resource": "ASRL1::INSTR"}})
    code, err = _validate(tmp_path, lamp, {"sclc": FAST}, capsys)
    assert code == 2 and "arc lamp" in err
    assert _validate(tmp_path, carrier, {"sclc": FAST}, capsys)[0] == 0


def test_analyze_sclc_reads_labctl_files_and_plain_csv(
        tmp_path: Path, write_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    station = write_station(simulation={"device": DEVICE})
    _run(tmp_path, station, [{"sclc": {**FAST, "direction": "forward"}}])
    capsys.readouterr()
    run_file = _folder(tmp_path) / "s00_sclc_forward.csv"
    assert main(["analyze", "sclc", str(run_file), "--json"]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert item["metrics"]["v_tfl_v"] == pytest.approx(TRUE.v_tfl_v, rel=0.1)
    voltage_v = np.geomspace(1e-3, 5, 60)
    current_a = np.asarray(TRUE.sclc_current_density_a_cm2(voltage_v)) * 0.09
    plain = tmp_path / "plain.csv"
    plain.write_text("Voltage (V),Current (A)\n" + "".join(
        f"{v!r},{i!r}\n" for v, i in zip(voltage_v.tolist(), current_a.tolist(), strict=True)))
    options = ["--area-cm2", "0.09", "--thickness-nm", "500", "--eps-r", "30"]
    assert main(["analyze", "sclc", str(plain), "--json", *options]) == 0
    [item] = json.loads(capsys.readouterr().out)
    assert item["metrics"]["n_trap_cm3"] == pytest.approx(1e16, rel=0.1)
    assert item["metrics"]["mobility_cm2_vs"] == pytest.approx(1e-3, rel=0.1)
    assert main(["analyze", "sclc", str(plain), "--area-cm2", "0.09"]) == 2
    err = capsys.readouterr().err
    assert "plain.csv" in err and "--thickness-nm" in err
