"""The append-only CSV writer, in the layout pymeasure's Results writes."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import BinaryIO, TextIO

import numpy as np
from pymeasure.experiment import Procedure, Results

from labctl.storage.columns import (
    _COMMENT,
    _DELIMITER,
    _ENCODING,
    _LINE_BREAK,
    TEXT_COLUMNS,
)

log = logging.getLogger(__name__)

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

# --------------------------------------------------------------------------------------------
# CSV writer (pymeasure format, append-only)
# --------------------------------------------------------------------------------------------


def _header_line(name: str, value: object) -> str:
    """One ``#\\t<name>: <value>`` header line, escaped as pymeasure escapes it."""
    name = str(name)
    if not name or "\n" in name or "\r" in name or ": " in name:
        raise ValueError(f"header name {name!r} must be non-empty, one line, without ': '")
    return f"{_COMMENT}\t{name}: {_escape_header_value(str(value))}"


def _escape_header_value(text: str) -> str:
    """Escape as pymeasure does (``unicode_escape``) only what would break the line: control
    characters and backslashes; printable non-ASCII stays as it is, UTF-8 (``mm²``, not
    ``mm\\xb2``: pymeasure's ``Results.load`` reads header values back unescaped)."""
    return "".join(
        ch if ch.isprintable() and ch != "\\" else ch.encode("unicode_escape").decode("ascii")
        for ch in text)


def _procedure_metadata_lines(procedure: Procedure) -> list[str]:
    """Header lines of the procedure's own ``Metadata`` objects that have a value.

    The value is the procedure attribute (assigned in ``startup()``, the workaround of the
    pymeasure 0.16 metadata bug), else the Metadata default; unset metadata is left out.
    """
    lines = []
    for attribute, metadata in procedure.metadata_objects().items():
        value = getattr(procedure, attribute, None)
        if value is None:
            if not metadata.is_set():
                continue
            value = metadata.value
        text = metadata.fmt % value
        if metadata.units is not None:
            text += f" {metadata.units}"
        lines.append(_header_line(metadata.name, text))
    return lines


def _pymeasure_header(procedure: Procedure, metadata: Mapping[str, object] | None) -> str:
    """The full comment header pymeasure writes, metadata included, ending with ``#Data:``.

    The procedure and parameter lines come from ``Results.header`` itself (parameters sorted
    by attribute name, values as ``str(parameter)``, i.e. with units); the metadata block is
    inserted before ``#Data:``, where ``Results.store_metadata`` puts it.
    """
    shim = SimpleNamespace(
        procedure_class=type(procedure), parameters=procedure.parameter_objects()
    )
    header = Results.header(shim)  # type: ignore[arg-type]
    data_line = f"{_COMMENT}Data:{_LINE_BREAK}"
    if not header.endswith(data_line):  # pragma: no cover - guards a pymeasure change
        raise RuntimeError("unexpected pymeasure header layout")
    metadata_lines = _procedure_metadata_lines(procedure)
    own_names = {name for name in (metadata or {})}
    metadata_lines = [
        line for line in metadata_lines if line[2:].partition(": ")[0] not in own_names
    ]
    metadata_lines += [_header_line(name, value) for name, value in (metadata or {}).items()]
    block = ""
    if metadata_lines:
        block = _LINE_BREAK.join([f"{_COMMENT}Metadata:", *metadata_lines]) + _LINE_BREAK
    return header[: -len(data_line)] + block + data_line


def _check_columns(columns: list[str]) -> list[str]:
    """Validate column names: pint-parsable units, no delimiter, comment or line break."""
    columns = [str(column) for column in columns]
    if not columns:
        raise ValueError("a CSV needs at least one column")
    for column in columns:
        if (
            not column
            or column != column.strip()
            or any(c in column for c in (_DELIMITER, _COMMENT, "\n", "\r", '"'))
        ):
            raise ValueError(f"invalid column name {column!r}")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValueError(f"duplicate columns: {duplicates}")
    # raises ValueError for units pint does not know (text columns carry none)
    Procedure.parse_columns([c for c in columns if c not in TEXT_COLUMNS])
    return columns


def _read_header(handle: TextIO) -> tuple[list[str], str | None]:
    """Read the comment block and the column row; return (comment lines, column row)."""
    comments = []
    for line in handle:
        if line.startswith(_COMMENT):
            comments.append(line.rstrip("\r\n"))
            continue
        return comments, line.rstrip("\r\n")
    return comments, None


#: The comment line a measurement that ended normally gets after its last row: the rule
#: ``--resume`` uses to tell a complete file from an interrupted one (docs/contracts.md,
#: "Results"). pymeasure's ``Results.load`` skips it as a comment.
END_MARKER = f"{_COMMENT}End: complete"


class CsvWriter:
    """Append-only writer of the pymeasure CSV format.

    Parameters
    ----------
    path
        The CSV file. Without ``resume`` it must not exist (data is never overwritten).
    procedure
        The pymeasure ``Procedure`` instance, parameters already set; its class and parameters
        make the ``#Procedure:`` and ``#Parameters:`` block, and its ``Metadata`` objects that
        have a value go to ``#Metadata:``.
    columns
        The column names, ``"Name (unit)"`` with pint-parsable units (docs/contracts.md,
        "CSV columns").
    metadata
        Extra ``#Metadata:`` entries (instrument identities, station, software version...);
        an entry overrides a procedure Metadata of the same display name.
    resume
        Continue an existing file: its header must have the same columns (else
        ``ValueError``) and is not written again. A torn last row (no newline, or the wrong
        number of fields: a crash, a full disk) is removed with a warning. A missing or empty
        file is started afresh.
    fsync_interval_s
        The longest time [s, real monotonic clock] between two ``os.fsync`` calls. Every row is
        handed to the operating system at once; the fsync that forces it onto the disk is
        rate-limited because it costs milliseconds. ``0`` syncs every row.

    A row is whole on disk or absent: each row goes out with its newline in one ``os.write``
    on an unbuffered file, and a write that fails part-way (``ENOSPC``: the disk is full) is
    cut back to the end of the previous row before the error is raised. :meth:`finish`
    writes :data:`END_MARKER` after the last row of a measurement that ended normally.

    Each row is a dict ``{column: value}``; missing columns are written as ``nan``, unknown
    keys raise ``ValueError`` (pymeasure silently drops them). Floats are written with
    ``repr`` (shortest text that round-trips exactly), so millivolts and nanoamperes survive.
    ``pint`` quantities are converted to the column's unit.
    """

    def __init__(
        self,
        path: Path,
        procedure: Procedure,
        columns: list[str],
        metadata: Mapping[str, object] | None = None,
        resume: bool = False,
        fsync_interval_s: float = 5.0,
    ) -> None:
        if not isinstance(procedure, Procedure):
            raise TypeError(f"procedure must be a pymeasure Procedure, got {type(procedure)}")
        if not fsync_interval_s >= 0:
            raise ValueError(f"fsync_interval_s must be >= 0, got {fsync_interval_s!r}")
        self.path = Path(path)
        self.columns: list[str] = _check_columns(columns)
        self.fsync_interval_s = float(fsync_interval_s)
        self._units = Procedure.parse_columns([c for c in self.columns
                                               if c not in TEXT_COLUMNS])
        self._column_set = frozenset(self.columns)
        self._lock = threading.Lock()
        self.rows_written = 0
        """Rows appended by this writer (rows already in a resumed file are not counted)."""

        existing = self.path.exists() and self.path.stat().st_size > 0
        if existing and not resume:
            raise FileExistsError(f"{self.path} exists; pass resume=True to append to it")
        self._fd: int | None = None
        if existing:
            self._check_resumable()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | _O_BINARY)
            self._size = os.fstat(self._fd).st_size
        else:
            header = _pymeasure_header(procedure, metadata)
            header += _DELIMITER.join(self.columns) + _LINE_BREAK
            flags = os.O_WRONLY | os.O_CREAT | _O_BINARY
            # an empty file left by a crash is reused; any other existing file is not
            flags |= os.O_TRUNC if self.path.exists() else os.O_EXCL
            self._fd = os.open(self.path, flags, 0o644)
            self._size = 0
            try:
                self._write_whole(header.encode(_ENCODING))
            except BaseException:
                os.close(self._fd)
                self._fd = None
                raise
        self._sync()

    def _check_resumable(self) -> None:
        """Check the existing header's columns and drop a torn last row (with a warning)."""
        with open(self.path, encoding=_ENCODING, newline="") as handle:
            _comments, column_row = _read_header(handle)
        if column_row is None:
            raise ValueError(f"{self.path} has no column row; cannot resume it")
        found = [c.strip() for c in column_row.split(_DELIMITER)]
        if found != self.columns:
            raise ValueError(
                f"cannot resume {self.path}: its columns {found} differ from {self.columns}"
            )
        truncate_torn_row(self.path, len(self.columns))

    def _format(self, column: str, value: object) -> str:
        """Format one cell: exact repr for floats, integers as integers, ``nan`` for None."""
        if value is None:
            return "nan"
        if column in TEXT_COLUMNS and isinstance(value, str):
            if any(c in value for c in (_DELIMITER, _COMMENT, "\n", "\r", '"')):
                raise ValueError(f"column {column!r}: text {value!r} has a delimiter")
            return value
        if hasattr(value, "m_as") and hasattr(value, "units"):  # pint.Quantity
            unit = self._units.get(column)
            value = value.m_as(unit) if unit is not None else value.magnitude
        if isinstance(value, bool | np.bool_):
            return "1" if value else "0"
        if isinstance(value, int | np.integer):
            return str(int(value))
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(f"column {column!r}: value {value!r} is not a number") from None
        return repr(number)

    def _os_write(self, fd: int, data: bytes) -> int:
        """``os.write`` (a seam: tests inject a full disk here)."""
        return os.write(fd, data)

    def _write_whole(self, data: bytes) -> None:
        """Write ``data`` completely, or cut the file back to where it was and raise."""
        assert self._fd is not None
        done = 0
        try:
            while done < len(data):
                written = self._os_write(self._fd, data[done:])
                if written <= 0:  # pragma: no cover - os.write raises rather than return 0
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
                done += written
        except BaseException:
            try:
                if os.fstat(self._fd).st_size != self._size:
                    os.ftruncate(self._fd, self._size)  # frees space: works on a full disk
            except OSError as exc:  # pragma: no cover - the readers drop the torn row
                log.error("%s: cannot remove a torn row: %s", self.path, exc)
            raise
        self._size += done

    def append(self, row: Mapping[str, object]) -> None:
        """Append one row in one write, and fsync when ``fsync_interval_s`` has passed.

        Raises ``ValueError`` naming any key that is not a column, ``TypeError`` for a
        non-numeric value, ``ValueError`` when the writer is closed, and ``OSError`` when the
        row cannot be written (``errno.ENOSPC``: the disk is full). Nothing is left on disk of
        a refused or failed row.
        """
        unknown = [key for key in row if key not in self._column_set]
        if unknown:
            raise ValueError(
                f"unknown column(s) {unknown} for {self.path.name}; columns are {self.columns}"
            )
        line = _DELIMITER.join(self._format(c, row.get(c)) for c in self.columns) + _LINE_BREAK
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self.path} is closed")
            self._write_whole(line.encode(_ENCODING))
            self.rows_written += 1
            if time.monotonic() - self._last_sync_s >= self.fsync_interval_s:
                os.fsync(self._fd)
                self._last_sync_s = time.monotonic()

    def _sync(self) -> None:
        """fsync now."""
        assert self._fd is not None
        os.fsync(self._fd)
        # The durability timer runs on the real monotonic clock, deliberately not on
        # labctl.clock: it bounds real data loss on a crash, whatever the measurement time.
        self._last_sync_s = time.monotonic()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._fd is None

    def finish(self) -> None:
        """Mark the measurement complete (:data:`END_MARKER` after its last row) and close."""
        with self._lock:
            if self._fd is None:
                raise ValueError(f"{self.path} is closed")
            self._write_whole((END_MARKER + _LINE_BREAK).encode(_ENCODING))
        self.close()

    def close(self) -> None:
        """fsync and close the file. Calling it again does nothing."""
        with self._lock:
            if self._fd is None:
                return
            try:
                self._sync()
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> CsvWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<CsvWriter {self.path} ({state}, {self.rows_written} rows written)>"


def _last_line_start(handle: BinaryIO, size: int) -> int:
    """The offset where the last line of a file of ``size`` bytes starts (after the newline
    before it; 0 if none). A newline as the very last byte ends that last line."""
    position = size - 1  # a final newline belongs to the last line
    while position > 0:
        step = min(4096, position)
        handle.seek(position - step)
        chunk = handle.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return position - step + newline + 1
        position -= step
    return 0


def torn_row(path: Path, n_columns: int) -> tuple[int, bytes] | None:
    """``(offset, text)`` of a torn last row of a CSV, None when its last line is whole.

    A last line is torn when it does not end with a newline (the write was cut short: power
    loss, a full disk) or, as a data row, has another number of fields than ``n_columns``.
    Comment lines (``#End: complete``) are whole when they end with a newline.
    """
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        ends_with_newline = handle.read(1) == b"\n"
        start = _last_line_start(handle, size)
        handle.seek(start)
        last = handle.read()
    if not ends_with_newline:
        return start, last
    text = last.rstrip(b"\r\n")
    if text.startswith(_COMMENT.encode()) or not text.strip():
        return None
    if text.count(_DELIMITER.encode()) + 1 != n_columns:
        return start, last
    return None


def truncate_torn_row(path: Path, n_columns: int) -> bytes | None:
    """Remove a torn last row of a CSV (with a warning); return what was removed."""
    torn = torn_row(path, n_columns)
    if torn is None:
        return None
    offset, text = torn
    log.warning("%s: removing a torn last row %r (cut short by a crash or a full disk)",
                path, text)
    with open(path, "rb+") as handle:
        handle.truncate(offset)
    return text
