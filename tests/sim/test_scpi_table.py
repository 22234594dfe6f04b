"""The command table resolves headers as an SCPI parser does: long or short form, optional
nodes, numeric suffixes (also on a node the instrument writes only with one, ``CALCulate3``)
and digits inside a mnemonic (``PK2Pk``)."""

from __future__ import annotations

import pytest

from labctl.sim.scpi import CommandTable


@pytest.fixture
def table() -> CommandTable:
    table = CommandTable()
    table.add(":CALCulate3:FORMat", "calc3_form", query=False)
    table.add(":CALCulate3:DATA", "calc3_data", query=True)
    table.add(":TRACe:STATistics:PK2Pk", "pk2pk", query=True)
    table.add("[:SOURce[1]]:VOLTage[:LEVel]", "volt", query=False)
    return table


@pytest.mark.parametrize("header", [":CALC3:DATA", "calc3:data", ":CALCulate3:DATA",
                                    "CALCULATE3:DATA"])
def test_a_node_written_only_with_its_suffix_resolves(table: CommandTable, header: str) -> None:
    assert table.lookup(header, True) == "calc3_data"


@pytest.mark.parametrize("header", [":CALC:DATA", ":CALC1:DATA", ":CALC2:DATA", ":CALC3:DAT"])
def test_another_suffix_or_none_is_another_header(table: CommandTable, header: str) -> None:
    assert table.lookup(header, True) is None


@pytest.mark.parametrize("header", [":TRAC:STAT:PK2P", ":trace:statistics:pk2pk",
                                    ":TRACe:STATistics:PK2Pk"])
def test_a_digit_inside_a_mnemonic_is_part_of_it(table: CommandTable, header: str) -> None:
    assert table.lookup(header, True) == "pk2pk"


@pytest.mark.parametrize("header", [":TRAC:STAT:PK2", ":TRAC:STAT:PK", ":TRAC:STAT:PK2PK2"])
def test_a_partial_digit_mnemonic_is_unknown(table: CommandTable, header: str) -> None:
    assert table.lookup(header, True) is None


@pytest.mark.parametrize("header", [":VOLT", ":SOUR:VOLT:LEV", ":SOUR1:VOLT", ":source:volt"])
def test_optional_nodes_and_suffix_one(table: CommandTable, header: str) -> None:
    assert table.lookup(header, False) == "volt"
    assert table.lookup(":SOUR2:VOLT", False) is None
