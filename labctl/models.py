"""Base pieces of every labctl configuration model (station, simulation, sequence)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

__all__ = ["InstrumentName", "StrictModel", "Text"]


def _numbers_to_text(value: Any) -> Any:
    """Accept ``station: 7`` or ``id: 42`` as text (YAML reads them as numbers)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


#: Text that a YAML number may stand in for.
Text = Annotated[str, BeforeValidator(_numbers_to_text)]

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _check_name(value: str) -> str:
    if not _NAME_RE.match(value):
        raise ValueError(
            f"name {value!r} may contain only letters, digits, '_', '-' and '.' "
            "(and may not start with '-' or '.')"
        )
    return value


#: An instrument's name in the station (a mapping key under ``instruments``).
InstrumentName = Annotated[str, AfterValidator(_check_name)]


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys, wrong types and non-finite numbers are
    errors; numbers are not read from text or booleans."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

