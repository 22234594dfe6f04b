"""Qt for the GUI: PySide6 (PySide6-Essentials), the binding pymeasure's display widgets use
through qtpy (docs/pymeasure-notes.md §2). Import this module before anything that imports
qtpy or pyqtgraph, so both take PySide6."""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from PySide6 import QtCore, QtGui, QtWidgets  # noqa: E402

__all__ = ["QtCore", "QtGui", "QtWidgets", "application"]


def application() -> QtWidgets.QApplication:
    """The process's QApplication (made once)."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(["labctl gui"])
        app.setApplicationName("labctl")
    return app  # type: ignore[return-value]
