"""Station files: models, cross-checks, role helpers, one-line errors (labctl.station)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from labctl.station import (
    DRIVER_ROLES,
    SingleCarrierDevice,
    SolarCellDevice,
    StationConfig,
    canonical_resource,
    load_station,
    normalize_resource,
)
from labctl.yamlio import InputError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

DESIGN_STATION = """\
station: bench-1
instruments:
  smu:        {driver: keithley2400, resource: "GPIB0::24::INSTR"}
  ref_smu:    {driver: keithley2450, resource: "USB0::0x05E6::0x2450::04412345::INSTR"}
  lamp:       {driver: newport69907, resource: "ASRL1::INSTR"}
  shutter:    {driver: thorlabs_sc10, resource: "ASRL2::INSTR"}
  wheel_a:    {driver: thorlabs_fw102c, resource: "ASRL3::INSTR", od: [0, 0.5, 1, 2, 3, 4]}
  wheel_b:    {driver: thorlabs_fw102c, resource: "ASRL4::INSTR", od: [0, 1, 2, 3, 4, 5]}
  photodiode: {driver: smu_photodiode, smu: ref_smu, responsivity_a_per_w: 0.45, area_mm2: 13}
simulation:
  device:
    kind: solar_cell
    area_cm2: 0.09
    jph_ma_cm2: 19.8
    j0_ma_cm2: 1.0e-12
    ideality: 1.5
    rs_ohm_cm2: 3.0
    rsh_ohm_cm2: 3000
    temperature_k: 298.15
    ion_tau_s: 5.0
    ion_amplitude: 0.0
  light: {irradiance_mw_cm2: 100}
"""
# line numbers in DESIGN_STATION: smu 3, ref_smu 4, lamp 5, shutter 6, wheel_a 7, wheel_b 8,
# photodiode 9, simulation 10, device 11, kind 12, area_cm2 13, jph 14, j0 15, ideality 16,
# rs 17, rsh 18, temperature 19, ion_tau_s 20, ion_amplitude 21, light 22


def write(tmp_path: Path, text: str, name: str = "station.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> StationConfig:
    return load_station(write(tmp_path, text))


def assert_error(err: InputError, path: Path, line: int, field: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert path.name in text
    assert text.startswith(f"{path}:{line}: {field}: "), text
    assert (err.line, err.field) == (line, field)


# --- valid files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((CONFIGS / "stations").glob("*.yaml")), ids=lambda p: p.name
)
def test_example_stations_validate(path: Path) -> None:
    station = load_station(path)
    assert station.path == path.resolve()
    assert station.dut_smu() == "smu"


def test_design_example(tmp_path: Path) -> None:
    station = load_text(tmp_path, DESIGN_STATION)
    assert station.station == "bench-1"
    assert list(station.instruments) == [
        "smu",
        "ref_smu",
        "lamp",
        "shutter",
        "wheel_a",
        "wheel_b",
        "photodiode",
    ]
    assert station.simulated is False
    assert station.smu_names() == ["smu", "ref_smu"]
    assert station.dut_smu() == "smu"
    assert station.dut_smu("ref_smu") == "ref_smu"
    assert station.light_source() == "lamp"
    assert station.has_programmable_intensity() is False
    assert station.shutter() == "shutter"
    assert station.attenuator() == ["wheel_a", "wheel_b"]
    assert station.irradiance_sensor() == "photodiode"
    assert station.photodiode_smus() == {"ref_smu": "photodiode"}
    device = station.device_for_smu("smu")
    assert isinstance(device, SolarCellDevice) and device.jph_ma_cm2 == 19.8
    assert station.device_for_smu("ref_smu") is None
    assert station.instruments["wheel_b"].od == [0, 1, 2, 3, 4, 5]
    assert station.simulation.light.irradiance_mw_cm2 == 100
    assert station.simulation.clock == "virtual"
    assert station.simulation.line_frequency_hz == 50
    assert station.smu_limits("smu").max_voltage_v == 210


def test_roles_by_driver_not_by_name(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: s\n"
        "instruments:\n"
        "  smu: {driver: keithley2420, resource: 'GPIB0::5::INSTR'}\n"
        "  sun: {driver: g2v_pico, resource: 'TCPIP0::10.0.0.5::50000::SOCKET',"
        " pico_id: 0123456789abcdef}\n"
        "  meter: {driver: thorlabs_pm100, resource: 'USB0::0x1313::0x8078::P0001::INSTR'}\n"
        "  big_wheel: {driver: thorlabs_fw212c, resource: COM7, od: [0,1,2,3,4,5,6,7,8,9,10,0]}\n",
    )
    assert station.light_source() == "sun"
    assert station.has_programmable_intensity() is True
    assert station.shutter() is None
    assert station.irradiance_sensor() == "meter"
    assert station.attenuator() == ["big_wheel"]
    assert station.instruments["meter"].wavelength_nm == 520
    assert station.smu_limits("smu").max_current_at_a(30) == pytest.approx(1.05)
    assert station.smu_limits("smu").max_current_at_a(10) == pytest.approx(3.15)


def test_station_without_simulation_gets_design_defaults(tmp_path: Path) -> None:
    station = load_text(
        tmp_path, "station: s\ninstruments:\n  smu: {driver: keithley2400, resource: COM1}\n"
    )
    device = station.simulation.device
    assert isinstance(device, SolarCellDevice)
    assert (device.area_cm2, device.jph_ma_cm2, device.j0_ma_cm2) == (0.09, 19.8, 1e-12)
    assert (device.ideality, device.rs_ohm_cm2, device.rsh_ohm_cm2) == (1.5, 3.0, 3000)
    assert (device.temperature_k, device.ion_tau_s, device.ion_amplitude) == (298.15, 5.0, 0.0)
    assert station.simulation.light.irradiance_mw_cm2 == 100
    assert station.simulation.devices is None
    assert station.device_for_smu("smu") is device


def test_com_port_and_lowercase_resources(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: s\ninstruments:\n"
        "  smu: {driver: keithley2400, resource: gpib0::24::instr}\n"
        "  shutter: {driver: thorlabs_sc10, resource: com3}\n",
    )
    assert station.instruments["shutter"].resource == "ASRL3::INSTR"
    assert station.instruments["smu"].resource == "GPIB0::24::INSTR"
    assert normalize_resource("COM12") == "ASRL12::INSTR"
    assert canonical_resource("ASRL3") == "ASRL3::INSTR"


def test_single_carrier_device_and_numbers(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: 7\nsimulated: true\ninstruments:\n  smu: {driver: keithley2450, resource: COM1}\n"
        "simulation:\n"
        "  device: {kind: single_carrier, thickness_nm: 300, trap_density_cm3: 1e15}\n",
    )
    assert station.station == "7"
    assert station.simulated is True
    device = station.simulation.device
    assert isinstance(device, SingleCarrierDevice)
    assert device.thickness_nm == 300 and device.trap_density_cm3 == 1e15
    assert device.eps_r == 30 and device.mobility_cm2_vs == 1e-3


def test_infinite_shunt_is_allowed(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: s\ninstruments:\n  smu: {driver: keithley2400, resource: COM1}\n"
        "simulation:\n  device: {rsh_ohm_cm2: .inf}\n",
    )
    assert math.isinf(station.simulation.device.rsh_ohm_cm2)


def test_multi_smu_devices(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: multi\n"
        "instruments:\n"
        "  smu: {driver: keithley2400, resource: 'GPIB0::24::INSTR'}\n"
        "  smu2: {driver: keithley2450, resource: 'GPIB0::25::INSTR'}\n"
        "simulation:\n"
        "  devices:\n"
        "    smu: {jph_ma_cm2: 20}\n"
        "    smu2: {kind: solar_cell, jph_ma_cm2: 10}\n",
    )
    assert station.device_for_smu("smu").jph_ma_cm2 == 20
    assert station.device_for_smu("smu2").jph_ma_cm2 == 10
    assert station.device_for_smu("other") is None


def test_pyvisa_sim_path_is_relative_to_station_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "extra.yaml").write_text("spec: '1.1'\n")
    path = write(
        tmp_path / "sub",
        "station: s\ninstruments:\n  smu: {driver: keithley2400, resource: COM1}\n"
        "simulation:\n  pyvisa_sim: extra.yaml\n",
    )
    station = load_station(path)
    assert station.simulation.pyvisa_sim == str((tmp_path / "sub" / "extra.yaml").resolve())


def test_driver_roles_table() -> None:
    assert DRIVER_ROLES["keithley2420"] == "smu"
    assert DRIVER_ROLES["newport69920"] == "light_source"
    assert DRIVER_ROLES["g2v_pico"] == "light_source"
    assert DRIVER_ROLES["thorlabs_fw212c"] == "filter_wheel"
    assert DRIVER_ROLES["smu_photodiode"] == "irradiance_sensor"
    assert len(DRIVER_ROLES) == 11


def test_dut_smu_missing_raises_input_error(tmp_path: Path) -> None:
    station = load_text(
        tmp_path,
        "station: s\ninstruments:\n  left: {driver: keithley2400, resource: COM1}\n",
    )
    with pytest.raises(InputError) as info:
        station.dut_smu()
    assert "no SMU named 'smu'" in str(info.value)
    assert "station.yaml" in str(info.value)
    assert station.dut_smu("left") == "left"


# --- bad files ----------------------------------------------------------------------------------


def edit(old: str, new: str) -> str:
    assert old in DESIGN_STATION, old
    return DESIGN_STATION.replace(old, new, 1)


BAD_STATIONS = [
    # (id, text, line, field, reason fragment)
    (
        "unknown key",
        edit("    ideality: 1.5", "    idealty: 1.5"),
        16,
        "simulation.device.idealty",
        "unknown key 'idealty', did you mean 'ideality'?",
    ),
    (
        "wrong type",
        edit("ion_tau_s: 5.0", "ion_tau_s: slow"),
        20,
        "simulation.device.ion_tau_s",
        "must be a number, got 'slow'",
    ),
    (
        "out of range",
        edit("ion_amplitude: 0.0", "ion_amplitude: 1.5"),
        21,
        "simulation.device.ion_amplitude",
        "must be ≤ 1 (got 1.5)",
    ),
    (
        "light out of range",
        edit("{irradiance_mw_cm2: 100}", "{irradiance_mw_cm2: 5000}"),
        22,
        "simulation.light.irradiance_mw_cm2",
        "must be ≤ 1000 (got 5000)",
    ),
    (
        "missing required",
        edit("responsivity_a_per_w: 0.45, ", ""),
        9,
        "instruments.photodiode.responsivity_a_per_w",
        "missing required key 'responsivity_a_per_w'",
    ),
    (
        "missing station",
        edit("station: bench-1\n", ""),
        1,
        "station",
        "missing required key 'station'",
    ),
    (
        "unknown driver",
        edit("driver: newport69907", "driver: newport9999"),
        5,
        "instruments.lamp.driver",
        "unknown driver 'newport9999' (known: keithley2400, keithley2420",
    ),
    (
        "missing driver",
        edit("driver: thorlabs_sc10, ", ""),
        6,
        "instruments.shutter.driver",
        "missing required key 'driver'",
    ),
    (
        "bad resource",
        edit('resource: "ASRL2::INSTR"', 'resource: "serial port 2"'),
        6,
        "instruments.shutter.resource",
        "not a VISA resource name: 'serial port 2'",
    ),
    (
        "bad gpib address",
        edit("GPIB0::24::INSTR", "GPIB0::99::INSTR"),
        3,
        "instruments.smu.resource",
        "GPIB addresses are 0-30",
    ),
    (
        "shared resource",
        edit('"ASRL4::INSTR"', '"ASRL3::INSTR"'),
        8,
        "instruments.wheel_b.resource",
        "already the resource of 'wheel_a'",
    ),
    (
        "photodiode names a missing SMU",
        edit("smu: ref_smu", "smu: reference"),
        9,
        "instruments.photodiode.smu",
        "no instrument named 'reference'",
    ),
    (
        "photodiode names a non-SMU",
        edit("smu: ref_smu", "smu: lamp"),
        9,
        "instruments.photodiode.smu",
        "'lamp' is a newport69907, not an SMU",
    ),
    (
        "photodiode on the DUT smu",
        edit("smu: ref_smu", "smu: smu"),
        9,
        "instruments.photodiode.smu",
        "needs an SMU of its own",
    ),
    (
        "od list too short",
        edit("od: [0, 1, 2, 3, 4, 5]", "od: [0, 1, 2]"),
        8,
        "instruments.wheel_b.od",
        "each of the 6 slots (got 3 values)",
    ),
    (
        "od out of range",
        edit("od: [0, 1, 2, 3, 4, 5]", "od: [0, 1, 2, 3, 4, 12]"),
        8,
        "instruments.wheel_b.od[5]",
        "must be ≤ 10 (got 12)",
    ),
    (
        "device kind",
        edit("kind: solar_cell", "kind: tandem"),
        12,
        "simulation.device.kind",
        "unknown kind 'tandem' (known: solar_cell, single_carrier)",
    ),
    (
        "device keys of the other kind",
        edit("kind: solar_cell", "kind: single_carrier"),
        14,
        "simulation.device.jph_ma_cm2",
        "unknown key 'jph_ma_cm2'",
    ),
    (
        "single-carrier device with traps but no conductivity",
        edit("    kind: solar_cell\n", "    kind: single_carrier\n").replace(
            "    area_cm2: 0.09\n    jph_ma_cm2: 19.8\n    j0_ma_cm2: 1.0e-12\n"
            "    ideality: 1.5\n    rs_ohm_cm2: 3.0\n    rsh_ohm_cm2: 3000\n",
            "    conductivity_s_cm: 0\n    trap_density_cm3: 1.0e16\n",
        ).replace("    ion_tau_s: 5.0\n    ion_amplitude: 0.0\n", ""),
        13,
        "simulation.device.conductivity_s_cm",
        "must be > 0 when trap_density_cm3 > 0",
    ),
    (
        "nan is not a number here",
        edit("area_cm2: 0.09", "area_cm2: .nan"),
        13,
        "simulation.device.area_cm2",
        "must be",
    ),
    (
        "timeout type",
        edit('resource: "ASRL1::INSTR"', 'resource: "ASRL1::INSTR", timeout_ms: 2.5'),
        5,
        "instruments.lamp.timeout_ms",
        "must be a whole number, got 2.5",
    ),
    (
        "timeout range",
        edit('resource: "ASRL1::INSTR"', 'resource: "ASRL1::INSTR", timeout_ms: 10'),
        5,
        "instruments.lamp.timeout_ms",
        "must be ≥ 100 (got 10)",
    ),
    (
        "instrument not a mapping",
        edit('{driver: newport69907, resource: "ASRL1::INSTR"}', "newport69907"),
        5,
        "instruments.lamp",
        "must be a mapping of keys, got 'newport69907'",
    ),
    (
        "clock literal",
        DESIGN_STATION + "  clock: fast\n",
        23,
        "simulation.clock",
        "must be 'virtual' or 'real' (got 'fast')",
    ),
    (
        "line frequency",
        DESIGN_STATION + "  line_frequency_hz: 55\n",
        23,
        "simulation.line_frequency_hz",
        "must be 50 or 60 (got 55)",
    ),
    (
        "simulated type",
        DESIGN_STATION + "simulated: sometimes\n",
        23,
        "simulated",
        "must be true or false",
    ),
    (
        "device and devices",
        DESIGN_STATION + "  devices: {smu: {}}\n",
        23,
        "simulation.devices",
        "not both",
    ),
    (
        "pyvisa_sim missing",
        DESIGN_STATION + "  pyvisa_sim: missing.yaml\n",
        23,
        "simulation.pyvisa_sim",
        "file not found",
    ),
    (
        "unknown top-level key",
        DESIGN_STATION + "path: /somewhere\n",
        23,
        "path",
        "unknown key 'path'",
    ),
    (
        "duplicate instrument",
        edit("  ref_smu:    {driver: keithley2450", "  smu:    {driver: keithley2450"),
        4,
        None,
        "duplicate key 'smu' (first given on line 3)",
    ),
    (
        "yaml syntax",
        edit("  light: {irradiance_mw_cm2: 100}", "  light: {irradiance_mw_cm2: 100"),
        23,
        None,
        "YAML syntax error",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [case[1:] for case in BAD_STATIONS],
    ids=[case[0] for case in BAD_STATIONS],
)
def test_bad_station(tmp_path: Path, text: str, line: int, field: str | None, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_station(path)
    err = info.value
    if field is None:
        assert str(err).startswith(f"{path}:{line}: "), str(err)
        assert err.line == line
        assert "\n" not in str(err)
    else:
        assert_error(err, path, line, field)
    assert reason in err.reason, str(err)


def test_devices_key_must_be_an_smu(tmp_path: Path) -> None:
    text = (
        "station: s\n"
        "instruments:\n"
        "  smu: {driver: keithley2400, resource: COM1}\n"
        "  lamp: {driver: newport69907, resource: COM2}\n"
        "simulation:\n"
        "  devices:\n"
        "    smu: {}\n"
        "    lamp: {}\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_station(path)
    assert_error(info.value, path, 8, "simulation.devices.lamp")
    assert "not an SMU" in info.value.reason


def test_empty_instruments(tmp_path: Path) -> None:
    path = write(tmp_path, "station: s\ninstruments: {}\n")
    with pytest.raises(InputError) as info:
        load_station(path)
    assert_error(info.value, path, 2, "instruments")


def test_bad_instrument_name(tmp_path: Path) -> None:
    path = write(
        tmp_path, "station: s\ninstruments:\n  my smu: {driver: keithley2400, resource: COM1}\n"
    )
    with pytest.raises(InputError) as info:
        load_station(path)
    assert_error(info.value, path, 3, "instruments.my smu")


def test_g2v_pico_id_length(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "station: s\ninstruments:\n  smu: {driver: keithley2400, resource: COM1}\n"
        "  led: {driver: g2v_pico, resource: 'TCPIP0::10.0.0.5::50000::SOCKET', pico_id: abc}\n",
    )
    with pytest.raises(InputError) as info:
        load_station(path)
    assert_error(info.value, path, 4, "instruments.led.pico_id")
    assert "16-character" in info.value.reason


def test_missing_station_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InputError) as info:
        load_station(path)
    assert str(info.value) == f"{path}: no such file"
