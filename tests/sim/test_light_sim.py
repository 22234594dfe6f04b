"""The light-path drivers against their emulators, through the @labsim backend.

A station file in tmp_path names an SMU, an arc-lamp supply, a shutter, two filter wheels and a
power meter; the drivers open them by resource name and the tests check what reaches the device
under test (``bench.irradiance_mw_cm2()``). Everything runs on the bench's virtual clock: the
30-minute lamp warm-up costs no real time.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvisa
import yaml

from instruments.attenuator import Attenuator
from instruments.g2v import G2VPico, PicoError
from instruments.newport import LampError, Newport69907
from instruments.roles import Attenuator as AttenuatorRole
from instruments.roles import IrradianceSensor, LightSource, Shutter
from instruments.thorlabs import FW102C, PM100, SC10, ThorlabsError
from labctl import clock
from labctl.sim.bench import Bench, forget_benches

NOMINAL_MW_CM2 = 100.0
OD_A = [0, 0.5, 1, 2, 3, 4]
OD_B = [0, 1, 2, 3, 4, 5]
PICO_ID = "0123456789ABCDEF"
LAMP = "ASRL1::INSTR"
SHUTTER = "ASRL2::INSTR"
WHEEL_A = "ASRL3::INSTR"
WHEEL_B = "ASRL4::INSTR"
METER = "USB0::0x1313::0x8078::P0012345::INSTR"
LED = "TCPIP0::10.0.0.5::50000::SOCKET"

STATION = {
    "station": "light-test",
    "simulated": True,
    "instruments": {
        "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "lamp": {"driver": "newport69907", "resource": LAMP},
        "shutter": {"driver": "thorlabs_sc10", "resource": SHUTTER},
        "wheel_a": {"driver": "thorlabs_fw102c", "resource": WHEEL_A, "od": OD_A},
        "wheel_b": {"driver": "thorlabs_fw102c", "resource": WHEEL_B, "od": OD_B},
        "photodiode": {"driver": "thorlabs_pm100", "resource": METER, "wavelength_nm": 550},
    },
    "simulation": {
        "device": {"kind": "solar_cell", "area_cm2": 0.09},
        "light": {"irradiance_mw_cm2": NOMINAL_MW_CM2, "warmup_tau_s": 300.0,
                  "relative_start": 0.8},
    },
}


@pytest.fixture(autouse=True)
def _no_leaking_benches() -> Iterator[None]:
    forget_benches()
    previous = clock.active()
    yield
    clock.use(previous)
    forget_benches()


def _open(station: dict, tmp_path: Path) -> pyvisa.ResourceManager:
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(station, sort_keys=False))
    rm = pyvisa.ResourceManager(f"{path}@labsim")
    clock.use(rm.visalib.bench.clock)  # drivers wait on the bench's virtual clock
    return rm


@pytest.fixture
def rm(tmp_path: Path) -> Iterator[pyvisa.ResourceManager]:
    manager = _open(STATION, tmp_path)
    yield manager
    manager.close()


@pytest.fixture
def bench(rm: pyvisa.ResourceManager) -> Bench:
    return rm.visalib.bench


def _raw(rm: pyvisa.ResourceManager, resource: str, **kwargs: object) -> pyvisa.Resource:
    return rm.open_resource(resource, timeout=2000, **kwargs)


def _read_until(inst: pyvisa.Resource, ending: bytes) -> bytes:
    """Read byte by byte until ``ending`` (how a driver reads an unterminated prompt)."""
    out = bytearray()
    while not out.endswith(ending):
        out += inst.read_bytes(1)
    return bytes(out)


# --- byte streams ------------------------------------------------------------------------------

def test_fw102c_stream_is_echo_reply_prompt(rm: pyvisa.ResourceManager) -> None:
    wheel = _raw(rm, WHEEL_A, write_termination="\r", read_termination="\r")
    wheel.write("pos?")
    assert _read_until(wheel, b">") == b"pos?\r1\r>"
    wheel.write("pos=2")
    assert _read_until(wheel, b">") == b"pos=2\r>"
    wheel.write("*idn?")
    assert _read_until(wheel, b">") == b"*idn?\rTHORLABS FW102C/FW212C Filter Wheel version 1.07\r>"


def test_fw102c_unknown_command_answers_cmd_not_defined(rm: pyvisa.ResourceManager) -> None:
    wheel = _raw(rm, WHEEL_A, write_termination="\r", read_termination="\r")
    wheel.write("home")
    assert _read_until(wheel, b">") == b"home\rCommand error CMD_NOT_DEFINED\r>"
    wheel.write("POS?")  # commands are lower case
    assert _read_until(wheel, b">") == b"POS?\rCommand error CMD_NOT_DEFINED\r>"
    wheel.write("pos=7")
    assert _read_until(wheel, b">") == b"pos=7\rCommand error CMD_ARG_INVALID\r>"
    # line reads stop at each CR, as a serial read with termchar CR does
    wheel.write("pcount?")
    assert wheel.read() == "pcount?"
    assert wheel.read() == "6"
    assert wheel.read_bytes(1) == b">"


def test_fw102c_driver_raises_on_an_unknown_command(rm: pyvisa.ResourceManager) -> None:
    wheel = FW102C(WHEEL_A, visa_library=rm.visalib)
    with pytest.raises(ThorlabsError, match="CMD_NOT_DEFINED"):
        wheel.write("home")
    assert wheel.position == 1  # the exchange was read to its prompt: the link is in step


def test_sc10_stream_has_the_prompt_with_a_space(rm: pyvisa.ResourceManager) -> None:
    shutter = _raw(rm, SHUTTER, write_termination="\r", read_termination="\r")
    shutter.write("ens?")
    assert _read_until(shutter, b"> ") == b"ens?\r0\r> "
    shutter.write("ens")
    assert _read_until(shutter, b"> ") == b"ens\r> "
    shutter.write("savp")
    assert _read_until(shutter, b"> ") == b"savp\r1\r> "
    shutter.write("blink")
    assert _read_until(shutter, b"> ") == b"blink\rCommand error CMD_NOT_DEFINED\r> "


def test_69907_setters_answer_esr(rm: pyvisa.ResourceManager) -> None:
    lamp = _raw(rm, LAMP, write_termination="\r", read_termination="\r")
    assert lamp.query("IDN?") == "69907"
    assert lamp.query("STB?") == "STB21"        # off, power mode, interlock closed
    assert lamp.query("ESR?") == "ESR80"        # power on, cleared by reading
    assert lamp.query("ESR?") == "ESR00"
    assert lamp.query("P-PRESET=0180") == "ESR00"
    assert lamp.query("P-PRESET?") == "0180"
    assert lamp.query("P-PRESET=0200") == "ESR10"   # not below the limit: execution error
    assert lamp.query("P-PRESET=0600") == "ESR10"   # beyond the model
    assert lamp.query("P-PRESET=12.5") == "ESR20"   # malformed: command error
    assert lamp.query("FLASH") == "ESR20"
    assert lamp.query("START") == "ESR00"
    assert lamp.query("MODE=1") == "ESR10"          # no mode change with the lamp on


def test_pico_replies_json_without_terminator(tmp_path: Path) -> None:
    rm = _open(_led_station(), tmp_path)
    led = rm.open_resource(LED, timeout=2000, read_termination="", write_termination="")
    # two requests in one write, cut by brace matching, answered one object each
    first = {"command": "api", "pico_id": PICO_ID, "cmd": "get_fixture_on"}
    second = {"command": "api", "pico_id": PICO_ID, "cmd": "get_global_intensity"}
    led.write(json.dumps(first) + json.dumps(second))
    # pyvisa-sim ends a SOCKET read at END (suppress_end_enabled is False by default)
    assert led.read_raw() == b'{"cmd": "get_fixture_on", "fixture_on": false}'
    assert led.read_raw() == b'{"cmd": "get_global_intensity", "global_intensity": 100.0}'
    led.write(json.dumps({**first, "pico_id": "FFFFFFFFFFFFFFFF"}))
    assert json.loads(led.read_raw()) == {"cmd": "get_fixture_on", "error": "Pico ID invalid"}
    led.write(json.dumps({**first, "cmd": "dance"}))
    assert json.loads(led.read_raw()) == {"cmd": "dance", "error": "Command type invalid"}


# --- the light at the device ---------------------------------------------------------------------

def test_closed_shutter_gives_no_light_even_with_the_lamp_on(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    shutter = SC10(SHUTTER, visa_library=rm.visalib)
    lamp = Newport69907(LAMP, visa_library=rm.visalib)
    assert shutter.is_open is False
    lamp.turn_on(wait=True)
    assert bench.irradiance_mw_cm2() == 0.0
    assert bench.light.shutter_open is False


def test_warm_lamp_through_an_open_shutter_gives_nominal_irradiance(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    lamp = Newport69907(LAMP, visa_library=rm.visalib)
    shutter = SC10(SHUTTER, visa_library=rm.visalib)
    real_start_s = time.monotonic()
    start_s = bench.clock.now_s()
    lamp.turn_on(wait=False)
    ignition_s = bench.clock.now_s()
    assert lamp.is_on
    shutter.open()
    # Just lit: about relative_start of the nominal output.
    assert bench.irradiance_mw_cm2() == pytest.approx(0.8 * NOMINAL_MW_CM2, rel=0.01)
    lamp.turn_on(wait=True)  # already burning: waits out the warm-up only
    assert bench.clock.now_s() - ignition_s >= lamp.warmup_s
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2, rel=1e-3)
    assert bench.clock.now_s() - start_s > 1800.0
    assert time.monotonic() - real_start_s < 10.0  # virtual time: no real waiting
    assert lamp.power_w == 150 and lamp.current_a == pytest.approx(8.3)


def test_lamp_off_and_on_again(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    lamp = Newport69907(LAMP, visa_library=rm.visalib, warmup_s=0.0)
    SC10(SHUTTER, visa_library=rm.visalib).open()
    lamp.turn_on()
    assert bench.irradiance_mw_cm2() > 0.0
    lamp.turn_off()
    assert not lamp.is_on
    assert bench.irradiance_mw_cm2() == 0.0
    sent_before = len(bench.instruments["lamp"].traffic)
    lamp.shutdown()  # leaves the lamp as it is (off here); sends nothing that changes it
    assert len(bench.instruments["lamp"].traffic) == sent_before
    assert bench.irradiance_mw_cm2() == 0.0


def test_shutdown_does_not_switch_the_lamp_off(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    lamp = Newport69907(LAMP, visa_library=rm.visalib, warmup_s=0.0)
    lamp.turn_on()
    lamp.shutdown()
    assert lamp.is_on


def test_lamp_driver_raises_on_a_refused_setting(rm: pyvisa.ResourceManager) -> None:
    lamp = Newport69907(LAMP, visa_library=rm.visalib)
    lamp.power_preset_w = 180
    assert lamp.power_preset_w == 180
    with pytest.raises(LampError, match="execution error"):
        lamp.power_limit_w = 100            # below the preset
    assert lamp.power_limit_w == 200


def test_wheels_at_od_1_plus_2_attenuate_a_thousandfold(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    lib = rm.visalib
    Newport69907(LAMP, visa_library=lib, warmup_s=3600.0).turn_on(wait=True)
    SC10(SHUTTER, visa_library=lib).open()
    wheel_a = FW102C(WHEEL_A, visa_library=lib)
    wheel_b = FW102C(WHEEL_B, visa_library=lib)
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2, rel=1e-5)
    wheel_a.position = 3  # OD 1
    wheel_b.position = 3  # OD 2
    assert bench.light.transmission() == pytest.approx(1e-3, rel=1e-12)
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2 * 1e-3, rel=1e-5)
    attenuator = Attenuator([wheel_a, wheel_b], [OD_A, OD_B])
    assert attenuator.od == pytest.approx(3.0)
    assert attenuator.set_od(4.5) == pytest.approx(4.5)
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2 * 10**-4.5, rel=1e-5)
    assert attenuator.set_od(0.0) == 0.0
    assert attenuator.positions == (1, 1)
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2, rel=1e-5)


def test_the_light_path_through_its_role_interfaces(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    """What a procedure does, using nothing but the role interfaces: wait for the lamp on the
    clock, set the OD, open the shutter, read the sensor, describe everything, shut down."""
    lib = rm.visalib
    light: LightSource = Newport69907(LAMP, visa_library=lib, warmup_s=1800.0)
    shutter: Shutter = SC10(SHUTTER, visa_library=lib)
    attenuator: AttenuatorRole = Attenuator(
        [FW102C(WHEEL_A, visa_library=lib), FW102C(WHEEL_B, visa_library=lib)], [OD_A, OD_B])
    sensor: IrradianceSensor = PM100(METER, visa_library=lib, wavelength_nm=550)

    assert light.is_arc_lamp and not light.is_on and not light.fault
    light.turn_on(wait=False)
    stable_at_s = light.stable_at_s()
    assert stable_at_s is not None and light.is_on
    clock.sleep_until(stable_at_s)
    assert attenuator.set_od(1.0) == pytest.approx(1.0)
    assert not shutter.is_open
    shutter.open()
    assert shutter.is_open
    assert sensor.irradiance_mw_cm2() == pytest.approx(0.1 * NOMINAL_MW_CM2, rel=1e-3)

    assert light.identity == "69907"
    assert shutter.identity == "THORLABS SC10 VERSION 1.07"
    assert attenuator.identity.count("FW102C/FW212C Filter Wheel") == 2
    assert attenuator.describe().endswith("(OD per slot: [0, 0.5, 1, 2, 3, 4]; [0, 1, 2, 3, 4, 5])")
    assert sensor.identity.startswith("Thorlabs,PM100D") and "S121C" in sensor.identity
    calibration = dict(part.split("=") for part in sensor.calibration_description().split(", "))
    assert set(calibration) == {"responsivity_a_per_w", "aperture_area_cm2", "wavelength_nm"}
    assert float(calibration["wavelength_nm"]) == pytest.approx(550.0)
    assert 0 < float(calibration["responsivity_a_per_w"]) < 1

    for role in (shutter, light, attenuator, sensor):
        role.shutdown()
    assert not shutter.is_open and bench.irradiance_mw_cm2() == 0.0
    assert light.is_on                        # an arc lamp is left burning
    assert attenuator.od == pytest.approx(1.0)


def test_power_meter_reads_irradiance_times_aperture(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    lib = rm.visalib
    meter = PM100(METER, visa_library=lib, wavelength_nm=550)
    assert meter.power_w == 0.0               # shutter closed at power-on
    Newport69907(LAMP, visa_library=lib, warmup_s=3600.0).turn_on(wait=True)
    SC10(SHUTTER, visa_library=lib).open()
    FW102C(WHEEL_A, visa_library=lib).position = 2   # OD 0.5
    expected_w = bench.irradiance_mw_cm2() * math.pi * 0.475**2 * 1e-3
    assert meter.power_w == pytest.approx(expected_w, rel=1e-6)
    assert meter.irradiance_mw_cm2() == pytest.approx(bench.irradiance_mw_cm2(), rel=1e-6)
    assert meter.wavelength_nm == pytest.approx(550.0)
    with pytest.raises(ValueError):
        meter.wavelength_nm = 1200.0
    meter.averaging_count = 1000              # 3 ms per sample
    before_s = bench.clock.now_s()
    _ = meter.power_w
    assert bench.clock.now_s() - before_s == pytest.approx(3.0)


def _lit_meter(rm: pyvisa.ResourceManager) -> pyvisa.Resource:
    """The PM100 opened raw, with the lamp warm and the shutter open."""
    lib = rm.visalib
    Newport69907(LAMP, visa_library=lib, warmup_s=3600.0).turn_on(wait=True)
    SC10(SHUTTER, visa_library=lib).open()
    return _raw(rm, METER, read_termination="\n", write_termination="\n")


def _no_error(meter: pyvisa.Resource) -> None:
    assert meter.query("SYST:ERR?") == '0,"No error"'


def test_pm100_status_operation_register(rm: pyvisa.ResourceManager) -> None:
    meter = _raw(rm, METER, read_termination="\n", write_termination="\n")
    # power-on / STAT:PRES: PTR all ones, NTR and ENAB zero, no event
    assert meter.query("STAT:OPER:PTR?") == "32767"
    assert meter.query("STAT:OPER:NTR?") == "0"
    assert meter.query("STAT:OPER:ENAB?") == "0"
    assert meter.query("STAT:OPER?") == "0"
    assert meter.query("STAT:OPER:COND?") == "0"
    meter.write("STAT:OPER:PTR 512;NTR 1024")
    assert meter.query("STATus:OPERation:PTRansition?") == "512"
    assert meter.query("STAT:OPER:NTR?") == "1024"
    _no_error(meter)
    meter.write("STAT:PRES")
    assert meter.query("STAT:OPER:PTR?") == "32767"
    meter.write("STAT:OPER:PTR 70000")
    assert meter.query("SYST:ERR?") == '-222,"Parameter data out of range"'
    meter.write("STAT:OPER:NTR")
    assert meter.query("SYST:ERR?") == '-109,"Missing parameter"'


def test_pm100_current_range_reads_back_the_full_scale(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    meter = _lit_meter(rm)
    assert meter.query("SENS:CURR:RANG:AUTO?") == "1"
    # unattenuated 1 sun is above the top range (5 mA): auto range stays at the top
    assert float(meter.query("MEAS:CURR?")) > 5e-3
    assert float(meter.query("SENS:CURR:RANG:UPP?")) == pytest.approx(5e-3)
    FW102C(WHEEL_A, visa_library=rm.visalib).position = 5   # OD 3
    current_a = float(meter.query("MEAS:CURR?"))
    auto_range_a = float(meter.query("SENS:CURR:RANG:UPP?"))
    assert current_a <= auto_range_a <= 10 * current_a  # the decade that holds the signal
    meter.write("SENS:CURR:RANG:UPP 2e-5")
    assert float(meter.query("SENS:CURR:RANG:UPP?")) == pytest.approx(5e-5)
    assert meter.query("SENS:CURR:RANG:AUTO?") == "0"
    assert float(meter.query("SENS:CURR:RANG? MIN")) == pytest.approx(5e-8)
    assert float(meter.query("SENS:CURR:RANG? MAX")) == pytest.approx(5e-3)
    _no_error(meter)
    meter.write("SENS:CURR:RANG 1")
    assert meter.query("SYST:ERR?") == '-222,"Parameter data out of range"'


def test_pm100_dark_zero_is_subtracted_and_reported(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    meter = _lit_meter(rm)
    assert float(meter.query("CORR:COLL:ZERO:MAGN?")) == 0.0
    lit_a = float(meter.query("MEAS:CURR?"))
    assert lit_a > 0.0
    meter.write("SENS:CORR:COLL:ZERO:INIT")  # zeroed in the light: the light is the offset
    assert float(meter.query("CORR:COLL:ZERO:MAGN?")) == pytest.approx(lit_a, rel=1e-6)
    assert meter.query("CORR:COLL:ZERO:STAT?") == "0"  # the reply waits for the adjustment
    assert abs(float(meter.query("MEAS:CURR?"))) < 1e-6 * lit_a
    meter.write("*RST")
    assert float(meter.query("CORR:COLL:ZERO:MAGN?")) == 0.0
    _no_error(meter)


def test_pm100_beam_diameter_sets_the_power_density(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    meter = _lit_meter(rm)
    assert float(meter.query("CORR:BEAM?")) == pytest.approx(9.5)
    meter.write("CORR:BEAM 5")
    assert float(meter.query("SENS:CORR:BEAM?")) == pytest.approx(5.0)
    power_w = float(meter.query("MEAS:POW?"))
    density_w_cm2 = float(meter.query("MEAS:PDEN?"))
    assert density_w_cm2 == pytest.approx(power_w / (math.pi * 0.25**2), rel=1e-6)
    assert float(meter.query("CORR:BEAM? DEF")) == pytest.approx(9.5)
    _no_error(meter)


def test_pm100_frequency_of_continuous_light_is_zero(rm: pyvisa.ResourceManager) -> None:
    meter = _lit_meter(rm)
    assert float(meter.query("MEAS:FREQ?")) == 0.0
    _no_error(meter)


def test_pm100_setter_without_value_is_missing_parameter(rm: pyvisa.ResourceManager) -> None:
    meter = _raw(rm, METER, read_termination="\n", write_termination="\n")
    meter.write("SENS:AVER:COUN 10")
    for setter in ("AVER", "SENS:AVER:COUN", "SENS:POW:UNIT", "SENS:CORR:BEAM"):
        meter.write(setter)
        assert meter.query("SYST:ERR?") == '-109,"Missing parameter"', setter
    assert meter.query("SENS:AVER?") == "10"
    meter.write("AVER ten")
    assert meter.query("SYST:ERR?") == '-104,"Data type error"'


def test_wheel_move_takes_time_proportional_to_the_slots_crossed(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    wheel = FW102C(WHEEL_A, visa_library=rm.visalib)

    def move_s(position: int) -> float:
        before_s = bench.clock.now_s()
        wheel.position = position
        return bench.clock.now_s() - before_s

    assert move_s(2) == pytest.approx(0.5)    # 1 -> 2: one slot
    assert move_s(5) == pytest.approx(1.5)    # 2 -> 5: three slots
    assert move_s(1) == pytest.approx(1.0)    # 5 -> 6 -> 1: the shorter way, two slots
    assert move_s(1) == pytest.approx(0.0)    # already there
    wheel.speed_high = False
    assert move_s(3) == pytest.approx(2.0)    # slow: 1 s per slot
    assert wheel.position == 3


def test_wheel_move_longer_than_the_timeout_times_out(rm: pyvisa.ResourceManager) -> None:
    wheel = _raw(rm, WHEEL_A, write_termination="\r", read_termination="\r")
    wheel.timeout = 1000
    wheel.write("pos=4")  # 1.5 s
    with pytest.raises(pyvisa.errors.VisaIOError):
        wheel.read_bytes(1)


def test_shutter_open_and_close_drive_the_bench(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    shutter = SC10(SHUTTER, visa_library=rm.visalib)
    emulator = bench.instruments["shutter"]
    shutter.open()
    assert bench.light.shutter_open is True and shutter.is_open
    toggles = list(emulator.traffic).count("ens")
    shutter.open()                            # already open: no toggle
    assert list(emulator.traffic).count("ens") == toggles
    shutter.shutdown()
    assert bench.light.shutter_open is False and not shutter.is_open


def test_shutter_in_another_mode_stays_closed(rm: pyvisa.ResourceManager, bench: Bench) -> None:
    shutter = SC10(SHUTTER, visa_library=rm.visalib)
    shutter.mode = "auto"
    with pytest.raises(ThorlabsError, match="did not open"):
        shutter.open()
    assert bench.light.shutter_open is False


def test_bench_reset_recouples_the_light_path_once(
    rm: pyvisa.ResourceManager, bench: Bench
) -> None:
    lib = rm.visalib
    Newport69907(LAMP, visa_library=lib, warmup_s=0.0).turn_on()
    SC10(SHUTTER, visa_library=lib).open()
    FW102C(WHEEL_A, visa_library=lib).position = 4
    bench.reset()
    assert len(bench.light.attenuators) == 2
    assert bench.light.transmission() == 1.0          # both wheels at position 1
    assert bench.light.shutter_open is False
    assert bench.light.source is bench.instruments["lamp"].lamp
    assert bench.irradiance_mw_cm2() == 0.0
    bench.instruments["wheel_a"].power_on()          # a second power-on adds nothing
    assert len(bench.light.attenuators) == 2


# --- LED station ---------------------------------------------------------------------------------

def _led_station() -> dict:
    return {
        "station": "led-test",
        "simulated": True,
        "instruments": {
            "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
            "led": {"driver": "g2v_pico", "resource": LED, "pico_id": PICO_ID},
        },
        "simulation": {"light": {"irradiance_mw_cm2": NOMINAL_MW_CM2}},
    }


def test_led_intensity_sets_the_irradiance(tmp_path: Path) -> None:
    rm = _open(_led_station(), tmp_path)
    bench = rm.visalib.bench
    led = G2VPico(LED, pico_id=PICO_ID, visa_library=rm.visalib)
    assert led.channel_count == 12
    assert bench.irradiance_mw_cm2() == 0.0           # fixture off at power-on
    led.turn_on()
    assert bench.irradiance_mw_cm2() == pytest.approx(NOMINAL_MW_CM2)
    led.set_relative_intensity(0.25)
    assert led.get_global_intensity() == pytest.approx(25.0)
    assert bench.irradiance_mw_cm2() == pytest.approx(0.25 * NOMINAL_MW_CM2)
    led.shutdown()
    assert bench.irradiance_mw_cm2() == 0.0
    assert led.is_on is False
    assert not led.is_arc_lamp and led.stable_at_s() is None
    assert led.identity == f"G2V Pico {PICO_ID} (12 LED channels)"


def test_led_with_a_wrong_pico_id_raises(tmp_path: Path) -> None:
    rm = _open(_led_station(), tmp_path)
    with pytest.raises(PicoError, match="Pico ID invalid"):
        G2VPico(LED, pico_id="FFFFFFFFFFFFFFFF", visa_library=rm.visalib)
