"""Exact command traffic of the Keithley 2450 labctl driver (native SCPI; no hardware)."""

from __future__ import annotations

import numpy as np
import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol
from pyvisa.constants import StatusCode
from pyvisa.errors import VisaIOError

from instruments.keithley2450 import KEITHLEY_2450_LIMITS, Keithley2450SMU
from instruments.smu import SmuError, SourceMeter

LANG = ("*LANG?", "SCPI")
NO_ERROR = (":SYST:ERR?", '0,"No error;0;0 0"')


def _configure_pairs(
    sourced,
    *,
    level="0",
    compliance,
    source_range=None,
    measure_range=None,
    nplc="1",
    rsen="OFF",
    delay=None,
):
    measured = "CURR" if sourced == "VOLT" else "VOLT"
    limit = "ILIM" if sourced == "VOLT" else "VLIM"
    return [
        (":SYST:CLE", None),
        (":OUTP OFF", None),
        (f":SOUR:FUNC {sourced}", None),
        (source_range or f":SOUR:{sourced}:RANG:AUTO ON", None),
        (f":SOUR:{sourced}:{limit} {compliance}", None),
        (f":SOUR:{sourced} {level}", None),
        (f":SOUR:{sourced}:READ:BACK ON", None),
        (f':SENS:FUNC "{measured}"', None),
        (measure_range or f":SENS:{measured}:RANG:AUTO ON", None),
        (f":SENS:{measured}:NPLC {nplc}", None),
        (f":SENS:{measured}:RSEN {rsen}", None),
        (delay or f":SOUR:{sourced}:DEL:AUTO ON", None),
        NO_ERROR,
    ]


class TimeoutRecorder:
    """Stands in for the VISA resource: records every timeout assignment."""

    def __init__(self, timeout_ms):
        self._timeout = timeout_ms
        self.history = []

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, value):
        self.history.append(value)
        self._timeout = value

    def close(self):
        pass


class DeadAdapter(ProtocolAdapter):
    """An adapter whose instrument is gone: every write raises, every attempt is recorded."""

    def __init__(self, error):
        super().__init__([])
        self.error = error
        self.attempts = []

    def _write(self, command, **kwargs):
        self.attempts.append(command)
        raise self.error


# --- construction: command language ------------------------------------------------------------


def test_driver_implements_the_source_meter_role():
    assert issubclass(Keithley2450SMU, SourceMeter)
    assert Keithley2450SMU.model == "2450"
    assert Keithley2450SMU.limits is KEITHLEY_2450_LIMITS


def test_constructor_checks_the_language_and_nothing_else():
    with expected_protocol(Keithley2450SMU, [LANG]) as smu:
        assert smu.name == "Keithley 2450 SourceMeter"


@pytest.mark.parametrize("language", ["SCPI2400", "TSP"])
def test_constructor_refuses_a_non_scpi_language(language):
    adapter = ProtocolAdapter([("*LANG?", language)])
    with pytest.raises(SmuError) as info:
        Keithley2450SMU(adapter)
    message = str(info.value)
    assert f"is in {language} command language" in message
    assert "SCPI" in message and "power-cycle" in message
    assert "\n" not in message
    assert adapter._index == 1  # the query was sent, nothing else


def test_identity():
    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04412345,1.7.3c"
    with expected_protocol(Keithley2450SMU, [LANG, ("*IDN?", idn)]) as smu:
        assert smu.identity == idn


# --- configuration -----------------------------------------------------------------------------


def test_configure_voltage_source_defaults():
    pairs = _configure_pairs("VOLT", compliance="0.05")
    with expected_protocol(Keithley2450SMU, [LANG, *pairs]) as smu:
        smu.configure_voltage_source(compliance_a=0.05)


def test_configure_voltage_source_fixed_ranges_four_wire_and_delay():
    pairs = _configure_pairs(
        "VOLT",
        level="1.25",
        compliance="0.01",
        source_range=":SOUR:VOLT:RANG 2",
        measure_range=":SENS:CURR:RANG 0.01",
        nplc="0.5",
        rsen="ON",
        delay=":SOUR:VOLT:DEL 0.02",
    )
    with expected_protocol(Keithley2450SMU, [LANG, *pairs]) as smu:
        smu.configure_voltage_source(
            level_v=1.25,
            compliance_a=0.01,
            nplc=0.5,
            voltage_range_v=2,
            current_range_a=0.01,
            four_wire=True,
            source_delay_s=0.02,
        )


def test_configure_current_source():
    pairs = _configure_pairs(
        "CURR",
        level="-1e-06",
        compliance="5",
        source_range=":SOUR:CURR:RANG 1e-05",
        measure_range=":SENS:VOLT:RANG 20",
        nplc="10",
        rsen="ON",
        delay=":SOUR:CURR:DEL 0.1",
    )
    with expected_protocol(Keithley2450SMU, [LANG, *pairs]) as smu:
        smu.configure_current_source(
            level_a=-1e-6,
            compliance_v=5,
            nplc=10,
            current_range_a=1e-5,
            voltage_range_v=20,
            four_wire=True,
            source_delay_s=0.1,
        )


def test_configure_voc_mode():
    pairs = _configure_pairs("CURR", compliance="2", nplc="2")
    with expected_protocol(Keithley2450SMU, [LANG, *pairs]) as smu:
        smu.configure_voc_mode(compliance_v=2, nplc=2)


def test_configure_raises_on_reported_errors():
    pairs = _configure_pairs("VOLT", compliance="0.05")[:-1] + [
        (":SYST:ERR?", '-222,"Parameter data out of range;1;2025/01/01 12:00:00.000"'),
        NO_ERROR,
    ]
    with expected_protocol(Keithley2450SMU, [LANG, *pairs]) as smu:
        with pytest.raises(SmuError, match="-222,Parameter data out of range;1;"):
            smu.configure_voltage_source(compliance_a=0.05)


# --- refused settings: nothing is sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        ("configure_voltage_source", {"compliance_a": 1.2}, r"2450: compliance_a=1.2 A .*±1.05 A"),
        ("configure_voltage_source", {"level_v": 211, "compliance_a": 0.01}, r"voltage_v=211 V"),
        (
            "configure_voltage_source",
            {"level_v": 30, "compliance_a": 0.5},
            r"compliance_a=0.5 A with voltage_v=30 V .*limited to 0.105 A",
        ),
        (
            "configure_voltage_source",
            {"compliance_a": 1e-6, "current_range_a": 0.01},
            r"compliance_a=1e-06 must exceed 0.1 % of current_range_a=0.01",
        ),
        ("configure_current_source", {"level_a": 1.1, "compliance_v": 1}, r"current_a=1.1 A"),
        (
            "configure_current_source",
            {"level_a": 0.5, "compliance_v": 50},
            r"current_a=0.5 A with compliance_v=50 V",
        ),
        ("configure_voc_mode", {"compliance_v": -1}, r"compliance_v=-1 V must be positive"),
    ],
)
def test_settings_are_refused_before_sending(method, kwargs, message):
    with expected_protocol(Keithley2450SMU, [LANG]) as smu:
        with pytest.raises(ValueError, match=message):
            getattr(smu, method)(**kwargs)


def test_sweeps_refused_before_sending():
    with expected_protocol(Keithley2450SMU, [LANG]) as smu:
        with pytest.raises(ValueError, match="compliance_a=1.5 A"):
            smu.sweep_voltage_linear(0, 1, 11, source_delay_s=0.01, compliance_a=1.5)
        with pytest.raises(ValueError, match="must be 0 or at least 5e-05 s"):
            smu.sweep_voltage_linear(0, 1, 11, source_delay_s=1e-5, compliance_a=0.01)
        with pytest.raises(ValueError, match="2501 points"):
            smu.sweep_voltage_list([0.1] * 2501, source_delay_s=0.01, compliance_a=0.01)
        with pytest.raises(ValueError, match="1 points is outside 2"):
            smu.sweep_voltage_linear(0, 1, 1, source_delay_s=0.01, compliance_a=0.01)


def test_set_levels_check_the_configured_compliance():
    pairs = [LANG, *_configure_pairs("VOLT", compliance="0.5"), (":SOUR:VOLT -21", None)]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.configure_voltage_source(compliance_a=0.5)
        with pytest.raises(ValueError, match="limited to 0.105 A"):
            smu.set_voltage(-25)
        smu.set_voltage(-21)
        with pytest.raises(SmuError, match="source voltage"):
            smu.set_current(0.001)


# --- output and readings ---------------------------------------------------------------------


def test_output_control_and_query():
    pairs = [LANG, (":OUTP ON", None), (":OUTP?", "1"), (":OUTP OFF", None), (":OUTP?", "0")]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.enable_output()
        assert smu.output_enabled is True
        smu.disable_output()
        assert smu.output_enabled is False


def test_read_sourcing_voltage_maps_source_to_volts_and_trip_to_compliance():
    pairs = [
        LANG,
        *_configure_pairs("VOLT", compliance="0.02"),
        (':READ? "defbuffer1",SOUR,READ,REL', "5.000012E-01,-1.234500E-02,1.250000E+00"),
        (":SOUR:VOLT:ILIM:TRIP?", "0"),
        (':READ? "defbuffer1",SOUR,READ,REL', "4.100000E-01,-2.000000E-02,2.500000E+00"),
        (":SOUR:VOLT:ILIM:TRIP?", "1"),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.configure_voltage_source(compliance_a=0.02)
        first = smu.read()
        assert (first.voltage_v, first.current_a, first.time_s) == pytest.approx(
            (0.5000012, -0.012345, 1.25)
        )
        assert first.in_compliance is False
        second = smu.read()
        assert second.in_compliance is True
        assert second.current_a == pytest.approx(-0.02)


def test_read_sourcing_current_maps_reading_to_volts():
    pairs = [
        LANG,
        *_configure_pairs("CURR", compliance="2"),
        (':READ? "defbuffer1",SOUR,READ,REL', "1.0E-10,7.123400E-01,3.0E+00"),
        (":SOUR:CURR:VLIM:TRIP?", "0"),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.configure_voc_mode(compliance_v=2)
        reading = smu.read()
    assert reading.voltage_v == pytest.approx(0.71234)
    assert reading.current_a == pytest.approx(1e-10)
    assert reading.in_compliance is False


def test_read_without_configuration_asks_the_source_function_once():
    pairs = [
        LANG,
        (":SOUR:FUNC?", "CURR"),
        (':READ? "defbuffer1",SOUR,READ,REL', "0,0.65,1"),
        (":SOUR:CURR:VLIM:TRIP?", "1"),
        (':READ? "defbuffer1",SOUR,READ,REL', "0,0.66,2"),
        (":SOUR:CURR:VLIM:TRIP?", "0"),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        first = smu.read()
        second = smu.read()
    assert (first.voltage_v, first.in_compliance) == (0.65, True)
    assert (second.voltage_v, second.in_compliance) == (0.66, False)


# --- sweeps -----------------------------------------------------------------------------------


def _sweep_common_pairs(bias, compliance, nplc="1", source_range=None):
    pairs = [
        (":SYST:CLE", None),
        (":SOUR:FUNC VOLT", None),
        (':SENS:FUNC "CURR"', None),
    ]
    if source_range is not None:
        pairs.append((f":SOUR:VOLT:RANG {source_range}", None))
    pairs += [
        (f":SOUR:VOLT:ILIM {compliance}", None),
        (f":SOUR:VOLT {bias}", None),
        (f":SENS:CURR:NPLC {nplc}", None),
        (":SOUR:VOLT:DEL 0", None),
    ]
    return pairs


def test_linear_sweep_command_order_arrays_compliance_and_timeout():
    data = "1.2,-0.001,0,0.6,-0.0199,0.031,0,-0.0200,0.062"
    pairs = [
        LANG,
        *_sweep_common_pairs("1.2", "0.02"),
        (':TRAC:CLE "defbuffer1"', None),
        (':SOUR:SWE:VOLT:LIN 1.2,0,3,0.01,1,BEST,OFF,OFF,"defbuffer1"', None),
        NO_ERROR,
        (":OUTP?", "0"),
        (":OUTP ON", None),
        (":INIT", None),
        ("*WAI", None),
        (':TRAC:ACT? "defbuffer1"', "3"),
        (':TRAC:DATA? 1,3,"defbuffer1",SOUR,READ,REL', data),
        (":SOUR:VOLT:ILIM:TRIP?;:OUTP?", "0;1"),  # still on: no interlock trip
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        recorder = TimeoutRecorder(2000)
        smu.adapter.connection = recorder
        result = smu.sweep_voltage_linear(1.2, 0.0, 3, source_delay_s=0.01, compliance_a=0.02)
    # 3 x (20 ms + 10 ms + 1 ms) = 0.093 s, + 2 x 3 x 20 ms auto-zero allowance -> x1.2 + 10 s.
    assert recorder.history == [10256, 2000]
    np.testing.assert_allclose(result.voltage_v, [1.2, 0.6, 0.0])
    np.testing.assert_allclose(result.current_a, [-0.001, -0.0199, -0.02])
    np.testing.assert_allclose(result.time_s, [0.0, 0.031, 0.062])
    # |I| >= 0.999 x 20 mA = 19.98 mA
    assert result.in_compliance.tolist() == [False, False, True]


def test_linear_sweep_trip_marks_the_last_point_and_output_left_alone_when_on():
    pairs = [
        LANG,
        *_sweep_common_pairs("0", "0.1", nplc="0.01"),
        (':TRAC:CLE "defbuffer1"', None),
        (':SOUR:SWE:VOLT:LIN 0,1,2,0,1,BEST,OFF,OFF,"defbuffer1"', None),
        NO_ERROR,
        (":OUTP?", "1"),
        (":INIT", None),
        ("*WAI", None),
        (':TRAC:ACT? "defbuffer1"', "2"),
        (':TRAC:DATA? 1,2,"defbuffer1",SOUR,READ,REL', "0,0.01,0,1,0.05,0.001"),
        (":SOUR:VOLT:ILIM:TRIP?;:OUTP?", "1;1"),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        result = smu.sweep_voltage_linear(0, 1, 2, source_delay_s=0, compliance_a=0.1, nplc=0.01)
    assert result.in_compliance.tolist() == [False, True]


def test_incomplete_sweep_raises():
    pairs = [
        LANG,
        *_sweep_common_pairs("0", "0.1"),
        (':TRAC:CLE "defbuffer1"', None),
        (':SOUR:SWE:VOLT:LIN 0,1,5,0.001,1,BEST,OFF,OFF,"defbuffer1"', None),
        NO_ERROR,
        (":OUTP?", "1"),
        (":INIT", None),
        ("*WAI", None),
        (':TRAC:ACT? "defbuffer1"', "4"),
        (":OUTP?", "1"),  # not the interlock: the output is on
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        with pytest.raises(SmuError, match="stored 4 readings, expected 5"):
            smu.sweep_voltage_linear(0, 1, 5, source_delay_s=0.001, compliance_a=0.1)


def test_list_sweep_chunks_and_parameter_order():
    voltages = [round(-0.1 + 0.005 * i, 3) for i in range(250)]  # -0.1 V ... 1.145 V
    texts = [format(v, "g") for v in voltages]
    data = ",".join(f"{v},{-v / 1000},{0.01 * i}" for i, v in enumerate(voltages))
    pairs = [
        LANG,
        *_sweep_common_pairs("-0.1", "0.05", source_range="1.145"),
        (":SOUR:LIST:VOLT " + ",".join(texts[:100]), None),
        (":SOUR:LIST:VOLT:APP " + ",".join(texts[100:200]), None),
        (":SOUR:LIST:VOLT:APP " + ",".join(texts[200:]), None),
        (':TRAC:CLE "defbuffer1"', None),
        (':SOUR:SWE:VOLT:LIST 1,0.02,1,OFF,"defbuffer1"', None),
        NO_ERROR,
        (":OUTP?", "0"),
        (":OUTP ON", None),
        (":INIT", None),
        ("*WAI", None),
        (':TRAC:ACT? "defbuffer1"', "250"),
        (':TRAC:DATA? 1,250,"defbuffer1",SOUR,READ,REL', data),
        (":SOUR:VOLT:ILIM:TRIP?;:OUTP?", "0;1"),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        result = smu.sweep_voltage_list(
            list(np.linspace(-0.1, 1.145, 250)), source_delay_s=0.02, compliance_a=0.05
        )
    assert texts[:3] == ["-0.1", "-0.095", "-0.09"]
    assert len(result) == 250
    np.testing.assert_allclose(result.voltage_v, voltages)
    np.testing.assert_allclose(result.time_s, [0.01 * i for i in range(250)])
    assert not result.in_compliance.any()


def test_expected_sweep_duration_follows_the_timing_model():
    with expected_protocol(Keithley2450SMU, [LANG], line_frequency_hz=60) as smu:
        assert smu.expected_sweep_duration_s(100, 0.01, 1) == pytest.approx(
            100 * (1 / 60 + 0.01 + 1e-3)
        )


# --- errors and shutdown ---------------------------------------------------------------------


def test_raise_for_errors_parses_the_2450_format():
    pairs = [
        LANG,
        (":SYST:ERR?", '-113,"Undefined header;1;2025/05/04 10:00:00.000"'),
        NO_ERROR,
        NO_ERROR,
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        with pytest.raises(SmuError, match=r"-113,Undefined header;1;2025"):
            smu.raise_for_errors()
        smu.raise_for_errors()  # empty queue: no exception


def test_shutdown_turns_output_off_first_without_ramping():
    with expected_protocol(
        Keithley2450SMU, [LANG, (":OUTP OFF", None), (":SOUR:VOLT 0", None)]
    ) as smu:
        smu.shutdown()
        assert smu.isShutdown is True


def test_shutdown_zeroes_the_current_source_in_voc_mode():
    pairs = [
        LANG,
        *_configure_pairs("CURR", compliance="2"),
        (":OUTP OFF", None),
        (":SOUR:CURR 0", None),
    ]
    with expected_protocol(Keithley2450SMU, pairs) as smu:
        smu.configure_voc_mode(compliance_v=2)
        smu.shutdown()


@pytest.mark.parametrize(
    "error",
    [VisaIOError(StatusCode.error_connection_lost), OSError("usb gone"), TimeoutError("silent")],
)
def test_shutdown_survives_a_dead_instrument(error):
    with expected_protocol(Keithley2450SMU, [LANG]) as smu:
        dead = DeadAdapter(error)
        smu.adapter = dead
        smu.shutdown()  # must not raise
    assert dead.attempts == [":OUTP OFF", ":SOUR:VOLT 0"]
