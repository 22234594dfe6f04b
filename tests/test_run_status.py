"""A measurement with no valid metric says so in its result line and fails the run (exit 1)
unless its step allows it (``allow_no_metrics: true``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from labctl.cli import main


def run(tmp_path: Path, station: Path, step: dict, capsys: pytest.CaptureFixture[str],
        *extra: str) -> tuple[int, str, str]:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({"sample": {"id": "N-1", "area_cm2": 0.09},
                                        "steps": [step]}))
    code = main(["run", str(sequence), "--station", str(station), "--out",
                 str(tmp_path / "r"), "--quiet", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


#: A J-V that stays above Voc (forward injection only): no Voc, Jsc, FF or PCE in it.
ABOVE_VOC = {"start_v": 1.3, "stop_v": 1.25, "step_v": 0.01, "direction": "reverse"}


def test_no_valid_metric_is_said_and_fails_the_run(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, example_station(), {"jv": ABOVE_VOC}, capsys)
    assert code == 1, err
    assert "[0] jv reverse: no valid metric (all NaN)" in out
    assert "no valid metric (all NaN) for step 0 jv" in err
    (folder,) = (tmp_path / "r").glob("N-1_*")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["results"][0]["no_valid_metrics"]


def test_a_step_may_allow_no_metrics(tmp_path: Path, example_station: Callable[..., Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(tmp_path, example_station(),
                         {"jv": dict(ABOVE_VOC, allow_no_metrics=True)}, capsys)
    assert code == 0, err
    assert "no valid metric (all NaN)" in out
