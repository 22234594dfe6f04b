"""The GUI's Qt-free parts: inputs from a step model, where a validator error belongs, which
plot a measurement's columns choose, and the bounded buffer of a live curve."""

from __future__ import annotations

import numpy as np
import pytest

from labctl.gui.fields import ValueProblem, field_of_error, field_specs, parse_value
from labctl.gui.plotkinds import DecimatingBuffer, choose_plot
from labctl.registry.procedures import procedure_plugin


def test_inputs_come_from_the_step_model() -> None:
    model = procedure_plugin("jv").step_model
    specs = {s.name: s for s in field_specs(model)}
    assert set(specs) == set(model.model_fields)
    step = specs["step_v"]
    info = model.model_fields["step_v"]
    assert (step.kind, step.units, step.default) == ("float", "V", info.default)
    assert step.minimum is not None and step.maximum is not None and step.minimum < step.maximum
    assert step.description == info.description and step.description in step.tooltip()
    assert specs["direction"].choices == ("reverse", "forward", "both")
    assert specs["dwell_s"].blank_allowed  # None: automatic
    assert parse_value(specs["dwell_s"], "") is None
    assert parse_value(specs["step_v"], " 0.02") == 0.02
    with pytest.raises(ValueProblem, match="not a number"):
        parse_value(specs["step_v"], "ten mV")


def test_errors_are_placed_at_their_field() -> None:
    assert field_of_error("steps[0].jv.dwell_s") == ("step", "dwell_s")
    assert field_of_error("steps[3].jv_steady.start_v.metric") == ("step", "start_v")
    assert field_of_error("sample.area_cm2") == ("sample", "area_cm2")
    assert field_of_error("steps") is None and field_of_error(None) is None


def test_the_plot_follows_the_columns() -> None:
    jv = ["Voltage (V)", "Current (A)", "Current density (mA/cm**2)", "Time (s)",
          "Irradiance (mW/cm**2)"]
    assert choose_plot(jv).name == "J-V"
    assert choose_plot(jv, {"thickness_nm": 400.0}).log_y
    mpp = [*jv, "Power density (mW/cm**2)", "PCE (percent)"]
    assert (choose_plot(mpp).x, choose_plot(mpp).y2) == ("Time (s)", "PCE (percent)")
    voc = ["Voc (V)", "Jsc (mA/cm**2)", "Irradiance (mW/cm**2)", "Time (s)"]
    assert choose_plot(voc).log_x and choose_plot(voc).y == "Voc (V)"
    assert choose_plot(["Temperature (K)"]) is None


def test_the_buffer_keeps_every_point_until_full_then_its_extremes() -> None:
    buffer = DecimatingBuffer(64)
    buffer.extend(np.arange(50.0), np.arange(50.0) ** 2)
    x, y = buffer.data()
    assert np.array_equal(x, np.arange(50.0)) and np.array_equal(y, x ** 2)
    buffer = DecimatingBuffer(64)
    rng = np.random.default_rng(1)
    x_all = np.arange(100_000.0)
    y_all = rng.normal(size=x_all.size)
    y_all[12_345], y_all[87_654] = 50.0, -50.0  # one spike each way
    for start in range(0, x_all.size, 997):
        buffer.extend(x_all[start:start + 997], y_all[start:start + 997])
    x, y = buffer.data()
    assert buffer.count == x_all.size and len(buffer) <= 64 and x.size <= 64 + buffer.stride
    assert y.max() == 50.0 and y.min() == -50.0
    assert np.all(np.diff(x) >= 0)  # still in order


def test_a_long_session_of_qt_calls_does_not_use_up_none() -> None:
    """PySide6 6.12 on Python 3.11 drops a reference to None per void call; labctl.gui.qt
    makes None (and True, False) immortal there, as Python 3.12 does."""
    import sys

    pytest.importorskip("PySide6.QtGui", reason="Qt (PySide6) cannot be loaded here")
    from labctl.gui import qt

    pen = qt.QtGui.QPen()
    before = sys.getrefcount(None)
    for _ in range(300_000):  # more than None's references in a fresh interpreter
        pen.setWidth(1)
    if qt.none_refcount_leaks():
        assert qt._none_guarded and sys.getrefcount(None) > 1 << 50
    else:
        assert sys.getrefcount(None) >= before - 10
