"""Names of run folders and measurement files (Windows-safe)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from labctl.storage.columns import (
    _UNSAFE_CHARACTERS,
    _WINDOWS_RESERVED_NAMES,
)

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


