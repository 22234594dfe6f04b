"""Qt for the GUI: PySide6 (PySide6-Essentials), the binding pymeasure's display widgets use
through qtpy (docs/pymeasure-notes.md §2). Import this module before anything that imports
qtpy or pyqtgraph, so both take PySide6."""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

__all__ = ["GuiThreadCollector", "QtCore", "QtGui", "QtWidgets", "application",
           "none_refcount_leaks"]

#: The reference count ``None`` is lifted to where a binding leaks decrements of it.
_NONE_FLOOR = 1 << 60


def none_refcount_leaks() -> bool:
    """True when this Qt binding takes a reference to ``None`` it never gave (PySide6 6.12
    on Python 3.11: every call of a method returning void does, so a window painting for a
    few minutes ends in "Fatal Python error: none_dealloc"). Python >= 3.12 makes None
    immortal (PEP 683), where nothing can happen."""
    import sys

    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    pen = QtGui.QPen()
    before = sys.getrefcount(None)
    for _ in range(10):
        pen.setWidth(1)
    return sys.getrefcount(None) < before - 5


def _keep_none_alive() -> None:
    """Where the binding leaks (:func:`none_refcount_leaks`), give ``None``, ``True`` and
    ``False`` a reference count no run can use up -- what Python 3.12 does for every
    interpreter (PEP 683)."""
    import ctypes

    global _none_guarded
    if none_refcount_leaks():
        for singleton in (None, True, False):  # True and False leak too, more rarely
            count = ctypes.c_ssize_t.from_address(id(singleton))
            count.value = max(count.value, _NONE_FLOOR)
        _none_guarded = True


_none_guarded = False
_keep_none_alive()


def application() -> QtWidgets.QApplication:
    """The process's QApplication (made once)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(["labctl gui"])
        app.setApplicationName("labctl")
    return app  # type: ignore[return-value]


class GuiThreadCollector:
    """Python's cycle collector run in the GUI thread only, on a timer, while a window is
    open (pyqtgraph's ``GarbageCollector``): left automatic, a collection starts in whichever
    thread allocates at the wrong moment -- the GUI's worker, which runs the measurements --
    and may destroy Qt objects there, which crashes the process (seen once in the test suite:
    a segmentation fault in the worker, in pint's tokenizer). Windows may overlap: automatic
    collection comes back when the last one stops its collector."""

    #: Collectors running now (one per open window).
    _open = 0
    #: Whether automatic collection was on when the first of them started.
    _was_enabled = True

    def __init__(self, interval_s: float = 1.0) -> None:
        import gc

        from pyqtgraph.util.garbage_collector import GarbageCollector

        if GuiThreadCollector._open == 0:
            GuiThreadCollector._was_enabled = gc.isenabled()
        GuiThreadCollector._open += 1
        self._collector: GarbageCollector | None = GarbageCollector(interval=interval_s)

    def stop(self) -> None:
        """Stop collecting on the timer; collect now, here in the GUI thread; give the
        automatic collection back when no other window has a collector."""
        import gc

        if self._collector is None:
            return
        self._collector.timer.stop()
        self._collector = None
        gc.collect()
        GuiThreadCollector._open -= 1
        if GuiThreadCollector._open == 0 and GuiThreadCollector._was_enabled:
            gc.enable()
