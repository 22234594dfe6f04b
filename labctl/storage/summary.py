"""``summary.json``: written atomically, NaN and infinities as ``null``."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

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
        # mkstemp creates the file 0600; summary.json gets the mode of every other file of
        # the run folder (0666 less the umask, 0644 usually)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(descriptor, 0o666 & ~umask)
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


