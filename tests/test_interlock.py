"""An SMU's interlock trip is noticed and named (instruments/interlock.py).

The emulators answer the interlock queries as the instruments do (2400 ``:OUTP:ENAB:TRIP?``,
2450 ``:OUTP:INT:TRIP?``: 1 closed, 0 open); the drivers of an opened station turn a reading
or a sweep that the open interlock spoiled into ``SmuInterlockError`` naming the instrument as
the station does, and a silent instrument is not taken for an interlock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvisa
import yaml
from pymeasure.test import expected_protocol

import labctl.subscribers
from instruments.interlock import SmuInterlockError
from instruments.keithley2450 import Keithley2450SMU
from instruments.smu import SmuError
from labctl.cli import main
from labctl.guard import InstrumentFault
from labctl.opened_station import open_station
from labctl.sim.bench import forget_benches

SMU, REF = "GPIB0::24::INSTR", "USB0::0x05E6::0x2450::04412345::INSTR"
LABELS = {"smu": f"smu (keithley2400 at {SMU})", "ref_smu": f"ref_smu (keithley2450 at {REF})"}
QUERIES = {SMU: ":OUTP:ENAB:TRIP?", REF: ":OUTP:INT:TRIP?"}


@pytest.mark.parametrize("resource", [SMU, REF])
def test_the_emulators_answer_the_interlock_query(labsim: Any, resource: str) -> None:
    key = "smu" if resource == SMU else "ref_smu"
    smu = pyvisa.ResourceManager(labsim.visa_library).open_resource(
        resource, read_termination="\n", write_termination="\n", timeout=2000)
    assert smu.query(QUERIES[resource]) == "1"
    labsim.bench.instruments[key].start_fault("interlock")
    assert smu.query(QUERIES[resource]) == "0"
    assert smu.query(":OUTP?") == "0"


def _opened(smu_station: Path, key: str) -> Any:
    station = open_station(smu_station, simulated=True)
    smu = station.instruments[key]
    smu.configure_voltage_source(level_v=0.5, compliance_a=0.05, nplc=0.1)
    smu.enable_output()
    smu.read()
    return station, smu


@pytest.mark.parametrize("key", ["smu", "ref_smu"])
def test_a_reading_after_the_trip_names_the_interlock_and_the_instrument(
        smu_station: Path, key: str) -> None:
    station, smu = _opened(smu_station, key)
    with station:
        station.bench.instruments[key].start_fault("interlock")
        with pytest.raises(SmuInterlockError) as raised:
            smu.read()
    message = str(raised.value)
    assert message.startswith(f"{LABELS[key]}: interlock tripped while reading (:READ?): ")
    assert "+802" in message and "= 0" in message, message


@pytest.mark.parametrize("key", ["smu", "ref_smu"])
def test_a_hardware_sweep_during_the_trip_names_the_interlock(smu_station: Path,
                                                              key: str) -> None:
    station, smu = _opened(smu_station, key)
    with station:
        station.bench.instruments[key].start_fault("interlock")
        with pytest.raises(SmuInterlockError, match=r"interlock tripped while sweeping"):
            smu.sweep_voltage_linear(0.0, 0.6, 7, source_delay_s=0.01, compliance_a=0.05,
                                     nplc=0.1)


def test_a_silent_2400_is_not_taken_for_an_interlock(smu_station: Path) -> None:
    station, smu = _opened(smu_station, "smu")
    with station:
        station.bench.instruments["smu"].start_fault("no_reply")
        with pytest.raises(InstrumentFault) as raised:
            smu.read()
    assert "interlock" not in str(raised.value)
    assert "reading the reply to ':READ?'" in str(raised.value)


def test_a_2450_output_off_without_the_interlock_is_an_smu_error() -> None:
    pairs = [("*LANG?", "SCPI"), (":OUTP ON", None), (":SOUR:FUNC?", "VOLT"),
             (':READ? "defbuffer1",SOUR,READ,REL', "0.5,-0.001,1.0"),
             (":SOUR:VOLT:ILIM:TRIP?;:OUTP?", "0;0"),
             (":OUTP:INT:TRIP?", "1"), (":SYST:ERR?", '0,"No error;0;0 0"')]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.enable_output()
        with pytest.raises(SmuError, match="output turned off by itself") as raised:
            smu.read()
    assert not isinstance(raised.value, SmuInterlockError)


def test_a_2450_reading_with_the_output_off_asks_nothing_more() -> None:
    """Before labctl switched the output on, a reading is the two exchanges it always was."""
    pairs = [("*LANG?", "SCPI"), (":SOUR:FUNC?", "VOLT"),
             (':READ? "defbuffer1",SOUR,READ,REL', "0.5,-0.001,1.0"),
             (":SOUR:VOLT:ILIM:TRIP?", "0")]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        assert smu.read().current_a == -0.001


def test_a_run_with_a_hardware_sweep_ends_on_the_interlock(
        tmp_path: Path, example_station: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The device SMU's interlock is open from the start: the reverse hardware sweep ends the
    run with exit 1, the measurement and the instrument named, and no forward sweep runs."""
    monkeypatch.setattr(labctl.subscribers.FigureSubscriber, "__call__",
                        lambda self, document: None)
    station = example_station(keep=("smu", "shutter", "ref_smu", "photodiode"))
    data = yaml.safe_load(station.read_text())
    data["simulation"]["faults"] = [{"instrument": "smu", "kind": "interlock", "at_s": 0}]
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text(yaml.safe_dump({
        "sample": {"id": "I-1", "area_cm2": 0.09},
        "steps": [{"jv": {"start_v": 0.9, "stop_v": -0.1, "step_v": 0.05, "direction": "both",
                          "light": True, "precondition_light_s": 0, "hardware_sweep": True,
                          "dwell_s": 0.5}}]}, sort_keys=False))
    forget_benches()
    code = main(["run", str(sequence), "--station", str(station), "--sim", "--quiet",
                 "--out", str(tmp_path / "out")])
    summary = json.loads(next((tmp_path / "out").rglob("summary.json")).read_text())
    assert code == 1 and summary["status"] == "failed"
    assert summary["error"].startswith("jv (step 0, reverse) failed: "), summary["error"]
    assert f"{LABELS['smu']}: interlock tripped while sweeping" in summary["error"]
    assert not list((tmp_path / "out").rglob("*forward*.csv"))
