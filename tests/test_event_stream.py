"""The runner's event stream: documents in order, a critical CSV writer, other subscribers that
may fail without ending the measurement."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from labctl.cli import main
from labctl.events import Document, EventStream
from labctl.runner import Runner
from labctl.sim.bench import bench_for
from labctl.storage import CsvWriter, read_measurement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def station(example_station: Callable[..., Path]) -> Path:
    return example_station()


def sequence(tmp_path: Path, steps: list) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "E-1", "area_cm2": 0.09}, "steps": steps}))
    return path


def test_a_critical_subscriber_raises_and_others_are_reported_once() -> None:
    stream = EventStream()
    seen: list[str] = []

    def broken(document: Document) -> None:
        raise RuntimeError("plot backend gone")

    def critical(document: Document) -> None:
        seen.append(document.kind)
        if document.kind == "row" and document["row"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device")

    stream.subscribe(broken, name="figure")
    stream.subscribe(critical, name="CSV writer", critical=True)
    stream.publish("row", row=1)
    stream.publish("row", row=1)
    with pytest.raises(OSError, match="No space left"):
        stream.publish("row", row=2)
    assert seen == ["row", "row", "row"]
    assert stream.take_failures() == ["figure failed: RuntimeError: plot backend gone"]
    assert stream.take_failures() == []


def test_documents_arrive_in_order(tmp_path: Path, station: Path) -> None:
    runner = Runner(sequence(tmp_path, [{"jv": {"direction": "both", "step_v": 0.05}}]),
                    station, out_dir=tmp_path / "r", show_progress=False)
    kinds: list[str] = []
    rows: dict[str, int] = {}

    def record(document: Document) -> None:
        kinds.append(document.kind)
        if document.kind == "row":
            name = document["measurement"].filename
            rows[name] = rows.get(name, 0) + 1

    runner.events.subscribe(record)
    summary = runner.run()
    assert summary["status"] == "ok"
    compact = [k for i, k in enumerate(kinds) if k != "row" or kinds[i - 1] != "row"]
    assert compact == ["run_start", "measurement_start", "row", "measurement_end", "result",
                       "measurement_start", "row", "measurement_end", "result", "run_end"]
    assert rows == {"s00_jv_reverse.csv": 29, "s00_jv_forward.csv": 29}
    for name, count in rows.items():
        assert read_measurement(runner.state.folder / name).columns["Voltage (V)"].size == count


def test_a_full_disk_ends_the_measurement_with_the_rows_so_far(
        tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The CSV writer is critical: ENOSPC after 20 rows fails the run (exit 1), the 20 rows
    stay readable, the output is off and the summary says why."""
    append = CsvWriter.append
    count = {"rows": 0}

    def filling(self: CsvWriter, row: dict) -> None:
        if count["rows"] >= 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        count["rows"] += 1
        append(self, row)

    monkeypatch.setattr(CsvWriter, "append", filling)
    seq = sequence(tmp_path, [{"jv": {"direction": "reverse", "hardware_sweep": False}}])
    code = main(["run", str(seq), "--station", str(station), "--out", str(tmp_path / "r"),
                 "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["status"] == "failed" and "No space left on device" in summary["error"]
    folder = tmp_path / "r" / summary["run_id"]
    data = read_measurement(folder / "s00_jv_reverse.csv")
    assert data.columns["Voltage (V)"].size == 20
    assert json.loads((folder / "summary.json").read_text())["status"] == "failed"
    bench = bench_for(str(station))
    assert bench.instruments["smu"].engine.output_on is False
    assert bench.light.shutter_open is False


def test_a_failing_subscriber_is_reported_and_the_measurement_goes_on(
        tmp_path: Path, station: Path) -> None:
    runner = Runner(sequence(tmp_path, [{"jv": {"direction": "reverse", "step_v": 0.05}}]),
                    station, out_dir=tmp_path / "r", show_progress=False)

    def live_plot(document: Document) -> None:
        if document.kind == "row":
            raise ValueError("window closed")

    runner.events.subscribe(live_plot, name="live plot")
    summary = runner.run()
    assert summary["status"] == "ok"
    (result,) = summary["results"]
    assert result["metrics"]["voc_v"] > 1.0
    assert "live plot failed: ValueError: window closed" in result["warnings"]
    on_disk = json.loads((runner.state.folder / "summary.json").read_text())
    assert on_disk["results"][0]["warnings"] == result["warnings"]
