"""Line-aware YAML loading and one-line InputErrors (labctl.yamlio)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator

from labctl.yamlio import (
    InputError,
    LineMap,
    format_field,
    load_yaml,
    located_error,
    validate_model,
)


def write(tmp_path: Path, text: str, name: str = "input.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_error(err: InputError, path: Path, line: int | None, field: str | None) -> None:
    text = str(err)
    assert "\n" not in text
    assert err.file == str(path)
    assert err.line == line, text
    assert err.field == field, text
    head = f"{path}:{line}:" if line is not None else f"{path}:"
    assert text.startswith(head), text
    if field:
        assert f" {field}: " in text, text


# --- InputError -------------------------------------------------------------------------------


def test_input_error_format_all_parts() -> None:
    err = InputError("must be ≤ 60 (got 100)", file="seq.yaml", line=7, field="steps[2].jv.x")
    assert str(err) == "seq.yaml:7: steps[2].jv.x: must be ≤ 60 (got 100)"
    assert (err.file, err.line, err.field, err.reason) == (
        "seq.yaml",
        7,
        "steps[2].jv.x",
        "must be ≤ 60 (got 100)",
    )


def test_input_error_omits_unknown_parts_and_stays_on_one_line() -> None:
    assert str(InputError("no such file", file="a.yaml")) == "a.yaml: no such file"
    assert str(InputError("bad", file="a.yaml", line=3)) == "a.yaml:3: bad"
    assert str(InputError("bad", file="a.yaml", field="x")) == "a.yaml: x: bad"
    err = InputError("first line\nsecond   line", file="a.yaml", line=1)
    assert str(err) == "a.yaml:1: first line second line"


def test_format_field() -> None:
    assert format_field(("steps", 2, "jv", "dwell_s")) == "steps[2].jv.dwell_s"
    assert format_field(("od", 0)) == "od[0]"
    assert format_field(()) == ""


# --- load_yaml ----------------------------------------------------------------------------------


def test_lines_of_keys_and_items(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# comment\n"
        "sample: {id: A, area_cm2: 0.09}\n"
        "steps:\n"
        "  - jv: {dwell_s: 0.01}\n"
        "  - jv_steady\n"
        "  - mpp:\n"
        "      duration_s: 300\n"
        "      algorithm: default\n",
    )
    data, lines = load_yaml(path)
    assert data["steps"][1] == "jv_steady"
    assert lines[("sample",)] == 2
    assert lines[("sample", "area_cm2")] == 2
    assert lines[("steps",)] == 3
    assert lines[("steps", 0)] == 4
    assert lines[("steps", 0, "jv", "dwell_s")] == 4
    assert lines[("steps", 1)] == 5
    assert lines[("steps", 2, "mpp")] == 6
    assert lines[("steps", 2, "mpp", "duration_s")] == 7
    assert lines[("steps", 2, "mpp", "algorithm")] == 8


def test_linemap_falls_back_to_deepest_known_ancestor() -> None:
    lines = LineMap({(): 1, ("a",): 2, ("a", "b"): 3})
    assert lines.line(("a", "b", "c", 0)) == 3
    assert lines.line(("a", "x")) == 2
    assert lines.line(("zzz",)) == 1
    assert LineMap().line(("a",)) is None


def test_numbers_dates_and_inf(tmp_path: Path) -> None:
    path = write(
        tmp_path, "a: 1e-3\nb: 1.0e-12\nc: .inf\nd: 2026-11-21\ne: 5\nf: yes\ng: -.5\n"
    )
    data, _ = load_yaml(path)
    assert data["a"] == pytest.approx(1e-3) and isinstance(data["a"], float)
    assert data["b"] == pytest.approx(1e-12)
    assert data["c"] == float("inf")
    assert data["d"] == "2026-11-21"  # dates stay text (sample ids)
    assert data["e"] == 5 and isinstance(data["e"], int)
    assert data["f"] is True
    assert data["g"] == -0.5 and isinstance(data["g"], float)  # YAML 1.1 reads "-.5" as text


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert_error(info.value, path, None, None)
    assert "no such file" in str(info.value)


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_yaml(tmp_path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("a:\n\tb: 1\n", 2),
        ("a: 1\nb: 'unterminated\n", 3),
    ],
)
def test_yaml_syntax_error_has_its_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert_error(info.value, path, line, None)
    assert "YAML syntax error" in str(info.value)


def test_duplicate_key_reports_second_occurrence(tmp_path: Path) -> None:
    path = write(tmp_path, "station: a\ninstruments:\n  smu: {}\n  lamp: {}\n  smu: {}\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert_error(info.value, path, 5, None)
    assert "duplicate key 'smu'" in str(info.value)
    assert "line 3" in str(info.value)


def test_duplicate_key_in_flow_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\nb: {x: 1, y: 2,\n    x: 3}\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert info.value.line == 3


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert "top level must be a mapping" in str(info.value)
    assert info.value.line == 1


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# only a comment\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert "empty" in str(info.value)


def test_recursive_alias_does_not_hang(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &x [1, *x]\n")
    data, lines = load_yaml(path)
    assert lines[("a",)] == 1


def test_unsafe_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert info.value.line == 1


# --- validate_model -------------------------------------------------------------------------


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    dwell_s: float = Field(0.01, ge=0, le=60)
    direction: Literal["reverse", "forward", "both"] = "both"
    points: int = 10
    light: bool = True


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str
    inner: Inner = Inner()
    items: list[Inner] = []

    @model_validator(mode="after")
    def _check(self) -> Outer:
        if self.name == "forbidden":
            raise located_error("this name is forbidden here", ("inner", "points"))
        return self


OUTER_TEXT = (
    "name: x\ninner:\n  dwell_s: 1\n  points: 3\nitems:\n  - {dwell_s: 2}\n  - {dwell_s: 3}\n"
)


def validate_text(tmp_path: Path, text: str) -> Outer:
    path = write(tmp_path, text)
    data, lines = load_yaml(path)
    return validate_model(Outer, data, path, lines)


def test_validate_model_ok(tmp_path: Path) -> None:
    model = validate_text(tmp_path, OUTER_TEXT)
    assert model.inner.points == 3 and model.items[1].dwell_s == 3


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "reason"),
    [
        ("dwell_s: 1\n", "dwel_s: 1\n", 3, "inner.dwel_s", "unknown key 'dwel_s', did you mean"),
        ("dwell_s: 1\n", "dwell_s: fast\n", 3, "inner.dwell_s", "must be a number, got 'fast'"),
        ("dwell_s: 1\n", "dwell_s: 100\n", 3, "inner.dwell_s", "must be ≤ 60 (got 100)"),
        ("dwell_s: 1\n", "dwell_s: -1\n", 3, "inner.dwell_s", "must be ≥ 0 (got -1)"),
        ("dwell_s: 1\n", "dwell_s: true\n", 3, "inner.dwell_s", "must be a number, got true"),
        ("points: 3\n", "points: 2.5\n", 4, "inner.points", "must be a whole number"),
        ("{dwell_s: 3}", "{dwell_s: 3, light: maybe}", 7, "items[1].light", "true or false"),
        ("{dwell_s: 2}", "{direction: up}", 6, "items[0].direction", "'reverse', 'forward'"),
        ("name: x\n", "", 1, "name", "missing required key 'name'"),
        ("name: x\n", "name: forbidden\n", 4, "inner.points", "this name is forbidden here"),
        ("items:\n", "items: 3\n", 5, "items", "must be a list"),
    ],
)
def test_validate_model_errors(
    tmp_path: Path, old: str, new: str, line: int, field: str, reason: str
) -> None:
    text = OUTER_TEXT.replace(old, new, 1)
    if old == "items:\n":
        text = text.split("items:")[0] + "items: 3\n"
    path = write(tmp_path, text)
    data, lines = load_yaml(path)
    with pytest.raises(InputError) as info:
        validate_model(Outer, data, path, lines)
    assert_error(info.value, path, line, field)
    assert reason in info.value.reason


def test_unknown_key_lists_expected_keys(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        validate_text(tmp_path, OUTER_TEXT.replace("dwell_s: 1", "dwel_s: 1"))
    assert "did you mean 'dwell_s'?" in str(info.value)
    assert "expected one of: dwell_s, direction, points, light" in str(info.value)


def test_first_error_in_file_order(tmp_path: Path) -> None:
    text = OUTER_TEXT.replace("{dwell_s: 3}", "{dwell_s: x}").replace("points: 3", "points: y")
    with pytest.raises(InputError) as info:
        validate_text(tmp_path, text)
    assert info.value.line == 4


def test_prefix_locates_nested_data(tmp_path: Path) -> None:
    path = write(tmp_path, "outer:\n  deeper:\n    dwell_s: 1\n    points: bad\n")
    data, lines = load_yaml(path)
    with pytest.raises(InputError) as info:
        validate_model(Inner, data["outer"]["deeper"], path, lines, prefix=("outer", "deeper"))
    assert_error(info.value, path, 4, "outer.deeper.points")


class Shaped(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field("a", min_length=1, max_length=4)
    code: str = Field("AB", pattern=r"^[A-Z]+$")
    tags: list[str] = Field(default_factory=list, max_length=2)
    points: list[float] = Field(default_factory=lambda: [1.0, 2.0], min_length=2)
    pin: str = Field("123", min_length=3)
    gain: float = Field(1.0, allow_inf_nan=False)
    title: str = ""


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [
        ("label: ''\n", 1, "label", "must not be empty"),
        ("label: abcdef\n", 1, "label", "must be at most 4 characters (got 'abcdef')"),
        ("pin: '12'\n", 1, "pin", "must be at least 3 characters (got '12')"),
        ("code: ab\n", 1, "code", "'ab' does not have the expected form (^[A-Z]+$)"),
        ("tags: [a, b, c]\n", 1, "tags", "must have at most 2 items (got 3)"),
        ("points: [1.0]\n", 1, "points", "must have at least 2 items (got 1)"),
        ("gain: .inf\n", 1, "gain", "must be a finite number, got inf"),
        ("code: A\ntitle: [a]\n", 2, "title", "must be text, got a list"),
    ],
)
def test_reasons_for_lengths_forms_and_types(
    tmp_path: Path, text: str, line: int, field: str, reason: str
) -> None:
    path = write(tmp_path, text)
    data, lines = load_yaml(path)
    with pytest.raises(InputError) as info:
        validate_model(Shaped, data, path, lines)
    assert_error(info.value, path, line, field)
    assert info.value.reason == reason
