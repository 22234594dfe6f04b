"""The station panel names the attenuator calibration in use and its date (the newest stored
one that fits the wheels, as intensity_voc picks it), and says "none" when there is none."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6.QtWidgets", reason="Qt (PySide6) cannot be loaded here")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from labctl.calibration import AttenuatorCalibration, save_calibration  # noqa: E402
from labctl.station import load_station  # noqa: E402


def _store(station_path: Path, date_utc: datetime, fits: bool = True) -> Path:
    station = load_station(station_path)
    ods = {w: list(station.instruments[w].od) for w in station.attenuator()}
    if not fits:  # a calibration of other wheels: never the one in use
        ods = {"other_wheel": [0.0, 1.0]}
    return save_calibration(station, AttenuatorCalibration(
        station=station.station, date_utc=date_utc, od_per_slot=ods,
        nominal_od_per_slot=ods))


def test_the_station_panel_shows_the_calibration_in_use_and_its_date(
        qtbot: Any, example_station: Callable[..., Path], tmp_path: Path) -> None:
    from labctl.gui.session import Session
    from labctl.gui.window import MainWindow

    station_path = example_station(keep=("smu", "shutter", "wheel_a", "wheel_b"))
    session = Session(station_path, simulated=True, out_dir=tmp_path / "results")
    session.open()
    window = MainWindow(session, poll_ms=20)
    qtbot.addWidget(window)
    try:
        label = window.station_panel.calibration
        assert label.text() == "Attenuator calibration: none (nominal ODs)"
        _store(station_path, datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
        newest = _store(station_path, datetime(2026, 11, 20, 14, 5, 7, tzinfo=UTC))
        _store(station_path, datetime(2026, 11, 25, tzinfo=UTC), fits=False)
        window.station_panel.show_states({})  # what every state refresh does
        assert label.text() == (f"Attenuator calibration: {newest.name}, "
                                "dated 2026-11-20 14:05:07 UTC")
    finally:
        window.close()


def test_a_station_without_filter_wheels_has_no_calibration(window: Any) -> None:
    assert window.station_panel.calibration.text() == \
        "Attenuator calibration: none (no filter wheel)"
