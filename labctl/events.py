"""The runner's event stream: documents published to subscribers, as Bluesky's RunEngine
publishes to its callbacks (docs/architecture.md, "The event stream").

Documents, in the order a run publishes them:

- ``run_start``: the run folder, sample, planned measurements;
- ``measurement_start``: one measurement, its file, its procedure (after ``startup()``, so
  the header metadata is known), its column names and the header metadata;
- ``row``: one row of a measurement, as the procedure emitted it;
- ``measurement_end``: the measurement's status (``ok``, ``aborted``, ``failed``) and error;
- ``result``: the measurement's record for the summary (metrics and warnings), after analysis,
  with the records of its step so far;
- ``run_end``: the run's status and error.

A subscriber is a callable taking a :class:`Document`. A *critical* subscriber (the CSV
writer) stops the measurement when it raises: its exception reaches the procedure, which
fails, and the run ends with exit 1 and the data written so far kept. Any other subscriber
that raises is logged, and the failure is reported as a warning in the summary; the
measurement goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from labctl.errors import error_line

log = logging.getLogger(__name__)

__all__ = ["Document", "DocumentKind", "EventStream", "Notice", "Subscriber"]

DocumentKind = Literal["run_start", "measurement_start", "row", "measurement_end", "result",
                       "run_end"]


@dataclass
class Document:
    """One document of the stream: its kind and its content."""

    kind: DocumentKind
    content: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.content[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.content.get(key, default)


Subscriber = Callable[[Document], None]


class Notice(Exception):  # noqa: N818 - it is not an error: a subscriber's report
    """Raised by a subscriber to put a warning (its message, as it is) into the measurement's
    summary: e.g. an instrument fault that one retry recovered. Not a failure."""


@dataclass
class _Subscription:
    name: str
    callback: Subscriber
    critical: bool


class EventStream:
    """Publishes documents to its subscribers, in the order they subscribed."""

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        #: Failures of non-critical subscribers not yet reported: one line each.
        self._failures: list[str] = []
        self._failed_names: set[tuple[str, str]] = set()

    def subscribe(self, callback: Subscriber, *, name: str | None = None,
                  critical: bool = False) -> None:
        """Add a subscriber; ``critical`` ones stop the measurement when they fail."""
        label = name or getattr(callback, "name", None) or type(callback).__name__
        self._subscriptions.append(_Subscription(label, callback, critical))

    def publish(self, kind: DocumentKind, **content: Any) -> Document:
        """Publish one document to every subscriber; return it."""
        document = Document(kind, content)
        for subscription in self._subscriptions:
            try:
                subscription.callback(document)
            except Notice as notice:
                self._failures.append(str(notice))
            except Exception as exc:
                if subscription.critical:
                    raise
                self._report(subscription.name, kind, exc)
        return document

    def _report(self, name: str, kind: str, exc: Exception) -> None:
        log.warning("subscriber %s failed on %s: %s", name, kind, exc, exc_info=True)
        if (name, kind) not in self._failed_names:  # one warning per subscriber and kind
            self._failed_names.add((name, kind))
            self._failures.append(f"{name} failed: {error_line(exc)}")

    def take_failures(self) -> list[str]:
        """The failures (and notices) reported since the last call (and forget them)."""
        failures, self._failures = self._failures, []
        self._failed_names.clear()
        return failures
