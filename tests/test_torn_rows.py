"""A row is whole on disk or absent: the writer cuts back a row it could not finish, the
readers ignore a torn last row with a warning, resume truncates it, and a full disk ends a run
with exit 1, the reason in the summary and on stderr."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from pymeasure.experiment import FloatParameter, Procedure, Results

from labctl.cli import main
from labctl.storage import (
    END_MARKER,
    CsvWriter,
    is_complete,
    read_last_row,
    read_measurement,
)

COLUMNS = ["Voltage (V)", "Current (A)", "Time (s)"]


class _Sweep(Procedure):
    start_v = FloatParameter("Start", units="V", default=0.0)
    DATA_COLUMNS = COLUMNS


def rows(n: int) -> list[dict[str, float]]:
    return [{"Voltage (V)": 0.01 * i, "Current (A)": -1e-3 + 1e-5 * i, "Time (s)": float(i)}
            for i in range(n)]


def written(path: Path, n: int, *, finish: bool = False) -> Path:
    writer = CsvWriter(path, _Sweep(), COLUMNS)
    for row in rows(n):
        writer.append(row)
    if finish:
        writer.finish()
    else:
        writer.close()
    return path


def full_disk_after(monkeypatch: pytest.MonkeyPatch, whole_rows: int,
                    partial_bytes: int = 7) -> None:
    """The writer's os.write: the header and ``whole_rows`` rows go through, then a write
    gets ``partial_bytes`` on disk and fails with ENOSPC (as a filling disk does)."""
    original = CsvWriter._os_write
    calls = {"rows": -1}  # the first write is the header

    def write(self: CsvWriter, fd: int, data: bytes) -> int:
        calls["rows"] += 1
        if calls["rows"] <= whole_rows:
            return original(self, fd, data)
        if partial_bytes and len(data) > partial_bytes:
            original(self, fd, data[:partial_bytes])      # a part of the row reaches the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CsvWriter, "_os_write", write)


def test_a_row_cut_by_a_full_disk_is_removed_by_the_writer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.csv"
    full_disk_after(monkeypatch, whole_rows=5)
    writer = CsvWriter(path, _Sweep(), COLUMNS)
    data = rows(8)
    for row in data[:5]:
        writer.append(row)
    with pytest.raises(OSError) as caught:
        writer.append(data[5])
    assert caught.value.errno == errno.ENOSPC
    writer.close()
    assert path.read_bytes().endswith(b"\n")               # nothing of the failed row
    measurement = read_measurement(path)
    assert len(measurement) == 5 and measurement.warnings == []
    assert read_last_row(path) == data[4]
    assert len(Results.load(str(path), _Sweep).data) == 5  # pymeasure reads it too


@pytest.mark.parametrize("tail", [b"0.05,-0.00", b"0.05,-0.00\n", b"0.05\n"],
                         ids=["no newline", "too few fields", "one field"])
def test_readers_ignore_a_torn_last_row_with_a_warning(
        tmp_path: Path, tail: bytes, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = written(tmp_path / "m.csv", 5)
    with open(path, "ab") as handle:
        handle.write(tail)
    with caplog.at_level(logging.WARNING):
        measurement = read_measurement(path)
    assert len(measurement) == 5 and not measurement.complete
    assert len(measurement.warnings) == 1 and "torn last row" in measurement.warnings[0]
    assert "torn last row" in caplog.text
    assert read_last_row(path) == rows(5)[4]


def test_analyze_warns_about_a_torn_row(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.csv"
    lines = ["Voltage (V),Current density (mA/cm**2)"]
    lines += [f"{v / 100:.2f},{20.0 - 20.0 * (v / 100 / 1.1) ** 8:.6f}" for v in range(0, 121)]
    path.write_text("\n".join(lines) + "\n1.21,-3")              # a torn last row
    code = main(["analyze", "jv", str(path), "--json"])
    (item,) = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any("torn last row" in warning for warning in item["warnings"])


def test_resume_truncates_a_torn_row_and_continues(tmp_path: Path) -> None:
    path = written(tmp_path / "m.csv", 5)
    with open(path, "ab") as handle:
        handle.write(b"0.05,-0.00095,5.")
    writer = CsvWriter(path, _Sweep(), COLUMNS, resume=True)
    writer.append(rows(6)[5])
    writer.finish()
    measurement = read_measurement(path)
    assert len(measurement) == 6 and measurement.warnings == [] and measurement.complete
    assert list(measurement.columns["Time (s)"]) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_the_end_marker_tells_a_complete_file(tmp_path: Path) -> None:
    done = written(tmp_path / "done.csv", 4, finish=True)
    cut = written(tmp_path / "cut.csv", 4)
    assert done.read_text().endswith(END_MARKER + "\n")
    assert is_complete(done) and not is_complete(cut)
    assert len(read_measurement(done)) == 4 and read_measurement(done).complete
    assert read_last_row(done) == rows(4)[3]
    assert len(Results.load(str(done), _Sweep).data) == 4


def _sequence(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "D-1", "area_cm2": 0.09}, "steps": [
        {"jv": {"direction": "reverse", "hardware_sweep": False, "step_v": 0.02}},
        {"jv": {"direction": "forward", "hardware_sweep": False, "step_v": 0.02}}]}))
    return path


def test_a_full_disk_ends_the_run_with_exit_1_and_says_so(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    full_disk_after(monkeypatch, whole_rows=20)
    out = tmp_path / "r"
    code = main(["run", str(_sequence(tmp_path)), "--station", str(example_station()),
                 "--out", str(out), "--json", "--quiet"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 1
    assert summary["status"] == "failed" and "the disk is full" in summary["error"]
    assert "the disk is full" in captured.err
    folder = out / summary["run_id"]
    on_disk = json.loads((folder / "summary.json").read_text())
    assert on_disk["status"] == "failed" and "the disk is full" in on_disk["error"]
    data_file = folder / "s00_jv_reverse.csv"
    assert data_file.read_bytes().endswith(b"\n")
    data = read_measurement(data_file)
    assert len(data) == 20 and data.warnings == [] and not data.complete
    assert not (folder / "s00_jv_forward.csv").exists()


def test_a_summary_that_cannot_be_written_is_said_on_stderr(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import labctl.storage as storage

    full_disk_after(monkeypatch, whole_rows=20)
    original = storage.write_summary
    state = {"full": False}

    def write_summary(path: Path, summary: dict) -> None:
        if summary["status"] == "failed" or state["full"]:
            state["full"] = True
            raise OSError(errno.ENOSPC, "No space left on device")
        original(path, summary)

    monkeypatch.setattr(storage, "write_summary", write_summary)
    code = main(["run", str(_sequence(tmp_path)), "--station", str(example_station()),
                 "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot write" in err and "summary.json (the disk is full)" in err
