"""The inputs of a step model (or of the sample): one widget per field, a bad value shown at
its field (red frame, the reason beside it and as its tooltip)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from labctl.gui.fields import FieldSpec, ValueProblem, field_specs, parse_value
from labctl.gui.qt import QtWidgets

__all__ = ["FieldForm", "unit_text"]

_BAD_STYLE = "border: 2px solid #d62728;"


class FieldForm(QtWidgets.QWidget):
    """A form for a pydantic model's fields: label (with unit), input, problem line."""

    def __init__(self, model: type[BaseModel], *, exclude: tuple[str, ...] = (),
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.specs = {s.name: s for s in field_specs(model, exclude=exclude)}
        self.inputs: dict[str, QtWidgets.QWidget] = {}
        self.problems: dict[str, QtWidgets.QLabel] = {}
        layout = QtWidgets.QFormLayout(self)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.setContentsMargins(2, 2, 2, 2)
        for spec in self.specs.values():
            widget = self._input(spec)
            widget.setObjectName(spec.name)
            widget.setToolTip(spec.tooltip())
            problem = QtWidgets.QLabel("")
            problem.setStyleSheet("color: #d62728;")
            problem.setWordWrap(True)
            problem.hide()
            box = QtWidgets.QWidget()
            column = QtWidgets.QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(0)
            column.addWidget(widget)
            column.addWidget(problem)
            label = QtWidgets.QLabel(spec.label + (f" ({unit_text(spec.units)})" if spec.units
                                                   else ""))
            label.setToolTip(spec.tooltip())
            layout.addRow(label, box)
            self.inputs[spec.name] = widget
            self.problems[spec.name] = problem

    @staticmethod
    def _input(spec: FieldSpec) -> QtWidgets.QWidget:
        if spec.kind == "bool":
            box = QtWidgets.QCheckBox()
            box.setChecked(bool(spec.default))
            return box
        if spec.kind == "choice":
            combo = QtWidgets.QComboBox()
            if spec.blank_allowed:
                combo.addItem("", "")
            for choice in spec.choices:
                combo.addItem(str(choice), choice)
            if spec.default is not None:
                combo.setCurrentIndex(combo.findData(spec.default))
            return combo
        edit = QtWidgets.QLineEdit(spec.default_text())
        if spec.blank_allowed:
            edit.setPlaceholderText("automatic" if spec.kind in ("int", "float") or spec.units
                                    else "optional")
        elif spec.required:
            edit.setPlaceholderText("required")
        return edit

    def set_value(self, name: str, value: Any) -> None:
        widget = self.inputs[name]
        if isinstance(widget, QtWidgets.QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QtWidgets.QComboBox):
            widget.setCurrentIndex(widget.findData(value))
        else:
            assert isinstance(widget, QtWidgets.QLineEdit)
            widget.setText("" if value is None else str(value))

    def raw_value(self, name: str) -> Any:
        widget = self.inputs[name]
        if isinstance(widget, QtWidgets.QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QtWidgets.QComboBox):
            return widget.currentData()
        assert isinstance(widget, QtWidgets.QLineEdit)
        return widget.text()

    def values(self) -> dict[str, Any]:
        """The values for the sequence file (blank fields left out); every field whose text
        is not of its kind is marked, then :class:`ValueProblem` (the first) is raised."""
        self.clear_problems()
        out: dict[str, Any] = {}
        first: ValueProblem | None = None
        for name, spec in self.specs.items():
            try:
                value = parse_value(spec, self.raw_value(name))
            except ValueProblem as problem:
                self.show_problem(name, problem.reason)
                first = first or problem
                continue
            if value is not None and value != spec.default:
                out[name] = value
        if first is not None:
            raise first
        return out

    def show_problem(self, name: str, reason: str) -> None:
        """Mark a field bad, with the reason beside it."""
        widget = self.inputs[name]
        widget.setStyleSheet(_BAD_STYLE)
        widget.setToolTip(f"{reason}\n\n{self.specs[name].tooltip()}")
        self.problems[name].setText(reason)
        self.problems[name].show()

    def problem(self, name: str) -> str | None:
        """The problem shown at a field (None: it is fine)."""
        label = self.problems[name]
        return label.text() if not label.isHidden() else None

    def clear_problems(self) -> None:
        for name, widget in self.inputs.items():
            widget.setStyleSheet("")
            widget.setToolTip(self.specs[name].tooltip())
            self.problems[name].hide()
            self.problems[name].setText("")


def unit_text(units: str) -> str:
    """``mW/cm**2`` -> ``mW/cm²`` for a label."""
    return (units.replace("**2", "²").replace("**-3", "⁻³").replace("percent", "%")
            .replace("ohm*", "Ω·").replace("ohm", "Ω"))
