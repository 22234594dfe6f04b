"""``labctl gui``: open the station, show the window, run until it closes (or, with
``--screenshot``, until the queued work is done and the window is saved as a PNG)."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_STATION", "making_safe_on_exception", "open_window", "run_gui",
           "save_when_idle"]

#: The station ``labctl gui`` opens when none is named: the example bench, simulated.
DEFAULT_STATION = Path(__file__).resolve().parents[1] / "sim" / "default_station.yaml"


def open_window(station: Path | None, *, simulated: bool, out_dir: Path) -> Any:
    """The window on an opened session (InputError: a bad station file, or one that cannot
    be opened)."""
    from labctl.gui.qt import application
    from labctl.gui.session import Session
    from labctl.gui.window import MainWindow

    application()
    if station is None:
        station, simulated = DEFAULT_STATION, True
    session = Session(station, simulated=simulated, out_dir=out_dir)
    session.open()
    try:
        window = MainWindow(session)
    except BaseException:
        session.close()
        raise
    # What is loaded by now (numpy, pandas, Qt, the drivers) lives as long as the window:
    # the garbage collector's full passes skip it, which took 0.1 s while rows streamed in.
    gc.freeze()
    return window


def save_when_idle(window: Any, path: Path, then: Callable[[], None],
                   poll_ms: int = 100) -> None:
    """Once the queue is done and every event shown, save the window as a PNG, then call
    ``then``."""
    from labctl.gui.qt import QtCore

    def check() -> None:
        if window.session.idle() and window.poll() == 0:
            timer.stop()
            path.parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(path))
            then()

    timer = QtCore.QTimer(window)
    timer.timeout.connect(check)
    timer.start(poll_ms)


def making_safe_on_exception(window: Any) -> Callable[..., None]:
    """An ``excepthook`` for the window: an exception nobody handled (in a slot, a timer)
    is logged, the queue stops and the bench is made safe; the window stays up."""

    def on_exception(kind: type[BaseException], value: BaseException,
                     tb: TracebackType | None) -> None:
        log.error("unexpected error in the window: %s: %s (the bench is made safe)",
                  kind.__name__, value, exc_info=(kind, value, tb))
        window.make_safe()

    return on_exception


def run_gui(station: Path | None, *, simulated: bool = False, screenshot: Path | None = None,
            out_dir: Path = Path("results"),
            prepare: Callable[[Any], None] | None = None) -> int:
    """Run the window until it closes; 0. An exception nobody handled in the window stops
    the queue and makes the bench safe (it is logged; the window stays up)."""
    from labctl.gui.qt import application

    app = application()
    window = open_window(station, simulated=simulated, out_dir=out_dir)
    previous_hook = sys.excepthook
    sys.excepthook = making_safe_on_exception(window)
    try:
        window.show()
        if prepare is not None:
            prepare(window)
        if screenshot is not None:
            save_when_idle(window, Path(screenshot), lambda: (window.close(), app.quit()))
        app.exec()
    finally:
        sys.excepthook = previous_hook
        if window.session.station is not None:  # closed without closeEvent
            window.session.close()
    return 0
