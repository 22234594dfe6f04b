"""Exact traffic of the light-path drivers (no hardware, no simulator).

Terminators are not part of pymeasure's protocol pairs, but the serial prompt and the lines
after the echo are: a reply is written as the wire carries it, e.g. ``"pos?\\r3\\r>"`` (echo,
value, prompt without terminator), read by the driver byte by byte.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from pymeasure.test import expected_protocol

from instruments.attenuator import Attenuator
from instruments.g2v import G2VPico, PicoError
from instruments.newport import LampError, Newport69907, Newport69920
from instruments.photodiode import SmuPhotodiode
from instruments.roles import IrradianceSensor, LightSource, Shutter
from instruments.smu import SmuReading
from instruments.thorlabs import FW102C, FW212C, PM100, SC10, ThorlabsError
from labctl import clock
from labctl.clock import VirtualClock


@pytest.fixture(autouse=True)
def virtual_clock() -> Iterator[VirtualClock]:
    """Driver waits (lamp pacing, ignition, shutter transit) run on a virtual clock."""
    with clock.using(VirtualClock()) as virtual:
        yield virtual


# --- FW102C / FW212C -----------------------------------------------------------------------------

FW_INIT = ("pcount?", "pcount?\r6\r>")
FW212_INIT = ("pcount?", "pcount?\r12\r>")


def test_fw102c_init_checks_position_count() -> None:
    with expected_protocol(FW102C, [FW_INIT]) as wheel:
        assert wheel.slot_count == 6


def test_fw102c_refuses_a_wheel_with_another_position_count() -> None:
    with pytest.raises(ThorlabsError, match="12 positions"):
        with expected_protocol(FW102C, [("pcount?", "pcount?\r12\r>")]):
            pass


def test_fw102c_position_query_reads_echo_value_and_prompt() -> None:
    with expected_protocol(FW102C, [FW_INIT, ("pos?", "pos?\r3\r>")]) as wheel:
        assert wheel.position == 3


def test_fw102c_position_set_waits_for_the_prompt_with_a_move_timeout() -> None:
    with expected_protocol(FW102C, [FW_INIT, ("pos=4", "pos=4\r>")]) as wheel:
        seen_ms = []

        def spy(command: str, **kwargs: object) -> None:
            seen_ms.append(wheel.adapter.connection.timeout)
            type(wheel.adapter).write(wheel.adapter, command, **kwargs)

        wheel.adapter.connection.timeout = 2000
        wheel.adapter.write = spy
        wheel.position = 4
        assert seen_ms == [6000]                       # longest FW102C move + allowance
        assert wheel.adapter.connection.timeout == 2000  # restored after the move


def test_fw102c_stale_prompt_before_the_echo_is_tolerated() -> None:
    with expected_protocol(
        FW102C, [FW_INIT, ("pos?", ">pos?\r2\r>"), ("pos?", "\n>pos?\r5\r>")]
    ) as wheel:
        assert wheel.position == 2
        assert wheel.position == 5


@pytest.mark.parametrize("position", [0, 7, -1, 2.5, True, "3", None, math.nan])
def test_fw102c_refuses_bad_positions_before_sending(position: object) -> None:
    with expected_protocol(FW102C, [FW_INIT]) as wheel, pytest.raises(ValueError):
        wheel.set_position(position)  # type: ignore[arg-type]


def test_fw212c_has_twelve_positions() -> None:
    with expected_protocol(FW212C, [FW212_INIT, ("pos=12", "pos=12\r>")]) as wheel:
        wheel.position = 12
        assert wheel.move_timeout_s() == pytest.approx(9.0)
        with pytest.raises(ValueError):
            wheel.position = 13


def test_fw102c_error_line_raises() -> None:
    with expected_protocol(
        FW102C, [FW_INIT, ("pos=4", "pos=4\rCommand error CMD_NOT_DEFINED\r>")]
    ) as wheel, pytest.raises(ThorlabsError, match="CMD_NOT_DEFINED"):
        wheel.position = 4


def test_fw102c_unknown_query_raises_after_reading_the_prompt() -> None:
    with expected_protocol(
        FW102C, [FW_INIT, ("pos?", "pos?\rCommand error CMD_NOT_DEFINED\r>")]
    ) as wheel, pytest.raises(ThorlabsError):
        _ = wheel.position


def test_fw102c_echo_mismatch_raises() -> None:
    with expected_protocol(FW102C, [FW_INIT, ("pos?", "pcount?\r6\r>")]) as wheel:
        with pytest.raises(ThorlabsError, match="echo"):
            _ = wheel.position


def test_fw102c_settings() -> None:
    with expected_protocol(
        FW102C,
        [
            FW_INIT,
            ("*idn?", "*idn?\rTHORLABS FW102C/FW212C Filter Wheel version 1.07\r>"),
            ("speed?", "speed?\r1\r>"),
            ("speed=0", "speed=0\r>"),
            ("trig?", "trig?\r0\r>"),
            ("trig=1", "trig=1\r>"),
            ("sensors?", "sensors?\r0\r>"),
            ("sensors=1", "sensors=1\r>"),
            ("save", "save\r>"),
        ],
    ) as wheel:
        assert wheel.identity.endswith("version 1.07")
        assert wheel.speed_high is True
        wheel.speed_high = False
        assert wheel.trigger_mode == "input"
        wheel.trigger_mode = "output"
        assert wheel.sensors_on_when_idle is False
        wheel.sensors_on_when_idle = True
        wheel.store_settings()


def test_fw102c_refuses_bad_settings() -> None:
    with expected_protocol(FW102C, [FW_INIT]) as wheel:
        with pytest.raises(ValueError):
            wheel.trigger_mode = "both"
        with pytest.raises(ValueError):
            wheel.speed_high = 2


# --- SC10 ----------------------------------------------------------------------------------------

SC10_INIT = ("mode?", "mode?\r1\r> ")


def test_sc10_is_a_shutter_and_checks_manual_mode() -> None:
    with expected_protocol(SC10, [SC10_INIT]) as shutter:
        assert isinstance(shutter, Shutter)


def test_sc10_sets_manual_mode_when_needed() -> None:
    with expected_protocol(SC10, [("mode?", "mode?\r2\r> "), ("mode=1", "mode=1\r> ")]):
        pass


def test_sc10_without_manual_mode_sends_nothing_at_start() -> None:
    with expected_protocol(SC10, [], manual_mode=False):
        pass


def test_sc10_open_toggles_once_and_confirms() -> None:
    with expected_protocol(
        SC10,
        [
            SC10_INIT,
            ("ens?", "ens?\r0\r> "),
            ("ens", "ens\r> "),
            ("closed?", "closed?\r0\r> "),
        ],
    ) as shutter:
        shutter.open()


def test_sc10_open_when_already_open_sends_no_toggle() -> None:
    with expected_protocol(SC10, [SC10_INIT, ("ens?", "ens?\r1\r> "),
                                  ("closed?", "closed?\r0\r> ")]) as shutter:
        shutter.open()


def test_sc10_close_when_already_closed_sends_no_toggle() -> None:
    with expected_protocol(SC10, [SC10_INIT, ("ens?", "ens?\r0\r> "),
                                  ("closed?", "closed?\r1\r> ")]) as shutter:
        shutter.close()


def test_sc10_close_of_a_stuck_open_shutter_raises() -> None:
    """Disabled but still reading open (stuck): close() says so instead of passing."""
    with expected_protocol(SC10, [SC10_INIT, ("ens?", "ens?\r0\r> "),
                                  ("closed?", "closed?\r0\r> ")]) as shutter, \
            pytest.raises(ThorlabsError, match="reads open although it is disabled"):
        shutter.close()


def test_sc10_close_toggles_once_and_confirms() -> None:
    with expected_protocol(
        SC10,
        [SC10_INIT, ("ens?", "ens?\r1\r> "), ("ens", "ens\r> "), ("closed?", "closed?\r1\r> ")],
    ) as shutter:
        shutter.close()


def test_sc10_failed_toggle_raises_and_is_not_retried() -> None:
    with expected_protocol(
        SC10,
        [SC10_INIT, ("ens?", "ens?\r0\r> "), ("ens", "ens\r> "), ("closed?", "closed?\r1\r> ")],
    ) as shutter, pytest.raises(ThorlabsError, match="did not open"):
        shutter.open()


def test_sc10_shutdown_closes() -> None:
    with expected_protocol(
        SC10,
        [SC10_INIT, ("ens?", "ens?\r1\r> "), ("ens", "ens\r> "), ("closed?", "closed?\r1\r> ")],
    ) as shutter:
        shutter.shutdown()


def test_sc10_close_does_not_hang_on_a_busy_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread stuck holding the shutter's lock makes close() raise after LOCK_TIMEOUT_S
    instead of hanging the safe shutdown; nothing is sent meanwhile."""
    import threading

    import instruments.thorlabs

    monkeypatch.setattr(instruments.thorlabs, "LOCK_TIMEOUT_S", 0.05)
    with expected_protocol(SC10, [SC10_INIT]) as shutter:
        held, release = threading.Event(), threading.Event()

        def hold_the_lock() -> None:
            with shutter.lock:
                held.set()
                release.wait(timeout=10)

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert held.wait(timeout=10)
            with pytest.raises(ThorlabsError, match="busy"):
                shutter.shutdown()
            assert shutter.isShutdown is True
        finally:
            release.set()
            holder.join(timeout=10)


def test_sc10_state_queries() -> None:
    with expected_protocol(
        SC10,
        [
            SC10_INIT,
            ("closed?", "closed?\r1\r> "),
            ("interlock?", "interlock?\r0\r> "),
            ("id?", "id?\rTHORLABS SC10 VERSION 1.07\r> "),
        ],
    ) as shutter:
        assert shutter.is_open is False
        assert shutter.interlock_tripped is False
        assert shutter.identity == "THORLABS SC10 VERSION 1.07"


def test_sc10_parameters() -> None:
    with expected_protocol(
        SC10,
        [
            SC10_INIT,
            ("open?", "open?\r20\r> "),
            ("open=10", "open=10\r> "),
            ("shut=999999", "shut=999999\r> "),
            ("rep=99", "rep=99\r> "),
            ("trig=1", "trig=1\r> "),
            ("xto=0", "xto=0\r> "),
            ("mode=5", "mode=5\r> "),
            ("savp", "savp\r1\r> "),
            ("resp", "resp\r1\r> "),
            ("default", "default\r1\r> "),
        ],
    ) as shutter:
        assert shutter.open_time_ms == 20
        shutter.open_time_ms = 10
        shutter.shut_time_ms = 999_999
        shutter.repeat_count = 99
        shutter.trigger_external = True
        shutter.trigger_out_follows_controller = False
        shutter.mode = "external_gate"
        assert shutter.save_parameters() is True
        assert shutter.restore_parameters() is True
        assert shutter.restore_defaults() is True


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("open_time_ms", -1),
        ("open_time_ms", 1_000_000),
        ("open_time_ms", 2.5),
        ("shut_time_ms", True),
        ("repeat_count", 0),
        ("repeat_count", 100),
        ("mode", "gated"),
        ("mode", 1),
    ],
)
def test_sc10_refuses_bad_values_before_sending(name: str, value: object) -> None:
    with expected_protocol(SC10, [SC10_INIT]) as shutter, pytest.raises(ValueError):
        setattr(shutter, name, value)


# --- PM100 ---------------------------------------------------------------------------------------

SENSOR = "S121C,19010101,11-Mar-2019,1,18,289"
PM_INIT = [
    ("SYST:SENS:IDN?", SENSOR),
    ("SENS:CORR:WAV? MIN", "+4.000000E+02"),
    ("SENS:CORR:WAV? MAX", "+1.100000E+03"),
    ("SENS:POW:UNIT W", None),
    ("SENS:AVER:COUN 1", None),
    ("SENS:CORR:WAV 520", None),
    ("SYST:ERR?", '0,"No error"'),
]


def test_pm100_init_reads_the_head_and_sets_the_wavelength() -> None:
    with expected_protocol(PM100, PM_INIT) as meter:
        assert meter.sensor["name"] == "S121C"
        assert meter.wavelength_range_nm == (400.0, 1100.0)
        assert meter.aperture_area_cm2 == pytest.approx(math.pi * 0.475**2)


def test_pm100_init_with_other_wavelength_and_averaging() -> None:
    pairs = list(PM_INIT)
    pairs[4] = ("SENS:AVER:COUN 100", None)
    pairs[5] = ("SENS:CORR:WAV 850", None)
    with expected_protocol(PM100, pairs, wavelength_nm=850, averaging_count=100):
        pass


def test_pm100_refuses_no_sensor() -> None:
    with pytest.raises(ThorlabsError, match="no sensor"):
        with expected_protocol(PM100, [("SYST:SENS:IDN?", "no sensor")]):
            pass


def test_pm100_raises_on_an_error_after_setup() -> None:
    pairs = PM_INIT[:-1] + [("SYST:ERR?", '-222,"Data out of range"'),
                            ("SYST:ERR?", '0,"No error"')]
    with pytest.raises(ThorlabsError, match="-222"):
        with expected_protocol(PM100, pairs):
            pass


def test_pm100_refuses_wavelength_outside_the_head_range() -> None:
    pairs = PM_INIT[:5]
    with pytest.raises(ValueError):
        with expected_protocol(PM100, pairs, wavelength_nm=1200.0):
            pass
    with expected_protocol(PM100, PM_INIT) as meter, pytest.raises(ValueError):
        meter.wavelength_nm = 399.0


def test_pm100_measurements() -> None:
    with expected_protocol(
        PM100,
        PM_INIT
        + [
            ("MEAS:POW?", "+7.088218E-02"),
            ("MEAS:POW?", "+7.088218E-02"),
            ("MEAS:CURR?", "+2.000000E-02"),
            ("SENS:CORR:WAV?", "+5.200000E+02"),
            ("SENS:CORR:WAV 633", None),
            ("SENS:AVER:COUN 10", None),
            ("SENS:CORR:POW:PDIO:RESP?", "+3.358333E-01"),
            ("SENS:CORR:COLL:ZERO:INIT", None),
        ],
    ) as meter:
        assert meter.power_w == pytest.approx(0.07088218)
        assert meter.irradiance_mw_cm2() == pytest.approx(100.0, rel=1e-5)
        assert meter.current_a == pytest.approx(0.02)
        assert meter.wavelength_nm == pytest.approx(520.0)
        meter.wavelength_nm = 633
        meter.averaging_count = 10
        assert meter.responsivity_a_per_w == pytest.approx(0.3358333)
        meter.zero()
        with pytest.raises(ValueError):
            meter.averaging_count = 0


def test_pm100_is_an_irradiance_sensor_with_identity_and_calibration() -> None:
    with expected_protocol(
        PM100,
        PM_INIT
        + [
            ("*IDN?", "Thorlabs,PM100D,P0012345,2.7.0"),
            ("SENS:CORR:POW:PDIO:RESP?", "+3.358333E-01"),
            ("SENS:CORR:WAV?", "+5.200000E+02"),
        ],
    ) as meter:
        assert isinstance(meter, IrradianceSensor)
        assert meter.identity == ("Thorlabs,PM100D,P0012345,2.7.0 with S121C head "
                                  "(serial 19010101)")
        area_cm2 = math.pi * 0.475**2
        assert meter.calibration_description() == (
            f"responsivity_a_per_w=0.3358333, aperture_area_cm2={area_cm2}, "
            "wavelength_nm=520.0"
        )


# --- SMU photodiode (a stand-in SMU that records the calls) ----------------------------------


class _RecordingSmu:
    """The part of a SourceMeter the photodiode uses, recording every call."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def identity(self) -> str:  # a property, as on every SourceMeter
        return "KEITHLEY INSTRUMENTS INC.,MODEL 2400"

    def configure_voltage_source(self, level_v: float, compliance_a: float, nplc: float) -> None:
        self.calls.append(f"source {level_v} V, limit {compliance_a} A, {nplc} NPLC")

    def enable_output(self) -> None:
        self.calls.append("on")

    def read(self) -> SmuReading:
        self.calls.append("read")
        return SmuReading(voltage_v=0.0, current_a=-0.0065, time_s=0.0, in_compliance=False)

    def shutdown(self) -> None:
        self.calls.append("off")


def test_smu_photodiode_identity_and_calibration() -> None:
    smu = _RecordingSmu()
    diode = SmuPhotodiode(smu, responsivity_a_per_w=0.5, area_mm2=13.0)  # type: ignore[arg-type]
    assert isinstance(diode, IrradianceSensor)
    assert diode.identity == ("Si photodiode on KEITHLEY INSTRUMENTS INC.,MODEL 2400 "
                              "(R = 0.5 A/W, A = 13.0 mm²)")
    assert diode.calibration_description() == "responsivity_a_per_w=0.5, area_mm2=13.0"
    assert smu.calls == []  # describing the sensor sends nothing


def test_smu_photodiode_reads_at_0_v_and_shuts_the_smu_down() -> None:
    smu = _RecordingSmu()
    diode = SmuPhotodiode(smu, 0.5, 13.0, one_sun_current_a=0.0065)  # type: ignore[arg-type]
    assert diode.calibration_description() == (
        "responsivity_a_per_w=0.5, area_mm2=13.0, one_sun_current_a=0.0065"
    )
    assert diode.irradiance_mw_cm2() == pytest.approx(100.0)
    diode.shutdown()
    assert smu.calls == ["source 0.0 V, limit 0.02 A, 1.0 NPLC", "on", "read", "off"]


# --- Newport 69907 / 69920 -----------------------------------------------------------------------

LAMP_INIT = ("IDN?", "69907")


def test_69907_is_a_light_source_without_programmable_intensity() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT]) as lamp:
        assert isinstance(lamp, LightSource)
        assert lamp.is_arc_lamp
        with pytest.raises(NotImplementedError, match="use the attenuator"):
            lamp.set_relative_intensity(0.5)


def test_69907_identity_is_a_read_only_model_number() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("IDN?", "69907\r")]) as lamp:
        assert lamp.identity == "69907"
        with pytest.raises(AttributeError):
            lamp.identity = "69920"  # type: ignore[misc]


def test_69907_fault_is_status_bit_3() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("STB?", "STB29"), ("STB?", "STB21")]) as lamp:
        assert lamp.fault is True
        assert lamp.fault is False


def test_69907_refuses_another_model() -> None:
    with pytest.raises(LampError, match="69920"):
        with expected_protocol(Newport69907, [("IDN?", "69920")]):
            pass


def test_69907_status_bits() -> None:
    with expected_protocol(
        Newport69907,
        [LAMP_INIT, ("STB?", "STBA7"), ("STB?", "STB21"), ("STB?", "STB08"), ("ESR?", "ESR80")],
    ) as lamp:
        assert lamp.status_byte == 0xA7
        assert lamp.lamp_on is False
        assert lamp.fault is True
        assert lamp.event_status == 0x80


def test_69907_readings() -> None:
    with expected_protocol(
        Newport69907,
        [
            LAMP_INIT,
            ("AMPS?", "8.3"),
            ("VOLTS?", "18.0"),
            ("WATTS?", "150"),
            ("LAMP HRS?", "120"),
            ("A-PRESET?", "8.5"),
            ("P-PRESET?", "0150"),
            ("A-LIM?", "12.0"),
            ("P-LIM?", "0200"),
        ],
    ) as lamp:
        assert lamp.current_a == pytest.approx(8.3)
        assert lamp.voltage_v == pytest.approx(18.0)
        assert lamp.power_w == 150
        assert lamp.lamp_hours == 120
        assert lamp.current_preset_a == pytest.approx(8.5)
        assert lamp.power_preset_w == 150
        assert lamp.current_limit_a == pytest.approx(12.0)
        assert lamp.power_limit_w == 200


def test_69907_every_setter_reads_its_esr_reply() -> None:
    with expected_protocol(
        Newport69907,
        [
            LAMP_INIT,
            ("A-PRESET=8.5", "ESR00"),
            ("A-LIM=12.0", "ESR00"),
            ("P-PRESET=0150", "ESR80"),   # the power-on bit alone is no error
            ("P-LIM=0200", "ESR01"),
            ("MODE=1", "ESR00"),
            ("COMM=1", "ESR00"),
            ("START", "ESR00"),
            ("STOP", "ESR00"),
        ],
    ) as lamp:
        lamp.current_preset_a = 8.5
        lamp.current_limit_a = 12
        lamp.power_preset_w = 150
        lamp.power_limit_w = 200
        lamp.regulation_mode = "current"
        lamp.front_panel_locked = True
        lamp.start()
        lamp.stop()


@pytest.mark.parametrize(
    ("command", "reply", "message"),
    [
        ("P-PRESET=0300", "ESR10", "execution error"),
        ("P-PRESET=0300", "ESR20", "command error"),
        ("P-PRESET=0300", "ESR98", "execution error, device-dependent error"),
    ],
)
def test_69907_setter_with_an_esr_error_raises(command: str, reply: str, message: str) -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, (command, reply)]) as lamp:
        with pytest.raises(LampError, match=message):
            lamp.power_preset_w = 300


def test_69907_garbled_esr_reply_raises() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("START", "ERR")]) as lamp:
        with pytest.raises(LampError, match="ESR"):
            lamp.start()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("current_preset_a", 25.1),
        ("current_preset_a", -0.1),
        ("current_limit_a", math.inf),
        ("power_preset_w", 501),
        ("power_preset_w", 150.5),
        ("power_limit_w", -1),
        ("power_limit_w", True),
        ("regulation_mode", "voltage"),
        ("front_panel_locked", 1),
    ],
)
def test_69907_refuses_bad_values_before_sending(name: str, value: object) -> None:
    with expected_protocol(Newport69907, [LAMP_INIT]) as lamp, pytest.raises(ValueError):
        setattr(lamp, name, value)


def test_69920_has_its_own_limits() -> None:
    with expected_protocol(
        Newport69920, [("IDN?", "69920"), ("P-PRESET=1000", "ESR00"), ("A-PRESET=45.0", "ESR00")]
    ) as lamp:
        lamp.power_preset_w = 1000
        lamp.current_preset_a = 45
        with pytest.raises(ValueError):
            lamp.power_preset_w = 1001


def test_69907_commands_are_paced_50_ms_apart(virtual_clock: VirtualClock) -> None:
    with expected_protocol(
        Newport69907, [LAMP_INIT, ("STB?", "STB21"), ("STB?", "STB21")]
    ) as lamp:
        start_s = virtual_clock.now_s()
        _ = lamp.status_byte
        _ = lamp.status_byte
        assert virtual_clock.now_s() - start_s == pytest.approx(0.1)


def test_69907_turn_on_ignites_then_waits_for_the_warm_up(virtual_clock: VirtualClock) -> None:
    with expected_protocol(
        Newport69907,
        [LAMP_INIT, ("STB?", "STB21"), ("START", "ESR00"), ("STB?", "STBA1")],
        warmup_s=600.0,
    ) as lamp:
        start_s = virtual_clock.now_s()
        lamp.turn_on(wait=True)
        assert lamp.ignited_at_s == pytest.approx(start_s + 0.1 + 5.0)
        assert virtual_clock.now_s() == pytest.approx(lamp.ignited_at_s + 600.0)


def test_69907_turn_on_of_a_burning_lamp_sends_no_start() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("STB?", "STBA1")]) as lamp:
        lamp.turn_on(wait=True)


def test_69907_turn_on_retries_only_after_reading_the_lamp_dark() -> None:
    failed = [("START", "ESR00"), ("STB?", "STB29")]  # dark, fault bit: ignition failed
    with expected_protocol(
        Newport69907, [LAMP_INIT, ("STB?", "STB21"), *failed, *failed, *failed]
    ) as lamp, pytest.raises(LampError, match="did not light"):
        lamp.turn_on(wait=False)


def test_69907_turn_on_refuses_an_open_interlock() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("STB?", "STB20")]) as lamp:
        with pytest.raises(LampError, match="interlock"):
            lamp.turn_on()


def test_69907_turn_off_polls_until_the_lamp_reads_off() -> None:
    with expected_protocol(
        Newport69907,
        [LAMP_INIT, ("STOP", "ESR00"), ("STB?", "STBA1"), ("STB?", "STB21")],
    ) as lamp:
        lamp.turn_off()


def test_69907_shutdown_leaves_the_lamp_burning() -> None:
    with expected_protocol(Newport69907, [LAMP_INIT]) as lamp:
        lamp.shutdown()


def test_69907_reset_waits_five_seconds(virtual_clock: VirtualClock) -> None:
    with expected_protocol(Newport69907, [LAMP_INIT, ("RST", "ESR00")]) as lamp:
        start_s = virtual_clock.now_s()
        lamp.reset()
        assert virtual_clock.now_s() == pytest.approx(start_s + 5.0)


# --- G2V Pico ------------------------------------------------------------------------------------

PICO_ID = "0123456789ABCDEF"


def request(cmd: str, **params: object) -> str:
    return json.dumps({"command": "api", "pico_id": PICO_ID, "cmd": cmd, **params})


def reply(cmd: str, **values: object) -> str:
    return json.dumps({"cmd": cmd, **values})


PICO_INIT = (request("get_channel_count"), reply("get_channel_count", channel_count=12))


def test_pico_init_asks_the_channel_count() -> None:
    with expected_protocol(G2VPico, [PICO_INIT], pico_id=PICO_ID) as led:
        assert led.channel_count == 12
        assert led.has_programmable_intensity
        assert isinstance(led, LightSource) and not led.is_arc_lamp
        assert led.identity == "G2V Pico 0123456789ABCDEF (12 LED channels)"
        assert led.fault is False
        assert led.stable_at_s() is None


def test_pico_exact_request_bytes() -> None:
    assert request("get_fixture_on") == (
        '{"command": "api", "pico_id": "0123456789ABCDEF", "cmd": "get_fixture_on"}'
    )


def test_pico_refuses_a_bad_id_before_sending() -> None:
    with pytest.raises(ValueError):
        with expected_protocol(G2VPico, [], pico_id="short"):
            pass


def test_pico_intensity_and_fixture() -> None:
    with expected_protocol(
        G2VPico,
        [
            PICO_INIT,
            (request("set_global_intensity", global_intensity=50.0),
             reply("set_global_intensity", result=True)),
            (request("get_global_intensity"), reply("get_global_intensity", global_intensity=50.0)),
            (request("set_fixture_on", fixture_on=True), reply("set_fixture_on", result=True)),
            (request("get_fixture_on"), reply("get_fixture_on", fixture_on=True)),
            (request("set_global_intensity", global_intensity=30.0),
             reply("set_global_intensity", result=True)),
            (request("set_fixture_on", fixture_on=False), reply("set_fixture_on", result=True)),
        ],
        pico_id=PICO_ID,
    ) as led:
        led.set_global_intensity(50)
        assert led.get_global_intensity() == 50.0
        led.turn_on()
        assert led.is_on is True
        led.set_relative_intensity(0.3)
        led.shutdown()


@pytest.mark.parametrize("value", [-0.1, 100.1, math.nan, True, "50"])
def test_pico_refuses_bad_intensity_before_sending(value: object) -> None:
    with expected_protocol(G2VPico, [PICO_INIT], pico_id=PICO_ID) as led:
        with pytest.raises(ValueError):
            led.set_global_intensity(value)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            led.set_fixture_on(1)  # type: ignore[arg-type]


def test_pico_error_reply_raises() -> None:
    with pytest.raises(PicoError, match="Pico ID invalid"):
        with expected_protocol(
            G2VPico,
            [(request("get_channel_count"), reply("get_channel_count", error="Pico ID invalid"))],
            pico_id=PICO_ID,
        ):
            pass


def test_pico_refused_setting_raises() -> None:
    with expected_protocol(
        G2VPico,
        [PICO_INIT, (request("set_fixture_on", fixture_on=True),
                     reply("set_fixture_on", result=False))],
        pico_id=PICO_ID,
    ) as led, pytest.raises(PicoError, match="refused"):
        led.turn_on()


def test_pico_reply_with_braces_inside_strings_is_read_whole() -> None:
    tricky = json.dumps({"cmd": "get_channel_count", "channel_count": 3, "note": "a } { \" b"})
    with expected_protocol(
        G2VPico, [(request("get_channel_count"), tricky)], pico_id=PICO_ID
    ) as led:
        assert led.channel_count == 3


# --- Attenuator (two FW102C drivers on protocol adapters) ----------------------------------------

OD_A = [0, 0.5, 1, 2, 3, 4]
OD_B = [0, 1, 2, 3, 4, 5]


def _wheels(stack: ExitStack, traffic_a: list, traffic_b: list) -> tuple[FW102C, FW102C]:
    wheel_a = stack.enter_context(expected_protocol(FW102C, [FW_INIT, *traffic_a]))
    wheel_b = stack.enter_context(expected_protocol(FW102C, [FW_INIT, *traffic_b]))
    return wheel_a, wheel_b


def test_attenuator_available_ods_are_sorted_and_distinct() -> None:
    with ExitStack() as stack:
        attenuator = Attenuator(_wheels(stack, [], []), [OD_A, OD_B])
        ods = attenuator.available_ods()
        assert ods == sorted(ods)
        assert ods[0] == 0.0 and ods[-1] == 9.0
        assert 2.5 in ods and len(ods) == len(set(ods))


def test_attenuator_set_od_moves_only_what_is_needed_od_up_first() -> None:
    # From (slot 2 = OD 0.5, slot 1 = OD 0) to OD 3: (5, 1), (4, 2), (3, 3) and (1, 4) all
    # make OD 3; the tie goes to the fewest wheels moved: wheel_a alone to slot 5 (OD 3).
    with ExitStack() as stack:
        wheels = _wheels(
            stack,
            [("pos?", "pos?\r2\r>"), ("pos=5", "pos=5\r>")],
            [("pos?", "pos?\r1\r>")],
        )
        attenuator = Attenuator(wheels, [OD_A, OD_B])
        assert attenuator.set_od(3.0) == pytest.approx(3.0)


def test_attenuator_raises_the_od_before_lowering_it() -> None:
    # From (OD 4, OD 0) to OD 1 + 2: wheel_b goes up (0 -> 2) before wheel_a comes down.
    with ExitStack() as stack:
        order: list[str] = []
        wheels = _wheels(
            stack,
            [("pos?", "pos?\r6\r>"), ("pos=3", "pos=3\r>")],
            [("pos?", "pos?\r1\r>"), ("pos=3", "pos=3\r>")],
        )
        for label, wheel in zip("ab", wheels, strict=True):
            original = wheel.set_position

            def record(position: int, label: str = label, original=original) -> None:
                order.append(label)
                original(position)

            wheel.set_position = record  # type: ignore[method-assign]
        attenuator = Attenuator(wheels, [OD_A, OD_B])
        attenuator.set_positions((3, 3))
        assert order == ["b", "a"]


def test_attenuator_reads_od_and_transmission() -> None:
    with ExitStack() as stack:
        wheels = _wheels(stack, [("pos?", "pos?\r3\r>")] * 2, [("pos?", "pos?\r3\r>")] * 2)
        attenuator = Attenuator(wheels, [OD_A, OD_B])
        assert attenuator.od == pytest.approx(3.0)
        assert attenuator.transmission == pytest.approx(1e-3)


@pytest.mark.parametrize("target", [-0.5, math.nan, math.inf, "1", None, True])
def test_attenuator_refuses_bad_targets_before_any_traffic(target: object) -> None:
    with ExitStack() as stack:
        attenuator = Attenuator(_wheels(stack, [], []), [OD_A, OD_B])
        with pytest.raises(ValueError):
            attenuator.set_od(target)  # type: ignore[arg-type]


def test_attenuator_checks_the_od_tables() -> None:
    with ExitStack() as stack:
        wheels = _wheels(stack, [], [])
        with pytest.raises(ValueError, match="slots"):
            Attenuator(wheels, [OD_A, OD_B[:5]])
        with pytest.raises(ValueError, match=">= 0"):
            Attenuator(wheels, [OD_A, [0, 1, 2, 3, 4, -1]])
        with pytest.raises(ValueError):
            Attenuator([], [])


def test_attenuator_describes_its_wheels_and_identifies_them() -> None:
    idn = ("*idn?", "*idn?\rTHORLABS FW102C/FW212C Filter Wheel version 1.07\r>")
    with ExitStack() as stack:
        attenuator = Attenuator(_wheels(stack, [idn], [idn]), [OD_A, OD_B])
        assert attenuator.describe() == (
            "Thorlabs FW102C filter wheel, Thorlabs FW102C filter wheel "
            "(OD per slot: [0, 0.5, 1, 2, 3, 4]; [0, 1, 2, 3, 4, 5])"
        )
        assert attenuator.identity == (
            "THORLABS FW102C/FW212C Filter Wheel version 1.07 + "
            "THORLABS FW102C/FW212C Filter Wheel version 1.07"
        )


def test_attenuator_target_beyond_the_range_takes_the_nearest() -> None:
    with ExitStack() as stack:
        attenuator = Attenuator(_wheels(stack, [], []), [OD_A, OD_B])
        assert attenuator.choose(20.0).positions == (6, 6)
        assert attenuator.choose(0.2).od == 0.0
