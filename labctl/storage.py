"""Result storage: run folders, the pymeasure CSV format, summary JSON and the SQLite catalog.

Everything a run produces is written here, and written so that it survives the run being cut
short (DESIGN.md, "Results" and "Long runs"):

- :func:`run_folder` and :func:`measurement_filename` name a run's folder and its files
  (Windows-safe: no colons or other reserved characters).
- :class:`CsvWriter` appends rows to a CSV in exactly the layout pymeasure's
  :class:`~pymeasure.experiment.Results` writes (``#Procedure:``, ``#Parameters:``,
  ``#Metadata:``, ``#Data:``, the column row, comma-separated rows), so
  ``Results.load(path, ProcedureClass)`` and the pymeasure GUI read it. Unlike ``Results`` it
  never re-reads or rewrites the file: the header is written once, each row is appended and
  flushed, the file is fsync'ed every few seconds, and memory does not grow with the number of
  rows. An interrupted run is continued with ``resume=True``.
- :func:`read_measurement` reads those files, and plain CSV files with a header row.
- :func:`write_summary` writes ``summary.json`` atomically, NaN and infinities as ``null``.
- :class:`Catalog` keeps one row per measurement in ``catalog.sqlite``.

No Qt and no instrument imports: this module is used headless and by the analysis CLI.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any, TextIO

import numpy as np
import pandas as pd
from pymeasure.experiment import Procedure, Results

log = logging.getLogger(__name__)

__all__ = [
    "CANONICAL_COLUMNS",
    "CATALOG_FILENAME",
    "SCHEMA_VERSION",
    "SUMMARY_FILENAME",
    "VOLTAGE_COLUMNS",
    "Catalog",
    "CsvWriter",
    "J_COLUMN",
    "Measurement",
    "jv_curve",
    "mean_irradiance_mw_cm2",
    "measurement_filename",
    "read_last_row",
    "read_measurement",
    "run_folder",
    "safe_name",
    "to_json_compatible",
    "write_summary",
]

CATALOG_FILENAME = "catalog.sqlite"
SUMMARY_FILENAME = "summary.json"
SCHEMA_VERSION = 1
"""Catalog schema version, stored in ``PRAGMA user_version``."""

CANONICAL_COLUMNS: tuple[str, ...] = (
    "Voltage (V)",
    "Current (A)",
    "Current density (mA/cm**2)",
    "Time (s)",
    "Irradiance (mW/cm**2)",
    "Voc (V)",
    "Jsc (mA/cm**2)",
    "Power density (mW/cm**2)",
    "PCE (percent)",
)
"""The CSV column names of DESIGN.md ("CSV columns"), with pint-parsable units."""

J_COLUMN = "Current density (mA/cm**2)"
"""The current-density column (photovoltaic sign) of the solar-cell procedures."""

VOLTAGE_COLUMNS: tuple[str, ...] = ("Voltage (V)", "Voc (V)")
"""Columns that make a file a measurement :func:`read_measurement` accepts (J-V, MPP and SCLC
files carry ``Voltage (V)``, intensity-dependent Voc files ``Voc (V)``)."""

_COMMENT = Results.COMMENT
_DELIMITER = Results.DELIMITER
_LINE_BREAK = Results.LINE_BREAK
_ENCODING = Results.ENCODING

# Characters Windows refuses in file names, plus the path separators and control characters.
_UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_WINDOWS_RESERVED_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
_COLUMN_WITH_UNIT = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>.*)\)\s*$")


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def safe_name(text: str) -> str:
    """Return ``text`` usable as a file or folder name on Windows, macOS and Linux.

    Reserved characters (``<>:"/\\|?*`` and control characters) and whitespace runs become
    ``_``; trailing dots and spaces (refused by Windows) are removed; a reserved device name
    (``CON``, ``COM1``, ...) gets a leading ``_``. Raises ``ValueError`` when nothing is left.
    """
    cleaned = _UNSAFE_CHARACTERS.sub("_", str(text))
    cleaned = re.sub(r"\s+", "_", cleaned.strip()).rstrip(". ")
    if not cleaned or set(cleaned) <= {"_", "."}:
        raise ValueError(f"{text!r} gives an empty file name")
    if cleaned.split(".")[0].upper() in _WINDOWS_RESERVED_NAMES:
        cleaned = "_" + cleaned
    return cleaned


def run_folder(out_dir: Path, sample_id: str, started: datetime) -> Path:
    """Create and return the folder of one sequence run: ``out_dir/<sample_id>_<YYYYmmdd-HHMMSS>``.

    ``started`` is formatted as given (its own time zone, local time for a naive datetime). The
    sample id is made Windows-safe with :func:`safe_name`. When the folder exists already (two
    runs started within the same second), ``_2``, ``_3``, ... is appended; the folder is created
    atomically, so two processes never share one. ``out_dir`` is created if needed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = f"{safe_name(sample_id)}_{started.strftime('%Y%m%d-%H%M%S')}"
    candidate = out_dir / base
    index = 1
    while True:
        try:
            candidate.mkdir()
        except FileExistsError:
            index += 1
            candidate = out_dir / f"{base}_{index}"
            continue
        return candidate


def measurement_filename(
    step: int,
    procedure: str,
    direction: str | None = None,
    channel: str | None = None,
    pixel: int | None = None,
) -> str:
    """Return the CSV file name of one measurement of a run.

    The parts are the 0-based step index (two digits, ``s00``), the procedure name, then the
    channel (SMU name), the pixel (``p<N>``) and the scan direction when given, e.g.
    ``s00_jv_reverse.csv``, ``s01_jv_steady.csv``, ``s02_mpp_smu2.csv``,
    ``s00_jv_smu2_p3_forward.csv``. Every part is made Windows-safe.
    """
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
        raise ValueError(f"step must be a non-negative integer, got {step!r}")
    parts = [f"s{int(step):02d}", safe_name(procedure)]
    if channel is not None:
        parts.append(safe_name(channel))
    if pixel is not None:
        if isinstance(pixel, bool) or not isinstance(pixel, int | np.integer) or pixel < 0:
            raise ValueError(f"pixel must be a non-negative integer, got {pixel!r}")
        parts.append(f"p{int(pixel)}")
    if direction is not None:
        parts.append(safe_name(direction))
    return "_".join(parts) + ".csv"


# --------------------------------------------------------------------------------------------
# CSV writer (pymeasure format, append-only)
# --------------------------------------------------------------------------------------------


def _header_line(name: str, value: object) -> str:
    """One ``#\\t<name>: <value>`` header line, escaped as pymeasure escapes it."""
    name = str(name)
    if not name or "\n" in name or "\r" in name or ": " in name:
        raise ValueError(f"header name {name!r} must be non-empty, one line, without ': '")
    text = str(value).encode("unicode_escape").decode("utf-8")
    return f"{_COMMENT}\t{name}: {text}"


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
    Procedure.parse_columns(columns)  # raises ValueError for units pint does not know
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
        The column names, ``"Name (unit)"`` with pint-parsable units (DESIGN.md "CSV columns").
    metadata
        Extra ``#Metadata:`` entries (instrument identities, station, software version...);
        an entry overrides a procedure Metadata of the same display name.
    resume
        Continue an existing file: its header must have the same columns (else
        ``ValueError``) and is not written again. A last line cut short by a crash is removed
        (its numbers may be truncated). A missing or empty file is started afresh.
    fsync_interval_s
        The longest time [s, real monotonic clock] between two ``os.fsync`` calls. Every row is
        flushed to the operating system at once; the fsync that forces it onto the disk is
        rate-limited because it costs milliseconds. ``0`` syncs every row.

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
        self._units = Procedure.parse_columns(self.columns)
        self._column_set = frozenset(self.columns)
        self._lock = threading.Lock()
        self.rows_written = 0
        """Rows appended by this writer (rows already in a resumed file are not counted)."""

        existing = self.path.exists() and self.path.stat().st_size > 0
        if existing and not resume:
            raise FileExistsError(f"{self.path} exists; pass resume=True to append to it")
        if existing:
            self._check_resumable()
            self._file: TextIO | None = open(  # closed in close()
                self.path, "a", encoding=_ENCODING, newline=""
            )
        else:
            header = _pymeasure_header(procedure, metadata)
            header += _DELIMITER.join(self.columns) + _LINE_BREAK
            mode = "w" if self.path.exists() else "x"  # an empty file left by a crash
            self._file = open(  # closed in close()
                self.path, mode, encoding=_ENCODING, newline=""
            )
            self._file.write(header)
        self._sync()

    def _check_resumable(self) -> None:
        """Check the existing header's columns and drop a last line cut short by a crash."""
        with open(self.path, encoding=_ENCODING, newline="") as handle:
            _comments, column_row = _read_header(handle)
        if column_row is None:
            raise ValueError(f"{self.path} has no column row; cannot resume it")
        found = [c.strip() for c in column_row.split(_DELIMITER)]
        if found != self.columns:
            raise ValueError(
                f"cannot resume {self.path}: its columns {found} differ from {self.columns}"
            )
        with open(self.path, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            # Find the start of the incomplete last line and cut it off.
            position = size
            while position > 0:
                step = min(4096, position)
                handle.seek(position - step)
                chunk = handle.read(step)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    cut = position - step + newline + 1
                    break
                position -= step
            else:  # pragma: no cover - the header always ends with a newline
                raise ValueError(f"{self.path} has no complete line")
            handle.seek(cut)
            dropped = handle.read()
            log.warning("%s: removing incomplete last line %r before resuming", self.path, dropped)
            handle.truncate(cut)

    def _format(self, column: str, value: object) -> str:
        """Format one cell: exact repr for floats, integers as integers, ``nan`` for None."""
        if value is None:
            return "nan"
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

    def append(self, row: Mapping[str, object]) -> None:
        """Append one row, flush it, and fsync when ``fsync_interval_s`` has passed.

        Raises ``ValueError`` naming any key that is not a column, ``TypeError`` for a
        non-numeric value, and ``ValueError`` when the writer is closed. Nothing is written
        for a refused row.
        """
        unknown = [key for key in row if key not in self._column_set]
        if unknown:
            raise ValueError(
                f"unknown column(s) {unknown} for {self.path.name}; columns are {self.columns}"
            )
        line = _DELIMITER.join(self._format(c, row.get(c)) for c in self.columns) + _LINE_BREAK
        with self._lock:
            if self._file is None:
                raise ValueError(f"{self.path} is closed")
            self._file.write(line)
            self._file.flush()
            self.rows_written += 1
            if time.monotonic() - self._last_sync_s >= self.fsync_interval_s:
                os.fsync(self._file.fileno())
                self._last_sync_s = time.monotonic()

    def _sync(self) -> None:
        """Flush and fsync now."""
        assert self._file is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        # The durability timer runs on the real monotonic clock, deliberately not on
        # labctl.clock: it bounds real data loss on a crash, whatever the measurement time.
        self._last_sync_s = time.monotonic()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._file is None

    def close(self) -> None:
        """Flush, fsync and close the file. Calling it again does nothing."""
        with self._lock:
            if self._file is None:
                return
            try:
                self._sync()
            finally:
                self._file.close()
                self._file = None

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


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One measurement file, read back.

    ``columns`` maps the full column name (``"Voltage (V)"``) to a float array (non-numeric
    cells are NaN); ``parameters`` and ``metadata`` hold the header entries as text (display
    name -> value with unit); ``procedure`` is the ``module.ClassName`` of the header, ``None``
    for a plain CSV.
    """

    columns: dict[str, np.ndarray]
    parameters: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    procedure: str | None = None
    path: Path | None = None

    def __len__(self) -> int:
        """The number of rows."""
        return len(next(iter(self.columns.values()))) if self.columns else 0


def _unescape(text: str) -> str:
    """Undo the ``unicode_escape`` pymeasure applies to header values (``a\\nb`` -> newline).

    Text that is not such an escape (non-ASCII, an invalid escape such as ``C:\\data``
    written by another tool) is returned unchanged.
    """
    if "\\" not in text:
        return text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # invalid escapes only warn; treat them as errors
            return text.encode("ascii").decode("unicode_escape")
    except (UnicodeEncodeError, UnicodeDecodeError, DeprecationWarning):
        return text


def _parse_comment_block(
    comments: list[str],
) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """Split pymeasure header lines into procedure, parameters and metadata."""
    procedure = None
    parameters: dict[str, str] = {}
    metadata: dict[str, str] = {}
    section: dict[str, str] | None = None
    for raw in comments:
        line = raw[len(_COMMENT) :]
        if line.startswith("\t"):
            name, separator, value = line[1:].partition(": ")
            if separator and section is not None:
                section[name] = _unescape(value.strip())
            continue
        line = line.strip()
        if line.startswith("Procedure:"):
            match = re.search(r"<(?P<name>[^>]*)>", line)
            procedure = match.group("name") if match else line.partition(":")[2].strip()
            section = None
        elif line.startswith("Parameters:"):
            section = parameters
        elif line.startswith("Metadata:"):
            section = metadata
        else:
            section = None
    return procedure, parameters, metadata


def _add_canonical_columns(columns: dict[str, np.ndarray]) -> None:
    """Add the DESIGN.md column for a column of the same quantity in another unit.

    E.g. a plain CSV with ``Voltage (mV)`` also gets ``Voltage (V)``; ``voltage (v)`` or
    ``Voltage`` (no unit) are taken as ``Voltage (V)``. The original columns are kept.
    """
    from pymeasure.units import ureg  # pint registry with pymeasure's definitions

    canonical = {}
    for name in CANONICAL_COLUMNS:
        match = _COLUMN_WITH_UNIT.match(name)
        assert match is not None
        canonical[match.group("name").lower()] = (name, match.group("unit"))
    for found in list(columns):
        if found in CANONICAL_COLUMNS:
            continue
        match = _COLUMN_WITH_UNIT.match(found)
        quantity, unit = (match.group("name"), match.group("unit")) if match else (found, None)
        entry = canonical.get(quantity.strip().lower())
        if entry is None or entry[0] in columns:
            continue
        target_name, target_unit = entry
        if unit is None or unit == target_unit or unit.lower() == target_unit.lower():
            factor = 1.0
        else:
            try:
                factor = float(ureg.Quantity(1.0, unit).m_as(target_unit))
            except Exception:  # pint raises several error types for unknown units
                log.info("column %r: unit %r not convertible to %r", found, unit, target_unit)
                continue
        columns[target_name] = columns[found] * factor


def read_measurement(path: Path) -> Measurement:
    """Read a labctl/pymeasure measurement CSV or a plain CSV with a header row.

    The pymeasure comment block (``#Procedure:``, ``#Parameters:``, ``#Metadata:``,
    ``#Data:``) is optional. Column names are those of DESIGN.md ("CSV columns"); a column of
    the same quantity in another pint unit (``Voltage (mV)``) also gives the DESIGN.md column,
    converted. Non-numeric cells become NaN. A file without ``Voltage (V)`` or ``Voc (V)``
    raises ``ValueError`` naming the file and the columns found.
    """
    path = Path(path)
    with open(path, encoding=_ENCODING, newline="") as handle:
        comments, column_row = _read_header(handle)
    if column_row is None:
        raise ValueError(f"{path}: no column header row")
    procedure, parameters, metadata = _parse_comment_block(comments)
    try:
        frame = pd.read_csv(
            path,
            skiprows=len(comments),
            header=0,
            encoding=_ENCODING,
            skipinitialspace=True,
            low_memory=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot parse the CSV data: {error}") from error
    columns: dict[str, np.ndarray] = {}
    for name in frame.columns:
        series = frame[name]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            series = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
        columns[str(name).strip()] = np.asarray(series, dtype=float)
    _add_canonical_columns(columns)
    if not any(name in columns for name in VOLTAGE_COLUMNS):
        raise ValueError(
            f"{path}: no voltage column ({' or '.join(VOLTAGE_COLUMNS)}); "
            f"found columns {list(frame.columns)}"
        )
    return Measurement(
        columns=columns,
        parameters=parameters,
        metadata=metadata,
        procedure=procedure,
        path=path,
    )


def jv_curve(
    measurement: Measurement, area_cm2: float | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The J-V curve of a measurement: (voltage [V], current density [mA/cm²], warnings).

    The current density is the file's ``Current density (mA/cm**2)``; without it,
    ``Current (A)`` / ``area_cm2`` (default: the file's ``Area`` parameter) flipped to the
    photovoltaic sign, J = -I / area * 1e3, with a warning saying so. A steady-state file
    (a ``Settled`` column) gives only its settled rows. This is the one rule the runner and
    ``labctl analyze jv`` share. Raises ``ValueError`` naming what is missing.
    """
    columns = measurement.columns
    if "Voltage (V)" not in columns:
        raise ValueError("no 'Voltage (V)' column")
    voltage_v = columns["Voltage (V)"]
    warnings_: list[str] = []
    if J_COLUMN in columns:
        j_ma_cm2 = columns[J_COLUMN]
    elif "Current (A)" in columns:
        if area_cm2 is None:
            try:
                area_cm2 = float(str(measurement.parameters.get("Area", "")).split()[0])
            except (ValueError, IndexError):
                area_cm2 = None
        if not area_cm2 or not math.isfinite(area_cm2) or area_cm2 <= 0:
            raise ValueError("the file has 'Current (A)' but no current density: give the "
                             "area (--area-cm2)")
        j_ma_cm2 = -columns["Current (A)"] / area_cm2 * 1e3
        warnings_.append(f"current density from Current (A) / {area_cm2:g} cm² "
                         "(SMU sign flipped to the photovoltaic sign)")
    else:
        raise ValueError(f"no '{J_COLUMN}' or 'Current (A)' column")
    if "Settled" in columns:
        keep = columns["Settled"] == 1
        voltage_v, j_ma_cm2 = voltage_v[keep], j_ma_cm2[keep]
    return voltage_v, j_ma_cm2, warnings_


def mean_irradiance_mw_cm2(measurement: Measurement) -> float | None:
    """Mean of the finite, positive ``Irradiance (mW/cm**2)`` values [mW/cm²], else None."""
    values = measurement.columns.get("Irradiance (mW/cm**2)")
    if values is None:
        return None
    values = values[np.isfinite(values) & (values > 0)]
    return float(np.mean(values)) if values.size else None


def read_last_row(path: Path) -> dict[str, float] | None:
    """Return the last complete data row of a CSV as ``{column: value}``, or None if none.

    Reads only the header and the tail of the file, so it is cheap on a file of millions of
    rows (to continue ``Time (s)`` across a resume, say). Non-numeric cells are NaN.
    """
    path = Path(path)
    with open(path, encoding=_ENCODING, newline="") as handle:
        _comments, column_row = _read_header(handle)
    if column_row is None:
        return None
    columns = [c.strip() for c in column_row.split(_DELIMITER)]
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        block = 4096
        while True:
            start = max(size - block, 0)
            handle.seek(start)
            tail = handle.read(size - start)
            lines = tail.split(b"\n")
            complete = lines[:-1]  # the part after the last newline is incomplete
            if start > 0:
                complete = complete[1:]  # the first piece may be cut
            complete = [line for line in complete if line.strip()]
            if complete or start == 0:
                break
            block *= 4
    candidates = [line.decode(_ENCODING).rstrip("\r") for line in complete]
    candidates = [line for line in candidates if not line.startswith(_COMMENT)]
    if candidates and candidates[-1].strip() == column_row.strip():
        candidates = candidates[:-1]
    if not candidates:
        return None
    cells = candidates[-1].split(_DELIMITER)
    row = {}
    for column, cell in zip(columns, cells, strict=False):
        try:
            row[column] = float(cell)
        except ValueError:
            row[column] = math.nan
    return row


# --------------------------------------------------------------------------------------------
# Summary JSON
# --------------------------------------------------------------------------------------------


def to_json_compatible(value: Any) -> Any:
    """Return ``value`` with NaN/inf as None, numpy scalars and arrays as Python, paths as str.

    Dict keys become strings; tuples, lists and arrays become lists; datetimes become ISO 8601
    text. Other objects are returned unchanged (``json.dumps`` then refuses them).
    """
    if isinstance(value, dict):
        return {str(key): to_json_compatible(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_compatible(item) for item in value]
    if isinstance(value, np.ndarray):
        return [to_json_compatible(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and os.replace."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    """Write the run summary as strict JSON (NaN and infinities as ``null``), atomically.

    Readers never see a half-written file: the text goes to a temporary file in the same
    folder, is fsync'ed, then replaces ``path``. Raises ``TypeError`` for values JSON cannot
    hold.
    """
    text = json.dumps(to_json_compatible(dict(summary)), indent=2, allow_nan=False)
    _atomic_write_text(Path(path), text + "\n")


# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------

_CATALOG_COLUMNS = (
    "id",
    "run_id",
    "sample_id",
    "pixel",
    "channel",
    "procedure",
    "step",
    "direction",
    "started",
    "file",
    "status",
    "metrics",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    pixel     INTEGER,
    channel   TEXT,
    procedure TEXT NOT NULL,
    step      INTEGER NOT NULL,
    direction TEXT,
    started   TEXT NOT NULL,
    file      TEXT NOT NULL,
    status    TEXT NOT NULL,
    metrics   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS measurements_sample ON measurements (sample_id);
CREATE INDEX IF NOT EXISTS measurements_procedure ON measurements (procedure);
CREATE INDEX IF NOT EXISTS measurements_started ON measurements (started);
"""


def _utc_iso(started: datetime | str) -> str:
    """ISO 8601 in UTC with milliseconds (``2026-01-02T03:04:05.000+00:00``).

    A naive datetime is taken as local time; a string must be ISO 8601.
    """
    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    if not isinstance(started, datetime):
        raise TypeError(f"started must be a datetime or ISO 8601 text, got {started!r}")
    return started.astimezone(UTC).isoformat(timespec="milliseconds")


class Catalog:
    """The SQLite catalog of measurements (``catalog.sqlite`` in the ``--out`` folder).

    One row per measurement: run, sample, pixel, channel, procedure, step, direction, start
    time (ISO 8601 UTC), file (relative to the catalog's folder where possible), status and
    metrics (JSON text, NaN as null). Each call opens its own connection and each
    :meth:`add` commits, so the catalog is consistent after any crash; one writer at a time
    (SQLite's lock makes a second writer wait up to ``timeout_s``). The schema is created if
    missing; its version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`).
    """

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} has catalog schema version {version}; this labctl "
                    f"reads up to {SCHEMA_VERSION}"
                )
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def folder(self) -> Path:
        """The folder relative file paths are resolved against."""
        return self.path.parent

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.timeout_s)
        connection.row_factory = sqlite3.Row
        return connection

    def _relative(self, file: Path | str) -> str:
        """``file`` relative to the catalog folder when it lies inside it, else absolute."""
        file_path = Path(file)
        if not file_path.is_absolute():
            file_path = Path.cwd() / file_path
        resolved = file_path.resolve()
        try:
            return resolved.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(resolved)

    def resolve(self, file: str) -> Path:
        """Return the absolute path of a ``file`` value stored in the catalog."""
        path = Path(file)
        return path if path.is_absolute() else self.folder / path

    def add(
        self,
        *,
        run_id: str,
        sample_id: str,
        procedure: str,
        step: int,
        file: Path | str,
        started: datetime | str,
        status: str = "finished",
        metrics: Mapping[str, Any] | None = None,
        pixel: int | None = None,
        channel: str | None = None,
        direction: str | None = None,
    ) -> int:
        """Add one measurement and commit; return its row id.

        ``file`` relative to the current directory is resolved first; ``started`` is stored
        as ISO 8601 UTC (a naive datetime is local time).
        """
        metrics_json = json.dumps(to_json_compatible(dict(metrics or {})), allow_nan=False)
        values = (
            str(run_id),
            str(sample_id),
            None if pixel is None else int(pixel),
            None if channel is None else str(channel),
            str(procedure),
            int(step),
            None if direction is None else str(direction),
            _utc_iso(started),
            self._relative(file),
            str(status),
            metrics_json,
        )
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO measurements (run_id, sample_id, pixel, channel, procedure, step,"
                " direction, started, file, status, metrics)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    def query(
        self,
        sample: str | None = None,
        procedure: str | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the measurements matching every filter given, oldest first.

        Each is a dict with the catalog columns (``id``, ``run_id``, ``sample_id``, ``pixel``,
        ``channel``, ``procedure``, ``step``, ``direction``, ``started``, ``file``, ``status``)
        and ``metrics`` decoded from JSON.
        """
        clauses, arguments = [], []
        for column, value in (("sample_id", sample), ("procedure", procedure), ("run_id", run_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                arguments.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_CATALOG_COLUMNS)} FROM measurements{where} ORDER BY started, id"
        with closing(self._connect()) as connection:
            rows = connection.execute(sql, arguments).fetchall()
        result = []
        for row in rows:
            entry = dict(row)
            entry["metrics"] = json.loads(entry["metrics"])
            result.append(entry)
        return result

    def __repr__(self) -> str:
        return f"<Catalog {self.path}>"
