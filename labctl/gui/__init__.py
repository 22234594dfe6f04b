"""``labctl gui``: the experiment runner for the lab PC (docs/gui.md).

Qt (PySide6) and pyqtgraph are imported only here, so ``labctl run`` needs neither. The window
lists every registered procedure (:func:`labctl.registry.procedures.procedure_plugins`) with
inputs made from its step model, queues runs through labctl's runner on one opened station,
and plots the runner's event stream live.
"""

import os

# PySide6 for qtpy (pymeasure's widgets) and pyqtgraph, whichever is imported first
# (docs/pymeasure-notes.md §2).
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
