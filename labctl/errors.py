"""One-line error texts: what labctl prints for a failure, everywhere."""

from __future__ import annotations

__all__ = ["error_line", "fold"]

#: Longest error text kept in one line (a driver's reply can carry a whole buffer).
MAX_ERROR_CHARS = 300


def fold(text: str, limit: int | None = None) -> str:
    """``text`` on one line (every run of white space one space), cut to ``limit`` chars."""
    line = " ".join(str(text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 3] + "..."
    return line


def error_line(exc: BaseException, *, with_type: bool = True,
               limit: int | None = MAX_ERROR_CHARS) -> str:
    """An exception as one line: ``"ExceptionType: message"`` (or just the message).

    An exception that carries a finished sentence for people (``labctl_message = True`` on
    its class, e.g. the runner's ``RunFailed``) is given without its type name.
    """
    text = fold(str(exc), limit) or type(exc).__name__
    if not with_type or getattr(exc, "labctl_message", False):
        return text
    return f"{type(exc).__name__}: {text}"
