"""pymeasure Parameters generated from a step model: each parameter is defined once.

A procedure's Parameters are made from its step model's fields -- the label from the field's
``title``, the unit from the field name's suffix (``dwell_s`` -> s, ``irradiance_mw_cm2`` ->
mW/cm**2), the range from its bounds, the default and the description from the field -- by
the class decorator :func:`parameters_from`::

    @parameters_from(JVStep, exclude={"direction", "smu"})
    class JVProcedure(LabctlProcedure): ...

pymeasure Parameters cannot hold ``None``. A step field whose default is ``None`` (meaning
"automatic") must say which number stands for it in the procedure, with
``json_schema_extra={"none_as": 0.0}``; the procedure reads that number as "automatic".
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pymeasure.experiment import (
    BooleanParameter,
    FloatParameter,
    IntegerParameter,
    ListParameter,
    Parameter,
)

__all__ = ["UNIT_SUFFIXES", "automatic_parameters", "field_units", "parameter_for_field",
           "parameters_from", "parameters_from_model"]

#: Field-name suffix -> pint-parsable unit, longest first (``_pct_per_s`` before ``_s``).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_pct_per_s", "percent/s"),
    ("_mw_cm2", "mW/cm**2"),
    ("_ma_cm2", "mA/cm**2"),
    ("_ohm_cm2", "ohm*cm**2"),
    ("_cm2_vs", "cm**2/V/s"),
    ("_v_s", "V/s"),
    ("_cm2", "cm**2"),
    ("_cm3", "cm**-3"),
    ("_nm", "nm"),
    ("_pct", "percent"),
    ("_min", "min"),
    ("_h", "h"),
    ("_k", "K"),
    ("_s", "s"),
    ("_v", "V"),
    ("_a", "A"),
)


def field_units(name: str) -> str | None:
    """The unit a field's name carries (None for a plain number such as ``nplc``)."""
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return unit
    return None


def _bounds(metadata: Iterable[Any]) -> tuple[float | None, float | None]:
    minimum = maximum = None
    for item in metadata:
        if isinstance(item, annotated_types.Ge | annotated_types.Gt):
            minimum = float(getattr(item, "ge", getattr(item, "gt", math.nan)))
        elif isinstance(item, annotated_types.Le | annotated_types.Lt):
            maximum = float(getattr(item, "le", getattr(item, "lt", math.nan)))
    return minimum, maximum


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[float, Field(ge=0)]`` -> ``(float, [Ge(0)])``."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        metadata: list[Any] = []
        for extra in extras:
            metadata.extend(getattr(extra, "metadata", [extra]))
        return base, metadata
    return annotation, []


def _without_none(annotation: Any) -> tuple[Any, bool, list[Any]]:
    """``float | None`` -> ``(float, True, bounds)``; the first plain member of a union
    (``float | StepReference`` -> float)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        plain = [m for m in members if m[0] in (float, int, bool, str)
                 or typing.get_origin(m[0]) is Literal]
        if plain:
            return plain[0][0], optional, plain[0][1]
    base, metadata = _unwrap(annotation)
    return base, False, metadata


def parameter_for_field(name: str, info: FieldInfo) -> Parameter:
    """The pymeasure Parameter of one step field.

    :raises TypeError: the field's type has no Parameter, or its default is None and it does
        not say which number stands for None (``none_as``).
    """
    annotation, optional, inner_metadata = _without_none(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    label = info.title or name.replace("_", " ").capitalize()
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    if default is None and not info.is_required():
        if "none_as" not in extra and optional:
            raise TypeError(f"step field {name!r} defaults to None: give "
                            "json_schema_extra={'none_as': ...} for its procedure parameter")
        default = extra.get("none_as")
    common: dict[str, Any] = {"default": default, "description": info.description}
    units = field_units(name)
    minimum, maximum = _bounds([*inner_metadata, *info.metadata])
    if annotation is bool:
        return BooleanParameter(label, **common)
    if typing.get_origin(annotation) is Literal:
        return ListParameter(label, choices=list(typing.get_args(annotation)), **common)
    if annotation in (int, float):
        cls = IntegerParameter if annotation is int else FloatParameter
        limits = {k: v for k, v in (("minimum", minimum), ("maximum", maximum))
                  if v is not None}
        if cls is IntegerParameter:
            limits = {k: int(v) for k, v in limits.items()}
        return cls(label, units=units, **limits, **common)
    if annotation is str:
        return Parameter(label, **common)
    raise TypeError(f"step field {name!r} of type {info.annotation!r} has no pymeasure Parameter")


def parameters_from_model(model: type[BaseModel], *, exclude: Iterable[str] = ()
                          ) -> dict[str, Parameter]:
    """One Parameter per field of ``model`` (attribute name -> Parameter), less ``exclude``."""
    skipped = set(exclude)
    return {name: parameter_for_field(name, info) for name, info in model.model_fields.items()
            if name not in skipped}


def parameters_from(model: type[BaseModel], *, exclude: Iterable[str] = ()
                    ) -> Callable[[type], type]:
    """Class decorator: give a Procedure one Parameter per field of ``model``.

    A Parameter the class itself declares is kept (a special kind such as "a voltage or
    Voc"); the agreement test (tests/test_procedure_registry.py) checks that it still agrees
    with the field.
    """
    def decorate(cls: type) -> type:
        own = {name for name in model.model_fields if name in cls.__dict__}
        for name, parameter in parameters_from_model(model, exclude={*exclude, *own}).items():
            setattr(cls, name, parameter)
        cls.STEP_MODEL = model
        cls.STEP_EXCLUDED = frozenset(exclude)
        return cls

    return decorate


def automatic_parameters(procedure: Any) -> list[str]:
    """Labels of the procedure's parameters whose value is the number that means "automatic"
    (a step field with ``json_schema_extra={"none_as": 0.0, "automatic": True}``), e.g.
    ``["Scan rate", "Compliance current"]``."""
    model = getattr(type(procedure), "STEP_MODEL", None)
    if model is None:
        return []
    parameters = procedure.parameter_objects()
    labels = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("automatic") and name in parameters:
            if getattr(procedure, name, None) == extra["none_as"]:
                labels.append(parameters[name].name)
    return labels
