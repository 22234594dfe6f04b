"""Resume from disk alone: a complete file is not measured again, the catalog equals the
summary after any resume, the run folder is locked by the process that writes it and
`labctl status` tells running from interrupted."""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from labctl.cli import main
from labctl.runner import Runner
from labctl.storage import Catalog, CsvWriter, RunLock, read_measurement

STEPS = [{"jv": {"direction": "reverse", "hardware_sweep": False, "step_v": 0.02}},
         {"jv": {"direction": "forward", "hardware_sweep": False, "step_v": 0.02}}]


@pytest.fixture
def station(example_station: Callable[..., Path]) -> Path:
    return example_station()


def sequence(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "R-1", "area_cm2": 0.09}, "steps": STEPS}))
    return path


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def catalog_matches_summary(folder: Path) -> list[dict]:
    summary = json.loads((folder / "summary.json").read_text())
    rows = Catalog(folder.parent / "catalog.sqlite").query(run_id=summary["run_id"])
    assert sorted((r["step"], r["direction"], r["status"], Path(r["file"]).name)
                  for r in rows) == sorted(
        (r["step"], r["direction"], r["status"], r["file"]) for r in summary["results"])
    return rows


def test_a_complete_file_the_summary_missed_is_not_measured_again(
        tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seq, out = sequence(tmp_path), tmp_path / "r"
    code, stdout, _ = cli(["run", str(seq), "--station", str(station), "--out", str(out),
                           "--json", "--quiet"], capsys)
    summary = json.loads(stdout)
    folder = out / summary["run_id"]
    second = folder / summary["results"][1]["file"]
    second_bytes = second.read_bytes()
    # the process died after the second file was complete, before the summary recorded it
    (folder / "summary.json").write_text(json.dumps(
        dict(summary, status="running", results=summary["results"][:1])))
    code, stdout, stderr = cli(["run", str(seq), "--station", str(station), "--resume",
                                str(folder), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    resumed = json.loads(stdout)
    assert resumed["status"] == "ok" and len(resumed["results"]) == 2
    assert second.read_bytes() == second_bytes                     # not measured again
    assert resumed["results"][1]["metrics"]["voc_v"] == pytest.approx(
        summary["results"][1]["metrics"]["voc_v"])
    assert any("not measured again" in w for w in resumed["results"][1]["warnings"])
    assert len(catalog_matches_summary(folder)) == 2


def test_an_aborted_row_is_replaced_in_the_catalog(tmp_path: Path, station: Path,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    stop = threading.Event()
    append, count = CsvWriter.append, {"rows": 0}

    def append_and_stop(self: CsvWriter, row: dict) -> None:
        append(self, row)
        count["rows"] += 1
        if count["rows"] == 90:  # in the second measurement (71 rows each)
            stop.set()

    monkeypatch.setattr(CsvWriter, "append", append_and_stop)
    seq, out = sequence(tmp_path), tmp_path / "r"
    summary = Runner(seq, station, out_dir=out, show_progress=False, stop_event=stop).run()
    monkeypatch.undo()
    folder = out / summary["run_id"]
    assert summary["status"] == "aborted"
    assert [r["status"] for r in summary["results"]] == ["ok", "aborted"]
    assert len(catalog_matches_summary(folder)) == 2
    assert cli(["status", str(folder)], capsys)[1] == "aborted\n"
    code, stdout, stderr = cli(["run", str(seq), "--station", str(station), "--resume",
                                str(folder), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    resumed = json.loads(stdout)
    assert [r["status"] for r in resumed["results"]] == ["ok", "ok"]
    rows = catalog_matches_summary(folder)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    assert len(read_measurement(folder / "s01_jv_forward.csv")) == 71
    assert len(read_measurement(folder / "s01_jv_forward.partial.csv")) == 90 - 71


def test_status_and_the_lock(tmp_path: Path, station: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    seq, out = sequence(tmp_path), tmp_path / "r"
    code, stdout, _ = cli(["run", str(seq), "--station", str(station), "--out", str(out),
                           "--json", "--quiet"], capsys)
    summary = json.loads(stdout)
    folder = out / summary["run_id"]
    assert cli(["status", str(folder)], capsys)[:2] == (0, "ok\n")
    (folder / "summary.json").write_text(json.dumps(dict(summary, status="running")))
    assert cli(["status", str(folder)], capsys)[1] == "interrupted\n"   # killed: no lock
    lock = RunLock(folder)
    lock.acquire()              # another process writing the folder, as far as flock goes
    try:
        assert cli(["status", str(folder)], capsys)[1] == "running\n"
        code, stdout, stderr = cli(["status", str(folder), "--json"], capsys)
        assert json.loads(stdout)["pid"] > 0
        code, _, stderr = cli(["run", str(seq), "--station", str(station), "--resume",
                               str(folder), "--quiet"], capsys)
        assert code == 2 and len(stderr.strip().splitlines()) == 1
        assert "being written by a running labctl" in stderr
    finally:
        lock.release()
    for status in ("failed", "aborted"):
        (folder / "summary.json").write_text(json.dumps(dict(summary, status=status)))
        assert cli(["status", str(folder)], capsys)[1] == f"{status}\n"
    code, _, stderr = cli(["status", str(tmp_path)], capsys)
    assert code == 2 and "not a labctl run folder" in stderr


def test_the_catalog_is_made_right_once_space_is_back(
        tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    write, state = CsvWriter._os_write, {"rows": 0}

    def full_disk(self: CsvWriter, fd: int, data: bytes) -> int:
        state["rows"] += 1
        if state["rows"] > 30:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(self, fd, data)

    def no_catalog(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "database or disk is full")

    monkeypatch.setattr(CsvWriter, "_os_write", full_disk)
    monkeypatch.setattr(Catalog, "replace_run", no_catalog)
    seq, out = sequence(tmp_path), tmp_path / "r"
    code, stdout, _ = cli(["run", str(seq), "--station", str(station), "--out", str(out),
                           "--json", "--quiet"], capsys)
    summary = json.loads(stdout)
    assert code == 1 and "the disk is full" in summary["error"]
    monkeypatch.undo()                                       # space is back
    folder = out / summary["run_id"]
    assert cli(["status", str(folder)], capsys)[1] == "failed\n"
    code, stdout, stderr = cli(["run", str(seq), "--station", str(station), "--resume",
                                str(folder), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    assert len(catalog_matches_summary(folder)) == 2
