"""Waits that say what they wait for: a wait longer than a few seconds reaches the progress
bar with its reason and the time left (lamp warm-up, light soak, bias hold), on the virtual
clock (no real sleeps), through the runner's progress subscriber and a fake bar."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from labctl import clock
from labctl.progress import Progress, format_remaining
from labctl.runner import Runner
from procedures.base import WAIT_ANNOUNCED_S

ROOT = Path(__file__).resolve().parents[1]
STATION = ROOT / "configs" / "stations" / "simulated.yaml"


class FakeBar:
    """What labctl's Progress asks of a rich progress bar; it keeps every description."""

    def __init__(self) -> None:
        self.descriptions: list[str] = []
        self.started = self.stopped = False

    def add_task(self, description: str, total: float) -> int:
        self.descriptions.append(description)
        return 1

    def update(self, task: int, description: str | None = None, **_: Any) -> None:
        if description is not None:
            self.descriptions.append(description)

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(("remaining_s", "text"), [
    (7.0, "0:07"), (0.2, "0:01"), (299.5, "5:00"), (3909.0, "1:05:09"), (0.0, "0:00")])
def test_remaining_time_is_rounded_up(remaining_s: float, text: str) -> None:
    assert format_remaining(remaining_s) == text


def test_progress_shows_a_wait_and_goes_back_to_the_label() -> None:
    bar = FakeBar()
    progress = Progress(3, bar=bar)
    try:
        progress.measurement(0, "jv reverse")
        clock.announce_wait("light soak", 9.5)             # through the clock's hook
        progress.waiting("light soak", 0.0)
    finally:
        progress.close()
    assert bar.descriptions[-3:] == ["[1/3] jv reverse", "[1/3] jv reverse: light soak, 0:10 left",
                                     "[1/3] jv reverse"]
    assert bar.stopped
    clock.announce_wait("after close", 5.0)             # a closed bar no longer listens
    assert "after close" not in " ".join(bar.descriptions)


def test_without_a_terminal_a_wait_is_one_line_when_it_begins(
        capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(1, bar=None)
    progress._bar = None                                 # stderr is no terminal under pytest
    try:
        progress.measurement(0, "jv reverse")
        for remaining_s in (10.0, 9.5, 9.0):
            progress.waiting("light soak", remaining_s)
        progress.waiting("light soak", 0.0)
    finally:
        progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["labctl: [1/1] jv reverse", "labctl: [1/1] jv reverse: light soak, 0:10 left"]


def run_with_fake_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: dict,
                      keep: tuple[str, ...]) -> list[str]:
    bar = FakeBar()
    monkeypatch.setattr(Progress, "_rich_bar", staticmethod(lambda: bar))
    data = yaml.safe_load(STATION.read_text())
    data["instruments"] = {k: v for k, v in data["instruments"].items() if k in keep}
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(
        {"sample": {"id": "W-1", "area_cm2": 0.09}, "steps": [{"jv": step}]}, sort_keys=False))
    summary = Runner(sequence, station, simulated=True, out_dir=tmp_path / "results",
                     show_progress=True).run()
    assert summary["status"] == "ok", summary.get("error")
    return bar.descriptions


def waits_in(descriptions: list[str]) -> dict[str, list[str]]:
    """reason -> the remaining times the bar showed for it, in order."""
    found: dict[str, list[str]] = {}
    for text in descriptions:
        match = re.fullmatch(r"\[\d+/\d+\] [\w ]+: (.+), ([\d:]+) left", text)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def test_lamp_warm_up_light_soak_and_bias_hold_reach_the_progress_bar(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "reverse",
            "light": True, "precondition_light_s": 12, "precondition_bias_v": 1.0,
            "precondition_bias_s": 30}
    descriptions = run_with_fake_bar(tmp_path, monkeypatch, step,
                                     keep=("smu", "lamp", "shutter"))
    waits = waits_in(descriptions)
    assert set(waits) == {"lamp warm-up", "light soak", "bias hold at 1 V"}
    assert waits["light soak"][0] == "0:12" and waits["bias hold at 1 V"][0] == "0:30"
    warm_up = waits["lamp warm-up"]
    assert warm_up[0].count(":") == 1 and int(warm_up[0].split(":")[0]) >= 25  # ~30 min
    assert warm_up[-1] in ("0:01", "0:00")               # counted down to the end
    # each wait ends with the bar's text back on the measurement
    assert descriptions[-1].startswith("[1/1] jv reverse")


def test_short_waits_are_not_announced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step = {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.1, "direction": "reverse",
            "light": True, "precondition_light_s": WAIT_ANNOUNCED_S / 2,
            "hardware_sweep": False, "dwell_s": 0.5}
    descriptions = run_with_fake_bar(tmp_path, monkeypatch, step, keep=("smu", "shutter"))
    assert waits_in(descriptions) == {}
    assert any(text == "[1/1] jv reverse" for text in descriptions)
