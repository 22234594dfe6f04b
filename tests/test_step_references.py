"""Results passed between steps: declared in the step, checked by validate, resolved when the
step starts, and written in the CSV header."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.sequence import load_sequence
from labctl.storage import read_measurement
from labctl.yamlio import InputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def station(example_station: Callable[..., Path]) -> Path:
    return example_station(add={"smu2": {"driver": "keithley2450",
                                         "resource": "GPIB0::26::INSTR"}})


def write(tmp_path: Path, steps_yaml: str) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text("sample: {id: R-1, area_cm2: 0.09}\nsteps:\n" + steps_yaml)
    return path


@pytest.mark.parametrize(("steps", "line", "field", "reason"), [
    ("  - jv: {direction: reverse}\n"
     "  - jv_steady: {start_v: {from_step: 1, metric: voc_v}}\n",
     4, "steps[1].jv_steady.start_v", "from_step 1 is not an earlier step"),
    ("  - jv: {direction: reverse}\n"
     "  - jv_steady: {start_v: {from_step: 0, metric: vmp_v}}\n",
     4, "steps[1].jv_steady.start_v", "step 0 (jv) has no metric 'vmp_v'"),
    ("  - jv: {direction: reverse}\n"
     "  - mpp:\n      start_v: {from_step: 0, metric: vmpp_v, direction: forward}\n",
     5, "steps[1].mpp.start_v", "measures no 'forward' direction"),
    ("  - jv: {direction: reverse, smu: smu2}\n"
     "  - mpp: {start_v: {from_step: 0, metric: vmpp_v}}\n",
     4, "steps[1].mpp.start_v", "a value comes from the same sample and channel"),
    ("  - jv: {direction: reverse}\n"
     "  - mpp: {start_v: {from_step: 0, metrik: vmpp_v}}\n",
     4, "steps[1].mpp.start_v.metrik", "unknown key 'metrik'"),
])
def test_validate_names_file_line_and_field(tmp_path: Path, steps: str, line: int, field: str,
                                            reason: str) -> None:
    path = write(tmp_path, steps)
    with pytest.raises(InputError) as caught:
        load_sequence(path)
    error = caught.value
    assert (Path(error.file).name, error.line, error.field) == ("seq.yaml", line, field)
    assert reason in str(error)
    assert "\n" not in str(error)


def test_a_valid_reference_validates(tmp_path: Path, station: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "  - jv: {direction: both}\n"
                           "  - mpp: {start_v: {from_step: 0, metric: vmpp_v}}\n")
    assert main(["validate", str(path), "--station", str(station)]) == 0
    assert "from the vmpp_v of step 0" in capsys.readouterr().out


def test_the_value_is_taken_when_the_step_starts_and_written_in_the_header(
        tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "  - jv: {direction: reverse}\n"
                           "  - jv_steady: {points: 5, start_v: {from_step: 0, metric: voc_v},"
                           " max_hold_s: 10,"
                           " allow_no_metrics: true}\n")  # 5 points: no metric, allowed
    code = main(["run", str(path), "--station", str(station), "--out", str(tmp_path / "r"),
                 "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary.get("error")
    jv, steady = summary["results"]
    voc_v = jv["metrics"]["voc_v"]
    data = read_measurement(tmp_path / "r" / summary["run_id"] / steady["file"])
    assert data.metadata["Reference start_v"] == f"voc_v of step 0 = {voc_v:.6g}"
    assert float(data.parameters["Start voltage"].split()[0]) == pytest.approx(voc_v, rel=1e-5)
    settled = data.columns["Voltage (V)"][data.columns["Settled"] == 1]
    assert settled.max() == pytest.approx(voc_v, abs=2e-3)   # the first bias is the J-V's Voc


def test_a_source_without_the_value_fails_the_step(tmp_path: Path, station: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A dark J-V has no PCE-based Vmpp worth tracking from: NaN is not a voltage."""
    path = write(tmp_path, "  - jv: {direction: reverse, light: false}\n"
                           "  - jv_steady: {start_v: {from_step: 0, metric: pce_pct}}\n")
    code = main(["run", str(path), "--station", str(station), "--out", str(tmp_path / "r"),
                 "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["status"] == "failed"
    assert "start_v cannot be taken from the pce_pct of step 0" in summary["error"]
    assert len(summary["results"]) == 1


def test_a_value_out_of_range_fails_the_step_naming_it(tmp_path: Path, station: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """Resolved values are validated like written ones: 3000 (an Rsh in Ω·cm²) is no bias."""
    path = write(tmp_path, "  - jv: {direction: reverse}\n"
                           "  - jv_steady: {start_v: {from_step: 0, metric: rsh_ohm_cm2}}\n")
    code = main(["run", str(path), "--station", str(station), "--out", str(tmp_path / "r"),
                 "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1 and summary["status"] == "failed"
    assert "start_v = 3" in summary["error"] and "rsh_ohm_cm2 of step 0" in summary["error"]
    assert "is not a valid value" in summary["error"] and "\n" not in summary["error"]
