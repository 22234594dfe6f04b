"""QCoDeS's own Keithley 2400 and 2450 drivers on the simulated bench.

Every gettable parameter of each driver (found by introspection of an opened instance: its
parameters and those of its submodules) is read on a fresh bench, after the settings a user
would make first (output on for a reading, the sense or source function of the submodule);
it must return a value its validator accepts (or a finite number within the instrument's
range) with no error queued and no header the emulator did not know. QCoDeS is in the
``clients`` extra (``pip install -e '.[clients]'``); without it this module is skipped.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

qcodes = pytest.importorskip(
    "qcodes", reason="QCoDeS is in the `clients` extra: pip install -e '.[clients]'")

from qcodes.instrument_drivers.Keithley import Keithley2400, Keithley2450  # noqa: E402
from qcodes.validators import Ints, Numbers  # noqa: E402

from labctl.sim.bench import bench_for, forget_benches  # noqa: E402

#: One instrument for each driver, each wired to a lit solar cell (no lamp, no shutter).
STATION: dict = {
    "station": "qcodes-clients",
    "simulated": True,
    "instruments": {
        "k2400": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "k2450": {"driver": "keithley2450", "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
    },
    "simulation": {"devices": {"k2400": {"kind": "solar_cell"},
                               "k2450": {"kind": "solar_cell"}}},
}
DRIVERS: dict[str, type] = {"k2400": Keithley2400, "k2450": Keithley2450}

#: Parameters that cannot read as on the instrument, each with its reason; strict, so a fix
#: shows as a failure (XPASS) and the entry is removed.
KNOWN_GAPS: dict[tuple[str, str], str] = {
    # The 2450 answers :ROUT:TERM? with the short form, FRON or REAR (2450 reference manual,
    # 2450-901-01 Rev. B, p. 6-35, :ROUTe:TERMinals; SCPI replies give the short form in
    # capitals). QCoDeS 0.58's `terminals` has no val_mapping and validates the raw reply
    # against Enum("rear", "front"): QCoDeS's own bug, it fails on the real 2450 as well.
    ("k2450", "terminals"): "QCoDeS validates the 2450's FRON|REAR reply against front|rear",
}

_serial = itertools.count()


def _write_station(folder: Path) -> Path:
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(STATION, sort_keys=False))
    return path


def _open(key: str, station: Path) -> Any:
    return DRIVERS[key](f"{key}_{next(_serial)}", STATION["instruments"][key]["resource"],
                        visalib=f"{station}@labsim")


def _walk(instrument: Any) -> Iterator[tuple[str, Any, Any]]:
    """(key, module, parameter) of every gettable parameter: ``name`` on the instrument,
    ``submodule.name`` on a submodule."""
    modules = [("", instrument), *instrument.submodules.items()]
    for sub_name, module in modules:
        for name, parameter in getattr(module, "parameters", {}).items():
            if parameter.gettable and not _manual(parameter):
                yield f"{sub_name}.{name}" if sub_name else name, module, parameter


def _manual(parameter: Any) -> bool:
    """A parameter QCoDeS holds itself (``get_cmd=None``: ``user_number``, ``buffer_name``):
    nothing is read from the instrument."""
    return getattr(parameter.get_raw, "__name__", "") == "_get_manual_parameter"


def _discover() -> list[tuple[str, str]]:
    """Every (driver, parameter key), from instances opened on a scratch bench."""
    found: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as folder:
        station = _write_station(Path(folder))
        for key in DRIVERS:
            instrument = _open(key, station)
            try:
                found += [(key, name) for name, _, _ in _walk(instrument)]
            finally:
                instrument.close()
        forget_benches()
    return found


def _cases() -> list[Any]:
    cases = []
    for key, name in _discover():
        marks = []
        if (key, name) in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(reason=KNOWN_GAPS[key, name], strict=True))
        cases.append(pytest.param(key, name, marks=marks, id=f"{key}-{name}"))
    return cases


# --- what a user sets before reading a parameter ----------------------------------------------

def _prepare_2400(instrument: Any, name: str) -> None:
    if name in ("volt", "curr", "resistance"):
        instrument.output(1)


def _prepare_2450(instrument: Any, name: str) -> None:
    sub, _, parameter = name.rpartition(".")
    if sub.startswith("_source_"):
        if instrument.sense_function() == "resistance":
            instrument.sense_function("current")
        instrument.source_function(sub.removeprefix("_source_"))
    elif sub.startswith("_sense_"):
        function = sub.removeprefix("_sense_")
        if function != "resistance":
            instrument.source_function("voltage" if function == "current" else "current")
        instrument.sense_function(function)
    if parameter == "user_delay":
        instrument.submodules[sub].user_number(1)
    if parameter in ("sweep", "sweep_axis"):
        instrument.source.sweep_setup(0.0, 0.5, 6)
        if parameter == "sweep" and instrument.source.function() == "voltage":
            # QCoDeS sweeps with failAbort ON: the cell's ~1.8 mA must fit the current limit
            # (105 uA after *RST) or the 2450 stops at the first point, as
            # test_sweep_in_limit_stops_at_first_point shows.
            instrument.source.limit(0.1)
    if parameter in ("current", "voltage", "resistance", "sweep"):
        instrument.output_enabled("on")


PREPARE: dict[str, Callable[[Any, str], None]] = {"k2400": _prepare_2400,
                                                  "k2450": _prepare_2450}


def _check_value(parameter: Any, value: Any) -> None:
    """The value is what the parameter may hold: its validator accepts it, a number is
    finite and not the overflow reading (+9.91E+37)."""
    assert value is not None, f"{parameter.full_name} returned None"
    values = np.atleast_1d(np.asarray(value)) if not isinstance(value, str) else None
    if values is not None and values.dtype.kind in "fi":
        assert np.all(np.isfinite(values)) and np.all(np.abs(values) < 9.9e37), value
    if isinstance(value, str) and isinstance(parameter.vals, Numbers | Ints):
        # the driver has no get_parser: the instrument's number as text
        value = int(float(value)) if isinstance(parameter.vals, Ints) else float(value)
    if parameter.vals is not None:
        parameter.validate(value)
    elif isinstance(value, float):
        assert math.isfinite(value)


@pytest.mark.parametrize(("key", "name"), _cases())
def test_parameter_reads_as_on_the_instrument(key: str, name: str, tmp_path: Path) -> None:
    station = _write_station(tmp_path)
    instrument = _open(key, station)
    try:
        emulator = bench_for(station).instruments[key]
        PREPARE[key](instrument, name)
        assert list(emulator.errors) == [], "preparing queued an error"
        sub, _, parameter_name = name.rpartition(".")
        module = instrument.submodules[sub] if sub else instrument
        parameter = module.parameters[parameter_name]
        value = parameter.get()
        _check_value(parameter, value)
        assert list(emulator.errors) == []
        assert emulator.unhandled == []
    finally:
        instrument.close()


def _sweep_ready_2450(station: Path) -> tuple[Any, Any]:
    """A QCoDeS 2450 set up for its linear voltage sweep (0-0.5 V, 6 points) on the cell."""
    instrument = _open("k2450", station)
    instrument.source_function("voltage")
    instrument.sense_function("current")
    instrument.source.sweep_setup(0.0, 0.5, 6)
    instrument.output_enabled("on")
    return instrument, bench_for(station).instruments["k2450"]


def test_sweep_fills_the_buffer_with_its_points(tmp_path: Path) -> None:
    """QCoDeS's :SOUR:SWE:VOLT:LIN ..., :INIT, *WAI leaves the sweep's 6 readings in
    defbuffer1: :TRAC:ACT? gives 6 and :TRAC:DATA? 1, 6 gives source and reading of each."""
    instrument, emulator = _sweep_ready_2450(_write_station(tmp_path))
    try:
        instrument.source.limit(0.1)
        instrument.source.sweep_start()
        buffer = instrument.buffer("defbuffer1")
        assert buffer.number_of_readings() == 6
        buffer.elements(["source_value", "measurement"])
        values = [float(v) for v in buffer.get_data(1, 6)]
        np.testing.assert_allclose(values[0::2], np.linspace(0.0, 0.5, 6), atol=1e-3)
        assert all(-0.1 < i < 0 for i in values[1::2])  # the lit cell delivers current
        assert list(emulator.errors) == [] and emulator.unhandled == []
    finally:
        instrument.close()


def test_sweep_in_limit_stops_at_first_point(tmp_path: Path) -> None:
    """With QCoDeS's failAbort ON and the 105 uA current limit of *RST, the lit cell's first
    point is in limit and the sweep stops there (2450 reference manual, :SOUR:SWE:VOLT:LIN,
    failAbort ON): one reading in the buffer, the limit tripped, and QCoDeS's read of the
    sweep's 6 points is refused."""
    instrument, emulator = _sweep_ready_2450(_write_station(tmp_path))
    try:
        instrument.source.sweep_start()
        assert instrument.buffer("defbuffer1").number_of_readings() == 1
        assert instrument.source.limit_tripped() == 1
        with pytest.raises(Exception, match="TMO"):
            instrument.sense.sweep()
        assert [code for code, _ in emulator.errors] == [-222]
    finally:
        instrument.close()
