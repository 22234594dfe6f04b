"""The run's progress on the terminal (stderr): a subscriber of the event stream."""

from __future__ import annotations

import sys
from typing import Any

from labctl.events import Document

__all__ = ["Progress"]


class Progress:
    """A rich progress bar on a terminal, one line per measurement otherwise; silent when
    not wanted. Subscribes to ``run_start``, ``measurement_start`` and ``row``-less progress
    (the procedure's ``emit("progress")`` reaches it through :meth:`percent`)."""

    name = "progress"

    def __init__(self, total: int, enabled: bool = True) -> None:
        self.total = total
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        self._index = 0
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, TextColumn
            from rich.progress import Progress as RichProgress

            console = Console(stderr=True)
            if console.is_terminal:
                self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                         TextColumn("{task.percentage:>5.1f} %"),
                                         console=console, transient=False)
                self._task = self._bar.add_task("starting", total=100.0 * total)
                self._bar.start()

    def __call__(self, document: Document) -> None:
        if document.kind == "measurement_start":
            self.measurement(int(document["index"]), str(document["label"]))
        elif document.kind == "run_end":
            self.close()

    def measurement(self, index: int, label: str) -> None:
        self._index = index
        if self._bar is not None:
            self._bar.update(self._task, description=f"[{index + 1}/{self.total}] {label}",
                             completed=100.0 * index)
        elif self.enabled:
            print(f"labctl: [{index + 1}/{self.total}] {label}", file=sys.stderr)

    def percent(self, percent: float) -> None:
        """The running measurement's progress (0 to 100)."""
        if self._bar is not None:
            self._bar.update(self._task,
                             completed=100.0 * self._index + min(max(percent, 0), 100))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
