"""The procedure registry: every kind of measurement in one place, each parameter defined once."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from pydantic_core import PydanticUndefined
from pymeasure.experiment import Parameter

from labctl.registry.parameters import field_units
from labctl.registry.procedures import (
    analysis_kinds,
    plugin_for_analysis,
    procedure_plugin,
    procedure_plugins,
)
from procedures.jv import JVProcedure, JVStep

ROOT = Path(__file__).resolve().parents[2]


def test_the_built_in_plugins_and_what_runs() -> None:
    plugins = procedure_plugins()
    assert list(plugins)[:5] == ["jv", "jv_steady", "mpp", "intensity_voc", "sclc"]
    assert {n for n, p in plugins.items() if p.runnable} >= {"jv", "jv_steady"}
    assert analysis_kinds()[:4] == ["jv", "mpp", "intensity", "sclc"]
    assert plugin_for_analysis("jv") is plugins["jv"]
    for name, plugin in plugins.items():
        assert plugin.step_model.procedure == name
        assert plugin.summary and "\n" not in plugin.summary
        assert "\n" not in plugin.describe(_defaults(plugin.step_model))
    with pytest.raises(KeyError, match="no procedure 'nope'"):
        procedure_plugin("nope")


def _defaults(model: type) -> object:
    required = {"thickness_nm": 500.0, "eps_r": 30.0}
    return model.model_validate({k: v for k, v in required.items() if k in model.model_fields})


def _field_schema(model: type, name: str) -> dict:
    schema = model.model_json_schema()["properties"][name]
    for option in schema.get("anyOf", []):  # float | None, float | StepReference
        if option.get("type") in ("number", "integer"):
            return {**schema, **option}
    return schema


@pytest.mark.parametrize("name", [n for n, p in procedure_plugins().items() if p.runnable])
def test_procedure_parameters_agree_with_the_step_model(name: str) -> None:
    """Name, label, unit, default, range and description: one definition each."""
    plugin = procedure_plugin(name)
    cls = plugin.load_procedure_class()
    parameters = cls().parameter_objects()
    checked = 0
    for field_name, info in plugin.step_model.model_fields.items():
        if field_name in cls.STEP_EXCLUDED:
            continue
        parameter: Parameter = parameters[field_name]
        schema = _field_schema(plugin.step_model, field_name)
        assert parameter.name == (info.title or schema.get("title")), field_name
        assert parameter.description == info.description, field_name
        default = info.default
        if info.is_required():  # no default: the plan always gives it (sclc's thickness)
            assert parameter.default is None, field_name
            checked += 1
            continue
        if default is None:
            default = (info.json_schema_extra or {})["none_as"]
        assert default is not PydanticUndefined
        assert parameter.default == default, field_name
        if hasattr(parameter, "units"):
            assert parameter.units == field_units(field_name), field_name
        for key, attribute in (("minimum", "minimum"), ("exclusiveMinimum", "minimum"),
                               ("maximum", "maximum"), ("exclusiveMaximum", "maximum")):
            if key in schema and hasattr(parameter, attribute):
                assert getattr(parameter, attribute) == pytest.approx(schema[key]), \
                    (field_name, key)
        checked += 1
    fields = [f for f in plugin.step_model.model_fields if f not in cls.STEP_EXCLUDED]
    assert checked == len(fields) >= 5


def test_a_lit_jv_soaks_the_same_from_a_sequence_and_on_its_own() -> None:
    """The bug that motivated generated parameters: 10 s from a sequence, 0 s alone."""
    assert JVStep().precondition_light_s == 10.0
    assert JVProcedure().precondition_light_s == 10.0
    assert JVStep(light=False).precondition_light_s == 0.0


def test_parameter_units_follow_the_field_names() -> None:
    assert field_units("dwell_s") == "s"
    assert field_units("scan_rate_v_s") == "V/s"
    assert field_units("irradiance_mw_cm2") == "mW/cm**2"
    assert field_units("settle_tolerance_pct_per_s") == "percent/s"
    assert field_units("nplc") is None
    assert not math.isnan(JVProcedure().parameter_objects()["nplc"].default)


@pytest.mark.parametrize("module", ["labctl/runner.py", "labctl/cli.py", "labctl/sequence.py",
                                    "labctl/planning.py", "labctl/subscribers.py",
                                    "labctl/events.py"])
def test_the_engine_names_no_procedure(module: str) -> None:
    """The runner, validate and analyze find every procedure in the registry."""
    text = (ROOT / module).read_text(encoding="utf-8")
    code = re.sub(r'"""[\s\S]*?"""', "", text)        # docstrings may give examples
    code = re.sub(r"#.*", "", code)
    for name in procedure_plugins():
        assert not re.search(rf"""["']{name}["']""", code), (module, name)
    for module_name in ("procedures.jv", "procedures.jv_steady", "JVStep", "JVProcedure"):
        assert module_name not in code, (module, module_name)


def test_the_csv_header_labels_stay_what_they_were() -> None:
    """The labels are the CSV header's parameter names (pymeasure reads files back by them)."""
    labels = {name: p.name for name, p in JVProcedure().parameter_objects().items()}
    assert labels["area_cm2"] == "Area" and labels["dwell_s"] == "Dwell"
    assert labels["precondition_light_s"] == "Light soak"
    assert labels["compliance_a"] == "Compliance current" and labels["nplc"] == "NPLC"


def test_the_header_says_which_zeros_mean_automatic() -> None:
    from labctl.registry.parameters import automatic_parameters

    procedure = JVProcedure()
    assert sorted(automatic_parameters(procedure)) == ["Compliance current", "Scan rate"]
    procedure.compliance_a = 0.02
    assert "Compliance current" not in automatic_parameters(procedure)
