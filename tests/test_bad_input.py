"""Bad input of every kind is exit 2 with one line naming file:line: field, before anything
is opened: through ``labctl validate`` and ``labctl run`` alike.

The station is a real (not simulated) bench whose resources exist on no bus, and
``open_station`` is replaced by a trap: a run that got as far as opening an instrument fails
the test.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

import labctl.opened_station
import labctl.runner
from labctl import cli, yamlio
from labctl.sim import bench as sim_bench

STATION_TEXT = """\
station: nowhere
simulated: false
instruments:
  smu:        {driver: keithley2400, resource: "ASRL/dev/ttyLABCTL_NONE0::INSTR"}
  ref_smu:    {driver: keithley2450, resource: "ASRL/dev/ttyLABCTL_NONE1::INSTR"}
  lamp:       {driver: newport69907, resource: "ASRL/dev/ttyLABCTL_NONE2::INSTR"}
  shutter:    {driver: thorlabs_sc10, resource: "ASRL/dev/ttyLABCTL_NONE3::INSTR"}
  wheel_a:    {driver: thorlabs_fw102c, resource: "ASRL/dev/ttyLABCTL_NONE4::INSTR",
               od: [0, 0.5, 1, 2, 3, 4]}
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
  light: {irradiance_mw_cm2: 100}
"""

SEQUENCE_TEXT = """\
sample:
  id: QD-1
  area_cm2: 0.09
  operator: lab
steps:
  - jv:
      start_v: 1.3
      stop_v: -0.1
      step_v: 0.01
      direction: both
  - jv_steady:
      points: 10
"""


class OpenedAnInstrument(AssertionError):
    """Raised by the trap that replaces open_station."""


@pytest.fixture(autouse=True)
def _no_opening(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    opened: list[Any] = []

    def trap(*args: Any, **kwargs: Any) -> Any:
        opened.append(args)
        raise OpenedAnInstrument("an instrument was opened")

    monkeypatch.setattr(labctl.runner, "open_station", trap)
    monkeypatch.setattr(labctl.opened_station, "open_station", trap)
    return opened


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], *,
                     sequence: Path | None = None, station: Path | None = None,
                     where: str | None = None, needle: str = "") -> str:
    """``validate`` and ``run`` both exit 2 with one line starting ``labctl CMD: <where>``,
    containing ``needle``, no traceback, nothing opened, no results folder."""
    sequence = sequence or _write(tmp_path / "seq.yaml", SEQUENCE_TEXT)
    station = station or _write(tmp_path / "station.yaml", STATION_TEXT)
    lines = []
    for command in ("validate", "run"):
        argv = [command, str(sequence), "--station", str(station)]
        if command == "run":
            argv += ["--out", str(tmp_path / "results")]
        code, out, err = _cli(argv, capsys)
        assert code == 2, (command, err)
        assert out == "" or command == "validate"
        err_lines = err.strip().splitlines()
        assert len(err_lines) == 1, err
        assert "Traceback" not in err
        assert err_lines[0].startswith(f"labctl {command}: {where}"), err_lines[0]
        assert needle in err_lines[0], err_lines[0]
        lines.append(err_lines[0])
    assert not (tmp_path / "results").exists()
    assert not sim_bench._benches
    return lines[0]


def test_the_good_files_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT)
    station = _write(tmp_path / "station.yaml", STATION_TEXT)
    code, out, err = _cli(["validate", str(sequence), "--station", str(station)], capsys)
    assert code == 0, err
    assert "every role the steps need is present" in out


# --- 1. encodings, binary files, files that cannot be read ------------------------------------

LATIN = SEQUENCE_TEXT.replace("operator: lab", "operator: Müller")


@pytest.mark.parametrize(("content", "where", "needle"), [
    (LATIN.encode("latin-1"), "{f}:4: ", "save it as UTF-8"),
    (LATIN.replace("Müller", "“Müller”").encode("cp1252"), "{f}:4: ", "0x93"),
    (LATIN.encode("utf-16"), "{f}:1: ", "UTF-16"),
    (LATIN.encode("utf-32"), "{f}:1: ", "UTF-32"),
    (SEQUENCE_TEXT.replace("lab", "l\0ab").encode(), "{f}:4: ", "binary file"),
    (random.Random(7).randbytes(3000), "{f}:", "binary"),
    (bytes(b | 0x80 for b in random.Random(8).randbytes(3000)), "{f}:1: ", "UTF-8"),
    (b"\x7fELF\x02\x01\x01" + bytes(500), "{f}:1: ", "binary file"),
    (SEQUENCE_TEXT.replace("lab", "l\x07ab").encode(), "{f}:4: ", "U+0007"),
    (b"", "{f}:1: ", "empty"),
    (b"  \n# only a comment\n", "{f}:1: ", "empty"),
])
def test_a_sequence_that_is_not_utf8_text_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        content: bytes, where: str, needle: str) -> None:
    sequence = _write(tmp_path / "bad.yaml", content)
    assert_bad_input(tmp_path, capsys, sequence=sequence,
                     where=where.format(f=sequence), needle=needle)


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    sequence = _write(tmp_path / "seq.yaml", b"\xef\xbb\xbf" + LATIN.encode())
    station = _write(tmp_path / "station.yaml", b"\xef\xbb\xbf" + STATION_TEXT.encode())
    code, _, err = _cli(["validate", str(sequence), "--station", str(station)], capsys)
    assert code == 0, err


def test_a_station_in_latin1_is_exit_2(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    text = STATION_TEXT.replace("station: nowhere", "station: Büro")
    station = _write(tmp_path / "st.yaml", text.encode("latin-1"))
    assert_bad_input(tmp_path, capsys, station=station, where=f"{station}:1: ",
                     needle="not UTF-8 text: byte 10 (0xfc, 'ü' in Latin-1")


def test_a_directory_or_a_device_is_exit_2(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert_bad_input(tmp_path, capsys, sequence=folder, where=f"{folder}: ",
                     needle="is a directory")
    if Path("/dev/zero").exists():
        assert_bad_input(tmp_path, capsys, station=Path("/dev/zero"), where="/dev/zero: ",
                         needle="not a regular file")


def test_a_huge_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 100)
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT)
    assert_bad_input(tmp_path, capsys, sequence=sequence, where=f"{sequence}: ",
                     needle="too large")


def test_an_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT)
    if os.geteuid() != 0:  # root reads anything: then the read itself is refused below
        sequence.chmod(0)
        try:
            assert_bad_input(tmp_path, capsys, sequence=sequence, where=f"{sequence}: ",
                             needle="permission denied")
        finally:
            sequence.chmod(0o644)

    def refuse(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(yamlio, "_read_bytes", refuse)
    assert_bad_input(tmp_path, capsys, sequence=sequence, where=f"{sequence}: ",
                     needle="permission denied")


def test_a_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert_bad_input(tmp_path, capsys, station=missing, where=f"{missing}: ",
                     needle="no such file")


# --- 2. numbers that do not fit a float64 -------------------------------------------------

@pytest.mark.parametrize(("old", "new", "line", "field", "needle"), [
    ("area_cm2: 0.09", "area_cm2: 1e400", 3, "sample.area_cm2", "does not fit a 64-bit float"),
    ("area_cm2: 0.09", "area_cm2: -1.5e999", 3, "sample.area_cm2", "does not fit"),
    ("area_cm2: 0.09", "area_cm2: 1e-400", 3, "sample.area_cm2", "too small"),
    ("points: 10", "points: " + "9" * 5000, 12, "steps[1].jv_steady.points",
     "an integer of 5000 digits"),
    ("step_v: 0.01", "step_v: " + "1" * 400, 9, "steps[0].jv.step_v", "400 digits"),
    ("area_cm2: 0.09", "area_cm2: .nan", 3, "sample.area_cm2", "finite"),
    ("stop_v: -0.1", "stop_v: -.inf", 8, "steps[0].jv.stop_v", "finite"),
    ("id: QD-1", "id: " + "7" * 5000, 2, "sample.id", "5000 digits"),
])
def test_a_number_that_does_not_fit_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, line: int, field: str, needle: str) -> None:
    assert old in SEQUENCE_TEXT
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT.replace(old, new))
    assert_bad_input(tmp_path, capsys, sequence=sequence,
                     where=f"{sequence}:{line}: {field}: ", needle=needle)


@pytest.mark.parametrize(("old", "new", "line", "field", "needle"), [
    ("rs_ohm_cm2: 3.0", "rs_ohm_cm2: " + "1" * 5000, 18, "simulation.device.rs_ohm_cm2",
     "5000 digits"),
    ("rs_ohm_cm2: 3.0", "rs_ohm_cm2: 1e309", 18, "simulation.device.rs_ohm_cm2",
     "does not fit"),
    ("area_mm2: 13", "area_mm2: 13e99999", 10, "instruments.photodiode.area_mm2",
     "does not fit"),
    ("od: [0, 0.5,", "od: [0, 5e500,", 9, "instruments.wheel_a.od[1]", "does not fit"),
])
def test_a_station_number_that_does_not_fit_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, line: int, field: str, needle: str) -> None:
    assert old in STATION_TEXT
    station = _write(tmp_path / "st.yaml", STATION_TEXT.replace(old, new))
    assert_bad_input(tmp_path, capsys, station=station,
                     where=f"{station}:{line}: {field}: ", needle=needle)


def test_a_huge_integer_key_is_exit_2(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT + "? " + "9" * 5000 + "\n: 1\n")
    assert_bad_input(tmp_path, capsys, sequence=sequence, where=f"{sequence}:13: ",
                     needle="5000 digits")


def test_the_loaded_data_is_unchanged_by_the_checks(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.yaml", "a: 1e308\nb: 0x1F\nc: .inf\nd: 1_000\ne: 0.0\n")
    data, _ = yamlio.load_yaml(path)
    assert data == {"a": 1e308, "b": 31, "c": float("inf"), "d": 1000, "e": 0.0}
    assert yaml.safe_load("a: 1") == {"a": 1}


# --- 3. physically sensible ranges, steps that can give a result ------------------------------

@pytest.mark.parametrize(("old", "new", "line", "field", "needle"), [
    ("rs_ohm_cm2: 3.0", "rs_ohm_cm2: 1e300", 18, "simulation.device.rs_ohm_cm2", "≤ 1000"),
    ("rsh_ohm_cm2: 3000", "rsh_ohm_cm2: 0.01", 19, "simulation.device.rsh_ohm_cm2", "≥ 1"),
    ("j0_ma_cm2: 1.0e-12", "j0_ma_cm2: 0", 16, "simulation.device.j0_ma_cm2", "≥ 1e-40"),
    ("jph_ma_cm2: 19.8\n    j0_ma_cm2: 1.0e-12", "jph_ma_cm2: 0.1\n    j0_ma_cm2: 0.5", 16,
     "simulation.device.j0_ma_cm2", "below jph_ma_cm2"),
    ("ideality: 1.5", "ideality: 11", 17, "simulation.device.ideality", "≤ 10"),
    ("temperature_k: 298.15", "temperature_k: 1", 20, "simulation.device.temperature_k", "≥ 4"),
    ("temperature_k: 298.15", "temperature_k: 600", 20, "simulation.device.temperature_k",
     "≤ 500"),
    ("area_cm2: 0.09", "area_cm2: 1e-9", 14, "simulation.device.area_cm2", "≥ 0.0001"),
    ("irradiance_mw_cm2: 100}", "irradiance_mw_cm2: 1e5}", 21,
     "simulation.light.irradiance_mw_cm2", "≤ 1000"),
    ("responsivity_a_per_w: 0.45", "responsivity_a_per_w: 45", 10,
     "instruments.photodiode.responsivity_a_per_w", "≤ 1"),
    ("od: [0, 0.5,", "od: [0, 50,", 9, "instruments.wheel_a.od[1]", "≤ 10"),
    ("ideality: 1.5", "ideality: 1.5\n    burn_in_tau_h: 1e9", 18,
     "simulation.device.burn_in_tau_h", "≤ 100000"),
])
def test_a_station_value_out_of_range_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, line: int, field: str, needle: str) -> None:
    assert old in STATION_TEXT
    station = _write(tmp_path / "st.yaml", STATION_TEXT.replace(old, new, 1))
    assert_bad_input(tmp_path, capsys, station=station,
                     where=f"{station}:{line}: {field}: ", needle=needle)


SCLC_STATION = STATION_TEXT.split("simulation:")[0] + """\
simulation:
  device: {kind: single_carrier, thickness_nm: 500, mobility_cm2_vs: 1e-3}
"""


@pytest.mark.parametrize(("old", "new", "field", "needle"), [
    ("thickness_nm: 500", "thickness_nm: 0.01", "thickness_nm", "≥ 1"),
    ("mobility_cm2_vs: 1e-3", "mobility_cm2_vs: 1e9", "mobility_cm2_vs", "≤ 100000"),
    ("mobility_cm2_vs: 1e-3", "trap_density_cm3: 1e30", "trap_density_cm3", "≤ 1e+22"),
    ("mobility_cm2_vs: 1e-3", "eps_r: 0.5", "eps_r", "≥ 1"),
])
def test_a_single_carrier_device_out_of_range_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, field: str, needle: str) -> None:
    station = _write(tmp_path / "st.yaml", SCLC_STATION.replace(old, new))
    assert_bad_input(tmp_path, capsys, station=station,
                     where=f"{station}:12: simulation.device.{field}: ", needle=needle)


@pytest.mark.parametrize(("old", "new", "line", "field", "needle"), [
    ("area_cm2: 0.09", "area_cm2: 5000", 3, "sample.area_cm2", "≤ 1000"),
    ("operator: lab", "operator: lab\n  temperature_k: 2", 5, "sample.temperature_k", "≥ 4"),
    ("points: 10", "points: 5", 12, "steps[1].jv_steady.points",
     "must be ≥ 7 (got 5): the analysis fits Jsc"),
    ("points: 10", "points: 3", 12, "steps[1].jv_steady.points", "every metric is NaN"),
    ("step_v: 0.01", "step_v: 5", 9, "steps[0].jv.step_v", "≤ 1"),
    ("points: 10", "points: 10\n      max_hold_s: 1e9", 13, "steps[1].jv_steady.max_hold_s",
     "≤ 86400"),
    ("  - jv_steady:\n      points: 10\n", "  - mpp: {duration_h: 1e6}\n", 11,
     "steps[1].mpp.duration_h", "≤ 100000"),
    ("  - jv_steady:\n      points: 10\n",
     "  - sclc: {thickness_nm: 1e12, eps_r: 30}\n", 11, "steps[1].sclc.thickness_nm",
     "≤ 10000000"),
])
def test_a_step_out_of_range_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, line: int, field: str, needle: str) -> None:
    assert old in SEQUENCE_TEXT
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT.replace(old, new))
    assert_bad_input(tmp_path, capsys, sequence=sequence,
                     where=f"{sequence}:{line}: {field}: ", needle=needle)


def test_seven_steady_points_validate(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    sequence = _write(tmp_path / "seq.yaml", SEQUENCE_TEXT.replace("points: 10", "points: 7"))
    station = _write(tmp_path / "station.yaml", STATION_TEXT)
    assert _cli(["validate", str(sequence), "--station", str(station)], capsys)[0] == 0


# --- 4. per-sample bias guards --------------------------------------------------------------

GUARDED = SEQUENCE_TEXT.replace("operator: lab", "operator: lab\n  max_reverse_v: 0.1\n"
                                "  max_forward_v: 1.5")


@pytest.mark.parametrize(("old", "new", "line", "field", "needle"), [
    ("stop_v: -0.1", "stop_v: -0.2", 10, "steps[0].jv.stop_v", "-0.2 V is beyond the sample's "
     "reverse-bias guard (sample.max_reverse_v: 0.1 V"),
    ("start_v: 1.3", "start_v: 1.6", 9, "steps[0].jv.start_v", "forward-bias guard"),
    ("direction: both", "direction: both\n      precondition_bias_v: -1\n"
     "      precondition_bias_s: 5", 13, "steps[0].jv.precondition_bias_v", "reverse-bias"),
    ("points: 10", "points: 10\n      voc_compliance_v: 3", 15,
     "steps[1].jv_steady.voc_compliance_v", "forward-bias guard"),
    ("points: 10", "points: 10\n      stop_v: -1\n      voc_compliance_v: 1.4", 15,
     "steps[1].jv_steady.stop_v", "reverse-bias guard"),
])
def test_a_step_beyond_the_bias_guards_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        old: str, new: str, line: int, field: str, needle: str) -> None:
    # jv_steady's voc_compliance_v defaults to 3 V: within the guard it must be lowered
    text = GUARDED.replace("points: 10", "points: 10\n      voc_compliance_v: 1.4", 1)
    if "voc_compliance_v" in new:
        text = GUARDED
    sequence = _write(tmp_path / "seq.yaml", text.replace(old, new))
    assert_bad_input(tmp_path, capsys, sequence=sequence,
                     where=f"{sequence}:{line}: {field}: ", needle=needle)


def test_steps_within_the_guards_validate(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    text = GUARDED.replace("points: 10", "points: 10\n      voc_compliance_v: 1.4")
    sequence = _write(tmp_path / "seq.yaml", text)
    station = _write(tmp_path / "station.yaml", STATION_TEXT)
    code, _, err = _cli(["validate", str(sequence), "--station", str(station)], capsys)
    assert code == 0, err


def test_a_negative_guard_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sequence = _write(tmp_path / "seq.yaml", GUARDED.replace("max_reverse_v: 0.1",
                                                             "max_reverse_v: -1"))
    assert_bad_input(tmp_path, capsys, sequence=sequence,
                     where=f"{sequence}:5: sample.max_reverse_v: ", needle="≥ 0")


def test_a_resolved_reference_is_checked_against_the_guards(tmp_path: Path) -> None:
    """A value taken from an earlier step (here the J-V's Voc as the mpp start) is checked
    against the guards once known: the runner calls limits_problem with the sample."""
    sequence = _write(tmp_path / "seq.yaml", """\
sample: {id: G-1, area_cm2: 0.09, max_forward_v: 1.0, max_reverse_v: 0.2}
steps:
  - jv: {start_v: 1.0, stop_v: -0.1, step_v: 0.02, direction: reverse, light: false}
  - mpp: {duration_s: 20, log_interval_s: 5, algorithm: fixed_voltage, light: false,
          start_v: {from_step: 0, metric: voc_v}}
""")
    from labctl.sequence import bias_guard_problem, load_sequence
    loaded = load_sequence(sequence)
    resolved = loaded.steps[1].resolved({"start_v": 1.1})
    assert bias_guard_problem(resolved, loaded.sample) == (
        "1.1 V is beyond the sample's forward-bias guard (sample.max_forward_v: 1 V)",
        ("start_v",))
    assert bias_guard_problem(loaded.steps[1].resolved({"start_v": 0.9}), loaded.sample) is None
    assert bias_guard_problem(loaded.steps[1], loaded.sample) is None  # unknown until run


# --- 5. fuzz: mutated files never give a traceback or an exit other than 0 or 2 ------------

_TOKENS = ["1e400", "9" * 5000, ".nan", "-.inf", "0", "-1", "1e300", "{", "}", "[", ":", "- ",
           "&a", "*a", "!!binary", "!!python/object:os.system", "null", "true", "'", '"',
           "ü", "\t", "points: 2", "0x7fffffffffffffffffff", "1:30", "2026-01-01"]


def _mutate(rng: random.Random, text: str) -> bytes:
    raw = bytearray(text.encode("utf-8"))
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        at = rng.randrange(len(raw) + 1)
        if kind == 0 and raw:          # flip a byte
            raw[min(at, len(raw) - 1)] = rng.randrange(256)
        elif kind == 1:                # insert a token
            raw[at:at] = rng.choice(_TOKENS).encode("utf-8")
        elif kind == 2 and raw:        # delete a run
            del raw[at:at + rng.randint(1, 20)]
        elif kind == 3:                # replace a number
            lines = raw.decode("utf-8", "replace").splitlines(keepends=True)
            index = rng.randrange(len(lines))
            lines[index] = "".join(rng.choice(_TOKENS) if ch.isdigit() and rng.random() < 0.3
                                   else ch for ch in lines[index])
            raw = bytearray("".join(lines).encode("utf-8"))
        elif kind == 4:                # duplicate a line
            lines = raw.split(b"\n")
            index = rng.randrange(len(lines))
            lines.insert(index, lines[index])
            raw = bytearray(b"\n".join(lines))
        else:                          # re-encode
            raw = bytearray(raw.decode("utf-8", "replace").encode(
                rng.choice(["latin-1", "utf-16", "cp1252"]), "replace"))
    return bytes(raw)


def test_mutated_files_never_give_a_traceback(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(20261201)
    good_sequence = _write(tmp_path / "good-seq.yaml", SEQUENCE_TEXT)
    good_station = _write(tmp_path / "good-st.yaml", STATION_TEXT)
    codes = {0: 0, 2: 0}
    for index in range(200):
        mutated = tmp_path / f"m{index}.yaml"
        if index % 2:
            mutated.write_bytes(_mutate(rng, STATION_TEXT))
            sequence, station = good_sequence, mutated
        else:
            mutated.write_bytes(_mutate(rng, SEQUENCE_TEXT))
            sequence, station = mutated, good_station
        code, _, err = _cli(["validate", str(sequence), "--station", str(station)], capsys)
        assert code in (0, 2), (index, err)
        assert "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) == 1, (index, err)
            assert str(mutated) in err, (index, err)
        codes[code] += 1
    assert codes[2] > 100  # most mutations are bad input, some stay valid
    assert not sim_bench._benches
