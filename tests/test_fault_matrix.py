"""The fault matrix: each fault kind on each instrument of the example station, per procedure.

Every case runs ``labctl run`` in-process on the whole example station (simulated, virtual
clock) with one entry in ``simulation.faults`` starting at the fifth data row, and short
steps (jv: step_v 0.1, both directions; jv_steady: 7 points, max_hold_s 5). The figures are
not drawn (they are not what is tested here, and drawing is most of a run's time).

- A persistent fault: exit 1, a one-line error naming the instrument (station key, driver and
  resource) and the measurement; the rows written before the fault on disk and readable; the
  SMU output off and the shutter closed in the emulators afterwards, or the error saying what
  could not be made safe.
- ``once: true`` garbage or slow reply: recovered by one retry after reconnecting, exit 0, a
  warning naming the instrument.
- Cases that cannot apply assert what does happen (the run ends ok): ``wheel_stuck`` never
  matters when no step moves the wheels (they stay where they are, and read so). The wheels
  are watched during a lit measurement as the lamp and the shutter are, so every other wheel
  fault is met in both procedures.
- An interlock trip, on the device's 2400 or on the photodiode's 2450: the error says
  "interlock tripped" after the instrument's label (tests/test_interlock.py has the details).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import labctl.subscribers
from labctl.cli import main
from labctl.sim.bench import bench_for, forget_benches

STEPS: dict[str, dict[str, Any]] = {
    "jv": {"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "both",
                  "light": True, "precondition_light_s": 0, "hardware_sweep": False}},
    "jv_steady": {"jv_steady": {"points": 7, "max_hold_s": 5, "light": True}},
}
#: The example station's instruments with a resource (the photodiode's faults are its SMU's).
LABELS = {
    "smu": "smu (keithley2400 at GPIB0::24::INSTR)",
    "ref_smu": "ref_smu (keithley2450 at USB0::0x05E6::0x2450::04412345::INSTR)",
    "lamp": "lamp (newport69907 at ASRL1::INSTR)",
    "shutter": "shutter (thorlabs_sc10 at ASRL2::INSTR)",
    "wheel_a": "wheel_a (thorlabs_fw102c at ASRL3::INSTR)",
    "wheel_b": "wheel_b (thorlabs_fw102c at ASRL4::INSTR)",
}
FAMILY_KINDS = {"smu": "interlock", "ref_smu": "interlock", "lamp": "lamp_fault",
                "shutter": "shutter_stuck", "wheel_a": "wheel_stuck", "wheel_b": "wheel_stuck"}
PERSISTENT = ("no_reply", "dead", "error_reply")
TRANSIENT = ("garbage", "slow")
AT_ROW = 5


def _cases() -> list[Any]:
    cases = []
    for procedure in STEPS:
        for instrument, family_kind in FAMILY_KINDS.items():
            for kind in (*PERSISTENT, *TRANSIENT, family_kind):
                cases.append(pytest.param(procedure, instrument, kind,
                                          id=f"{procedure}-{instrument}-{kind}"))
    return cases


def _never_met(procedure: str, instrument: str, kind: str) -> bool:
    """The cases that cannot apply (see the module's docstring)."""
    return kind == "wheel_stuck"


@pytest.fixture(autouse=True)
def _no_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labctl.subscribers.FigureSubscriber, "__call__",
                        lambda self, document: None)


def _run(tmp_path: Path, station: Path, procedure: str, fault: dict[str, Any]
         ) -> tuple[int, dict[str, Any], Any]:
    data = yaml.safe_load(station.read_text())
    data["simulation"]["faults"] = [fault]
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(
        {"sample": {"id": "F-1", "area_cm2": 0.09}, "steps": [STEPS[procedure]]},
        sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())
    return code, summary, bench_for(station)


def _data_rows(folder: Path) -> int:
    """Data rows of every CSV of the run, each checked whole (as many fields as the header)."""
    total = 0
    for path in folder.rglob("*.csv"):
        lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
        rows = list(csv.reader(lines))
        header, body = rows[0], rows[1:]
        assert all(len(row) == len(header) for row in body), path
        assert all(float(row[header.index("Voltage (V)")]) == float(
            row[header.index("Voltage (V)")]) for row in body), path
        total += len(body)
    return total


def _warnings(summary: dict[str, Any]) -> list[str]:
    return [w for r in summary["results"] for w in r.get("warnings", [])]


@pytest.mark.parametrize(("procedure", "instrument", "kind"), _cases())
def test_fault(tmp_path: Path, example_station: Callable[..., Path], procedure: str,
               instrument: str, kind: str) -> None:
    station = example_station(keep=(*LABELS, "photodiode"))
    once = kind in TRANSIENT
    code, summary, bench = _run(tmp_path, station, procedure, {
        "instrument": instrument, "kind": kind, "at_row": AT_ROW, "once": once})
    smu_on = bench.instruments["smu"].output_on
    shutter_open = bench.instruments["shutter"].shutter_open
    label = LABELS[instrument]
    if _never_met(procedure, instrument, kind):
        assert (code, summary["status"]) == (0, "ok"), summary.get("error")
        assert not any(w.startswith(label) for w in _warnings(summary))
        assert not smu_on and not shutter_open
        return
    if once:
        assert (code, summary["status"]) == (0, "ok"), summary.get("error")
        assert any(w.startswith(label) and "recovered by one retry after reconnecting" in w
                   for w in _warnings(summary)), _warnings(summary)
        assert not smu_on and not shutter_open
        return
    assert code == 1 and summary["status"] == "failed"
    error = summary["error"]
    assert "\n" not in error
    if kind == "shutter_stuck":  # found when the measurement closes it at its end
        assert shutter_open and "stuck" in error
        first = "jv (step 0, reverse)" if procedure == "jv" else "jv_steady (step 0)"
        assert error.startswith(f"{first} failed: {label}: closing it: "), error
        assert "could not make safe: shutter (thorlabs_sc10 at ASRL2::INSTR): " in error
        assert len(summary["results"]) == 1  # the forward J-V did not start
    else:
        assert error.startswith(f"{procedure} (step 0") and label in error, error
    if kind == "interlock":
        assert f"{label}: interlock tripped while " in error, error
    assert _data_rows(tmp_path / "out") >= AT_ROW
    if smu_on:
        assert ("could not make safe: smu (keithley2400 at GPIB0::24::INSTR): output may "
                "still be on") in error, error
    if shutter_open:
        assert "could not make safe: shutter (thorlabs_sc10 at ASRL2::INSTR): " in error, error


@pytest.mark.parametrize("procedure", list(STEPS))
@pytest.mark.parametrize(("instrument", "kind", "operation"), [
    ("lamp", "lamp_fault", "switching it on"), ("shutter", "shutter_stuck", "opening it")])
def test_a_light_path_fault_before_the_first_row_is_named_at_light_on(
        tmp_path: Path, example_station: Callable[..., Path], procedure: str,
        instrument: str, kind: str, operation: str) -> None:
    station = example_station(keep=(*LABELS, "photodiode"))
    code, summary, bench = _run(tmp_path, station, procedure,
                                {"instrument": instrument, "kind": kind, "at_row": 0})
    assert code == 1 and summary["status"] == "failed"
    assert summary["error"].startswith(f"{procedure} (step 0")
    assert f"{LABELS[instrument]}: {operation}: " in summary["error"], summary["error"]
    assert not bench.instruments["smu"].output_on
    assert not bench.instruments["shutter"].shutter_open
