"""A step model's fields as the GUI shows them, and the GUI's values as a sequence file.

Everything here is plain Python (no Qt): the window builds one input per :class:`FieldSpec`.
The label, the unit, the range, the default and the choices come from the same place as the
procedure's pymeasure Parameters (:func:`labctl.registry.parameters.parameter_for_field`), so
a field is defined once, in its plug-in's step model. A value the user typed is checked by the
sequence validator itself (:func:`labctl.sequence.load_sequence` on the sequence the window
writes): its error names the field, and the window shows it there.

pymeasure's ``InputsWidget`` is not used: it is built from a Procedure class, so it lacks the
step fields a procedure does not carry (``direction``, ``smu``), cannot show a field that
takes an earlier step's value, and offers nothing for plug-ins that only validate yet.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from labctl.registry.parameters import field_units, parameter_for_field

__all__ = ["FieldSpec", "ValueProblem", "field_of_error", "field_specs", "parse_value",
           "sequence_document", "write_sequence"]

FieldKind = Literal["bool", "choice", "int", "float", "text"]


@dataclass(frozen=True)
class FieldSpec:
    """One input of a step (or of the sample)."""

    name: str
    label: str
    kind: FieldKind
    units: str | None = None
    #: The model's default; None when the field is required or "automatic" when left blank.
    default: Any = None
    required: bool = False
    #: True when a blank input is valid (the field's default is None: "automatic").
    blank_allowed: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()
    description: str = ""

    def default_text(self) -> str:
        """The default as the input shows it ("" for a blank, automatic value)."""
        if self.default is None:
            return ""
        if self.kind == "text" and not isinstance(self.default, str):
            return yaml.safe_dump(self.default, default_flow_style=True).strip()
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def tooltip(self) -> str:
        """The field's description with its unit and range."""
        bits = [self.description] if self.description else []
        if self.minimum is not None or self.maximum is not None:
            low = "" if self.minimum is None else f"{self.minimum:g}"
            high = "" if self.maximum is None else f"{self.maximum:g}"
            bits.append(f"range {low} … {high}" + (f" {self.units}" if self.units else ""))
        if self.blank_allowed:
            bits.append("blank: automatic / not used")
        return "\n".join(bits)


class ValueProblem(ValueError):
    """A value that is not even of the field's kind (text in a number): shown at the field."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def field_specs(model: type[BaseModel], *, exclude: tuple[str, ...] = ()) -> list[FieldSpec]:
    """One spec per field of a step (or sample) model, in the model's order."""
    specs = []
    for name, info in model.model_fields.items():
        if name in exclude:
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        common = {"name": name, "label": info.title or name.replace("_", " ").capitalize(),
                  "units": field_units(name), "default": default,
                  "required": info.is_required(),
                  "blank_allowed": not info.is_required() and default is None,
                  "description": info.description or ""}
        try:
            parameter = parameter_for_field(name, info)
        except (TypeError, ValueError):  # a list, a mapping, "Voc" in a number: as YAML
            specs.append(FieldSpec(kind="text", **common))
            continue
        kind: FieldKind = {"BooleanParameter": "bool", "ListParameter": "choice",
                           "IntegerParameter": "int", "FloatParameter": "float"}.get(
            type(parameter).__name__, "text")
        if kind in ("int", "float") and _takes_more_than_numbers(info.annotation):
            kind = "text"  # e.g. a voltage or {from_step: 0, metric: voc_v}
        choices = tuple(getattr(parameter, "choices", None) or ()) if kind == "choice" else ()
        specs.append(FieldSpec(
            kind=kind, choices=choices,
            minimum=_finite(getattr(parameter, "minimum", None)) if kind != "text" else None,
            maximum=_finite(getattr(parameter, "maximum", None)) if kind != "text" else None,
            **common))
    return specs


def _takes_more_than_numbers(annotation: Any) -> bool:
    text = str(annotation)
    return "StepReference" in text or "str" in text or "Literal" in text


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e300 else None


def parse_value(spec: FieldSpec, value: Any) -> Any:
    """The value of an input (text, a bool, a choice) for the sequence file; None for a blank
    (the field's default applies). Raises :class:`ValueProblem` for text that is not of the
    field's kind."""
    if spec.kind == "bool" or (spec.kind == "choice" and value != ""):
        return value
    text = str(value).strip()
    if text == "":
        return None
    if spec.kind in ("int", "float"):
        try:
            number = float(text)
        except ValueError:
            raise ValueProblem(spec.name, f"{text!r} is not a number") from None
        if spec.kind == "int":
            if number != int(number):
                raise ValueProblem(spec.name, f"{text!r} is not a whole number")
            return int(number)
        return number
    if spec.default is not None and isinstance(spec.default, str):
        return text
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueProblem(spec.name, f"not a value: {str(exc).splitlines()[0]}") from None


def sequence_document(procedure: str, step_values: dict[str, Any],
                      sample: dict[str, Any]) -> dict[str, Any]:
    """A one-step sequence (the YAML a user would write) from the window's values."""
    step = {k: v for k, v in step_values.items() if v is not None}
    return {"sample": {k: v for k, v in sample.items() if v is not None},
            "steps": [{procedure: step}]}


def write_sequence(document: dict[str, Any], path: Path) -> Path:
    """Write a sequence document as YAML (the file a queued run names in its summary)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# written by labctl gui\n" + yaml.safe_dump(document, sort_keys=False,
                                                       allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


_STEP_FIELD = re.compile(r"^steps\[(?P<index>\d+)\]\.(?P<procedure>[^.\[]+)\.(?P<name>[^.\[]+)")
_SAMPLE_FIELD = re.compile(r"^sample\.(?P<name>[^.\[]+)")


def field_of_error(field: str | None) -> tuple[str, str] | None:
    """``("step", "dwell_s")`` for ``steps[0].jv.dwell_s``, ``("sample", "area_cm2")`` for
    ``sample.area_cm2``; None when the error names no single field."""
    if not field:
        return None
    match = _STEP_FIELD.match(field)
    if match:
        return "step", match["name"]
    match = _SAMPLE_FIELD.match(field)
    if match:
        return "sample", match["name"]
    return None
