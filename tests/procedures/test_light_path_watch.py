"""The light path is watched during a measurement, all of it (procedures/base.py).

- a filter wheel that does not move (``wheel_stuck``: it answers its old position) ends the
  measurement with a LightPathFault naming the wheel;
- in a dark measurement the lamp is watched too, and a lamp fault is a warning naming the lamp
  (a dark J-V does not need the lamp), not a failure;
- a fault while a hardware sweep's rows are written is found right after the sweep, in the
  measurement that swept (not at the next one's light_on);
- a stuck shutter found at the end of the reverse J-V stops the run before the forward one
  (tests/test_fault_matrix.py, ``shutter_stuck``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import labctl.subscribers
from labctl.cli import main
from labctl.sim.bench import forget_benches
from procedures.base import LightPathFault
from procedures.jv import JVProcedure

WHEEL_A = "wheel_a (thorlabs_fw102c at ASRL3::INSTR)"
LAMP = "lamp (newport69907 at ASRL1::INSTR)"


def _stuck_at_slot_3(procedure: Any, roles: Any) -> None:
    roles.attenuator.wheels[0].set_position(3)
    roles.bench.instruments["wheel_a"].start_fault("wheel_stuck")


def test_a_stuck_wheel_is_named_when_light_on_moves_it(
        run_procedure: Callable[..., Any], example_station: Callable[..., Path]) -> None:
    station = example_station(keep=("smu", "shutter", "wheel_a", "wheel_b"))
    run = run_procedure(JVProcedure, station, area_cm2=0.09, start_v=0.6, stop_v=0.0,
                        step_v=0.2, prepare=_stuck_at_slot_3)
    assert isinstance(run.error, LightPathFault), run.error
    assert str(run.error).startswith(f"{WHEEL_A}: it reads position 3 but was set to 1 "), \
        run.error
    assert run.rows == []  # found before the first point
    assert not run.bench.instruments["smu"].output_on
    assert not run.bench.instruments["shutter"].shutter_open


def test_wheels_that_move_are_not_a_fault(run_procedure: Callable[..., Any],
                                          example_station: Callable[..., Path]) -> None:
    station = example_station(keep=("smu", "shutter", "wheel_a", "wheel_b"))
    run = run_procedure(JVProcedure, station, area_cm2=0.09, start_v=0.6, stop_v=0.0,
                        step_v=0.2, prepare=lambda p, roles: roles.attenuator.wheels[0]
                        .set_position(3))
    assert run.error is None
    assert run.roles.attenuator.set_to == (1, 1)
    assert run.bench.instruments["wheel_a"].position == 1


def test_a_lamp_fault_in_a_dark_measurement_is_a_warning_naming_the_lamp(
        run_procedure: Callable[..., Any], example_station: Callable[..., Path]) -> None:
    station = example_station(keep=("smu", "shutter", "lamp"))
    run = run_procedure(JVProcedure, station, area_cm2=0.09, start_v=0.6, stop_v=0.0,
                        step_v=0.05, light=False, prepare=lambda p, roles: roles.bench
                        .instruments["lamp"].start_fault("lamp_fault"))
    assert run.error is None
    assert len(run.rows) == 13
    (warning,) = run.procedure.light_path_warnings
    assert warning.startswith(f"{LAMP}: it reports a fault"), warning
    assert "the dark measurement went on" in warning
    assert run.roles.light._labctl_guard.take_warnings() == [warning]


def _cli_run(tmp_path: Path, station: Path, step: dict[str, Any], fault: dict[str, Any],
             monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    monkeypatch.setattr(labctl.subscribers.FigureSubscriber, "__call__",
                        lambda self, document: None)
    data = yaml.safe_load(station.read_text())
    data["simulation"]["faults"] = [fault]
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "W-1", "area_cm2": 0.09},
                                        "steps": [step]}, sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    return code, json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())


def test_the_dark_lamp_warning_reaches_the_summary(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    step = {"jv": {"start_v": 0.6, "stop_v": 0.0, "step_v": 0.1, "light": False,
                   "hardware_sweep": False, "allow_no_metrics": True}}
    code, summary = _cli_run(tmp_path, example_station(keep=("smu", "shutter", "lamp")), step,
                             {"instrument": "lamp", "kind": "lamp_fault", "at_row": 2},
                             monkeypatch)
    assert "lamp" not in (summary.get("error") or ""), summary.get("error")
    warnings = [w for r in summary["results"] for w in r.get("warnings", [])]
    assert any(w.startswith(f"{LAMP}: it reports a fault") for w in warnings), warnings
    assert summary["results"][0]["status"] == "ok" and code == 0


def test_a_fault_while_hardware_sweep_rows_are_written_is_found_after_that_sweep(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    step = {"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "both",
                   "light": True, "precondition_light_s": 0, "hardware_sweep": True}}
    code, summary = _cli_run(tmp_path, example_station(keep=("smu", "shutter", "lamp")), step,
                             {"instrument": "lamp", "kind": "lamp_fault", "at_row": 5},
                             monkeypatch)
    assert code == 1
    assert summary["error"].startswith(f"jv (step 0, reverse) failed: {LAMP}: it reports a "
                                       "fault"), summary["error"]
    assert len(summary["results"]) == 1
