"""docs/contracts.md's key tables are what the models say (labctl/contract_tables.py).

The test compares every table the document has a heading for with the generator's table of
that model; a model field added, removed or changed without refreshing the document fails it.
Refresh with ``python -m labctl.contract_tables --write docs/contracts.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from labctl import contract_tables
from labctl.contract_tables import document_tables, field_row, refreshed, tables
from labctl.registry.procedures import procedure_plugins
from labctl.steps import ReferableVoltage

CONTRACTS = Path(__file__).resolve().parents[1] / "docs" / "contracts.md"
REFRESH = "python -m labctl.contract_tables --write docs/contracts.md"


def test_every_table_of_the_document_is_the_models() -> None:
    generated = {table.match: table.text for table in tables()}
    found = document_tables(CONTRACTS.read_text(encoding="utf-8"))
    # the tables of the fixed contract are there (the comparison is not vacuous)
    for match in ("#### Top level", "#### `simulation:`", "#### `sample:`", "#### `jv` —",
                  "#### `jv_steady` —", "`smu_photodiode`", "#### `simulation.faults`"):
        assert match in found, match
    stale = [match for match, text in found.items() if text != generated[match]]
    assert not stale, f"stale tables in docs/contracts.md: {stale}; run {REFRESH}"


def test_every_registered_step_has_its_table_in_the_document() -> None:
    found = document_tables(CONTRACTS.read_text(encoding="utf-8"))
    missing = [name for name in procedure_plugins() if f"#### `{name}` —" not in found]
    assert not missing, f"steps without a table: {missing}; run {REFRESH}"


def test_write_restores_a_changed_table_and_adds_a_missing_step(tmp_path: Path) -> None:
    original = CONTRACTS.read_text(encoding="utf-8")
    spoiled = original.replace("| `step_v` | number | 0.01 |", "| `step_v` | number | 0.02 |", 1)
    start = spoiled.index("#### `jv_steady` —")
    end = spoiled.index("#### ", start + 5)
    spoiled = spoiled[:start] + spoiled[end:]          # the jv_steady section is gone
    assert spoiled != original
    path = tmp_path / "contracts.md"
    path.write_text(spoiled, encoding="utf-8")
    assert contract_tables.main(["--write", str(path)]) == 0
    written = path.read_text(encoding="utf-8")
    assert written.count("#### `jv_steady` —") == 1
    assert document_tables(written) == document_tables(original)
    assert written.index("#### `jv_steady` —") < written.index(contract_tables.STEP_RULES_MARK)
    assert refreshed(written)[0] == written             # a second refresh changes nothing


def test_the_printed_tables_have_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert contract_tables.main([]) == 0
    out = capsys.readouterr().out
    for name in procedure_plugins():
        assert f"\n#### `{name}` — " in out
    assert out.count("| Key | Type | Default | Range | Meaning |") == len(tables())


class _Example(BaseModel):
    level_v: ReferableVoltage | None = Field(None, description="A | B.")
    mode: Literal["up", "down"] = Field("down", description="Direction.")
    count: int = Field(5, ge=1, lt=20, description="How many.")
    name: str = Field(min_length=1, max_length=8, description="Name.")
    ratio: float = Field(1e-12, gt=0, le=1e7, description="Tiny.")


@pytest.mark.parametrize(("name", "row"), [
    ("level_v", "| `level_v` | number \\| `{from_step, metric}` \\| null | null | ≥ -210, ≤ 210 "
                "| A \\| B. |"),
    ("mode", "| `mode` | `up` \\| `down` | `down` | – | Direction. |"),
    ("count", "| `count` | integer | 5 | ≥ 1, < 20 | How many. |"),
    ("name", "| `name` | text | required | length ≥ 1, length ≤ 8 | Name. |"),
    ("ratio", "| `ratio` | number | 1e-12 | > 0, ≤ 1e+07 | Tiny. |"),
])
def test_a_row_says_type_default_range_and_meaning(name: str, row: str) -> None:
    assert field_row(_Example, name) == row
