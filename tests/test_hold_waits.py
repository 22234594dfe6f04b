"""A steady-state point's settling hold reaches the progress bar on a real clock.

Each hold of ``jv_steady`` is a train of short waits (a reading every ``reading_interval_s``
until steady, at most ``max_hold_s``), none long enough to be announced by itself; on a real
clock the procedure shows each hold with its reason and the time it may still take
(procedures/base.py ``announce_hold``). Tested with a fake real clock: the bench's virtual
clock saying it is real (``is_virtual`` False), so nothing sleeps for real.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from labctl.clock import VirtualClock
from labctl.progress import Progress
from labctl.runner import Runner
from tests.test_waits import STATION, FakeBar, waits_in

STEP = {"jv_steady": {"points": 7, "max_hold_s": 5, "light": True}}


def _descriptions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    bar = FakeBar()
    monkeypatch.setattr(Progress, "_rich_bar", staticmethod(lambda: bar))
    data = yaml.safe_load(STATION.read_text())
    data["instruments"] = {k: v for k, v in data["instruments"].items()
                           if k in ("smu", "shutter")}
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump(
        {"sample": {"id": "H-1", "area_cm2": 0.09}, "steps": [STEP]}, sort_keys=False))
    summary = Runner(sequence, station, simulated=True, out_dir=tmp_path / "results",
                     show_progress=True).run()
    assert summary["status"] == "ok", summary.get("error")
    return bar.descriptions


def test_each_hold_is_shown_with_its_reason_and_time_left_on_a_real_clock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VirtualClock, "is_virtual", False)
    descriptions = _descriptions(tmp_path, monkeypatch)
    holds = {reason: left for reason, left in waits_in(descriptions).items()
             if reason.startswith("settling at ")}
    points = sorted(int(re.search(r"point (\d+) of 8", reason).group(1)) for reason in holds)
    assert points[0] == 1 and "settling at I = 0 (point 1 of 8)" in holds
    assert len(points) >= 6 and points == sorted(set(points))  # one hold per point
    assert all(re.fullmatch(r"settling at -?[\d.]+(e-?\d+)? V \(point \d of 8\)", reason)
               for reason in holds if not reason.startswith("settling at I = 0")), holds
    shown_s = [int(text.split(":")[1]) for left in holds.values() for text in left]
    assert max(shown_s) <= 5 and max(shown_s) >= 4  # up to max_hold_s, counting down
    assert descriptions[-1].startswith("[1/1] jv_steady")  # the bar back on the label


def test_on_the_virtual_clock_holds_are_not_shown(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    descriptions = _descriptions(tmp_path, monkeypatch)
    assert not [reason for reason in waits_in(descriptions) if "settling" in reason]
    assert any(text.startswith("[1/1] jv_steady") for text in descriptions)
