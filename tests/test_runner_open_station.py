"""A runner handed an already-open station uses it, makes it safe at the end of every run
exactly as a run that opened its own, and leaves it open for the caller's next run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import labctl.runner
from labctl.opened_station import open_station
from labctl.runner import Runner
from labctl.sim.bench import bench_for

#: A short J-V (six points) under light: the runner opens the shutter and switches the
#: output on during it.
SHORT_JV = {"start_v": -0.1, "stop_v": 0.4, "step_v": 0.1, "direction": "forward"}


def _sequence(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "N-1", "area_cm2": 0.09},
                                    "steps": [{"jv": SHORT_JV}]}))
    return path


def test_a_runner_uses_a_handed_over_station_and_leaves_it_open(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    station_path, sequence = example_station(), _sequence(tmp_path)
    opened = open_station(station_path, simulated=True)

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runner opened a station of its own")

    monkeypatch.setattr(labctl.runner, "open_station", must_not_open)
    bench = bench_for(station_path)
    try:
        for attempt in range(2):
            summary = Runner(sequence, station_path, simulated=True, out_dir=tmp_path / "r",
                             show_progress=False, station=opened).run()
            assert summary["status"] == "ok", summary
            (result,) = summary["results"]
            assert result["status"] == "ok" and result["metrics"]["jsc_ma_cm2"] > 1
            assert not bench.instruments["smu"].output_on, attempt
            assert not bench.instruments["shutter"].shutter_open, attempt
            # still open and usable: the caller reads it after the run
            assert opened.instruments["smu"].output_enabled is False
            assert opened.instruments["shutter"].is_open is False
        folders = sorted((tmp_path / "r").glob("N-1_*"))
        assert len(folders) == 2
        for folder in folders:
            summary = json.loads((folder / "summary.json").read_text())
            assert summary["status"] == "ok"
    finally:
        opened.close()
