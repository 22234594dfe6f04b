"""The run's progress on the terminal (stderr): a subscriber of the event stream."""

from __future__ import annotations

import math
import sys
from typing import Any

from labctl import clock
from labctl.events import Document

__all__ = ["Progress", "format_remaining"]


def format_remaining(remaining_s: float) -> str:
    """``"1:05:09"``, ``"4:59"`` or ``"0:07"``: the time left of a wait, rounded up."""
    total_s = max(0, math.ceil(remaining_s)) if math.isfinite(remaining_s) else 0
    hours, rest_s = divmod(total_s, 3600)
    minutes, seconds = divmod(rest_s, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    """A rich progress bar on a terminal, one line per measurement otherwise; silent when
    not wanted. Subscribes to ``run_start``, ``measurement_start`` and ``row``-less progress
    (the procedure's ``emit("progress")`` reaches it through :meth:`percent`).

    While enabled it also hears the waits announced on the labctl clock
    (:func:`labctl.clock.announce_wait`: lamp warm-up, light soak, bias holds) and shows each
    with its reason and remaining time (:meth:`waiting`). ``bar`` replaces the rich progress
    bar (an object with ``add_task``, ``update``, ``start`` and ``stop``; tests give a fake).
    """

    name = "progress"

    def __init__(self, total: int, enabled: bool = True, bar: Any = None) -> None:
        self.total = total
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        self._index = 0
        self._label = "starting"
        self._waiting_for: str | None = None
        if enabled:
            self._bar = bar if bar is not None else self._rich_bar()
            if self._bar is not None:
                self._task = self._bar.add_task("starting", total=100.0 * max(total, 1))
                self._bar.start()
            clock.add_wait_listener(self.waiting)

    @staticmethod
    def _rich_bar() -> Any:
        """A rich progress bar on stderr when it is a terminal, else None (plain lines)."""
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn
        from rich.progress import Progress as RichProgress

        console = Console(stderr=True)
        if not console.is_terminal:
            return None
        return RichProgress(TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.percentage:>5.1f} %"),
                            console=console, transient=False)

    def __call__(self, document: Document) -> None:
        if document.kind == "measurement_start":
            self.measurement(int(document["index"]), str(document["label"]))
        elif document.kind == "run_end":
            self.close()

    def _describe(self) -> str:
        return f"[{self._index + 1}/{self.total}] {self._label}"

    def measurement(self, index: int, label: str) -> None:
        self._index = index
        self._label = label
        self._waiting_for = None
        if self._bar is not None:
            self._bar.update(self._task, description=self._describe(),
                             completed=100.0 * index)
        elif self.enabled:
            print(f"labctl: {self._describe()}", file=sys.stderr)

    def waiting(self, reason: str, remaining_s: float) -> None:
        """Show a wait: ``[1/3] jv reverse: light soak, 0:07 left``; ``remaining_s`` 0 ends it.

        On a terminal the bar's text follows the remaining time; otherwise one line is
        printed when a wait begins.
        """
        if remaining_s <= 0:
            self._waiting_for = None
            if self._bar is not None:
                self._bar.update(self._task, description=self._describe())
            return
        text = f"{self._describe()}: {reason}, {format_remaining(remaining_s)} left"
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        elif self.enabled and self._waiting_for != reason:
            print(f"labctl: {text}", file=sys.stderr)
        self._waiting_for = reason

    def percent(self, percent: float) -> None:
        """The running measurement's progress (0 to 100)."""
        if self._bar is not None:
            self._bar.update(self._task,
                             completed=100.0 * self._index + min(max(percent, 0), 100))

    def close(self) -> None:
        clock.remove_wait_listener(self.waiting)
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
