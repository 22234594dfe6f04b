"""Faults from the station file during a run: named in one line, recovered once, bench safe.

A first slice of the matrix (the SMU and the shutter of the example station, jv): the rest of
the kinds x instruments x procedures is still to be added."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from labctl.cli import main
from labctl.sim.bench import bench_for, forget_benches

SEQUENCE = {"sample": {"id": "F-1", "area_cm2": 0.09}, "steps": [
    {"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "both",
            "light": True, "precondition_light_s": 0, "hardware_sweep": False}}]}


def _run(tmp_path: Path, station: Path, *faults: dict[str, Any]) -> tuple[int, dict, Any]:
    data = yaml.safe_load(station.read_text())
    data["simulation"]["faults"] = list(faults)
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(SEQUENCE, sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim",
                 "--out", str(tmp_path / "out")])
    summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())
    return code, summary, bench_for(station)


@pytest.mark.parametrize("kind", ["dead", "no_reply", "interlock"])
def test_a_persistent_smu_fault_is_named_and_the_data_is_kept(
        tmp_path: Path, example_station: Callable[..., Path], kind: str) -> None:
    code, summary, bench = _run(tmp_path, example_station(),
                                {"instrument": "smu", "kind": kind, "at_row": 5})
    assert code == 1 and summary["status"] == "failed"
    error = summary["error"]
    assert "\n" not in error and "jv (step 0" in error
    if kind != "interlock":
        assert "smu (keithley2400 at GPIB0::24::INSTR)" in error
    rows = [p for p in (tmp_path / "out").rglob("*.csv")]
    assert rows and sum(len(p.read_text().splitlines()) for p in rows) > 5
    assert not bench.instruments["shutter"].shutter_open
    if kind == "interlock":
        assert not bench.instruments["smu"].output_on
    else:
        assert "could not make safe: smu: output may still be on" in error


def test_one_garbage_reply_is_recovered_with_a_warning(
        tmp_path: Path, example_station: Callable[..., Path]) -> None:
    code, summary, bench = _run(tmp_path, example_station(),
                                {"instrument": "smu", "kind": "garbage", "at_row": 3,
                                 "once": True})
    assert code == 0 and summary["status"] == "ok"
    warnings = [w for r in summary["results"] for w in r.get("warnings", [])]
    assert any(w.startswith("smu (keithley2400 at GPIB0::24::INSTR)") and "recovered" in w
               for w in warnings), warnings
    assert not bench.instruments["smu"].output_on
