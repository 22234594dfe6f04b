"""Tests for labctl.plots: decimation and the PNG figures."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text

from labctl.plots import decimate, jv_figure, plot_jv, plot_timeseries, timeseries_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def single_diode_curve(jsc_ma_cm2: float = 19.8) -> tuple[np.ndarray, np.ndarray]:
    """A simple diode curve, photovoltaic sign: V [V] and J [mA/cm²], reverse order."""
    voltage_v = np.linspace(1.2, -0.1, 131)
    current_density_ma_cm2 = jsc_ma_cm2 - 1e-12 * np.expm1(voltage_v / (1.5 * 0.025693))
    return voltage_v, current_density_ma_cm2


def figure_texts(figure) -> str:
    return "\n".join(text.get_text() for text in figure.findobj(Text))


# ---------------------------------------------------------------------------- decimate


def test_decimate_keeps_extremes_endpoints_and_limit() -> None:
    rng = np.random.default_rng(1)
    time_s = np.arange(200_003, dtype=float)
    values = rng.normal(0.0, 1.0, time_s.size)
    values[12_345] = 50.0  # a spike a stride would lose
    values[150_001] = -40.0  # a dip
    values[77] = np.nan
    t_dec, v_dec = decimate(time_s, values, max_points=1000)
    assert len(t_dec) == len(v_dec) <= 1000
    assert len(t_dec) > 900  # the budget is used, not wasted
    assert np.nanmax(v_dec) == 50.0 and np.nanmin(v_dec) == -40.0
    assert t_dec[0] == 0.0 and t_dec[-1] == time_s[-1]
    assert v_dec[0] == values[0] and v_dec[-1] == values[-1]
    assert np.all(np.diff(t_dec) > 0)  # original order, no duplicates
    # every kept point is a point of the series
    np.testing.assert_array_equal(values[t_dec.astype(int)], v_dec)


def test_decimate_keeps_each_bucket_extremes_in_a_sine() -> None:
    time_s = np.linspace(0.0, 1.0, 10_001)
    values = np.sin(2 * np.pi * 7 * time_s)
    _, v_dec = decimate(time_s, values, max_points=200)
    assert v_dec.max() == values.max() and v_dec.min() == values.min()
    assert len(v_dec) <= 200


def test_decimate_short_series_unchanged_and_bad_input() -> None:
    x, y = np.arange(10.0), np.arange(10.0) ** 2
    x_dec, y_dec = decimate(x, y, max_points=10)
    np.testing.assert_array_equal(x_dec, x)
    np.testing.assert_array_equal(y_dec, y)
    with pytest.raises(ValueError):
        decimate(x, y[:-1])
    with pytest.raises(ValueError):
        decimate(x, y, max_points=3)


# ---------------------------------------------------------------------------- J-V figure


METRICS = {
    "reverse": {"voc_v": 1.1234, "jsc_ma_cm2": 19.8, "ff": 0.781, "pce_pct": 17.37},
    "forward": {"voc_v": 1.0987, "jsc_ma_cm2": 19.6, "ff": 0.702, "pce_pct": 15.12},
    "hysteresis_index": 0.1295,
}


def test_plot_jv_writes_a_png(tmp_path: Path) -> None:
    voltage_v, current_density_ma_cm2 = single_diode_curve()
    path = plot_jv(
        [("reverse", voltage_v, current_density_ma_cm2),
         ("forward", voltage_v[::-1], 0.97 * current_density_ma_cm2[::-1])],
        tmp_path / "figures" / "s00_jv.png",
        title="QD-A, step 0",
        metrics=METRICS,
        irradiance_mw_cm2=100.0,
    )
    assert path == tmp_path / "figures" / "s00_jv.png"
    content = path.read_bytes()
    assert content[:8] == PNG_SIGNATURE
    assert len(content) > 10_000


def test_jv_figure_shows_metrics_labels_and_limits() -> None:
    voltage_v, current_density_ma_cm2 = single_diode_curve()
    figure = jv_figure(
        [("reverse", voltage_v, current_density_ma_cm2),
         ("forward", voltage_v, 0.97 * current_density_ma_cm2)],
        title="QD-A",
        metrics=METRICS,
        irradiance_mw_cm2=50.0,
    )
    texts = figure_texts(figure)
    assert "1.123" in texts and "1.099" in texts  # Voc [V]
    assert "78.1" in texts and "70.2" in texts  # FF as %
    assert "17.37" in texts and "15.12" in texts  # PCE [%]
    assert "0.130" in texts  # hysteresis index (0.1295 rounded)
    assert "50 mW/cm²" in texts
    axes = figure.axes[0]
    assert [line.get_label() for line in axes.get_lines() if not line.get_label().startswith("_")
            ] == ["reverse", "forward"]
    bottom, top = axes.get_ylim()
    assert bottom == pytest.approx(-0.1 * 19.8)
    assert top == pytest.approx(1.1 * 19.8)
    assert axes.get_xlabel() == "Voltage [V]"


def test_jv_figure_without_metrics_estimates_jsc() -> None:
    voltage_v, current_density_ma_cm2 = single_diode_curve(jsc_ma_cm2=10.0)
    figure = jv_figure([("reverse", voltage_v, current_density_ma_cm2)], title="no metrics")
    assert figure.axes[0].get_ylim()[1] == pytest.approx(11.0, rel=1e-6)
    assert "Voc [V]" not in figure_texts(figure)


def test_plots_are_thread_safe(tmp_path: Path) -> None:
    voltage_v, current_density_ma_cm2 = single_diode_curve()
    errors: list[BaseException] = []

    def draw(index: int) -> None:
        try:
            plot_jv([("reverse", voltage_v, current_density_ma_cm2)], tmp_path / f"{index}.png",
                    title=f"thread {index}", metrics={"reverse": METRICS["reverse"]})
        except BaseException as error:  # collected and re-raised in the test thread
            errors.append(error)

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all((tmp_path / f"{i}.png").read_bytes()[:8] == PNG_SIGNATURE for i in range(4))


# ---------------------------------------------------------------------------- time series


def test_plot_timeseries_decimates_and_picks_a_time_unit(tmp_path: Path) -> None:
    time_s = np.linspace(0.0, 500 * 3600.0, 300_000)
    pce_pct = 17.0 - 1e-6 * time_s / 360.0
    figure = timeseries_figure(time_s, pce_pct, ylabel="PCE [%]", title="MPP", max_points=2000)
    axes = figure.axes[0]
    (line,) = axes.get_lines()
    assert len(line.get_xdata()) <= 2000
    assert axes.get_xlabel() == "Time [d]"
    assert line.get_xdata()[-1] == pytest.approx(500 / 24)

    path = plot_timeseries(time_s, pce_pct, tmp_path / "mpp.png", ylabel="PCE [%]", title="MPP")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


# ------------------------------------------------------- how results are presented to people


def test_a_steady_state_curve_measured_out_of_order_is_drawn_in_voltage_order() -> None:
    voltage_v, current_density_ma_cm2 = single_diode_curve()
    shuffled = np.random.default_rng(7).permutation(voltage_v.size)
    figure = jv_figure([("steady", voltage_v[shuffled], current_density_ma_cm2[shuffled])],
                       title="QD-A")
    line = next(line for line in figure.axes[0].get_lines() if line.get_label() == "steady")
    drawn_v = np.asarray(line.get_xdata(), dtype=float)
    assert np.all(np.diff(drawn_v) > 0)                  # no zig-zag
    drawn_j = np.asarray(line.get_ydata(), dtype=float)
    assert drawn_j == pytest.approx(current_density_ma_cm2[::-1])  # the points are unchanged


def test_the_fill_factor_is_a_percentage_on_the_terminal_and_a_fraction_in_json() -> None:
    from labctl.registry.procedures import headline

    shown = headline("jv", {"voc_v": 1.1, "jsc_ma_cm2": 19.8, "ff": 0.78123, "pce_pct": 17.0})
    assert "ff 78.1 %" in shown and "0.78" not in shown
    assert "ff -" not in headline("jv", {"ff": float("nan")})


def test_header_values_keep_non_ascii_as_utf8_and_pymeasure_reads_them_back(
        tmp_path: Path) -> None:
    from pymeasure.experiment import Results

    from labctl.storage.csv_writer import CsvWriter
    from procedures.jv import JVProcedure

    procedure = JVProcedure()
    procedure.set_parameters({"area_cm2": 0.09})
    path = tmp_path / "m.csv"
    with CsvWriter(path, procedure, list(procedure.DATA_COLUMNS),
                   metadata={"Irradiance sensor": "Si photodiode (A = 13.0 mm²)",
                             "Note": "line one\nline two\\x"}) as writer:
        writer.append({"Voltage (V)": 0.1, "Current (A)": -1e-3})
    text = path.read_text(encoding="utf-8")
    assert "#\tIrradiance sensor: Si photodiode (A = 13.0 mm²)\n" in text
    assert "\\xb2" not in text
    assert "#\tNote: line one\\nline two\\\\x\n" in text  # control characters stay escaped
    results = Results.load(str(path))
    assert results.procedure.__class__.__name__ == "JVProcedure"
    assert len(results.data) == 1
    assert results.procedure.irradiance_sensor_identity == "Si photodiode (A = 13.0 mm²)"


def test_summary_json_has_the_mode_of_the_other_files(tmp_path: Path) -> None:
    import os
    import stat

    from labctl.storage import write_summary

    previous = os.umask(0o022)
    try:
        write_summary(tmp_path / "summary.json", {"status": "ok"})
        (tmp_path / "other.csv").write_text("x\n")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "summary.json").stat().st_mode)
    assert mode == 0o644 == stat.S_IMODE((tmp_path / "other.csv").stat().st_mode)


def test_a_list_of_records_is_printed_one_record_at_a_time() -> None:
    from labctl.registry.procedures import format_metric

    shown = format_metric([{"sun": 0.001, "n": 1.523456}, {"sun": 0.01, "n": 1.49}])
    assert shown == "{sun 0.001, n 1.523}; {sun 0.01, n 1.49}"
    assert format_metric([1.0, 2.5]) == "[1, 2.5]"
