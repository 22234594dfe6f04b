"""The key tables of docs/contracts.md, generated from the pydantic models.

Each table (key, type, default, range, meaning) lists the fields of one model: the station
file's top level, what every VISA instrument has, each driver's own keys, the ``simulation:``
block and its sub-blocks, the sequence's ``sample:`` and every registered step
(:func:`labctl.registry.procedures.procedure_plugins`). The tables are the models: the meaning
is the field's ``description``, the range its ``ge``/``gt``/``le``/``lt`` or length bounds.

Usage::

    python -m labctl.contract_tables                          # print every table
    python -m labctl.contract_tables --write docs/contracts.md

``--write`` replaces the table under each heading of the file that names a table (the heading
text itself is kept), adds the section of a step the file does not have yet after the last
step's table, and says on stderr which tables it left out (no heading for them). A test
(tests/test_contract_tables.py) fails when a table of docs/contracts.md differs from what this
prints, so after a model changes (a step field added) one run of the second command brings
the document up to date.
"""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

__all__ = ["Table", "main", "render", "tables", "write_tables"]

HEADER = "| Key | Type | Default | Range | Meaning |\n|---|---|---|---|---|"
#: Fields shown otherwise than their annotation says: (model name, field) -> (type, default).
SHOWN_AS: dict[tuple[str, str], tuple[str, str]] = {
    ("SimulationConfig", "noise"): ("false \\| true \\| NoiseSim mapping", "false"),
}
#: Numbers printed otherwise than ``format(x, "g")``.
NAMED_NUMBERS = {2**63 - 1: "2⁶³−1"}
#: Where a step section the document lacks goes: after the last step's table, before this.
STEP_RULES_MARK = "Rules across keys, step by step:"


@dataclass(frozen=True)
class Table:
    """One key table: the heading that names it in docs/contracts.md (``match``: what a
    heading line starts with), the heading to print, and its rows."""

    match: str
    heading: str
    rows: tuple[str, ...]
    step: bool = False

    @property
    def text(self) -> str:
        return "\n".join((HEADER, *self.rows))


# --- one field -------------------------------------------------------------------------------

def _number(value: float) -> str:
    if isinstance(value, int) and value in NAMED_NUMBERS:
        return NAMED_NUMBERS[value]
    return format(value, "g") if isinstance(value, float) else str(value)


def _strip_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside ``Annotated[...]`` and the metadata found on the way."""
    metadata: list[Any] = []
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        metadata.extend(extra)
    return annotation, metadata


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return list(get_args(annotation))
    return [annotation]


def _type_text(annotation: Any) -> str:
    """``number``, ``integer \\| null``, ```a` \\| `b```, ``list of number``, a model name."""
    annotation, _ = _strip_annotated(annotation)
    members = _members(annotation)
    if len(members) > 1:
        texts = [_type_text(m) for m in members if m is not type(None)]
        if type(None) in members:
            texts.append("null")
        return " \\| ".join(texts)
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (list, tuple):
        return f"list of {_type_text(get_args(annotation)[0])}"
    if origin is dict or annotation is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation.__name__ == "StepReference":
            return "`{from_step, metric}`"
        return annotation.__name__
    simple = {bool: "bool", int: "integer", float: "number", str: "text"}
    return simple.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(metadata: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.extend(_bounds(item.metadata))
        elif isinstance(item, annotated_types.Ge):
            found.append(f"≥ {_number(item.ge)}")
        elif isinstance(item, annotated_types.Gt):
            found.append(f"> {_number(item.gt)}")
        elif isinstance(item, annotated_types.Le):
            found.append(f"≤ {_number(item.le)}")
        elif isinstance(item, annotated_types.Lt):
            found.append(f"< {_number(item.lt)}")
        elif isinstance(item, annotated_types.MinLen):
            found.append(f"length ≥ {item.min_length}")
        elif isinstance(item, annotated_types.MaxLen):
            found.append(f"length ≤ {item.max_length}")
    return found


def _range_text(field: FieldInfo) -> str:
    """The field's bounds, or those of the number inside its type (a list's items, the number
    of ``number | {from_step, metric}``); ``–`` without any."""
    found = _bounds(field.metadata)
    if not found:
        annotation, metadata = _strip_annotated(field.annotation)
        found = _bounds(metadata)
        for member in _members(annotation):
            if found:
                break
            if get_origin(member) in (list, tuple):
                member = get_args(member)[0]
            found = _bounds(_strip_annotated(member)[1])
    order = {"≥": 0, ">": 0, "≤": 1, "<": 1}
    found = list(dict.fromkeys(found))  # a bound of the type and of the field: once
    found.sort(key=lambda text: (text.startswith("length"), order.get(text.split()[-2], 0)))
    return ", ".join(found) if found else "–"


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()
        return "(block defaults)" if isinstance(value, BaseModel) else f"`{value!r}`"
    value = field.default
    if value is None or value is PydanticUndefined:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    if isinstance(value, int | float):
        return _number(float(value)) if isinstance(value, float) else str(value)
    return f"`{value!r}`"


def field_row(model: type[BaseModel], name: str) -> str:
    """One table row: key, type, default, range, meaning (``|`` escaped)."""
    field = model.model_fields[name]
    type_text = _type_text(field.annotation)
    default = _default_text(field)
    type_text, default = SHOWN_AS.get((model.__name__, name), (type_text, default))
    meaning = " ".join((field.description or "").split()).replace("|", "\\|")
    return (f"| `{field.alias or name}` | {type_text} | {default} | {_range_text(field)} | "
            f"{meaning} |")


def model_rows(model: type[BaseModel], *, without: Iterable[str] = (),
               last: Iterable[str] = ()) -> tuple[str, ...]:
    """The rows of a model's fields in their order, ``without`` some, ``last`` ones last."""
    skipped, at_end = set(without), list(last)
    names = [n for n in model.model_fields if n not in skipped and n not in at_end]
    names += [n for n in at_end if n in model.model_fields and n not in skipped]
    return tuple(field_row(model, name) for name in names)


# --- the tables -------------------------------------------------------------------------------

def _station_tables() -> list[Table]:
    from labctl.registry.instrument_configs import InstrumentConfig, VisaInstrumentConfig
    from labctl.registry.instruments import instrument_entries
    from labctl.station.config import StationConfig

    out = [Table("#### Top level", "#### Top level", model_rows(StationConfig)),
           Table("#### Every VISA instrument", "#### Every VISA instrument (all drivers "
                 "except `smu_photodiode`)", model_rows(VisaInstrumentConfig,
                                                         without=("driver",)))]
    common = set(VisaInstrumentConfig.model_fields) | set(InstrumentConfig.model_fields)
    drivers: dict[tuple[str, ...], list[str]] = {}  # drivers with the same keys: one table
    for driver, entry in instrument_entries().items():
        rows = model_rows(entry.config_model, without=common)
        if rows:
            drivers.setdefault(rows, []).append(driver)
    for rows, names in drivers.items():
        heading = "#### " + ", ".join(f"`{name}`" for name in names)
        out.append(Table(f"`{names[0]}`", heading, rows))
    return out


def _simulation_tables() -> list[Table]:
    from labctl.station.faults import FaultSpec
    from labctl.station.simulation import (
        LightSim,
        NoiseSim,
        PhotodiodeSim,
        SimulationConfig,
        SingleCarrierDevice,
        SolarCellDevice,
    )

    named = [("#### `simulation:`", SimulationConfig),
             ("#### `simulation.device` with `kind: solar_cell`", SolarCellDevice),
             ("#### `simulation.device` with `kind: single_carrier`", SingleCarrierDevice),
             ("#### `simulation.light`", LightSim),
             ("#### `simulation.photodiode`", PhotodiodeSim),
             ("#### `simulation.noise`", NoiseSim),
             ("#### `simulation.faults`", FaultSpec)]
    return [Table(match, match, model_rows(model)) for match, model in named]


def _sequence_tables() -> list[Table]:
    from labctl.registry.procedures import procedure_plugins
    from labctl.sequence import Sample

    out = [Table("#### `sample:`", "#### `sample:`", model_rows(Sample))]
    for name, plugin in procedure_plugins().items():
        model = plugin.step_model
        summary = " ".join((model.__doc__ or "").strip().split("\n\n")[0].split())
        heading = f"#### `{name}` — {summary}" if summary else f"#### `{name}`"
        out.append(Table(f"#### `{name}` —", heading,
                         model_rows(model, last=("allow_no_metrics",)), step=True))
    return out


def tables() -> list[Table]:
    """Every key table, in the document's order: station, simulation, sequence."""
    return [*_station_tables(), *_simulation_tables(), *_sequence_tables()]


def render(selected: Iterable[Table] | None = None) -> str:
    """The tables as Markdown, each under its heading."""
    chosen = list(tables() if selected is None else selected)
    return "\n\n".join(f"{t.heading}\n\n{t.text}" for t in chosen) + "\n"


# --- the document ------------------------------------------------------------------------------

def _heading_matches(line: str, table: Table) -> bool:
    if not line.startswith("#### "):
        return False
    if table.match.startswith("`"):  # a driver: the heading's first `name` is it
        first = line.split("`")[1] if line.count("`") >= 2 else ""
        return f"`{first}`" == table.match
    return line.startswith(table.match)


def find_tables(text: str, known: Iterable[Table]) -> dict[str, tuple[int, int]]:
    """``match`` -> (first, end) line indices of the table under each heading of ``text``
    that names one of ``known`` (the first table after the heading, before the next one)."""
    lines = text.split("\n")
    spans: dict[str, tuple[int, int]] = {}
    taken: set[int] = set()
    # a driver's table is under the heading whose first `name` is the driver, unless that
    # heading names another table ("Every VISA instrument (all drivers except `x`)")
    for table in sorted(known, key=lambda t: t.match.startswith("`")):
        for index, line in enumerate(lines):
            if index in taken or not _heading_matches(line, table):
                continue
            taken.add(index)
            start = next((k for k in range(index + 1, len(lines))
                          if lines[k].startswith("| Key |")
                          or lines[k].startswith("#")), None)
            if start is None or not lines[start].startswith("| Key |"):
                break
            end = start
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            spans[table.match] = (start, end)
            break
    return spans


def document_tables(text: str, known: Iterable[Table] | None = None) -> dict[str, str]:
    """``match`` -> the table's text as it is in the document."""
    lines = text.split("\n")
    known = list(tables() if known is None else known)
    return {match: "\n".join(lines[a:b]) for match, (a, b) in find_tables(text, known).items()}


def refreshed(text: str, known: Iterable[Table] | None = None) -> tuple[str, list[str]]:
    """The document with every named table replaced, a missing step's section added after
    the last step table; and the headings of the tables it has no place for."""
    known = list(tables() if known is None else known)
    lines = text.split("\n")
    spans = find_tables(text, known)
    for table in sorted((t for t in known if t.match in spans),
                        key=lambda t: spans[t.match][0], reverse=True):
        start, end = spans[table.match]
        lines[start:end] = table.text.split("\n")
    text = "\n".join(lines)
    missing_steps = [t for t in known if t.step and t.match not in spans]
    if missing_steps and STEP_RULES_MARK in text:
        block = "".join(f"{t.heading}\n\n{t.text}\n\n" for t in missing_steps)
        text = text.replace(STEP_RULES_MARK, block + STEP_RULES_MARK, 1)
    left_out = [t.heading for t in known if t.match not in spans
                and not (t.step and STEP_RULES_MARK in text)]
    return text, left_out


def write_tables(path: Path, report: Callable[[str], Any] = print) -> bool:
    """Refresh the tables of the Markdown file ``path``; True when it changed."""
    before = path.read_text(encoding="utf-8")
    after, left_out = refreshed(before)
    for heading in left_out:
        report(f"not in {path.name} (no heading for it): {heading}")
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labctl.contract_tables",
        description="Print the station and step key tables of docs/contracts.md from the "
                    "models, or refresh them in the file (--write).")
    parser.add_argument("--write", type=Path, metavar="MARKDOWN",
                        help="replace the tables of this file (docs/contracts.md)")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render())
        return 0
    changed = write_tables(args.write, report=lambda line: print(line, file=sys.stderr))
    print(f"{args.write}: {'tables refreshed' if changed else 'already up to date'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
