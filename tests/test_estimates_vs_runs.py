"""``labctl validate``'s run-time estimate and the simulated run's virtual duration use one
timing model (instruments.timing): they agree within 5 %."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from labctl.runner import Runner
from labctl.sequence import load_sequence
from labctl.station import load_station

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def station(example_station: Callable[..., Path]) -> Path:
    """The SMU and shutter (a lamp adds its warm-up, which validate reports apart), and a cell
    whose currents settle within the steady-state window (no slow ions)."""
    return example_station()


@pytest.mark.parametrize("steps", [
    [{"jv": {"direction": "both"}}],
    [{"jv": {"direction": "reverse", "hardware_sweep": False, "nplc": 0.1}}],
    [{"jv": {"direction": "forward", "scan_rate_v_s": 0.2, "precondition_light_s": 0}}],
    [{"jv_steady": {"points": 10}}],
    [{"jv": {"direction": "both"}}, {"jv_steady": {"points": 10}}],
], ids=["jv-both", "jv-point-by-point", "jv-scan-rate", "jv_steady", "sequence"])
def test_estimate_within_5_pct_of_the_virtual_duration(tmp_path: Path, station: Path,
                                                       steps: list) -> None:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "T-1", "area_cm2": 0.09}, "steps": steps}))
    estimate_s = load_sequence(path).estimate_duration_s(load_station(station))
    summary = Runner(path, station, out_dir=tmp_path / "r", show_progress=False).run()
    assert summary["status"] == "ok", summary.get("error")
    assert estimate_s == pytest.approx(summary["elapsed_s"], rel=0.05)
