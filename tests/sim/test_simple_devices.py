"""Plain pyvisa-sim devices on the simulated bench, beside the physics-backed ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pyvisa

import labctl.sim
from instruments.keithley2450 import Keithley2450SMU
from instruments.smu import SmuError

SIMPLE = Path(labctl.sim.__file__).with_name("simple_devices.yaml")


@pytest.fixture
def station_with_yaml_devices(write_station: Callable[..., Path]) -> Path:
    return write_station(simulation={"pyvisa_sim": str(SIMPLE)})


def test_yaml_devices_answer_beside_the_emulators(station_with_yaml_devices: Path) -> None:
    rm = pyvisa.ResourceManager(f"{station_with_yaml_devices}@labsim")
    resources = rm.list_resources()
    assert "GPIB0::7::INSTR" in resources and "GPIB0::24::INSTR" in resources
    switch = rm.open_resource("GPIB0::7::INSTR", read_termination="\n",
                              write_termination="\n", timeout=500)
    assert "MODEL 7001" in switch.query("*IDN?")
    switch.write(":CLOS (@1!3)")
    assert switch.query(":CLOS:STAT?") == "(@1!3)"
    smu = rm.open_resource("GPIB0::24::INSTR", read_termination="\n", write_termination="\n")
    assert "MODEL 2400" in smu.query("*IDN?")


def test_2450_driver_refuses_the_2400_emulation_language(
        station_with_yaml_devices: Path) -> None:
    library = pyvisa.ResourceManager(f"{station_with_yaml_devices}@labsim").visalib
    with pytest.raises(SmuError, match="SCPI2400") as excinfo:
        Keithley2450SMU("USB0::0x05E6::0x2450::04400001::INSTR", visa_library=library)
    assert "\n" not in str(excinfo.value)


def test_the_file_also_opens_under_plain_pyvisa_sim() -> None:
    rm = pyvisa.ResourceManager(f"{SIMPLE}@sim")
    inst = rm.open_resource("USB0::0x05E6::0x2450::04400001::INSTR", read_termination="\n",
                            write_termination="\n")
    assert inst.query("*LANG?") == "SCPI2400"
