"""Column names of labctl's CSV files and the pymeasure file-format constants."""

from __future__ import annotations

import re

from pymeasure.experiment import Results

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
"""The CSV column names of docs/contracts.md, "CSV columns", with pint-parsable units."""

TEXT_COLUMNS: frozenset[str] = frozenset({"Time (UTC)", "Direction"})
"""Columns that hold text, not numbers (ISO 8601 times, a scan direction): their name's
parenthesis is no pint unit and their cells are written as given."""

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


