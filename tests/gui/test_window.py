"""The window on the simulated station, offscreen: a queued J-V plotted point for point with
the summary's metrics, a sequence for two samples, an abort that leaves the output off, a bad
value shown at its field, the screenshot of ``labctl gui``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

pytest.importorskip("PySide6.QtWidgets", reason="Qt (PySide6) cannot be loaded here")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from labctl.gui.qt import QtCore  # noqa: E402
from labctl.storage import read_measurement  # noqa: E402

DONE = ("ok", "failed", "aborted", "bad input", "cancelled")


def wait_done(qtbot: Any, window: Any, jobs: list[Any], timeout_ms: int = 60_000) -> None:
    def finished() -> bool:
        window.poll()
        assert all(job.state in DONE for job in jobs) and window.session.idle()

    qtbot.waitUntil(finished, timeout=timeout_ms)
    window.poll()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def test_a_queued_jv_is_plotted_point_for_point_with_the_summary_metrics(
        qtbot: Any, window: Any, fill_jv: Callable[..., None]) -> None:
    fill_jv(window, step_v="0.05", direction="both", precondition_light_s="0")
    job = window.queue_step()
    assert job is not None, window.run_message.text()
    wait_done(qtbot, window, [job])
    assert job.state == "ok", job.error
    curves = {label: (x, y) for label, x, y in window.plot.curve_data()}
    assert set(curves) == {"jv reverse", "jv forward"}
    for direction in ("reverse", "forward"):
        data = read_measurement(job.folder / f"s00_jv_{direction}.csv")
        x, y = curves[f"jv {direction}"]
        assert x.size == data.columns["Voltage (V)"].size > 10
        assert np.array_equal(x, data.columns["Voltage (V)"])
        assert np.array_equal(y, data.columns["Current density (mA/cm**2)"])
    summary = json.loads((job.folder / "summary.json").read_text())
    shown = window.shown_metrics()
    for record in summary["results"]:
        metrics = shown[f"jv {record['direction']}"]
        assert record["metrics"] and set(metrics) == set(record["metrics"])
        assert all(same(metrics[k], v) for k, v in record["metrics"].items())
    assert window.queue_table.item(0, 2).text() == "ok"
    window.catalog_panel.sample.setText("G-1")
    window.catalog_panel.refresh()  # the catalog browser: the run's two measurements
    assert [row["direction"] for row in window.catalog_panel.rows] == ["reverse", "forward"]
    window.catalog_panel.table.cellDoubleClicked.emit(1, 0)
    (label, x, y), = window.plot.curve_data()
    forward = read_measurement(job.folder / "s00_jv_forward.csv")
    assert np.array_equal(x, forward.columns["Voltage (V)"]) and "forward" in label
    assert same(window.shown_metrics()["jv forward"]["voc_v"],
                summary["results"][1]["metrics"]["voc_v"])


def test_a_sequence_is_shown_as_validate_prints_it_and_queued_for_two_samples(
        qtbot: Any, window: Any, tmp_path: Path) -> None:
    path = tmp_path / "seq.yaml"
    path.write_text(yaml.safe_dump({"sample": {"id": "S-1", "area_cm2": 0.09}, "steps": [
        {"jv": {"direction": "reverse", "step_v": 0.1, "precondition_light_s": 0}}]}))
    assert window.open_sequence(path)
    text = window.sequence_panel.text.toPlainText()
    assert "[0] jv" in text and "estimated run time" in text
    window.sequence_panel.add_sample("S-2", "0.04")
    jobs = window.queue_sequence()
    assert [job.label.split(":")[0] for job in jobs] == ["S-1", "S-2"]
    wait_done(qtbot, window, jobs)
    assert [job.state for job in jobs] == ["ok", "ok"]
    areas = [json.loads((job.folder / "summary.json").read_text())["sample"]["area_cm2"]
             for job in jobs]
    assert areas == [0.09, 0.04] and jobs[0].folder != jobs[1].folder
    bad = tmp_path / "bad.yaml"
    bad.write_text("sample: {id: S-3, area_cm2: 0.09}\nsteps:\n  - jv: {dwel_s: 0.1}\n")
    assert not window.open_sequence(bad)
    assert f"{bad}:3: steps[0].jv.dwel_s" in window.sequence_panel.text.toPlainText()


def test_an_abort_mid_run_leaves_the_output_off(
        qtbot: Any, window: Any, fill_jv: Callable[..., None]) -> None:
    session = window.session
    forward = session._forward
    rows: list[int] = []

    def abort_after_some_rows(job: Any, document: Any) -> None:
        forward(job, document)
        if document.kind == "row":
            rows.append(1)
            if len(rows) == 5:
                assert session.states_now()["smu"] == "output ON"  # mid-run indeed
                session.abort(job)

    session._forward = abort_after_some_rows
    fill_jv(window, step_v="0.01", direction="both", hardware_sweep=False,
            precondition_light_s="0")
    job = window.queue_step()
    wait_done(qtbot, window, [job])
    assert job.state == "aborted"
    assert 5 <= len(rows) < 100  # stopped well before the 2 x 141 points
    states = session.states_now()
    assert states["smu"] == "output off" and states["shutter"] == "closed"
    assert window.queue_table.item(0, 2).text() == "aborted"
    window.station_panel.table.setItem(0, 1, None)
    session.request_state()  # the station panel reads it too
    qtbot.waitUntil(lambda: window.poll() >= 0
                    and window.station_panel.state_of("smu") == "output off", timeout=10_000)


def test_closing_the_window_mid_run_leaves_the_bench_safe(
        qtbot: Any, window: Any, fill_jv: Callable[..., None]) -> None:
    session = window.session
    bench = session.station.bench
    forward = session._forward
    closed: list[bool] = []

    def close_after_some_rows(job: Any, document: Any) -> None:
        forward(job, document)
        if document.kind == "row" and not closed:
            closed.append(True)
            QtCore.QMetaObject.invokeMethod(window, "close",
                                            QtCore.Qt.ConnectionType.QueuedConnection)

    session._forward = close_after_some_rows
    fill_jv(window, step_v="0.01", direction="both", hardware_sweep=False,
            precondition_light_s="0")
    job = window.queue_step()
    qtbot.waitUntil(lambda: session.station is None, timeout=60_000)
    assert closed and job.state == "aborted"
    assert not bench.instruments["smu"].output_on
    assert not bench.light.shutter_open


def test_a_bad_value_is_shown_at_its_field_and_nothing_runs(
        window: Any, fill_jv: Callable[..., None]) -> None:
    fill_jv(window, step_v="ten mV")
    assert window.queue_step() is None
    form = window.step_form()
    assert "not a number" in form.problem("step_v")
    fill_jv(window, step_v="5")  # above the model's 1 V
    assert window.queue_step() is None
    assert "1" in form.problem("step_v") and form.problem("start_v") is None
    assert "step_v" in window.run_message.text()
    fill_jv(window, step_v="0.01")
    window.sample_form.set_value("area_cm2", "-1")
    assert window.queue_step() is None
    assert window.sample_form.problem("area_cm2") and form.problem("step_v") is None
    assert window.session.jobs == []


def test_an_unhandled_error_makes_the_bench_safe(qtbot: Any, window: Any) -> None:
    from labctl.gui.app import making_safe_on_exception

    station = window.session.station
    station.instruments["shutter"].open()
    assert window.session.states_now()["shutter"] == "OPEN"
    try:
        raise RuntimeError("a slot went wrong")
    except RuntimeError as exc:
        making_safe_on_exception(window)(RuntimeError, exc, exc.__traceback__)
    qtbot.waitUntil(lambda: window.poll() >= 0 and bool(window.safe_lines), timeout=10_000)
    assert "smu: output off" in window.safe_lines and "shutter: closed" in window.safe_lines
    assert window.session.states_now()["shutter"] == "closed"


def test_labctl_gui_saves_a_screenshot_and_exits_0(
        qapp: Any, example_station: Callable[..., Path], tmp_path: Path) -> None:
    from labctl.cli import main

    png = tmp_path / "gui.png"
    assert main(["gui", "--station", str(example_station()), "--sim", "--screenshot",
                 str(png), "--out", str(tmp_path / "r")]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_an_aborted_run_is_resumed_from_the_window_in_its_folder(
        qtbot: Any, window: Any, fill_jv: Callable[..., None]) -> None:
    session = window.session
    forward = session._forward
    rows: list[int] = []

    def abort_once(job: Any, document: Any) -> None:
        forward(job, document)
        if document.kind == "row" and job.resume_dir is None:
            rows.append(1)
            if len(rows) == 3:
                session.abort(job)

    session._forward = abort_once
    fill_jv(window, step_v="0.05", direction="reverse", hardware_sweep=False,
            precondition_light_s="0")
    first = window.queue_step()
    wait_done(qtbot, window, [first])
    assert first.state == "aborted"
    again = window.resume(first.folder)
    wait_done(qtbot, window, [again])
    assert again.state == "ok" and again.folder == first.folder
    summary = json.loads((first.folder / "summary.json").read_text())
    assert summary["status"] == "ok" and [r["status"] for r in summary["results"]] == ["ok"]
    data = read_measurement(first.folder / "s00_jv_reverse.csv")
    assert data.complete and data.columns["Voltage (V)"].size == 29


def test_the_window_collects_garbage_in_the_gui_thread_only_while_it_is_open(
        qtbot: Any, window: Any) -> None:
    import gc

    assert not gc.isenabled()  # no collection can start in the worker thread
    window.close()
    assert gc.isenabled()
