"""Sequence files: step models, defaults, one-line errors, checks against a station."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.timing import point_reading_s, sweep_duration_s
from labctl.sequence import (
    check_against_station,
    describe,
    estimate_duration_s,
    load_sequence,
    sequence_model,
    step_types,
)
from labctl.station import StationConfig, load_station
from labctl.yamlio import InputError
from procedures.intensity_voc import IntensityVocStep
from procedures.jv import JVStep
from procedures.jv_steady import JVSteadyStep
from procedures.mpp import MPPStep
from procedures.sclc import SCLCStep

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

#: Which example station each example sequence is meant for.
EXAMPLE_STATION = {
    "jv-demo.yaml": "simulated.yaml",
    "full-characterization.yaml": "simulated.yaml",
    "sclc-demo.yaml": "simulated-sclc.yaml",
}

DESIGN_SEQUENCE = """\
sample: {id: QD-2026-11-21-A, area_cm2: 0.09, operator: lab}
steps:
  - jv: {start_v: 1.3, stop_v: -0.1, step_v: 0.01, dwell_s: 0.01, direction: both, light: true}
  - jv_steady: {points: 10}
  - mpp: {duration_s: 300, algorithm: default}
  - intensity_voc: {min_sun: 1.0e-3, points_per_decade: 5}
  - sclc: {stop_v: 5, thickness_nm: 500, eps_r: 30}
"""

FULL_STATION = """\
station: bench-1
simulated: true
instruments:
  smu:        {driver: keithley2400, resource: "GPIB0::24::INSTR"}
  ref_smu:    {driver: keithley2450, resource: "USB0::0x05E6::0x2450::04412345::INSTR"}
  lamp:       {driver: newport69907, resource: "ASRL1::INSTR"}
  shutter:    {driver: thorlabs_sc10, resource: "ASRL2::INSTR"}
  wheel_a:    {driver: thorlabs_fw102c, resource: "ASRL3::INSTR", od: [0, 0.5, 1, 2, 3, 4]}
  wheel_b:    {driver: thorlabs_fw102c, resource: "ASRL4::INSTR", od: [0, 1, 2, 3, 4, 5]}
  photodiode: {driver: smu_photodiode, smu: ref_smu, responsivity_a_per_w: 0.45, area_mm2: 13}
"""


def write(tmp_path: Path, text: str, name: str = "seq.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def station_from(tmp_path: Path, text: str, name: str = "station.yaml") -> StationConfig:
    return load_station(write(tmp_path, text, name))


def assert_error(err: InputError, path: Path, line: int, field: str) -> None:
    text = str(err)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}: {field}: "), text
    assert (err.line, err.field, err.file) == (line, field, str(path))


# --- valid files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", sorted((CONFIGS / "sequences").glob("*.yaml")), ids=lambda p: p.name
)
def test_example_sequences_validate(path: Path) -> None:
    sequence = load_sequence(path)
    assert sequence.path == path.resolve()
    assert sequence.steps
    station = load_station(CONFIGS / "stations" / EXAMPLE_STATION[path.name])
    check_against_station(sequence, station)
    for step in sequence.steps:
        assert estimate_duration_s(step) > 0
        assert "\n" not in describe(step)


def test_every_example_sequence_has_a_station() -> None:
    assert sorted(EXAMPLE_STATION) == sorted(p.name for p in (CONFIGS / "sequences").glob("*.yaml"))


def test_full_characterization_has_the_four_cell_steps() -> None:
    sequence = load_sequence(CONFIGS / "sequences" / "full-characterization.yaml")
    names = {step.procedure for step in sequence.steps}
    assert {"jv", "jv_steady", "mpp", "intensity_voc"} <= names


def test_sclc_example_station_has_a_single_carrier_device() -> None:
    station = load_station(CONFIGS / "stations" / "simulated-sclc.yaml")
    assert station.device_for_smu("smu").kind == "single_carrier"


def test_design_sequence(tmp_path: Path) -> None:
    sequence = load_sequence(write(tmp_path, DESIGN_SEQUENCE))
    assert sequence.sample.id == "QD-2026-11-21-A"
    assert sequence.sample.area_cm2 == 0.09
    assert [s.procedure for s in sequence.steps] == [
        "jv",
        "jv_steady",
        "mpp",
        "intensity_voc",
        "sclc",
    ]
    jv, steady, mpp, intensity, sclc = sequence.steps
    assert isinstance(jv, JVStep) and jv.points == 141 and jv.directions == ["reverse", "forward"]
    assert jv.voltages_v("reverse")[0] == pytest.approx(1.3)
    assert jv.voltages_v("reverse")[-1] == pytest.approx(-0.1)
    assert jv.voltages_v("forward")[0] == pytest.approx(-0.1)
    assert isinstance(steady, JVSteadyStep) and steady.points == 10 and steady.start_v is None
    assert isinstance(mpp, MPPStep) and mpp.run_duration_s == 300
    assert isinstance(intensity, IntensityVocStep)
    assert intensity.max_sun == 1.0 and intensity.direction == "down"
    assert isinstance(sclc, SCLCStep) and sclc.thickness_nm == 500 and sclc.spacing == "log"
    assert sequence.step_line(3) == 6


def test_defaults_and_bare_step_names(tmp_path: Path) -> None:
    sequence = load_sequence(
        write(
            tmp_path,
            "sample: {id: s1, area_cm2: 1}\nsteps:\n  - jv\n  - jv_steady\n  - mpp:\n"
            "  - intensity_voc: {}\n",
        )
    )
    jv, steady, mpp, intensity = sequence.steps
    assert (jv.start_v, jv.stop_v, jv.step_v, jv.dwell_s) == (1.3, -0.1, 0.01, 0.01)
    assert (jv.direction, jv.light, jv.irradiance_mw_cm2) == ("both", True, 100)
    assert (jv.compliance_a, jv.nplc, jv.four_wire, jv.hardware_sweep) == (None, 1.0, False, True)
    assert jv.scan_rate_v_s is None and jv.smu is None
    assert steady.points == 10 and steady.max_hold_s == 60 and steady.min_hold_s == 1
    assert mpp.duration_s == 300 and mpp.algorithm == "default" and mpp.step_v == 0.01
    assert intensity.min_sun == 1e-3 and intensity.points_per_decade == 5
    assert sequence.sample.operator == ""


def test_step_models_document_every_parameter() -> None:
    for cls in step_types().values():
        for name, field in cls.model_fields.items():
            assert field.description, f"{cls.__name__}.{name} has no description"


def test_alternatives_scan_rate_and_duration_h(tmp_path: Path) -> None:
    sequence = load_sequence(
        write(
            tmp_path,
            "sample: {id: s1, area_cm2: 1}\nsteps:\n"
            "  - jv: {scan_rate_v_s: 0.1, nplc: 0.1}\n"
            "  - mpp: {duration_h: 1000, log_interval_s: 600}\n",
        )
    )
    jv, mpp = sequence.steps
    assert jv.dwell_s is None and jv.scan_rate_v_s == 0.1
    # 0.01 V / 0.1 V/s = 100 ms per point, minus a 2400 reading without delay at 0.1 NPLC
    reading_s = sweep_duration_s("2400", 1, 0.0, 0.1, 50)
    assert 0.005 < reading_s < 0.02
    assert jv.source_delay_s() == pytest.approx(0.1 - reading_s)
    assert mpp.duration_s is None and mpp.run_duration_s == 3.6e6
    assert estimate_duration_s(mpp) == 3.6e6


def test_model_round_trip() -> None:
    step = JVStep.model_validate({"jv": {"scan_rate_v_s": 0.2}})
    assert JVStep.model_validate(step.model_dump()) == step
    mpp = MPPStep.model_validate({"duration_h": 2})
    assert MPPStep.model_validate(mpp.model_dump()).run_duration_s == 7200


def test_sample_reporting_fields(tmp_path: Path) -> None:
    sequence = load_sequence(
        write(
            tmp_path,
            "sample:\n  id: 42\n  area_cm2: 0.058\n  atmosphere: ambient air\n"
            "  humidity_pct: 25\n  temperature_k: 300\n  preconditioning: none\n"
            "  notes: first batch\nsteps: [jv]\n",
        )
    )
    sample = sequence.sample
    assert sample.id == "42"
    assert (sample.atmosphere, sample.humidity_pct, sample.preconditioning) == (
        "ambient air",
        25,
        "none",
    )


@pytest.mark.parametrize(("start_v", "stop_v"), [(1.3, -0.1), (-0.1, 1.3)])
def test_jv_direction_ignores_the_order_of_start_and_stop(start_v: float, stop_v: float) -> None:
    """docs/contracts.md: reverse is high to low, forward low to high, both is reverse then forward,
    whatever the order of start_v and stop_v."""
    step = JVStep(start_v=start_v, stop_v=stop_v, step_v=0.1, direction="both")
    assert step.directions == ["reverse", "forward"]
    assert step.voltages_v("reverse") == pytest.approx([1.3 - 0.1 * k for k in range(15)])
    assert step.voltages_v("forward") == pytest.approx([-0.1 + 0.1 * k for k in range(15)])
    assert JVStep(start_v=start_v, stop_v=stop_v, direction="reverse").directions == ["reverse"]
    assert JVStep(start_v=start_v, stop_v=stop_v, direction="forward").directions == ["forward"]


def test_sclc_spacing() -> None:
    log = SCLCStep(thickness_nm=500, eps_r=30)
    volts = log.voltages_v()
    assert volts[0] == pytest.approx(1e-3) and volts[-1] == pytest.approx(5)
    assert log.points == 75  # round(log10(5000) * 20) + 1
    linear = SCLCStep(thickness_nm=500, eps_r=30, step_v=0.5)
    assert linear.voltages_v() == pytest.approx([0.5 * k for k in range(11)])
    assert linear.directions == ["forward", "return"]  # the return sweep is labelled return


def test_intensity_levels() -> None:
    step = IntensityVocStep(direction="both")
    levels = step.levels_sun()
    assert len(levels) == 31  # 16 down, 15 up
    assert levels[0] == pytest.approx(1.0) and levels[15] == pytest.approx(1e-3)
    assert levels[-1] == pytest.approx(1.0)


def _station(**simulation: object) -> StationConfig:
    return StationConfig.model_validate({
        "station": "t", "instruments": {
            "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
            "b": {"driver": "keithley2450", "resource": "GPIB0::25::INSTR"}},
        "simulation": simulation})


def test_estimates() -> None:
    jv = JVStep()
    # 141 points x 93.3 ms (2400 at 1 NPLC, 50 Hz, 10 ms delay: the manual's SDM cycle)
    # x 2 directions, after the default 10 s light soak of a lit sweep
    sweep_s = 141 * 0.0933
    assert estimate_duration_s(jv) == pytest.approx(2 * sweep_s + 10, rel=0.01)
    assert estimate_duration_s(JVStep(precondition_light_s=0)) == pytest.approx(
        2 * sweep_s, rel=0.01)
    assert JVStep(light=False).precondition_light_s == 0.0   # no default soak in the dark
    assert (estimate_duration_s(jv, _station(line_frequency_hz=60))
            < estimate_duration_s(jv, _station()))
    on_2450 = JVStep(smu="b")
    assert estimate_duration_s(on_2450, _station()) < estimate_duration_s(jv, _station())
    soaked = JVStep(precondition_light_s=60, precondition_bias_v=1.2, precondition_bias_s=10)
    assert estimate_duration_s(soaked) - estimate_duration_s(jv) == pytest.approx(60)
    assert estimate_duration_s(JVSteadyStep()) > 11 * 2.0   # 11 holds of at least 2 s
    assert estimate_duration_s(IntensityVocStep(settle_s=0)) >= 16 * 1.0
    sclc = SCLCStep(thickness_nm=500, eps_r=30)
    per_point_s = 0.05 + point_reading_s("2400", 1.0, 50)
    assert estimate_duration_s(sclc) == pytest.approx(75 * per_point_s * 2)


def test_describe_is_one_line() -> None:
    text = describe(JVStep())
    assert text.startswith("jv: 1.3 → -0.1 V") and "141 points" in text
    assert describe(MPPStep(duration_h=2)).startswith("mpp: default for 2 h")
    for cls in (JVSteadyStep, IntensityVocStep):
        assert "\n" not in describe(cls())


# --- bad files ----------------------------------------------------------------------------------


def edit(old: str, new: str) -> str:
    assert old in DESIGN_SEQUENCE, old
    return DESIGN_SEQUENCE.replace(old, new, 1)


BAD_SEQUENCES = [
    # (id, text, line, field, reason fragment)
    (
        "unknown key",
        edit("dwell_s: 0.01", "dwel_s: 0.01"),
        3,
        "steps[0].jv.dwel_s",
        "unknown key 'dwel_s', did you mean 'dwell_s'? (expected one of: allow_no_metrics, start_v",
    ),
    (
        "wrong type",
        edit("dwell_s: 0.01", "dwell_s: fast"),
        3,
        "steps[0].jv.dwell_s",
        "must be a number, got 'fast'",
    ),
    (
        "out of range",
        edit("dwell_s: 0.01", "dwell_s: 500"),
        3,
        "steps[0].jv.dwell_s",
        "must be ≤ 100 (got 500)",
    ),
    (
        "literal",
        edit("direction: both", "direction: sideways"),
        3,
        "steps[0].jv.direction",
        "must be 'reverse', 'forward' or 'both' (got 'sideways')",
    ),
    (
        "int type",
        edit("points: 10", "points: 10.5"),
        4,
        "steps[1].jv_steady.points",
        "must be a whole number, got 10.5",
    ),
    (
        "missing required",
        edit("thickness_nm: 500, ", ""),
        7,
        "steps[4].sclc.thickness_nm",
        "missing required key 'thickness_nm'",
    ),
    (
        "unknown step",
        edit("jv_steady: {points: 10}", "jv_stedy: {points: 10}"),
        4,
        "steps[1]",
        "unknown step 'jv_stedy' (known: jv, jv_steady, mpp, intensity_voc, sclc, calibrate)",
    ),
    (
        "two keys in a step",
        edit("  - jv_steady: {points: 10}\n", "  - jv_steady: {points: 10}\n    mpp: {}\n"),
        4,
        "steps[1]",
        "one key, the step name",
    ),
    (
        "step is a number",
        edit("  - jv_steady: {points: 10}\n", "  - 5\n"),
        4,
        "steps[1]",
        "a step is a step name or a mapping",
    ),
    (
        "step params not a mapping",
        edit("jv_steady: {points: 10}", "jv_steady: 10"),
        4,
        "steps[1].jv_steady",
        "must be a mapping of keys, got 10",
    ),
    (
        "dwell and scan rate",
        edit("dwell_s: 0.01,", "dwell_s: 0.01, scan_rate_v_s: 0.1,"),
        3,
        "steps[0].jv.scan_rate_v_s",
        "give dwell_s or scan_rate_v_s, not both",
    ),
    (
        "too many points",
        edit("step_v: 0.01,", "step_v: 0.0001,"),
        3,
        "steps[0].jv.step_v",
        "14001 points",
    ),
    (
        "jv step larger than the range",
        edit("stop_v: -0.1, step_v: 0.01,", "stop_v: 1.299, step_v: 0.01,"),
        3,
        "steps[0].jv.step_v",
        "a sweep needs at least 2 points",
    ),
    (
        "sclc linear step larger than the range",
        edit("stop_v: 5,", "stop_v: 5, step_v: 10,"),
        7,
        "steps[4].sclc.step_v",
        "a sweep needs at least 2 points",
    ),
    (
        "start equals stop",
        edit("stop_v: -0.1", "stop_v: 1.3"),
        3,
        "steps[0].jv.stop_v",
        "must differ",
    ),
    (
        "duration twice",
        edit("duration_s: 300,", "duration_s: 300, duration_h: 1,"),
        5,
        "steps[2].mpp.duration_h",
        "give duration_s or duration_h, not both",
    ),
    (
        "mpp algorithm",
        edit("algorithm: default", "algorithm: magic"),
        5,
        "steps[2].mpp.algorithm",
        "must be 'default', 'perturb_observe', 'gradient' or 'fixed_voltage'",
    ),
    (
        "intensity range",
        edit("min_sun: 1.0e-3", "min_sun: 2"),
        6,
        "steps[3].intensity_voc.min_sun",
        "must be < 1 (got 2)",
    ),
    (
        "sclc log sweep crossing zero",
        edit("stop_v: 5,", "start_v: -1, stop_v: 5,"),
        7,
        "steps[4].sclc.stop_v",
        "cannot cross 0 V",
    ),
    (
        "sample id not file-name safe",
        edit("id: QD-2026-11-21-A", "id: QD/2026 A"),
        1,
        "sample.id",
        "cannot be used in file names",
    ),
    (
        "sample area",
        edit("area_cm2: 0.09", "area_cm2: 0"),
        1,
        "sample.area_cm2",
        "must be ≥ 0.0001 (got 0)",
    ),
    (
        "unknown top-level key",
        DESIGN_SEQUENCE + "station: x.yaml\n",
        8,
        "station",
        "unknown key 'station' (expected one of: sample, steps)",
    ),
    (
        "missing sample",
        DESIGN_SEQUENCE.split("\n", 1)[1],
        1,
        "sample",
        "missing required key 'sample'",
    ),
    (
        "no steps",
        "sample: {id: a, area_cm2: 1}\nsteps: []\n",
        2,
        "steps",
        "list at least one step",
    ),
    (
        "bare step missing a required parameter",
        "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv\n  - sclc\n",
        4,
        "steps[1].sclc.thickness_nm",
        "missing required key 'thickness_nm'",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "reason"),
    [case[1:] for case in BAD_SEQUENCES],
    ids=[case[0] for case in BAD_SEQUENCES],
)
def test_bad_sequence(tmp_path: Path, text: str, line: int, field: str, reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_sequence(path)
    assert_error(info.value, path, line, field)
    assert reason in info.value.reason, str(info.value)


def test_block_style_error_line(tmp_path: Path) -> None:
    text = (
        "sample:\n  id: a\n  area_cm2: 1\nsteps:\n  - jv:\n      start_v: 1.2\n      dwel_s: 0.02\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_sequence(path)
    assert_error(info.value, path, 7, "steps[0].jv.dwel_s")


def test_duplicate_key_in_sequence(tmp_path: Path) -> None:
    path = write(
        tmp_path, "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv:\n      nplc: 1\n      nplc: 2\n"
    )
    with pytest.raises(InputError) as info:
        load_sequence(path)
    assert str(info.value).startswith(f"{path}:5: duplicate key 'nplc'")


def test_yaml_syntax_error_in_sequence(tmp_path: Path) -> None:
    path = write(tmp_path, "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv: {nplc: 1\n")
    with pytest.raises(InputError) as info:
        load_sequence(path)
    assert info.value.line == 4
    assert "YAML syntax error" in str(info.value)


def test_sequence_built_in_code() -> None:
    sequence = sequence_model()(sample={"id": "a", "area_cm2": 1},
                                steps=[{"jv": {"nplc": 2}}, "mpp"])
    assert sequence.steps[0].nplc == 2 and sequence.steps[1].procedure == "mpp"


# --- checks against a station -----------------------------------------------------------------


def check_error(tmp_path: Path, sequence_text: str, station_text: str) -> tuple[InputError, Path]:
    seq_path = write(tmp_path, sequence_text)
    station = station_from(tmp_path, station_text)
    sequence = load_sequence(seq_path)
    with pytest.raises(InputError) as info:
        check_against_station(sequence, station)
    assert "\n" not in str(info.value)
    return info.value, seq_path


def test_full_station_accepts_design_sequence(tmp_path: Path) -> None:
    sequence = load_sequence(write(tmp_path, DESIGN_SEQUENCE))
    # on the real bench every role is there; simulated, its one device is a solar cell, so
    # the sclc step (a single-carrier device) is refused, naming the step
    check_against_station(sequence, station_from(tmp_path, FULL_STATION), simulated=False)
    with pytest.raises(InputError, match=r"steps\[4\]\.sclc.*solar-cell device"):
        check_against_station(sequence, station_from(tmp_path, FULL_STATION), simulated=True)


def test_intensity_voc_needs_an_attenuator(tmp_path: Path) -> None:
    station = "".join(line for line in FULL_STATION.splitlines(True) if "wheel" not in line)
    err, path = check_error(tmp_path, DESIGN_SEQUENCE, station)
    assert_error(err, path, 6, "steps[3].intensity_voc")
    assert "the station bench-1" in err.reason and "station.yaml" in err.reason
    assert "no attenuator (filter wheels)" in err.reason


def test_intensity_voc_accepts_a_programmable_led(tmp_path: Path) -> None:
    station = (
        "station: led-bench\nsimulated: true\ninstruments:\n"
        "  smu: {driver: keithley2400, resource: COM1}\n"
        "  ref: {driver: keithley2400, resource: COM2}\n"
        "  led: {driver: g2v_pico, resource: 'TCPIP0::10.0.0.5::50000::SOCKET',"
        " pico_id: 0123456789abcdef}\n"
        "  pd: {driver: smu_photodiode, smu: ref, responsivity_a_per_w: 0.4, area_mm2: 13}\n"
    )
    sequence = load_sequence(write(tmp_path, DESIGN_SEQUENCE))
    check_against_station(sequence, station_from(tmp_path, station), simulated=False)


def test_intensity_voc_needs_an_irradiance_sensor(tmp_path: Path) -> None:
    station = FULL_STATION.replace(
        "  photodiode: {driver: smu_photodiode, smu: ref_smu, responsivity_a_per_w: 0.45,"
        " area_mm2: 13}\n",
        "",
    )
    err, path = check_error(tmp_path, DESIGN_SEQUENCE, station)
    assert_error(err, path, 6, "steps[3].intensity_voc")
    assert "no irradiance sensor" in err.reason


def test_step_needs_the_dut_smu(tmp_path: Path) -> None:
    station = "station: s\ninstruments:\n  left: {driver: keithley2400, resource: COM1}\n"
    err, path = check_error(tmp_path, DESIGN_SEQUENCE, station)
    assert_error(err, path, 3, "steps[0].jv")
    assert "no SMU named 'smu'" in err.reason


def test_step_naming_a_missing_smu(tmp_path: Path) -> None:
    sequence = "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv\n  - jv:\n      smu: right\n"
    err, path = check_error(tmp_path, sequence, FULL_STATION)
    assert_error(err, path, 5, "steps[1].jv.smu")
    assert "no SMU named 'right'" in err.reason


def test_step_on_the_photodiode_smu(tmp_path: Path) -> None:
    sequence = "sample: {id: a, area_cm2: 1}\nsteps:\n  - mpp: {smu: ref_smu}\n"
    err, path = check_error(tmp_path, sequence, FULL_STATION)
    assert_error(err, path, 3, "steps[0].mpp.smu")
    assert "reads the photodiode" in err.reason


def test_dark_jv_needs_a_shutter(tmp_path: Path) -> None:
    sequence = "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv\n  - jv: {light: false}\n"
    station = "station: s\ninstruments:\n  smu: {driver: keithley2400, resource: COM1}\n"
    err, path = check_error(tmp_path, sequence, station)
    assert_error(err, path, 4, "steps[1].jv.light")
    assert "needs a shutter" in err.reason
    # with a shutter it is fine
    check_against_station(load_sequence(path), station_from(tmp_path, FULL_STATION, "full.yaml"))


def test_sclc_needs_only_an_smu(tmp_path: Path) -> None:
    sequence = "sample: {id: a, area_cm2: 1}\nsteps:\n  - sclc: {thickness_nm: 400, eps_r: 25}\n"
    station = "station: s\ninstruments:\n  smu: {driver: keithley2450, resource: COM1}\n"
    check_against_station(load_sequence(write(tmp_path, sequence)), station_from(tmp_path, station))
    err, path = check_error(
        tmp_path,
        sequence,
        "station: s\ninstruments:\n  lamp: {driver: newport69907, resource: COM1}\n",
    )
    assert_error(err, path, 3, "steps[0].sclc")


def test_smu_voltage_and_current_limits(tmp_path: Path) -> None:
    station = "station: s\ninstruments:\n  smu: {driver: keithley2420, resource: COM1}\n"
    too_high = (
        "sample: {id: a, area_cm2: 1}\nsteps:\n  - sclc: {stop_v: 100, thickness_nm: 1, eps_r: 3}\n"
    )
    err, path = check_error(tmp_path, too_high, station)
    assert_error(err, path, 3, "steps[0].sclc")
    assert "±63 V" in err.reason
    envelope = (
        "sample: {id: a, area_cm2: 1}\nsteps:\n"
        "  - sclc:\n      stop_v: 30\n      compliance_a: 2\n"
        "      thickness_nm: 1\n      eps_r: 3\n"
    )
    err, path = check_error(tmp_path, envelope, station)
    assert_error(err, path, 5, "steps[0].sclc.compliance_a")
    assert "at most 1.05 A" in err.reason
    fine = envelope.replace("stop_v: 30", "stop_v: 20")
    check_against_station(load_sequence(write(tmp_path, fine)), station_from(tmp_path, station))


def test_simulated_station_needs_a_device_on_the_smu(tmp_path: Path) -> None:
    station = (
        "station: s\nsimulated: true\ninstruments:\n"
        "  smu: {driver: keithley2400, resource: COM1}\n"
        "  smu2: {driver: keithley2400, resource: COM2}\n"
        "simulation:\n  devices:\n    smu: {}\n"
    )
    sequence = "sample: {id: a, area_cm2: 1}\nsteps:\n  - jv\n  - jv: {smu: smu2}\n"
    err, path = check_error(tmp_path, sequence, station)
    assert_error(err, path, 4, "steps[1].jv.smu")
    assert "no device on 'smu2'" in err.reason
    # the same station run for real does not need simulated devices
    check_against_station(load_sequence(path), station_from(tmp_path, station), simulated=False)
