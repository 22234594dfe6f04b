"""Exact command traffic of the Keithley 2400 / 2420 labctl drivers (no hardware, no simulator)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pymeasure.adapters import ProtocolAdapter
from pymeasure.test import expected_protocol
from pyvisa.constants import StatusCode
from pyvisa.errors import VisaIOError

from instruments.keithley24xx import (
    KEITHLEY_2400_LIMITS,
    KEITHLEY_2420_LIMITS,
    Keithley2400SMU,
    Keithley2420SMU,
)
from instruments.smu import SmuError, SourceMeter, parse_scpi_error, scpi_number

FORMAT_WRITE = (":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS", None)
NO_ERROR = (":SYST:ERR?", '0,"No error"')

# STATUS element values: V-source (b14) + I-meas (b12) + V-meas (b11) + front terminals (b2),
# and the same with the compliance bit (b3, value 8).
STATUS_OK = 16384 + 4096 + 2048 + 4
STATUS_COMPLIANCE = STATUS_OK + 8


def _configure_voltage_pairs(
    *,
    level="0",
    compliance="0.1",
    source_range=":SOUR:VOLT:RANG:AUTO ON",
    measure_range=":SENS:CURR:RANG:AUTO ON",
    nplc="1",
    rsen="OFF",
    delay=":SOUR:DEL:AUTO ON",
):
    return [
        ("*CLS", None),
        (":OUTP OFF", None),
        (":SOUR:FUNC VOLT", None),
        (":SOUR:VOLT:MODE FIX", None),
        (source_range, None),
        (f":SENS:CURR:PROT {compliance}", None),
        (f":SOUR:VOLT {level}", None),
        (":SENS:FUNC:CONC ON", None),
        (":SENS:FUNC 'VOLT'", None),
        (":SENS:FUNC 'CURR'", None),
        (measure_range, None),
        (f":SENS:CURR:NPLC {nplc}", None),
        (f":SYST:RSEN {rsen}", None),
        (delay, None),
        (":SOUR:CLE:AUTO OFF", None),
        (":TRIG:COUN 1", None),
        NO_ERROR,
    ]


def _configure_current_pairs(
    *,
    level="0",
    compliance="2",
    source_range=":SOUR:CURR:RANG:AUTO ON",
    measure_range=":SENS:VOLT:RANG:AUTO ON",
    nplc="1",
    rsen="OFF",
    delay=":SOUR:DEL:AUTO ON",
):
    return [
        ("*CLS", None),
        (":OUTP OFF", None),
        (":SOUR:FUNC CURR", None),
        (":SOUR:CURR:MODE FIX", None),
        (source_range, None),
        (f":SENS:VOLT:PROT {compliance}", None),
        (f":SOUR:CURR {level}", None),
        (":SENS:FUNC:CONC ON", None),
        (":SENS:FUNC 'CURR'", None),
        (":SENS:FUNC 'VOLT'", None),
        (measure_range, None),
        (f":SENS:CURR:NPLC {nplc}", None),
        (f":SYST:RSEN {rsen}", None),
        (delay, None),
        (":SOUR:CLE:AUTO OFF", None),
        (":TRIG:COUN 1", None),
        NO_ERROR,
    ]


def _reading(voltage_v, current_a, time_s, status):
    return f"{voltage_v:+.6E},{current_a:+.6E},+9.910000E+37,{time_s:+.6E},{status:+.4E}"


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


# --- interface and construction --------------------------------------------------------------


def test_drivers_implement_the_source_meter_role():
    assert issubclass(Keithley2400SMU, SourceMeter)
    assert issubclass(Keithley2420SMU, Keithley2400SMU)
    assert (Keithley2400SMU.model, Keithley2420SMU.model) == ("2400", "2420")
    assert Keithley2420SMU.limits is KEITHLEY_2420_LIMITS


def test_constructor_sends_only_the_format_and_names_the_model():
    with expected_protocol(Keithley2420SMU, [FORMAT_WRITE]) as smu:
        assert smu.name == "Keithley 2420 SourceMeter"
        assert smu.lock.acquire(blocking=False)
        smu.lock.release()


def test_identity():
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C34 Sep 21 2016 15:30:00/A02  /K/J"
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, ("*IDN?", idn)]) as smu:
        assert smu.identity == idn


def test_line_frequency_must_be_50_or_60():
    with pytest.raises(ValueError, match="50 or 60"):
        Keithley2400SMU(ProtocolAdapter([FORMAT_WRITE]), line_frequency_hz=55)


# --- configuration -----------------------------------------------------------------------------


def test_configure_voltage_source_defaults_auto_ranges_and_delay():
    with expected_protocol(
        Keithley2400SMU, [FORMAT_WRITE, *_configure_voltage_pairs(compliance="0.1")]
    ) as smu:
        smu.configure_voltage_source(compliance_a=0.1)


def test_configure_voltage_source_fixed_ranges_four_wire_and_delay():
    pairs = _configure_voltage_pairs(
        level="-0.125",
        compliance="0.025",
        source_range=":SOUR:VOLT:RANG 2",
        measure_range=":SENS:CURR:RANG 0.1",
        nplc="0.1",
        rsen="ON",
        delay=":SOUR:DEL 0.05",
    )
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *pairs]) as smu:
        smu.configure_voltage_source(
            level_v=-0.125,
            compliance_a=0.025,
            nplc=0.1,
            voltage_range_v=2,
            current_range_a=0.1,
            four_wire=True,
            source_delay_s=0.05,
        )


def test_configure_current_source():
    pairs = _configure_current_pairs(
        level="0.001",
        compliance="10",
        source_range=":SOUR:CURR:RANG 0.01",
        measure_range=":SENS:VOLT:RANG 20",
        nplc="2",
        rsen="ON",
        delay=":SOUR:DEL 0",
    )
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *pairs]) as smu:
        smu.configure_current_source(
            level_a=1e-3,
            compliance_v=10,
            nplc=2,
            current_range_a=0.01,
            voltage_range_v=20,
            four_wire=True,
            source_delay_s=0,
        )


def test_configure_voc_mode_sources_zero_amps_and_measures_volts():
    pairs = _configure_current_pairs(compliance="2", nplc="5")
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *pairs]) as smu:
        smu.configure_voc_mode(compliance_v=2, nplc=5)


def test_configure_reports_instrument_errors():
    pairs = _configure_voltage_pairs(compliance="0.1")[:-1] + [
        (":SYST:ERR?", '-222,"Parameter data out of range"'),
        (":SYST:ERR?", '+824,"Cannot exceed compliance range"'),
        NO_ERROR,
    ]
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *pairs]) as smu:
        with pytest.raises(SmuError, match=r"-222,Parameter data out of range; 824,"):
            smu.configure_voltage_source(compliance_a=0.1)


def test_2420_accepts_3a_compliance_up_to_21v():
    pairs = _configure_voltage_pairs(level="21", compliance="3")
    with expected_protocol(Keithley2420SMU, [FORMAT_WRITE, *pairs]) as smu:
        smu.configure_voltage_source(level_v=21.0, compliance_a=3.0)


# --- refused settings: nothing is sent -----------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (Keithley2400SMU, {"level_v": 210.5, "compliance_a": 0.01}, r"2400: voltage_v=210.5 V"),
        (Keithley2400SMU, {"level_v": 30.0, "compliance_a": 0.5}, r"2400: compliance_a=0.5 A"),
        (Keithley2400SMU, {"level_v": 1.0, "compliance_a": 1.1}, r"±1.05 A"),
        (Keithley2400SMU, {"level_v": 1.0, "compliance_a": 0.0}, r"must be positive"),
        (Keithley2400SMU, {"level_v": math.nan, "compliance_a": 0.1}, r"not a finite"),
        (Keithley2400SMU, {"compliance_a": 0.1, "nplc": 20}, r"nplc=20"),
        (
            Keithley2400SMU,
            {"compliance_a": 0.5, "voltage_range_v": 200, "level_v": 1},
            r"compliance_a=0.5 A with voltage_range_v=200 V",
        ),
        (
            Keithley2420SMU,
            {"level_v": 30.0, "compliance_a": 3.0},
            r"2420: compliance_a=3 A with voltage_v=30 V .*limited to 1.05 A",
        ),
        (Keithley2420SMU, {"level_v": 64.0, "compliance_a": 0.01}, r"2420: voltage_v=64 V .*±63 V"),
        (Keithley2420SMU, {"level_v": 1.0, "compliance_a": 3.2}, r"2420: compliance_a=3.2 A"),
    ],
)
def test_configure_voltage_source_refuses_before_sending(cls, kwargs, message):
    with expected_protocol(cls, [FORMAT_WRITE]) as smu:
        with pytest.raises(ValueError, match=message):
            smu.configure_voltage_source(**kwargs)


def test_2420_refuses_more_than_1a_source_with_compliance_above_21v():
    with expected_protocol(Keithley2420SMU, [FORMAT_WRITE]) as smu:
        with pytest.raises(ValueError, match=r"current_a=2 A with compliance_v=30 V"):
            smu.configure_current_source(level_a=2.0, compliance_v=30.0)


def test_set_voltage_checks_the_configured_compliance():
    pairs = _configure_voltage_pairs(compliance="0.5")
    with expected_protocol(
        Keithley2400SMU, [FORMAT_WRITE, *pairs, (":SOUR:VOLT 20.5", None)]
    ) as smu:
        smu.configure_voltage_source(compliance_a=0.5)
        with pytest.raises(ValueError, match="compliance_a=0.5 A with voltage_v=30 V"):
            smu.set_voltage(30.0)
        smu.set_voltage(20.5)


def test_set_current_refused_while_sourcing_voltage():
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *_configure_voltage_pairs()]) as smu:
        smu.configure_voltage_source(compliance_a=0.1)
        with pytest.raises(SmuError, match="source voltage"):
            smu.set_current(1e-3)


def test_set_current_and_voltage_send_levels():
    with expected_protocol(
        Keithley2420SMU, [FORMAT_WRITE, (":SOUR:CURR -1.05", None), (":SOUR:VOLT 0.001", None)]
    ) as smu:
        smu.set_current(-1.05)
        smu.set_voltage(0.001)


def test_levels_that_depend_on_the_compliance_need_a_configured_one():
    """Nothing configured yet: the instrument's compliance is unknown, so a level in the part
    of the envelope that depends on it (2420: above 1.05 A or above 21 V) is refused unsent."""
    pairs = [FORMAT_WRITE, *_configure_current_pairs(compliance="20"), (":SOUR:CURR -3.15", None)]
    with expected_protocol(Keithley2420SMU, pairs) as smu:
        with pytest.raises(ValueError, match="current_a=-3.15 A needs a known voltage"):
            smu.set_current(-3.15)
        with pytest.raises(ValueError, match="voltage_v=22 V needs a known current"):
            smu.set_voltage(22.0)
        smu.configure_current_source(compliance_v=20)
        smu.set_current(-3.15)


def test_sweep_of_more_than_2500_points_is_refused():
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE]) as smu:
        with pytest.raises(ValueError, match="2501 points is outside 2 to 2500"):
            smu.sweep_voltage_linear(0, 1, 2501, source_delay_s=0.01, compliance_a=0.01)
        with pytest.raises(ValueError, match="2501 points"):
            smu.sweep_voltage_list([0.0] * 2501, source_delay_s=0.01, compliance_a=0.01)


def test_2420_sweep_beyond_envelope_is_refused():
    with expected_protocol(Keithley2420SMU, [FORMAT_WRITE]) as smu:
        with pytest.raises(ValueError, match="limited to 1.05 A"):
            smu.sweep_voltage_linear(0, 25, 11, source_delay_s=0.01, compliance_a=2.0)
        with pytest.raises(ValueError, match="±63 V"):
            smu.sweep_voltage_list([0, 70], source_delay_s=0.01, compliance_a=0.1)


def test_pymeasure_controls_are_not_reachable_on_the_driver():
    """The driver holds the pymeasure instrument instead of inheriting its controls (which
    would go around the 2420 limits); setting one, or the limits, fails loudly, unsent."""
    with expected_protocol(Keithley2420SMU, [FORMAT_WRITE]) as smu:
        for control in ("source_voltage", "compliance_current", "source_current",
                        "current_range", "voltage_range", "compliance_voltage"):
            assert not hasattr(smu, control)
            with pytest.raises(AttributeError, match="no settable"):
                setattr(smu, control, 3.0)
        with pytest.raises(AttributeError):
            smu.limits = KEITHLEY_2400_LIMITS
        assert smu.limits is KEITHLEY_2420_LIMITS


# --- output and readings ---------------------------------------------------------------------


def test_output_control_and_query():
    with expected_protocol(
        Keithley2400SMU,
        [FORMAT_WRITE, (":OUTP ON", None), (":OUTP?", "1"), (":OUTP OFF", None), (":OUTP?", "0")],
    ) as smu:
        smu.enable_output()
        assert smu.output_enabled is True
        smu.disable_output()
        assert smu.output_enabled is False


def test_read_parses_elements_and_compliance_bit():
    replies = [
        (":READ?", _reading(0.5, -1.2e-2, 12.345, STATUS_OK)),
        (":READ?", _reading(0.43, -2.0e-2, 12.4, STATUS_COMPLIANCE)),
    ]
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE, *replies]) as smu:
        first = smu.read()
        assert first.voltage_v == pytest.approx(0.5)
        assert first.current_a == pytest.approx(-0.012)
        assert first.time_s == pytest.approx(12.345)
        assert first.in_compliance is False
        second = smu.read()
        assert second.in_compliance is True
        assert second.voltage_v == pytest.approx(0.43)


def test_read_maps_overflow_to_nan_and_rejects_short_replies():
    with expected_protocol(
        Keithley2400SMU,
        [
            FORMAT_WRITE,
            (":READ?", "+1.000000E+00,+9.910000E+37,+9.910000E+37,+1.0E+00,+2.2532E+04"),
            (":READ?", "+1.000000E+00,-1.0E-03"),
        ],
    ) as smu:
        assert math.isnan(smu.read().current_a)
        with pytest.raises(SmuError, match="got 2 values"):
            smu.read()


# --- sweeps -----------------------------------------------------------------------------------


def _sweep_common_pairs(bias, compliance, nplc="1", sourcing_voltage=False):
    """The set-up every sweep sends; the output goes off first unless the driver knows it is
    already sourcing voltage (the 2400 refuses a function change with the output on)."""
    return [
        ("*CLS", None),
        *([] if sourcing_voltage else [(":OUTP OFF", None)]),
        (":SOUR:FUNC VOLT", None),
        (f":SOUR:VOLT {bias}", None),
        (f":SENS:CURR:PROT {compliance}", None),
        (f":SENS:CURR:NPLC {nplc}", None),
        (":SENS:FUNC:CONC ON", None),
        (":SENS:FUNC 'VOLT'", None),
        (":SENS:FUNC 'CURR'", None),
    ]


def test_linear_sweep_command_order_arrays_and_timeout():
    data = ",".join(
        [
            _reading(1.0, -1.0e-3, 10.0, STATUS_OK),
            _reading(0.5, -2.0e-2, 10.1, STATUS_COMPLIANCE),
            _reading(0.0, -2.1e-2, 10.2, STATUS_OK),
        ]
    )
    pairs = [
        FORMAT_WRITE,
        *_sweep_common_pairs("1", "0.02"),
        (":SOUR:VOLT:STAR 1", None),
        (":SOUR:VOLT:STOP 0", None),
        (":SOUR:SWE:POIN 3", None),
        (":SOUR:VOLT:MODE SWE", None),
        (":SOUR:SWE:SPAC LIN", None),
        (":SOUR:SWE:RANG BEST", None),
        (":SOUR:SWE:CAB NEV", None),
        (":SOUR:DEL 0.01", None),
        (":TRIG:COUN 3", None),
        NO_ERROR,
        (":OUTP?", "0"),
        (":OUTP ON", None),
        (":READ?", data),
        (":SOUR:VOLT:MODE FIX", None),
        (":TRIG:COUN 1", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        recorder = TimeoutRecorder(2000)
        smu.adapter.connection = recorder
        result = smu.sweep_voltage_linear(
            1.0, 0.0, 3, source_delay_s=0.01, compliance_a=0.02, nplc=1
        )
    # 3 points x (225 us + 50 us + 0.01 s + 4 x (20 ms + 185 us) + 2.3 ms) = 0.279945 s
    # -> x1.2 + 10 s.
    assert recorder.history == [10336, 2000]
    assert len(result) == 3
    np.testing.assert_allclose(result.voltage_v, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(result.current_a, [-1e-3, -2e-2, -2.1e-2])
    np.testing.assert_allclose(result.time_s, [10.0, 10.1, 10.2])
    assert result.in_compliance.dtype == bool
    assert result.in_compliance.tolist() == [False, True, False]


def test_linear_sweep_leaves_output_alone_when_already_on():
    data = ",".join(_reading(v, 0.0, t, STATUS_OK) for v, t in ((-0.1, 1.0), (0.1, 1.1)))
    pairs = [
        FORMAT_WRITE,
        *_sweep_common_pairs("-0.1", "0.005", nplc="0.01", sourcing_voltage=True),
        (":SOUR:VOLT:STAR -0.1", None),
        (":SOUR:VOLT:STOP 0.1", None),
        (":SOUR:SWE:POIN 2", None),
        (":SOUR:VOLT:MODE SWE", None),
        (":SOUR:SWE:SPAC LIN", None),
        (":SOUR:SWE:RANG BEST", None),
        (":SOUR:SWE:CAB NEV", None),
        (":SOUR:DEL 0", None),
        (":TRIG:COUN 2", None),
        NO_ERROR,
        (":OUTP?", "1"),
        (":READ?", data),
        (":SOUR:VOLT:MODE FIX", None),
        (":TRIG:COUN 1", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        smu._source_function = "VOLT"  # as after configure_voltage_source + enable_output
        result = smu.sweep_voltage_linear(
            -0.1, 0.1, 2, source_delay_s=0, compliance_a=0.005, nplc=0.01
        )
    np.testing.assert_allclose(result.voltage_v, [-0.1, 0.1])


def test_sweep_setup_error_is_raised_before_output_on_and_fixed_mode_restored():
    pairs = [
        FORMAT_WRITE,
        *_sweep_common_pairs("1", "0.02"),
        (":SOUR:VOLT:STAR 1", None),
        (":SOUR:VOLT:STOP 0", None),
        (":SOUR:SWE:POIN 3", None),
        (":SOUR:VOLT:MODE SWE", None),
        (":SOUR:SWE:SPAC LIN", None),
        (":SOUR:SWE:RANG BEST", None),
        (":SOUR:SWE:CAB NEV", None),
        (":SOUR:DEL 0.01", None),
        (":TRIG:COUN 3", None),
        (":SYST:ERR?", '-221,"Settings conflict"'),
        NO_ERROR,
        (":SOUR:VOLT:MODE FIX", None),
        (":TRIG:COUN 1", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        with pytest.raises(SmuError, match="-221,Settings conflict"):
            smu.sweep_voltage_linear(1.0, 0.0, 3, source_delay_s=0.01, compliance_a=0.02)


def test_list_sweep_chunks_of_100_exact_millivolts():
    voltages = [i / 1000 for i in range(150)]
    # Floating-point noise of a computed list must not reach the instrument.
    noisy = [v + 1e-17 if v else v for v in np.linspace(0.0, 0.149, 150)]
    first = ",".join(format(i / 1000, "g") for i in range(100))
    append = ",".join(format(i / 1000, "g") for i in range(100, 150))
    data = ",".join(_reading(v, -v / 100, 5.0 + i, STATUS_OK) for i, v in enumerate(voltages))
    pairs = [
        FORMAT_WRITE,
        *_sweep_common_pairs("0", "0.01"),
        (":SOUR:VOLT:RANG 0.149", None),
        (f":SOUR:LIST:VOLT {first}", None),
        (f":SOUR:LIST:VOLT:APP {append}", None),
        (":SOUR:VOLT:MODE LIST", None),
        (":SOUR:SWE:CAB NEV", None),
        (":SOUR:DEL 0.002", None),
        (":TRIG:COUN 150", None),
        NO_ERROR,
        (":OUTP?", "0"),
        (":OUTP ON", None),
        (":READ?", data),
        (":SOUR:VOLT:MODE FIX", None),
        (":TRIG:COUN 1", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        result = smu.sweep_voltage_list(noisy, source_delay_s=0.002, compliance_a=0.01)
    assert first.startswith("0,0.001,0.002,")
    assert len(result) == 150
    np.testing.assert_allclose(result.voltage_v, voltages)
    np.testing.assert_allclose(result.current_a, [-v / 100 for v in voltages])
    assert not result.in_compliance.any()


def test_sweep_with_wrong_number_of_values_raises():
    pairs = [
        FORMAT_WRITE,
        *_sweep_common_pairs("0.2", "0.01"),
        (":SOUR:VOLT:RANG 0.3", None),
        (":SOUR:LIST:VOLT 0.2,0.3", None),
        (":SOUR:VOLT:MODE LIST", None),
        (":SOUR:SWE:CAB NEV", None),
        (":SOUR:DEL 0.01", None),
        (":TRIG:COUN 2", None),
        NO_ERROR,
        (":OUTP?", "1"),
        (":READ?", _reading(0.2, 0.0, 1.0, STATUS_OK)),
        (":SOUR:VOLT:MODE FIX", None),
        (":TRIG:COUN 1", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        with pytest.raises(SmuError, match="expected 2 readings"):
            smu.sweep_voltage_list([0.2, 0.3], source_delay_s=0.01, compliance_a=0.01)


def test_expected_sweep_duration_follows_the_timing_model():
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE], line_frequency_hz=60) as smu:
        # 0.06 PLC at 60 Hz, two functions, auto-zero on: 4 x 1.185 ms + 2.3 ms = 7.04 ms of
        # conversions and overhead (the manual's example is ~7.1 ms per point), plus the trigger
        # latency (225 us) and source configuration (50 us) of the SDM cycle.
        assert smu.expected_sweep_duration_s(1000, 0.0, 0.06) == pytest.approx(7.315, rel=1e-9)
        assert smu.expected_sweep_duration_s(10, 0.1, 1) == pytest.approx(
            10 * (275e-6 + 0.1 + 4 * (1 / 60 + 185e-6) + 2.3e-3)
        )


# --- shutdown --------------------------------------------------------------------------------


def test_shutdown_turns_output_off_first_without_ramping():
    pairs = [
        FORMAT_WRITE,
        (":OUTP OFF", None),
        (":ABOR", None),
        (":SOUR:VOLT:MODE FIX", None),
        (":SOUR:VOLT 0", None),
    ]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        smu.shutdown()
        assert smu.isShutdown is True


def test_shutdown_zeroes_the_current_source_when_sourcing_current():
    pairs = [
        FORMAT_WRITE,
        *_configure_current_pairs(compliance="2"),
        (":OUTP OFF", None),
        (":ABOR", None),
        (":SOUR:VOLT:MODE FIX", None),
        (":SOUR:CURR 0", None),
    ]
    with expected_protocol(Keithley2420SMU, pairs) as smu:
        smu.configure_voc_mode(compliance_v=2)
        smu.shutdown()


@pytest.mark.parametrize(
    "error",
    [VisaIOError(StatusCode.error_timeout), OSError("device gone"), TimeoutError("no answer")],
)
def test_shutdown_survives_a_dead_instrument(error):
    with expected_protocol(Keithley2400SMU, [FORMAT_WRITE]) as smu:
        dead = DeadAdapter(error)
        smu.adapter = dead
        smu.shutdown()  # must not raise
    assert dead.attempts[0] == ":OUTP OFF"
    assert dead.attempts == [":OUTP OFF", ":ABOR", ":SOUR:VOLT:MODE FIX", ":SOUR:VOLT 0"]


def test_shutdown_waits_for_a_busy_lock_only_so_long(monkeypatch):
    """Another thread holding the instrument lock (a hung sweep) delays shutdown by at most
    SHUTDOWN_LOCK_TIMEOUT_S; then the output goes off anyway."""
    import threading

    import instruments.smu

    monkeypatch.setattr(instruments.smu, "SHUTDOWN_LOCK_TIMEOUT_S", 0.05)
    pairs = [FORMAT_WRITE, (":OUTP OFF", None), (":ABOR", None), (":SOUR:VOLT:MODE FIX", None),
             (":SOUR:VOLT 0", None)]
    with expected_protocol(Keithley2400SMU, pairs) as smu:
        held, release = threading.Event(), threading.Event()

        def hold_the_lock():
            with smu.lock:
                held.set()
                release.wait(timeout=10)

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        try:
            assert held.wait(timeout=10)
            smu.shutdown()
            assert smu.isShutdown is True
        finally:
            release.set()
            holder.join(timeout=10)


# --- shared helpers of instruments.smu -------------------------------------------------------


def test_limits_messages_are_one_line_and_name_model_setting_limit():
    with pytest.raises(ValueError) as info:
        KEITHLEY_2420_LIMITS.check(voltage_v=30, compliance_a=3)
    message = str(info.value)
    assert "\n" not in message
    assert "2420" in message and "compliance_a=3 A" in message and "1.05 A" in message
    KEITHLEY_2420_LIMITS.check(voltage_v=-21, compliance_a=3.15)  # 3 A range up to 21 V
    KEITHLEY_2400_LIMITS.check(voltage_v=-210, compliance_a=0.105)
    with pytest.raises(ValueError, match="0.2 A with voltage_v=22 V"):
        KEITHLEY_2400_LIMITS.check(voltage_v=-22, compliance_a=0.2)


def test_scpi_number_and_error_parsing():
    assert scpi_number(0.1 + 0.2) == "0.3"
    assert scpi_number(1e-5) == "1e-05"
    assert scpi_number(-0.0) == "0"
    assert scpi_number(123.456789012) == "123.456789"
    assert parse_scpi_error('0,"No error"') == (0, "No error")
    assert parse_scpi_error('-113,"Undefined header"\n') == (-113, "Undefined header")
    with pytest.raises(SmuError):
        parse_scpi_error("garbage")


def test_limits_give_the_current_allowed_at_a_voltage():
    assert KEITHLEY_2400_LIMITS.max_current_at_a(21.0) == 1.05
    assert KEITHLEY_2400_LIMITS.max_current_at_a(-21.5) == 0.105
    assert KEITHLEY_2420_LIMITS.max_current_at_a(30) == 1.05
    assert KEITHLEY_2420_LIMITS.max_current_at_a(10) == 3.15
    assert KEITHLEY_2420_LIMITS.max_voltage_at_v(2.0) == 21.0
    assert KEITHLEY_2420_LIMITS.max_voltage_at_v(-1.0) == 63.0
