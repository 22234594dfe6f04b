"""GUI tests: Qt offscreen (no display needed); the Qt tests skip only where Qt cannot load
(CI installs it: the `test` extra pulls PySide6-Essentials, pyqtgraph and pytest-qt)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")


@pytest.fixture(autouse=True)
def _qt_garbage_collected_here() -> Iterator[None]:
    """Each GUI test's Qt garbage is collected in the main thread when it ends: left for
    later, a collection started by some test's worker thread would destroy Qt objects
    there (labctl.gui.qt.GuiThreadCollector)."""
    yield
    import gc

    gc.collect()


@pytest.fixture
def window(qtbot: object, example_station: Callable[..., Path], tmp_path: Path
           ) -> Iterator[object]:
    """The window on the example simulated station (SMU and shutter), results in tmp."""
    from labctl.gui.session import Session
    from labctl.gui.window import MainWindow

    session = Session(example_station(), simulated=True, out_dir=tmp_path / "results")
    session.open()
    win = MainWindow(session, poll_ms=20)
    qtbot.addWidget(win)  # type: ignore[attr-defined]
    yield win
    win.close()  # as a user closes it: the bench made safe, the station and the log closed


@pytest.fixture
def fill_jv() -> Callable[..., None]:
    """Choose the J-V in a window and fill in the sample and the given step fields."""

    def fill(window: Any, sample_id: str = "G-1", **step: object) -> None:
        window.procedure.setCurrentIndex(window.procedure.findData("jv"))
        window.sample_form.set_value("id", sample_id)
        window.sample_form.set_value("area_cm2", "0.09")
        form = window.step_form()
        for name, value in step.items():
            form.set_value(name, value)

    return fill
