"""Reading labctl's CSV files (and plain CSV with a header row)."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from labctl.storage.columns import (
    _COLUMN_WITH_UNIT,
    _COMMENT,
    _DELIMITER,
    _ENCODING,
    CANONICAL_COLUMNS,
    J_COLUMN,
    VOLTAGE_COLUMNS,
)
from labctl.storage.csv_writer import END_MARKER, _last_line_start, _read_header, torn_row

log = logging.getLogger(__name__)

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
    #: What was ignored when reading (a torn last row), one line each.
    warnings: list[str] = field(default_factory=list)
    #: The file ends with the end marker of a measurement that finished normally.
    complete: bool = False

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
    """Add the contract column (docs/contracts.md, "CSV columns") for a column of the
    same quantity in another unit.

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
    ``#Data:``) is optional. Column names are those of docs/contracts.md ("CSV columns"); a
    column of the same quantity in another pint unit (``Voltage (mV)``) also gives the
    contract column, converted. Non-numeric cells become NaN. A file without ``Voltage (V)``
    or ``Voc (V)`` raises ``ValueError`` naming the file and the columns found.

    A torn last row (no newline, or the wrong number of fields: the write was cut short) is
    ignored, with a warning logged and kept in ``Measurement.warnings``; a last line
    ``#End: complete`` sets ``Measurement.complete``.
    """
    path = Path(path)
    with open(path, encoding=_ENCODING, newline="") as handle:
        comments, column_row = _read_header(handle)
    if column_row is None:
        raise ValueError(f"{path}: no column header row")
    procedure, parameters, metadata = _parse_comment_block(comments)
    end_offset, complete, read_warnings = data_end(path, len(column_row.split(_DELIMITER)))
    source: Path | io.StringIO = path
    if end_offset is not None:
        with open(path, "rb") as handle:
            source = io.StringIO(handle.read(end_offset).decode(_ENCODING), newline="")
    try:
        frame = pd.read_csv(
            source,
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
        warnings=read_warnings,
        complete=complete,
    )


def data_end(path: Path, n_columns: int) -> tuple[int | None, bool, list[str]]:
    """Where the data rows of a CSV end: ``(offset or None for the end of the file,
    complete, warnings)``. A torn last row is left out with a warning; the end marker line
    is left out and makes ``complete`` true."""
    torn = torn_row(path, n_columns)
    if torn is not None:
        offset, text = torn
        warning = (f"{Path(path).name}: ignored a torn last row {text[:60]!r} (cut short by a "
                   "crash or a full disk)")
        log.warning("%s", warning)
        return offset, False, [warning]
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = _last_line_start(handle, size) if size else 0
        handle.seek(start)
        last = handle.read()
    if last.rstrip(b"\r\n") == END_MARKER.encode(_ENCODING):
        return start, True, []
    return None, False, []


def is_complete(path: Path) -> bool:
    """True when a measurement CSV ends with the end marker (it finished normally)."""
    try:
        with open(path, encoding=_ENCODING, newline="") as handle:
            _comments, column_row = _read_header(handle)
        if column_row is None:
            return False
        return data_end(path, len(column_row.split(_DELIMITER)))[1]
    except (OSError, UnicodeDecodeError):
        return False


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
    rows (to continue ``Time (s)`` across a resume, say). Non-numeric cells are NaN; a torn
    last row (another number of fields) is ignored with a warning.
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
    if candidates and len(candidates[-1].split(_DELIMITER)) != len(columns):
        log.warning("%s: ignored a torn last row %r", path, candidates[-1][:60])
        candidates = candidates[:-1]
    if not candidates or candidates[-1].strip() == column_row.strip():
        return None
    cells = candidates[-1].split(_DELIMITER)
    row = {}
    for column, cell in zip(columns, cells, strict=False):
        try:
            row[column] = float(cell)
        except ValueError:
            row[column] = math.nan
    return row




#: Rows read at a time by :func:`read_binned`.
CHUNK_ROWS = 20_000


def _count_data_rows(path: Path, start: int, end: int) -> int:
    """Newlines between two byte offsets of a file, read in blocks (constant memory)."""
    count = 0
    with open(path, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            block = handle.read(min(left, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count


def read_binned(path: Path, columns: list[str], max_rows: int = 100_000) -> Measurement:
    """Some columns of a long measurement CSV in constant memory: read in chunks of
    :data:`CHUNK_ROWS` rows, consecutive rows averaged in bins of ``ceil(rows / max_rows)``
    (no binning when the file has at most ``max_rows`` rows). Means, energies (trapezoids of
    the binned power) and times survive binning; a spike shorter than a bin does not. Columns
    the file lacks are left out; text cells are NaN; a torn last row is ignored with a
    warning, as :func:`read_measurement` does. ``Measurement.parameters["Rows"]`` holds the
    number of rows before binning."""
    path = Path(path)
    with open(path, encoding=_ENCODING, newline="") as handle:
        comments, column_row = _read_header(handle)
    if column_row is None:
        raise ValueError(f"{path}: no column header row")
    procedure, parameters, metadata = _parse_comment_block(comments)
    found = [c.strip() for c in column_row.split(_DELIMITER)]
    wanted = [c for c in columns if c in found]
    end_offset, complete, read_warnings = data_end(path, len(found))
    with open(path, "rb") as handle:
        for _ in range(len(comments) + 1):
            handle.readline()
        data_start = handle.tell()
        size = handle.seek(0, os.SEEK_END)
    rows = _count_data_rows(path, data_start, size if end_offset is None else end_offset)
    per_bin = max(1, math.ceil(rows / max(1, int(max_rows))))
    chunk_rows = per_bin * max(1, CHUNK_ROWS // per_bin)
    pieces: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
    if rows:
        reader = pd.read_csv(path, skiprows=len(comments), header=0, usecols=wanted,
                             encoding=_ENCODING, skipinitialspace=True, nrows=rows,
                             chunksize=chunk_rows)
        for chunk in reader:
            for name in wanted:
                series = chunk[name]
                if not pd.api.types.is_numeric_dtype(series):
                    series = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
                pieces[name].append(_bin_means(series.to_numpy(dtype=float), per_bin))
    binned = {name: np.concatenate(parts) if parts else np.zeros(0)
              for name, parts in pieces.items()}
    return Measurement(columns=binned, parameters={**parameters, "Rows": rows},
                       metadata=metadata, procedure=procedure, path=path,
                       warnings=read_warnings, complete=complete)


def _bin_means(values: np.ndarray, per_bin: int) -> np.ndarray:
    """Means of consecutive bins of ``per_bin`` values (the last bin may be shorter); NaN
    values are left out of a bin's mean."""
    if per_bin <= 1 or values.size == 0:
        return values
    n_bins = math.ceil(values.size / per_bin)
    padded = np.full(n_bins * per_bin, np.nan)
    padded[:values.size] = values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bin of NaN only stays NaN
        return np.nanmean(padded.reshape(n_bins, per_bin), axis=1)
