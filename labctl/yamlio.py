"""Line-aware YAML loading and human error messages for labctl's input files.

Every configuration error labctl reports is an :class:`InputError`: one line naming the file,
the line and the field, e.g. ``seq.yaml:7: steps[1].jv.dwell_s: must be ≤ 100 (got 500)``.
This module provides

- :func:`load_yaml`: a safe YAML load that also returns a :class:`LineMap`, the 1-based line of
  every mapping key and sequence item, addressed by a path tuple such as
  ``("steps", 2, "jv", "dwell_s")``; duplicate keys, syntax errors, missing files and a top level
  that is not a mapping are errors;
- :func:`validate_model`: validates data against a pydantic model and turns the first error (in
  file order) into an :class:`InputError` with a short reason instead of pydantic's text.

The YAML dialect is PyYAML's YAML 1.1 safe subset with two changes that avoid surprises in lab
files: ``1e-3`` and ``-.5`` are numbers (YAML 1.1 reads them as strings), and dates such as
``2026-11-21`` stay text (a sample id, not a ``datetime.date``).

Validators inside the models may raise :func:`located_error` to report a cross-field problem at
a precise key (for example the ``smu`` key of a photodiode that names a missing SMU).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, PrivateAttr, ValidationError
from pydantic_core import PydanticCustomError

from labctl.errors import fold

__all__ = [
    "InputError",
    "LineMap",
    "PathKey",
    "format_field",
    "load_yaml",
    "located_error",
    "validate_model",
]

PathKey = tuple[Any, ...]
"""A location in a YAML document: mapping keys and sequence indices, outermost first."""

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Error type used by :func:`located_error`; its context carries the reason and the location.
LOCATED_ERROR_TYPE = "labctl_located"


# ---------------------------------------------------------------------------------------------
# Errors


class InputError(Exception):
    """Bad input in a labctl file: reported as one line, never as a traceback.

    ``str(err)`` is ``"FILE:LINE: FIELD: reason"``; the parts that are not known are left out
    (``"FILE: reason"``, ``"FILE:LINE: reason"``, ``"FILE: FIELD: reason"``).

    Attributes:
        file: the file as the user named it ("" when the input did not come from a file).
        line: 1-based line number, or None.
        field: dotted location of the offending value (``steps[2].jv.dwell_s``), or None.
        reason: what is wrong, in plain words, on one line.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | os.PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file: str = "" if file is None else str(file)
        self.line: int | None = line
        self.field: str | None = field or None
        self.reason: str = fold(reason)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        head = self.file
        if self.line is not None:
            head = f"{head}:{self.line}" if head else f"line {self.line}"
        parts = [p for p in (head, self.field, self.reason) if p]
        return ": ".join(parts)

    def __repr__(self) -> str:
        return (
            f"InputError(reason={self.reason!r}, file={self.file!r}, line={self.line!r}, "
            f"field={self.field!r})"
        )


def located_error(reason: str, at: PathKey = ()) -> PydanticCustomError:
    """An error for a model validator that points at a key below the model being validated.

    Raise it from a ``model_validator`` (``raise located_error("...", ("instruments", name,
    "smu"))``); :func:`validate_model` reports it at that key's line and field, and plain
    pydantic use shows ``reason`` as the message.
    """
    return PydanticCustomError(LOCATED_ERROR_TYPE, "{reason}", {"reason": reason, "at": tuple(at)})


def format_field(path: PathKey) -> str:
    """Format a path tuple as a field name: ``("steps", 2, "jv", "dwell_s")`` ->
    ``"steps[2].jv.dwell_s"``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# ---------------------------------------------------------------------------------------------
# Line map


class LineMap(Mapping[PathKey, int]):
    """The 1-based line of every mapping key and sequence item of a YAML document.

    ``lines[("steps", 2, "jv", "dwell_s")]`` is the line of that key; ``lines[()]`` is the line
    where the document's top-level mapping starts. :meth:`line` falls back to the deepest known
    ancestor, which is what an error about a missing key wants (the line of its parent).
    """

    def __init__(self, lines: dict[PathKey, int] | None = None) -> None:
        self._lines: dict[PathKey, int] = dict(lines or {})

    def __getitem__(self, path: PathKey) -> int:
        return self._lines[tuple(path)]

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def line(self, path: PathKey) -> int | None:
        """Line of ``path``, or of its deepest ancestor that has one (None if none has)."""
        path = tuple(path)
        for end in range(len(path), -1, -1):
            found = self._lines.get(path[:end])
            if found is not None:
                return found
        return None

    def __repr__(self) -> str:
        return f"LineMap({len(self._lines)} entries)"


# ---------------------------------------------------------------------------------------------
# Loader


class _DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping key given twice (PyYAML silently keeps the last one)."""


_FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, reads ``1e-3`` as a float and keeps dates as
    text."""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: SafeConstructor reports it below
                if first is not None:
                    raise _DuplicateKeyError(
                        problem=f"duplicate key {key!r} (first given on line {first})",
                        problem_mark=key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _make_resolvers() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        kept = [
            (tag, _FLOAT_RE if tag == _FLOAT_TAG else regexp)
            for tag, regexp in entries
            if tag != _TIMESTAMP_TAG
        ]
        if kept:
            resolvers[first] = kept
    return resolvers


_LineLoader.yaml_implicit_resolvers = _make_resolvers()

_MAX_WALK_NODES = 1_000_000


#: Most digits of an integer: a float64 holds at most about 1.8e308 (309 digits), and every
#: labctl number must fit one (Python itself refuses to read more than 4300).
MAX_INT_DIGITS = 309
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT64_MAX = "about 1.8e308"


def _number_problem(node: yaml.Node) -> str | None:
    """Why a numeric scalar cannot be a float64 (too many digits, overflow, underflow)."""
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (_INT_TAG, _FLOAT_TAG):
        return None
    text = str(node.value).replace("_", "")
    shown = text if len(text) <= 24 else f"{text[:12]}...{text[-6:]}"
    if node.tag == _INT_TAG:
        digits = sum(ch.isalnum() for ch in text)
        if digits > MAX_INT_DIGITS:
            return (f"an integer of {digits} digits ({shown}) does not fit a 64-bit number "
                    f"(at most {MAX_INT_DIGITS} digits, {_FLOAT64_MAX})")
        return None
    if ":" in text or text.lower().lstrip("+-") in (".inf", ".nan"):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value):
        return f"{shown} does not fit a 64-bit float (largest magnitude {_FLOAT64_MAX})"
    if value == 0.0 and any(ch in "123456789" for ch in text.lower().split("e")[0]):
        return f"{shown} is too small for a 64-bit float (it would be read as 0)"
    return None


def _record_lines(loader: _LineLoader, root: yaml.Node, file: str = "") -> LineMap:
    """Walk the composed node tree and note the line of every key and item; a number that
    does not fit a float64 is an InputError naming its line and field."""
    lines: dict[PathKey, int] = {(): root.start_mark.line + 1}
    budget = [_MAX_WALK_NODES]

    def walk(node: yaml.Node, path: PathKey, on_path: frozenset[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0 or id(node) in on_path:  # alias bombs and recursive aliases
            return
        problem = _number_problem(node)
        if problem is not None:
            raise InputError(problem, file=file, line=node.start_mark.line + 1,
                             field=format_field(path) or None)
        inner = on_path | {id(node)}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                problem = _number_problem(key_node)
                if problem is not None:
                    raise InputError(f"key: {problem}", file=file,
                                     line=key_node.start_mark.line + 1,
                                     field=format_field(path) or None)
                try:
                    key = loader.construct_object(key_node, deep=True)
                    hash(key)
                except Exception:  # noqa: BLE001 - unusual keys just get no line
                    continue
                lines[path + (key,)] = key_node.start_mark.line + 1
                walk(value_node, path + (key,), inner)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[path + (index,)] = item.start_mark.line + 1
                walk(item, path + (index,), inner)

    walk(root, (), frozenset())
    return LineMap(lines)


def _yaml_error(file: str, exc: yaml.YAMLError) -> InputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        if isinstance(exc, _DuplicateKeyError):
            return InputError(exc.problem or "duplicate key", file=file, line=line)
        problem = exc.problem or "cannot be read"
        reason = f"YAML syntax error: {problem}"
        if exc.context:
            where = ""
            if exc.context_mark is not None and exc.context_mark.line + 1 != line:
                where = f" at line {exc.context_mark.line + 1}"
            reason += f" ({exc.context}{where})"
        return InputError(reason, file=file, line=line)
    if isinstance(exc, yaml.reader.ReaderError):
        return InputError(f"not valid text: {exc.reason} at byte {exc.position}", file=file)
    return InputError(f"cannot be read as YAML: {exc}", file=file)


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text {value!r}"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


#: Largest configuration file read (bytes): a lab file is a few kB; anything this large is
#: the wrong file (a data file, an image, a device node).
MAX_FILE_BYTES = 10_000_000
_SAVE_AS_UTF8 = "save it as UTF-8 (in most editors: Save As..., Encoding: UTF-8)"
_UTF8_BOM = b"\xef\xbb\xbf"
#: Byte-order marks of the encodings that are not UTF-8, longest first.
_OTHER_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)
#: Characters YAML does not allow in a document (PyYAML's Reader.NON_PRINTABLE).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]"
)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes (a seam for tests that cannot make a file unreadable as root)."""
    return path.read_bytes()


def _read_file(file: str, path: Path) -> bytes:
    """The bytes of a regular file of sensible size, or an InputError saying why not."""
    try:
        info = path.stat()
        if path.is_dir():
            raise InputError("is a directory, not a YAML file", file=file)
        if not path.is_file():
            raise InputError("is not a regular file (a device or a pipe?)", file=file)
        if info.st_size > MAX_FILE_BYTES:
            raise InputError(f"is {info.st_size} bytes, too large for a configuration file "
                             f"(at most {MAX_FILE_BYTES}): is it the right file?", file=file)
        return _read_bytes(path)
    except FileNotFoundError:
        raise InputError("no such file", file=file) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a YAML file", file=file) from None
    except PermissionError:
        raise InputError("cannot be read: permission denied (check the file's permissions)",
                         file=file) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror or exc}", file=file) from None


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(file: str, raw: bytes) -> str:
    """The text of a YAML file: UTF-8 (a leading byte-order mark is dropped); any other
    encoding, a NUL byte or a control character is an InputError with its line and byte."""
    for bom, name in _OTHER_BOMS:
        if raw.startswith(bom):
            raise InputError(f"the file is {name} text (it starts with a {name} byte-order "
                             f"mark); labctl reads UTF-8: {_SAVE_AS_UTF8}", file=file, line=1)
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    nul = raw.find(b"\x00")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if 0 <= nul < exc.start:
            raise _binary_error(file, raw, nul) from None
        bad = raw[exc.start:exc.start + 1]
        guess = ""
        try:
            guess = f", {raw[exc.start:exc.end].decode('cp1252')!r} in Latin-1/Windows-1252"
        except UnicodeDecodeError:
            pass
        if raw.count(b"\x00") or _looks_binary(raw):
            raise _binary_error(file, raw, exc.start) from None
        raise InputError(
            f"not UTF-8 text: byte {exc.start} (0x{bad.hex()}{guess}) cannot be decoded; "
            f"{_SAVE_AS_UTF8}",
            file=file, line=_line_of(raw, exc.start)) from None
    if nul >= 0:
        raise _binary_error(file, raw, nul)
    found = _NON_PRINTABLE.search(text)
    if found is not None:
        offset = len(text[:found.start()].encode("utf-8"))
        if _looks_binary(raw):
            raise _binary_error(file, raw, offset)
        raise InputError(
            f"control character U+{ord(found.group()):04X} at byte {offset} is not allowed "
            "in a YAML file (delete it)", file=file, line=_line_of(raw, offset))
    return text


def _looks_binary(raw: bytes) -> bool:
    """More than 10 % of the first 4 kB are control bytes (not tab, CR, LF)."""
    head = raw[:4096]
    controls = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0D))
    return controls > len(head) // 10


def _binary_error(file: str, raw: bytes, offset: int) -> InputError:
    return InputError(
        f"a binary file, not YAML text (byte {offset} is 0x{raw[offset:offset + 1].hex()}): "
        "is it the right file?", file=file, line=_line_of(raw, offset))


def load_yaml(path: str | os.PathLike[str]) -> tuple[dict[str, Any], LineMap]:
    """Load a YAML file safely; return its data and the line of every key and item.

    Raises:
        InputError: missing, unreadable or binary file, text that is not UTF-8 (the line and
            byte where decoding failed), YAML syntax error (with its line), duplicate key (at
            the line of the second one), a number that does not fit a float64 (its line and
            field), or a top level that is not a mapping.
    """
    file = str(path)
    text = _decode(file, _read_file(file, Path(path)))
    if not text.strip():
        raise InputError("the file is empty (expected a mapping of keys)", file=file, line=1)
    loader = _LineLoader(text)
    try:
        root = loader.get_single_node()
        lines = _record_lines(loader, root, file) if root is not None else LineMap()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise _yaml_error(file, exc) from None
    except RecursionError:
        raise InputError("YAML nesting is too deep", file=file) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value PyYAML cannot build
        raise InputError(f"a value cannot be read: {fold(str(exc), 120)}", file=file) from None
    finally:
        loader.dispose()

    if data is None:
        raise InputError("the file is empty (expected a mapping of keys)", file=file, line=1)
    if not isinstance(data, dict):
        raise InputError(
            f"the top level must be a mapping of keys, got {_type_name(data)}",
            file=file,
            line=lines.get((), 1),
        )
    return data, lines


# ---------------------------------------------------------------------------------------------
# Validation


def _union_members(annotation: Any) -> list[Any] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return list(typing.get_args(annotation))
    return None


def _strip(annotation: Any) -> Any:
    """Remove Annotated wrappers and ``| None``."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        members = _union_members(annotation)
        if members is not None:
            not_none = [m for m in members if m is not type(None)]
            if len(not_none) == 1 and len(not_none) < len(members):
                annotation = not_none[0]
                continue
        return annotation


def _member_for_tag(members: list[Any], tag: Any) -> Any | None:
    """The member of a tagged union selected by ``tag`` (a pydantic loc element)."""
    for member in members:
        if typing.get_origin(member) is typing.Annotated:
            for meta in typing.get_args(member)[1:]:
                if getattr(meta, "tag", None) == tag:
                    return member
        model = _strip(member)
        if isinstance(model, type) and issubclass(model, BaseModel):
            for field in model.model_fields.values():
                if typing.get_origin(field.annotation) is typing.Literal and tag in typing.get_args(
                    field.annotation
                ):
                    return member
    return None


def _model_at(model_cls: type[BaseModel], loc: PathKey) -> type[BaseModel] | None:
    """The model class that validates the value at pydantic location ``loc``."""
    current: Any = model_cls
    for element in loc:
        current = _strip(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(element) if isinstance(element, str) else None
            if field is None:
                return None
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        if origin in (dict, Mapping):
            current = typing.get_args(current)[1]
        elif origin in (list, tuple):
            current = typing.get_args(current)[0]
        else:
            members = _union_members(current)
            if members is None:
                return None
            current = _member_for_tag(members, element)
            if current is None:
                return None
    current = _strip(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _short(value: Any) -> str:
    """A value as it would look in the file, cut short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = repr(value)
    text = fold(text)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


_DISCRIMINATOR_KEYS = {"'driver'": "driver", "'kind'": "kind"}


def _discriminator_name(ctx: dict[str, Any]) -> str:
    """The key a tagged union is selected by (``driver``, ``kind``, or ``step``)."""
    raw = str(ctx.get("discriminator", ""))
    if raw in _DISCRIMINATOR_KEYS:
        return _DISCRIMINATOR_KEYS[raw]
    if "kind" in raw:
        return "kind"
    if "step" in raw:
        return "step"
    return raw.strip("'()") or "type"


#: Pydantic error types about the kind of value given: "<phrase>, got <value>".
_TYPE_REASONS: dict[str, str] = {
    **dict.fromkeys(("float_type", "float_parsing"), "must be a number"),
    **dict.fromkeys(("int_type", "int_parsing", "int_from_float"), "must be a whole number"),
    **dict.fromkeys(("bool_type", "bool_parsing"), "must be true or false"),
    **dict.fromkeys(("string_type", "string_unicode"), "must be text"),
    "finite_number": "must be a finite number",
    **dict.fromkeys(("dict_type", "model_type", "model_attributes_type", "mapping_type"),
                    "must be a mapping of keys"),
    **dict.fromkeys(("list_type", "tuple_type", "iterable_type"), "must be a list"),
}

#: Pydantic error types of a numeric bound: the comparison and the context key of the bound.
_BOUND_REASONS: dict[str, tuple[str, str]] = {
    "greater_than": (">", "gt"),
    "greater_than_equal": ("≥", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("≤", "le"),
}


def _reason(error: dict[str, Any], model_cls: type[BaseModel], loc: PathKey) -> tuple[str, PathKey]:
    """A short human reason for a pydantic error, and extra path elements to append."""
    kind = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == LOCATED_ERROR_TYPE:
        return str(ctx.get("reason", error["msg"])), tuple(ctx.get("at", ()))
    if kind == "extra_forbidden":
        return _unknown_key_reason(model_cls, loc), ()
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing", ()
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _union_tag_reason(kind, ctx, value)
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])), ()
    reason = _value_reason(kind, ctx, value)
    return (reason if reason is not None else fold(str(error["msg"]))), ()


def _unknown_key_reason(model_cls: type[BaseModel], loc: PathKey) -> str:
    """Reason for a key the model does not have, with the closest known key as a hint."""
    key = loc[-1] if loc else "?"
    model = _model_at(model_cls, loc[:-1])
    if model is None:
        return f"unknown key {key!r}"
    allowed = list(model.model_fields)
    hint = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    did_you_mean = f", did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key {key!r}{did_you_mean} (expected one of: {', '.join(allowed)})"


def _value_reason(kind: str, ctx: dict[str, Any], value: Any) -> str | None:
    """Reason for an error about the value itself (its type, bound, length or form); None for
    an error type without a reason of its own."""
    got = _short(value)
    if kind in _TYPE_REASONS:
        return f"{_TYPE_REASONS[kind]}, got {got}"
    if kind in _BOUND_REASONS:
        symbol, bound = _BOUND_REASONS[kind]
        return f"must be {symbol} {_number(ctx.get(bound))} (got {_number(value)})"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', 'one of the allowed values')} (got {got})"
    if kind in ("too_short", "too_long"):
        return _length_reason(kind, ctx, value)
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must be at least {ctx.get('min_length')} characters (got {got})"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (got {got})"
    if kind == "string_pattern_mismatch":
        return f"{got} does not have the expected form ({ctx.get('pattern')})"
    return None


def _length_reason(kind: str, ctx: dict[str, Any], value: Any) -> str:
    """Reason for a list or text that is too short or too long."""
    noun = "character" if isinstance(value, str) else "item"
    actual = ctx.get("actual_length")
    if kind == "too_short" and isinstance(value, str) and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} {noun}s (got {actual})"
    return f"must have at most {ctx.get('max_length')} {noun}s (got {actual})"


def _union_tag_reason(kind: str, ctx: dict[str, Any], value: Any) -> tuple[str, PathKey]:
    """Reason for a tagged union (a driver, a kind, a step) whose tag is unknown or missing;
    the extra path element points at the tag's key where the file has one."""
    name = _discriminator_name(ctx)
    got = _short(value)
    if kind == "union_tag_invalid":
        known = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"unknown {name} {str(ctx.get('tag'))!r} (known: {known})", (
            (name,) if name in ("driver", "kind") else ()
        )
    if name == "step":
        example = "e.g. '- jv: {step_v: 0.01}' or '- jv_steady'"
        if isinstance(value, dict):
            keys = ", ".join(str(k) for k in value) or "none"
            return (
                f"a step is a mapping with one key, the step name ({example}); "
                f"got {len(value)} keys: {keys}"
            ), ()
        return (
            f"a step is a step name or a mapping {{name: {{parameters}}}} ({example}), got {got}",
            (),
        )
    if not isinstance(value, dict):
        return f"must be a mapping of keys, got {got}", ()
    return f"missing required key {name!r}", (name,)


def _data_path(data: Any, loc: PathKey, error_type: str) -> PathKey:
    """Map a pydantic location onto the data: drop union tags and wrapper names."""
    path: list[Any] = []
    current = data
    for index, element in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict) and element in current:
            path.append(element)
            current = current[element]
        elif (
            isinstance(current, list)
            and isinstance(element, int)
            and not isinstance(element, bool)
            and 0 <= element < len(current)
        ):
            path.append(element)
            current = current[element]
        elif isinstance(current, str) and current == element:
            path.append(element)  # a bare name standing for {name: {}} (e.g. "- jv_steady")
            current = {}
        elif last and error_type == "missing":
            path.append(element)
        # anything else is a union tag or "[key]": not part of the file, consumes no data
    return tuple(path)


def _error_to_input_error(
    exc: ValidationError,
    model_cls: type[BaseModel],
    data: Any,
    file: str,
    lines: LineMap,
    prefix: PathKey,
) -> InputError:
    found: list[tuple[str, PathKey, int | None, InputError]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error.get("loc", ()))
        reason, extra = _reason(error, model_cls, loc)
        path = prefix + _data_path(data, loc, error["type"]) + extra
        line = lines.line(path)
        err = InputError(reason, file=file, line=line, field=format_field(path) or None)
        found.append((error["type"], path, line, err))
    # A typo shows up twice: an unknown key and a missing one in the same mapping. Report the
    # unknown key, which names what the user wrote.
    typo_parents = {path[:-1] for kind, path, _, _ in found if kind == "extra_forbidden"}
    kept = [item for item in found if not (item[0] == "missing" and item[1][:-1] in typo_parents)]
    # A mapping given to a field that takes a number or a mapping (a reference to an earlier
    # step): report what is wrong inside the mapping, not that it is not a number.
    deeper = {item[1][:k] for item in kept for k in range(len(item[1]))}
    kept = [item for item in kept
            if not (item[0].endswith(("_type", "_parsing")) and item[1] in deeper)] or kept
    # First in file order; pydantic's order breaks ties.
    ranked = sorted(
        enumerate(kept),
        key=lambda pair: (pair[1][2] if pair[1][2] is not None else 1 << 30, pair[0]),
    )
    return ranked[0][1][3]


def validate_model(
    model_cls: type[ModelT],
    data: Any,
    path: str | os.PathLike[str],
    lines: LineMap,
    prefix: PathKey = (),
) -> ModelT:
    """Validate ``data`` (found at ``prefix`` in the file ``path``) as ``model_cls``.

    The validation context carries ``{"file": Path(path), "lines": lines, "prefix": prefix}``
    so models can keep their source file. On failure the first error in file order becomes an
    :class:`InputError` naming the file, the line of the deepest known key on the error's path,
    the dotted field (``steps[2].jv.dwell_s``) and a short reason.
    """
    file = str(path)
    context = {"file": Path(path), "lines": lines, "prefix": tuple(prefix)}
    try:
        return model_cls.model_validate(data, context=context)
    except ValidationError as exc:
        raise _error_to_input_error(exc, model_cls, data, file, lines, tuple(prefix)) from None


class FileBacked(BaseModel):
    """A model that remembers the file it was read from (for messages that name it).

    :func:`validate_model` passes the file and its :class:`LineMap` in the validation context;
    :meth:`_keep_file` (called by the model's after-validator) stores them.
    """

    _path: Path | None = PrivateAttr(default=None)
    _source: str | None = PrivateAttr(default=None)
    _lines: LineMap | None = PrivateAttr(default=None)

    def _keep_file(self, context: Mapping[str, Any] | None) -> None:
        context = context or {}
        if isinstance(context.get("file"), Path) and not context.get("prefix"):
            self._path = context["file"].resolve()
            self._source = str(context["file"])
            if isinstance(context.get("lines"), LineMap):
                self._lines = context["lines"]

    @property
    def path(self) -> Path:
        """The resolved file (``Path("<memory>")`` for a model built in code)."""
        return self._path if self._path is not None else Path("<memory>")

    @path.setter
    def path(self, value: str | os.PathLike[str]) -> None:
        self._path = Path(value).resolve()
        self._source = str(value)

    @property
    def source(self) -> str:
        """The file as the user named it (for messages); ``"<memory>"`` if built in code."""
        return self._source if self._source is not None else str(self.path)

    @property
    def lines(self) -> LineMap:
        """Line of every key of the file (empty for a model built in code)."""
        return self._lines if self._lines is not None else LineMap()
