"""The station's ``notify_command``: run with the summary's path when a run ends failed or
aborted, never when it ends ok; its failure is logged and never changes the run's ending."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from labctl.cli import main
from labctl.events import Document
from labctl.notify import notify_run_end, run_notify_command
from labctl.runner import Runner
from labctl.sim.bench import bench_for
from labctl.station import load_station
from labctl.yamlio import InputError

#: A notify command as a lab writes one: it records its arguments and environment.
SCRIPT = """\
import json, os, sys
out = os.environ["NOTIFY_OUT"]
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"argv": sys.argv[1:], "status": os.environ["LABCTL_RUN_STATUS"],
               "error": os.environ["LABCTL_RUN_ERROR"],
               "folder": os.environ["LABCTL_RUN_FOLDER"]}, handle)
code = int(os.environ.get("NOTIFY_EXIT", "0"))
if code:
    print("the mail server said no", file=sys.stderr)
sys.exit(code)
"""

SEQUENCE = {"sample": {"id": "N-1", "area_cm2": 0.09}, "steps": [
    {"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "both",
            "light": True, "precondition_light_s": 0}}]}


@pytest.fixture
def notifier(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Path]:
    script = tmp_path / "notify.py"
    script.write_text(SCRIPT)
    out = tmp_path / "notified.json"
    monkeypatch.setenv("NOTIFY_OUT", str(out))
    return [sys.executable, str(script), "--to", "night-shift"], out


def notified_station(example_station: Callable[..., Path], command: list[str]) -> Path:
    path = example_station()
    data = yaml.safe_load(path.read_text())
    data["notify_command"] = command
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_sequence(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump(SEQUENCE, sort_keys=False))
    return path


def kill_smu_after_first_measurement(runner: Runner, station: Path) -> None:
    """The SMU drops off the bus once the first sweep is on disk: the run fails."""

    def on_document(document: Document) -> None:
        if document.kind == "measurement_end":
            bench_for(station).instruments["smu"].fault = "dead"

    runner.events.subscribe(on_document, name="fault injector")


def test_the_command_gets_the_summary_path_last_and_the_status(
        tmp_path: Path, notifier: tuple[list[str], Path]) -> None:
    command, out = notifier
    summary_path = tmp_path / "run" / "summary.json"
    reason = run_notify_command(command, summary_path,
                                {"status": "failed", "error": "smu: timeout"})
    assert reason is None
    got = json.loads(out.read_text())
    assert got["argv"] == ["--to", "night-shift", str(summary_path)]
    assert got["status"] == "failed" and got["error"] == "smu: timeout"
    assert got["folder"] == str(summary_path.parent)


def test_an_ok_run_notifies_no_one(tmp_path: Path, notifier: tuple[list[str], Path]) -> None:
    command, out = notifier
    assert notify_run_end(command, tmp_path / "summary.json", {"status": "ok"}) is None
    assert not out.exists()


def test_a_failing_command_is_logged_in_one_line(
        tmp_path: Path, notifier: tuple[list[str], Path], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    command, _ = notifier
    monkeypatch.setenv("NOTIFY_EXIT", "3")
    with caplog.at_level(logging.WARNING, logger="labctl.notify"):
        reason = notify_run_end(command, tmp_path / "summary.json", {"status": "aborted"})
    assert reason is not None
    assert "exited with status 3" in reason and "the mail server said no" in reason
    assert any("notify_command failed" in r.getMessage() for r in caplog.records)


def test_a_missing_program_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    reason = notify_run_end([str(tmp_path / "no-such-notifier")], tmp_path / "summary.json",
                            {"status": "failed"})
    assert reason is not None and "no such program" in reason


def test_a_failed_run_notifies_with_its_summary(
        tmp_path: Path, example_station: Callable[..., Path],
        notifier: tuple[list[str], Path]) -> None:
    command, out = notifier
    station = notified_station(example_station, command)
    runner = Runner(write_sequence(tmp_path), station, simulated=True,
                    out_dir=tmp_path / "results", show_progress=False)
    kill_smu_after_first_measurement(runner, station)
    summary = runner.run()
    assert summary["status"] == "failed"
    got = json.loads(out.read_text())
    summary_path = Path(got["argv"][-1])
    assert summary_path == runner.state.folder / "summary.json"
    on_disk = json.loads(summary_path.read_text())
    assert on_disk["status"] == "failed" and on_disk["error"]   # written before the command
    assert got["status"] == "failed" and got["error"] == on_disk["error"]


def test_an_aborted_run_notifies(tmp_path: Path, example_station: Callable[..., Path],
                                 notifier: tuple[list[str], Path]) -> None:
    command, out = notifier
    stop = threading.Event()
    stop.set()                                          # Ctrl-C before the first measurement
    runner = Runner(write_sequence(tmp_path), notified_station(example_station, command),
                    simulated=True, out_dir=tmp_path / "results", show_progress=False,
                    stop_event=stop)
    assert runner.run()["status"] == "aborted"
    assert json.loads(out.read_text())["status"] == "aborted"


def test_an_ok_run_through_the_cli_does_not_notify(
        tmp_path: Path, example_station: Callable[..., Path],
        notifier: tuple[list[str], Path]) -> None:
    command, out = notifier
    code = main(["run", str(write_sequence(tmp_path)), "--station",
                 str(notified_station(example_station, command)), "--sim", "--quiet",
                 "--out", str(tmp_path / "results")])
    assert code == 0
    assert not out.exists()


def test_a_failing_notify_command_leaves_the_exit_status_alone(
        tmp_path: Path, example_station: Callable[..., Path],
        caplog: pytest.LogCaptureFixture) -> None:
    station = notified_station(example_station, [sys.executable, "-c", "raise SystemExit(7)"])
    stop = threading.Event()
    stop.set()
    runner = Runner(write_sequence(tmp_path), station, simulated=True,
                    out_dir=tmp_path / "results", show_progress=False, stop_event=stop)
    with caplog.at_level(logging.WARNING, logger="labctl.notify"):
        summary = runner.run()
    assert any("exited with status 7" in r.getMessage() for r in caplog.records)
    assert summary["status"] == "aborted"                # not "failed" because of the command
    assert "notify" not in (summary.get("error") or "")


@pytest.mark.parametrize(("text", "expected"), [
    ("notify_command: 'mail -s \"labctl run\" lab@example.org'",
     ["mail", "-s", "labctl run", "lab@example.org"]),
    ("notify_command: [notify-send, labctl]", ["notify-send", "labctl"]),
])
def test_the_station_option_takes_a_command_line_or_a_list(
        tmp_path: Path, text: str, expected: list[str]) -> None:
    path = tmp_path / "station.yaml"
    path.write_text("station: x\ninstruments:\n  smu: {driver: keithley2400, resource: "
                    f"'GPIB0::24::INSTR'}}\n{text}\n")
    assert load_station(path).notify_command == expected


@pytest.mark.parametrize("value", ["''", "[]", "'mail \"unclosed'"])
def test_an_unusable_command_is_bad_input_naming_the_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "station.yaml"
    path.write_text("station: x\ninstruments:\n  smu: {driver: keithley2400, resource: "
                    f"'GPIB0::24::INSTR'}}\nnotify_command: {value}\n")
    with pytest.raises(InputError) as caught:
        load_station(path)
    assert caught.value.line == 4 and "notify_command" in str(caught.value)
