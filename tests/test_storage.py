"""Tests for labctl.storage: folders, the pymeasure-format CSV writer, reading, summary, catalog."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from pymeasure.experiment import (
    FloatParameter,
    IntegerParameter,
    Metadata,
    Parameter,
    Procedure,
    Results,
)

from labctl.storage import (
    SCHEMA_VERSION,
    Catalog,
    CsvWriter,
    jv_curve,
    mean_irradiance_mw_cm2,
    measurement_filename,
    read_last_row,
    read_measurement,
    run_folder,
    safe_name,
    write_summary,
)

COLUMNS = ["Voltage (V)", "Current (A)", "Current density (mA/cm**2)", "Time (s)"]


class TinyJV(Procedure):
    """A minimal procedure: three kinds of parameter, one metadata entry, the columns of
    docs/contracts.md ("CSV columns")."""

    start_v = FloatParameter("Start voltage", units="V", default=1.2)
    points = IntegerParameter("Points", default=10)
    operator = Parameter("Operator", default="lab")
    smu_identity = Metadata("SMU identity", default="unknown")

    DATA_COLUMNS = COLUMNS


def make_procedure() -> TinyJV:
    procedure = TinyJV(start_v=1.3, points=131, operator="alice")
    procedure.smu_identity = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30"
    return procedure


ROWS = [
    {"Voltage (V)": 1.3, "Current (A)": 1.2e-3, "Current density (mA/cm**2)": -13.3,
     "Time (s)": 0.0},
    {"Voltage (V)": 0.001, "Current (A)": 1.2345678901e-9, "Current density (mA/cm**2)": 19.75,
     "Time (s)": 0.25},
    {"Voltage (V)": -0.1, "Current (A)": -1.78e-3, "Current density (mA/cm**2)": 19.8,
     "Time (s)": 0.5},
]


def write_rows(path: Path, rows: list[dict[str, float]], **kwargs: object) -> None:
    with CsvWriter(path, make_procedure(), COLUMNS, **kwargs) as writer:
        for row in rows:
            writer.append(row)


# ---------------------------------------------------------------------------- names


def test_run_folder_is_windows_safe_and_unique(tmp_path: Path) -> None:
    started = datetime(2026, 11, 21, 9, 5, 7)
    first = run_folder(tmp_path / "results", "QD:2026/11?A", started)
    second = run_folder(tmp_path / "results", "QD:2026/11?A", started)
    third = run_folder(tmp_path / "results", "QD:2026/11?A", started)
    assert first.name == "QD_2026_11_A_20261121-090507"
    assert second.name == first.name + "_2"
    assert third.name == first.name + "_3"
    assert first.is_dir() and second.is_dir() and third.is_dir()


def test_safe_name_rejects_empty_and_guards_device_names() -> None:
    assert safe_name("CON") == "_CON"
    assert safe_name("run 1. ") == "run_1"
    with pytest.raises(ValueError):
        safe_name("///")


def test_measurement_filename_examples() -> None:
    assert measurement_filename(0, "jv", "reverse") == "s00_jv_reverse.csv"
    assert measurement_filename(1, "jv_steady") == "s01_jv_steady.csv"
    assert measurement_filename(2, "mpp", channel="smu2") == "s02_mpp_smu2.csv"
    assert (
        measurement_filename(12, "jv", "forward", channel="smu:2", pixel=3)
        == "s12_jv_smu_2_p3_forward.csv"
    )
    with pytest.raises(ValueError):
        measurement_filename(-1, "jv")


# ---------------------------------------------------------------------------- CSV writer


def test_csv_loads_in_pymeasure_with_data_parameters_and_metadata(tmp_path: Path) -> None:
    path = tmp_path / "s00_jv_reverse.csv"
    write_rows(path, ROWS, metadata={"Station": "bench-1", "labctl version": "0.1.0"})

    results = Results.load(str(path), TinyJV)
    procedure = results.procedure
    assert procedure.start_v == pytest.approx(1.3)
    assert procedure.points == 131
    assert procedure.operator == "alice"
    assert procedure.smu_identity == "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30"
    data = results.data
    assert list(data.columns) == COLUMNS
    for column in COLUMNS:
        np.testing.assert_array_equal(data[column].to_numpy(), [row[column] for row in ROWS])

    text = path.read_text(encoding="utf-8").splitlines()
    assert text[0] == f"#Procedure: <{TinyJV.__module__}.TinyJV>"
    # Parameters sorted by attribute name (operator, points, start_v), then metadata, data.
    assert text[1:5] == ["#Parameters:", "#\tOperator: alice", "#\tPoints: 131",
                         "#\tStart voltage: 1.3 V"]
    assert text[5] == "#Metadata:"
    assert "#\tStation: bench-1" in text[6:9]
    assert text[9] == "#Data:"
    assert text[10] == ",".join(COLUMNS)


def test_header_matches_what_pymeasure_results_writes(tmp_path: Path) -> None:
    ours = tmp_path / "ours.csv"
    theirs = tmp_path / "theirs.csv"
    write_rows(ours, [])
    procedure = make_procedure()
    procedure.evaluate_metadata()
    results = Results(procedure, str(theirs))
    results.store_metadata()
    assert ours.read_text(encoding="utf-8") == theirs.read_text(encoding="utf-8")


def test_read_measurement_gives_the_same_arrays_and_header(tmp_path: Path) -> None:
    path = tmp_path / "jv.csv"
    write_rows(path, ROWS, metadata={"Station": "bench-1", "Note": "line 1\nline 2"})
    measurement = read_measurement(path)
    assert list(measurement.columns) == COLUMNS
    for column in COLUMNS:
        np.testing.assert_array_equal(measurement.columns[column], [row[column] for row in ROWS])
    assert measurement.procedure == f"{TinyJV.__module__}.TinyJV"
    assert measurement.parameters == {"Operator": "alice", "Points": "131",
                                      "Start voltage": "1.3 V"}
    assert measurement.metadata["Station"] == "bench-1"
    assert measurement.metadata["Note"] == "line 1\nline 2"
    assert len(measurement) == 3


def test_precision_survives(tmp_path: Path) -> None:
    path = tmp_path / "precise.csv"
    values = [1.2345678901e-9, 0.0012345678901234, -1.0000000001e-12, 1.23456789012345e3]
    write_rows(path, [{"Current (A)": v, "Voltage (V)": v} for v in values])
    current_a = read_measurement(path).columns["Current (A)"]
    np.testing.assert_allclose(current_a, values, rtol=1e-15, atol=0)
    loaded = Results.load(str(path), TinyJV).data["Voltage (V)"].to_numpy()
    np.testing.assert_allclose(loaded, values, rtol=1e-15, atol=0)


def test_missing_columns_are_nan_and_special_values_written(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    write_rows(path, [{"Voltage (V)": 0.5, "Time (s)": np.float32(2.5), "Current (A)": None},
                      {"Voltage (V)": np.inf, "Time (s)": 3}])
    columns = read_measurement(path).columns
    assert np.isnan(columns["Current density (mA/cm**2)"]).all()
    assert np.isnan(columns["Current (A)"][0])
    np.testing.assert_array_equal(columns["Voltage (V)"], [0.5, np.inf])
    np.testing.assert_array_equal(columns["Time (s)"], [2.5, 3.0])


def test_unknown_key_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "unknown.csv"
    with CsvWriter(path, make_procedure(), COLUMNS) as writer:
        writer.append(ROWS[0])
        size_before = path.stat().st_size
        with pytest.raises(ValueError, match="Voltage \\(mV\\)"):
            writer.append({"Voltage (mV)": 3.0, "Time (s)": 1.0})
        with pytest.raises(TypeError, match="Time"):
            writer.append({"Time (s)": "soon"})
        assert path.stat().st_size == size_before


def test_rows_are_on_disk_right_after_append(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    writer = CsvWriter(path, make_procedure(), COLUMNS, fsync_interval_s=3600.0)
    try:
        writer.append(ROWS[0])
        with open(path, encoding="utf-8") as separate:
            lines = separate.read().splitlines()
        assert lines[-1] == "1.3,0.0012,-13.3,0.0"
        writer.append(ROWS[1])
        assert read_measurement(path).columns["Time (s)"].tolist() == [0.0, 0.25]
    finally:
        writer.close()
    assert writer.closed
    with pytest.raises(ValueError, match="closed"):
        writer.append(ROWS[2])


def test_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    write_rows(path, ROWS[:1])
    with pytest.raises(FileExistsError):
        CsvWriter(path, make_procedure(), COLUMNS)
    assert len(read_measurement(path)) == 1


def test_resume_appends_without_a_second_header(tmp_path: Path) -> None:
    path = tmp_path / "resume.csv"
    write_rows(path, ROWS[:2])
    write_rows(path, ROWS[2:], resume=True)
    text = path.read_text(encoding="utf-8")
    assert text.count("#Procedure:") == 1
    assert text.count(",".join(COLUMNS)) == 1
    data = Results.load(str(path), TinyJV).data
    np.testing.assert_array_equal(data["Time (s)"].to_numpy(), [0.0, 0.25, 0.5])
    assert read_last_row(path) == ROWS[2]


def test_resume_of_a_missing_file_starts_it(tmp_path: Path) -> None:
    path = tmp_path / "fresh.csv"
    write_rows(path, ROWS, resume=True)
    assert path.read_text(encoding="utf-8").count("#Procedure:") == 1
    assert len(read_measurement(path)) == 3


def test_resume_drops_a_line_cut_short_by_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "crash.csv"
    write_rows(path, ROWS[:2])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("-0.0999,-1.7")  # the crash cut this row mid-number
    write_rows(path, ROWS[2:], resume=True)
    np.testing.assert_array_equal(read_measurement(path).columns["Voltage (V)"],
                                  [1.3, 0.001, -0.1])


def test_resume_with_other_columns_raises(tmp_path: Path) -> None:
    path = tmp_path / "mismatch.csv"
    write_rows(path, ROWS)
    with pytest.raises(ValueError, match="columns"):
        CsvWriter(path, make_procedure(), COLUMNS[:3], resume=True)
    with pytest.raises(ValueError, match="columns"):
        CsvWriter(path, make_procedure(), [*COLUMNS[1:], COLUMNS[0]], resume=True)
    assert len(read_measurement(path)) == 3


def test_bad_column_units_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CsvWriter(tmp_path / "bad.csv", make_procedure(), ["J (mA/cm2)"])
    with pytest.raises(ValueError):
        CsvWriter(tmp_path / "bad2.csv", make_procedure(), ["Voltage (V)", "a,b"])


def test_read_last_row_of_an_empty_measurement(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    write_rows(path, [])
    assert read_last_row(path) is None
    assert len(read_measurement(path)) == 0


# ---------------------------------------------------------------------------- plain CSV


def test_plain_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(
        "Voltage (V), Current density (mA/cm**2),Time (s)\n"
        "0.0,19.8,0\n"
        "0.5,18.1,n/a\n"
        "1.0,-2.5,2\n",
        encoding="utf-8",
    )
    measurement = read_measurement(path)
    assert measurement.procedure is None
    assert measurement.parameters == {} and measurement.metadata == {}
    np.testing.assert_array_equal(measurement.columns["Voltage (V)"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(
        measurement.columns["Current density (mA/cm**2)"], [19.8, 18.1, -2.5]
    )
    time_s = measurement.columns["Time (s)"]
    assert time_s[0] == 0.0 and np.isnan(time_s[1]) and time_s[2] == 2.0


def test_plain_csv_in_other_units_gets_the_design_columns(tmp_path: Path) -> None:
    path = tmp_path / "millivolts.csv"
    path.write_text("Voltage (mV),Current (mA)\n100,1.5\n250,-2\n", encoding="utf-8")
    columns = read_measurement(path).columns
    np.testing.assert_allclose(columns["Voltage (V)"], [0.1, 0.25])
    np.testing.assert_allclose(columns["Current (A)"], [1.5e-3, -2e-3])
    np.testing.assert_array_equal(columns["Voltage (mV)"], [100.0, 250.0])


def test_intensity_file_with_voc_column_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "intensity.csv"
    path.write_text("Irradiance (mW/cm**2),Voc (V)\n1,0.9\n100,1.1\n", encoding="utf-8")
    assert read_measurement(path).columns["Voc (V)"].tolist() == [0.9, 1.1]


def test_file_without_voltage_column_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "no_voltage.csv"
    path.write_text("Time (s),Current (A)\n0,1e-3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no_voltage.csv") as error:
        read_measurement(path)
    assert "Current (A)" in str(error.value)


# ---------------------------------------------------------------------------- summary


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def test_write_summary_is_strict_json_with_null_for_nan(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    summary = {
        "run_id": "QD-A_20261121-090507",
        "sample": {"id": "QD-A", "area_cm2": np.float64(0.09)},
        "results": [
            {"step": np.int64(0), "procedure": "jv", "direction": "reverse",
             "file": Path("s00_jv_reverse.csv"),
             "metrics": {"voc_v": np.float64(1.1), "rs_ohm_cm2": float("nan"),
                         "rsh_ohm_cm2": np.inf, "list": [np.nan, 1.0],
                         "array": np.array([1.0, np.nan])}},
        ],
    }
    write_summary(path, summary)
    text = path.read_text(encoding="utf-8")
    loaded = json.loads(text, parse_constant=_refuse_constant)
    metrics = loaded["results"][0]["metrics"]
    assert metrics["rs_ohm_cm2"] is None and metrics["rsh_ohm_cm2"] is None
    assert metrics["list"] == [None, 1.0] and metrics["array"] == [1.0, None]
    assert metrics["voc_v"] == 1.1
    assert loaded["results"][0]["step"] == 0
    assert loaded["results"][0]["file"] == "s00_jv_reverse.csv"
    assert "\n  " in text  # indent 2
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left

    write_summary(path, {"run_id": "second"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"run_id": "second"}


# ---------------------------------------------------------------------------- catalog


def test_catalog_add_query_filter_and_metrics(tmp_path: Path) -> None:
    out = tmp_path / "results"
    catalog = Catalog(out / "catalog.sqlite")
    t0 = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)
    run = out / "QD-A_20261121-090000"
    run.mkdir(parents=True)
    catalog.add(run_id="r1", sample_id="QD-A", procedure="mpp", step=1,
                file=run / "s01_mpp.csv", started=t0 + timedelta(minutes=5),
                metrics={"pce_stabilized_pct": 17.2, "tracking_efficiency": float("nan")})
    catalog.add(run_id="r1", sample_id="QD-A", procedure="jv", step=0, direction="reverse",
                file=run / "s00_jv_reverse.csv", started=t0,
                metrics={"voc_v": 1.1, "ideality_local": [{"sun": 0.1, "n": 1.4}]})
    catalog.add(run_id="r2", sample_id="QD-B", procedure="jv", step=0, direction="forward",
                pixel=3, channel="smu2", status="failed", file=tmp_path / "elsewhere.csv",
                started=datetime(2026, 11, 21, 11, 0, 0, tzinfo=timezone(timedelta(hours=2))))

    everything = catalog.query()
    assert [row["step"] for row in everything] == [0, 0, 1]  # ordered by started
    assert [row["sample_id"] for row in everything] == ["QD-A", "QD-B", "QD-A"]
    assert everything[0]["started"] == "2026-11-21T09:00:00.000+00:00"
    assert everything[1]["started"] == "2026-11-21T09:00:00.000+00:00"  # 11:00 at UTC+2

    jv_a = catalog.query(sample="QD-A", procedure="jv")
    assert len(jv_a) == 1
    assert jv_a[0]["file"] == "QD-A_20261121-090000/s00_jv_reverse.csv"
    assert jv_a[0]["metrics"] == {"voc_v": 1.1, "ideality_local": [{"sun": 0.1, "n": 1.4}]}
    assert jv_a[0]["pixel"] is None and jv_a[0]["channel"] is None
    assert catalog.resolve(jv_a[0]["file"]) == run / "s00_jv_reverse.csv"

    mpp = catalog.query(procedure="mpp")
    assert mpp[0]["metrics"] == {"pce_stabilized_pct": 17.2, "tracking_efficiency": None}

    other = catalog.query(sample="QD-B")
    assert len(other) == 1
    assert other[0]["pixel"] == 3 and other[0]["channel"] == "smu2"
    assert other[0]["status"] == "failed" and other[0]["direction"] == "forward"
    assert Path(other[0]["file"]).is_absolute()  # outside the catalog folder
    assert catalog.query(sample="nobody") == []


def test_catalog_persists_and_has_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path).add(run_id="r", sample_id="S", procedure="jv", step=0,
                      file=tmp_path / "a.csv", started=datetime.now(UTC))
    reopened = Catalog(path)
    assert len(reopened.query()) == 1
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ValueError, match="schema version"):
        Catalog(path)


# ---------------------------------------------------------------------------- J-V curve


def test_jv_curve_takes_current_density_or_current_over_the_area(tmp_path: Path) -> None:
    path = tmp_path / "jv.csv"
    write_rows(path, ROWS)
    voltage_v, j_ma_cm2, notes = jv_curve(read_measurement(path))
    np.testing.assert_array_equal(voltage_v, [1.3, 0.001, -0.1])
    np.testing.assert_array_equal(j_ma_cm2, [-13.3, 19.75, 19.8])
    assert notes == []

    plain = tmp_path / "current.csv"
    plain.write_text("Voltage (V),Current (A),Settled\n0.0,-1.8e-3,1\n0.5,-1.0e-3,0\n"
                     "1.0,2.0e-4,1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="area"):
        jv_curve(read_measurement(plain))
    voltage_v, j_ma_cm2, notes = jv_curve(read_measurement(plain), area_cm2=0.1)
    np.testing.assert_array_equal(voltage_v, [0.0, 1.0])          # settled rows only
    np.testing.assert_allclose(j_ma_cm2, [18.0, -2.0], rtol=1e-12)  # photovoltaic sign
    assert len(notes) == 1 and "sign" in notes[0]


def test_mean_irradiance_ignores_dark_and_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "irradiance.csv"
    path.write_text("Voltage (V),Irradiance (mW/cm**2)\n0,99\n0.1,nan\n0.2,101\n0.3,0\n",
                    encoding="utf-8")
    assert mean_irradiance_mw_cm2(read_measurement(path)) == pytest.approx(100.0)
    dark = tmp_path / "dark.csv"
    dark.write_text("Voltage (V),Irradiance (mW/cm**2)\n0,0\n", encoding="utf-8")
    assert mean_irradiance_mw_cm2(read_measurement(dark)) is None
