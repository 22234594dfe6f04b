"""`labctl run` end to end on the simulated station, through the command line.

Bad input exits 2 before any instrument is touched; a failing instrument exits 1 with the
output off, the shutter closed and the data on disk; a clean run writes a CSV per measurement,
a figure per J-V, summary.json and a catalog row.
"""

from __future__ import annotations

import functools
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pvlib
import pytest
import yaml

from labctl.cli import main
from labctl.sim import bench as sim_bench
from labctl.storage import read_measurement

ROOT = Path(__file__).resolve().parents[1]
STATION = ROOT / "configs" / "stations" / "simulated.yaml"
DEMO = ROOT / "configs" / "sequences" / "jv-demo.yaml"


def steady_truth(device: dict) -> dict[str, float]:
    vt_v = 1.380649e-23 * device["temperature_k"] / 1.602176634e-19
    out = pvlib.pvsystem.singlediode(
        photocurrent=device["jph_ma_cm2"] * 1e-3, saturation_current=device["j0_ma_cm2"] * 1e-3,
        resistance_series=device["rs_ohm_cm2"], resistance_shunt=device["rsh_ohm_cm2"],
        nNsVth=device["ideality"] * vt_v)
    return {"voc_v": float(out["v_oc"]), "jsc_ma_cm2": float(out["i_sc"]) * 1e3,
            "pce_pct": float(out["p_mp"]) * 1e3}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_sequence(path: Path, steps: list, sample: dict | None = None) -> Path:
    path.write_text(yaml.safe_dump(
        {"sample": sample or {"id": "T-1", "area_cm2": 0.09}, "steps": steps}, sort_keys=False))
    return path


@pytest.fixture
def station_copy(tmp_path: Path) -> Path:
    """The example simulated station, with the hysteresis switched off for exact checks."""
    data = yaml.safe_load(STATION.read_text())
    data["simulation"]["device"]["ion_amplitude"] = 0.0
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_demo_sequence_runs_and_stores_everything(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    code, stdout, stderr = run_cli(["run", str(DEMO), "--station", str(STATION), "--sim",
                                    "--out", str(out), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    summary = json.loads(stdout)                       # the only thing on stdout
    assert summary["status"] == "ok"
    assert [(r["step"], r["procedure"], r["direction"]) for r in summary["results"]] == [
        (0, "jv", "reverse"), (0, "jv", "forward"), (1, "jv_steady", None)]
    folder = out / summary["run_id"]
    assert json.loads((folder / "summary.json").read_text())["run_id"] == summary["run_id"]
    for result in summary["results"]:
        for name in ("voc_v", "jsc_ma_cm2", "ff", "pce_pct", "vmpp_v", "jmpp_ma_cm2",
                     "pmax_mw_cm2", "rs_ohm_cm2", "rsh_ohm_cm2"):
            assert name in result["metrics"]
        data = read_measurement(folder / result["file"])
        assert data.columns["Voltage (V)"].size >= 10
    reverse, forward, steady = summary["results"]
    assert reverse["metrics"]["hysteresis_index"] == forward["metrics"]["hysteresis_index"]
    assert reverse["metrics"]["hysteresis_index"] > 0.01      # ion_amplitude 0.1: visible
    assert "hysteresis_index_08voc" in reverse["metrics"]
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert len(pngs) == 2 and all((folder / p).stat().st_size > 10_000 for p in pngs)
    # the steady-state J-V finds the true (single-diode) efficiency despite the hysteresis
    device = yaml.safe_load(STATION.read_text())["simulation"]["device"]
    assert steady["metrics"]["pce_pct"] == pytest.approx(steady_truth(device)["pce_pct"],
                                                         rel=5e-3)
    # Time (s) counts from the start of the run, across the measurements
    times_s = [read_measurement(folder / r["file"]).columns["Time (s)"]
               for r in summary["results"]]
    for earlier, later in zip(times_s, times_s[1:], strict=False):
        assert np.nanmin(later) > np.nanmax(earlier)
    assert summary["elapsed_s"] >= np.nanmax(times_s[-1])
    code, stdout, _ = run_cli(["catalog", "--out", str(out), "--json"], capsys)
    rows = json.loads(stdout)
    assert code == 0 and len(rows) == 3
    assert {row["procedure"] for row in rows} == {"jv", "jv_steady"}
    # `labctl analyze` takes the curve and the irradiance as the run did: the same metrics
    files = [str(folder / r["file"]) for r in summary["results"]]
    code, stdout, _ = run_cli(["analyze", "jv", *files, "--json"], capsys)
    assert code == 0
    for item, result in zip(json.loads(stdout), summary["results"], strict=True):
        for name in ("voc_v", "jsc_ma_cm2", "ff", "pce_pct"):
            assert item["metrics"][name] == pytest.approx(result["metrics"][name], rel=1e-12)


def test_jv_metrics_match_pvlib_without_hysteresis(tmp_path: Path, station_copy: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"start_v": 1.3, "stop_v": -0.1, "step_v": 0.01, "dwell_s": 0.01,
                "direction": "reverse"}}])
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station_copy),
                                    "--out", str(tmp_path / "r"), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    metrics = json.loads(stdout)["results"][0]["metrics"]
    device = yaml.safe_load(station_copy.read_text())["simulation"]["device"]
    truth = steady_truth(device)
    # the lamp is warmed up through the driver: the irradiance the photodiode measured is the
    # one the cell saw, so PCE is relative to it
    scale = metrics["irradiance_mw_cm2"] / 100.0
    assert scale == pytest.approx(1.0, abs=1e-3)
    assert metrics["jsc_ma_cm2"] == pytest.approx(truth["jsc_ma_cm2"] * scale, rel=1e-3)
    assert metrics["voc_v"] == pytest.approx(truth["voc_v"], abs=2e-3)
    assert metrics["scan_rate_v_s"] > 0


@pytest.mark.parametrize(("step", "field", "needle"), [
    ({"jv": {"dwel_s": 0.01}}, "steps[0].jv.dwel_s", "unknown key"),
    ({"jv": {"dwell_s": "fast"}}, "steps[0].jv.dwell_s", "number"),
    ({"jv": {"nplc": 100}}, "steps[0].jv.nplc", "10"),
    ({"intensity_voc": {"min_sun": 0.001}}, "steps[0].intensity_voc", "attenuator"),
])
def test_bad_sequences_exit_2_before_any_instrument(tmp_path: Path, step: dict, field: str,
                                                    needle: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump({
        "station": "lean", "simulated": True,
        "instruments": {"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
                        "ref_smu": {"driver": "keithley2450",
                                    "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
                        "photodiode": {"driver": "smu_photodiode", "smu": "ref_smu",
                                       "responsivity_a_per_w": 0.45, "area_mm2": 13}}}))
    sequence = write_sequence(tmp_path / "bad.yaml", [step])
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station),
                                    "--out", str(tmp_path / "r")], capsys)
    assert code == 2
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(sequence) in lines[0]
    key = field.rsplit(".", 1)[-1]
    expected_line = 1 + next(i for i, text in enumerate(sequence.read_text().splitlines())
                             if f"{key}:" in text)
    assert f"{sequence}:{expected_line}:" in lines[0]      # the offending line of the file
    assert field in lines[0] and needle in lines[0]
    assert not sim_bench._benches                          # no bench: nothing was opened
    assert not (tmp_path / "r").exists()


def test_an_instrument_failing_mid_sweep_exits_1_safe_with_data(
        tmp_path: Path, station_copy: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMU's firmware hangs during the second sweep: it still executes commands (so the
    driver's ':OUTP OFF' lands) but answers nothing, and the :READ? times out."""
    from labctl.sim.keithley24xx import Keithley2400Emulator

    original = Keithley2400Emulator._read
    calls = {"n": 0}

    @functools.wraps(original)  # keeps the SCPI registration, whatever the test order
    def hang_on_second_sweep(self: Keithley2400Emulator, args: list[str]) -> str:
        if self.trigger_count > 1:
            calls["n"] += 1
            if calls["n"] == 2:
                self.fault = "no_reply"
        return original(self, args)

    monkeypatch.setattr(Keithley2400Emulator, "_read", hang_on_second_sweep)
    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"start_v": 1.3, "stop_v": -0.1, "step_v": 0.01, "direction": "both"}}])
    out = tmp_path / "r"
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station_copy),
                                    "--out", str(out), "--json", "--quiet"], capsys)
    assert code == 1
    summary = json.loads(stdout)
    assert summary["status"] == "failed" and "error" in summary
    assert [r["direction"] for r in summary["results"]] == ["reverse", "forward"]
    assert summary["results"][1]["status"] == "failed"
    bench = sim_bench.bench_for(station_copy)
    assert not bench.instruments["smu"].output_on            # output off
    assert bench.light.shutter_open is False                 # shutter closed
    folder = out / summary["run_id"]
    reverse = read_measurement(folder / summary["results"][0]["file"])
    assert reverse.columns["Voltage (V)"].size == 141        # the data measured is kept
    assert (folder / summary["results"][1]["file"]).exists()
    assert json.loads((folder / "summary.json").read_text())["status"] == "failed"


def test_stop_request_ends_the_run_safely(tmp_path: Path, station_copy: Path) -> None:
    import threading

    from labctl.runner import Runner
    from labctl.storage import CsvWriter

    stop = threading.Event()
    original_append = CsvWriter.append
    rows = {"n": 0}

    def append_and_stop(self: CsvWriter, row: dict) -> None:
        original_append(self, row)
        rows["n"] += 1
        if rows["n"] == 20:
            stop.set()

    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"start_v": 1.3, "stop_v": -0.1, "step_v": 0.01, "direction": "both",
                "hardware_sweep": False}}])
    runner = Runner(sequence, station_copy, simulated=True, out_dir=tmp_path / "r",
                    show_progress=False, stop_event=stop)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(CsvWriter, "append", append_and_stop)
        summary = runner.run()
    assert summary["status"] == "aborted"
    assert len(summary["results"]) == 1 and summary["results"][0]["status"] == "aborted"
    data = read_measurement(runner.state.folder / summary["results"][0]["file"])
    assert 20 <= data.columns["Voltage (V)"].size < 141
    bench = sim_bench.bench_for(station_copy)
    assert not bench.instruments["smu"].output_on
    assert bench.light.shutter_open is False


def test_resume_continues_an_interrupted_run(tmp_path: Path, station_copy: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"direction": "reverse"}}, {"jv": {"direction": "forward"}}])
    out = tmp_path / "r"
    code, stdout, _ = run_cli(["run", str(sequence), "--station", str(station_copy),
                               "--out", str(out), "--json", "--quiet"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    folder = out / summary["run_id"]
    # pretend the run stopped after the first measurement
    partial = dict(summary, status="aborted", results=summary["results"][:1])
    (folder / "summary.json").write_text(json.dumps(partial))
    first_time_s = read_measurement(folder / summary["results"][0]["file"]).columns["Time (s)"]
    code, stdout, _ = run_cli(["run", str(sequence), "--station", str(station_copy),
                               "--out", str(out), "--resume", str(folder), "--json",
                               "--quiet"], capsys)
    assert code == 0
    resumed = json.loads(stdout)
    assert resumed["run_id"] == summary["run_id"] and resumed["status"] == "ok"
    assert [r["step"] for r in resumed["results"]] == [0, 1]
    second_time_s = read_measurement(folder / resumed["results"][1]["file"]).columns["Time (s)"]
    assert np.nanmin(second_time_s) > np.nanmax(first_time_s)    # time continues


def test_analyze_jv_on_a_plain_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    voltage_v = np.linspace(-0.1, 1.3, 141)
    vt_v = 1.380649e-23 * 298.15 / 1.602176634e-19
    current_a_cm2 = pvlib.pvsystem.i_from_v(voltage_v, 0.0198, 1e-15, 3.0, 3000.0, 1.5 * vt_v)
    plain = tmp_path / "plain.csv"
    # SMU sign and no current density: needs --area-cm2
    np.savetxt(plain, np.column_stack([voltage_v, -current_a_cm2 * 0.09]), delimiter=",",
               header="Voltage (V),Current (A)", comments="")
    code, _, stderr = run_cli(["analyze", "jv", str(plain)], capsys)
    assert code == 2 and "--area-cm2" in stderr and len(stderr.strip().splitlines()) == 1
    code, stdout, _ = run_cli(["analyze", "jv", str(plain), "--area-cm2", "0.09", "--json"],
                              capsys)
    assert code == 0
    (item,) = json.loads(stdout)
    truth = steady_truth({"jph_ma_cm2": 19.8, "j0_ma_cm2": 1e-12, "rs_ohm_cm2": 3.0,
                          "rsh_ohm_cm2": 3000.0, "ideality": 1.5, "temperature_k": 298.15})
    assert item["file"] == str(plain)
    assert item["metrics"]["voc_v"] == pytest.approx(truth["voc_v"], abs=5e-4)
    assert item["metrics"]["pce_pct"] == pytest.approx(truth["pce_pct"], rel=1e-3)
    assert any("sign" in w.lower() for w in item["warnings"])
    assert not any(isinstance(v, float) and math.isnan(v) for v in item["metrics"].values())


def test_sigterm_stops_a_run_safely(tmp_path: Path) -> None:
    """A real-time simulated run receives SIGTERM: it stops, records 'aborted', exits 1."""
    data = yaml.safe_load(STATION.read_text())
    data["simulation"]["clock"] = "real"
    data["instruments"] = {k: v for k, v in data["instruments"].items()
                           if k in ("smu", "shutter")}       # no lamp warm-up in real time
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"start_v": 1.3, "stop_v": -0.1, "step_v": 0.01, "dwell_s": 0.05,
                "nplc": 0.01, "direction": "reverse", "hardware_sweep": False,
                "precondition_light_s": 0}}])
    out = tmp_path / "r"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "labctl.cli", "run", str(sequence), "--station", str(station),
         "--out", str(out), "--json", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(out.glob("*/s00_jv_reverse.csv")):
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 1, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "aborted"
    data_file = out / summary["run_id"] / "s00_jv_reverse.csv"
    assert 0 < read_measurement(data_file).columns["Voltage (V)"].size < 141


def resumable_run(tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str],
                  steps: list | None = None) -> tuple[Path, dict, Path]:
    """A finished two-step run; returns (sequence, summary, folder)."""
    sequence = write_sequence(tmp_path / "seq.yaml", steps or [
        {"jv": {"direction": "reverse"}}, {"jv": {"direction": "forward"}}])
    out = tmp_path / "r"
    code, stdout, _ = run_cli(["run", str(sequence), "--station", str(station),
                               "--out", str(out), "--json", "--quiet"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    return sequence, summary, out / summary["run_id"]


def test_resume_after_a_crash_keeps_the_partial_file_and_continues_time(
        tmp_path: Path, station_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The process died during the second measurement: its summary still says 'running'
    with only the first result, and the second file holds some rows measured after the last
    elapsed_s the summary recorded."""
    sequence, summary, folder = resumable_run(tmp_path, station_copy, capsys)
    first, second = (folder / r["file"] for r in summary["results"])
    first_text = first.read_text()
    lines = second.read_text().splitlines(keepends=True)
    header = sum(1 for line in lines[:-1] if line.startswith("#")) + 1  # not the end marker
    second.write_text("".join(lines[:header + 20]))           # 20 rows survived the crash
    crashed_at_s = read_measurement(second).columns["Time (s)"][-1]
    elapsed_s = float(np.nanmax(read_measurement(first).columns["Time (s)"]))
    crashed = dict(summary, status="running", results=summary["results"][:1],
                   elapsed_s=elapsed_s)
    (folder / "summary.json").write_text(json.dumps(crashed))
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station_copy),
                                    "--resume", str(folder), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    resumed = json.loads(stdout)
    assert resumed["status"] == "ok" and [r["step"] for r in resumed["results"]] == [0, 1]
    assert first.read_text() == first_text                    # done: not measured again
    partial = folder / (second.stem + ".partial.csv")
    assert len(read_measurement(partial)) == 20               # the partial data is kept
    new_time_s = read_measurement(second).columns["Time (s)"]
    assert len(new_time_s) == 141 and np.nanmin(new_time_s) > crashed_at_s
    # the catalog of a resumed run is the one of the folder it started in
    code, stdout, _ = run_cli(["catalog", "--out", str(folder.parent), "--json"], capsys)
    assert code == 0 and len(json.loads(stdout)) == 2   # one row per measurement, as the summary


@pytest.mark.parametrize("change", ["sample", "sequence", "corrupt", "not a run"])
def test_resume_refuses_a_folder_of_another_run(
        tmp_path: Path, station_copy: Path, capsys: pytest.CaptureFixture[str],
        change: str) -> None:
    sequence, summary, folder = resumable_run(tmp_path, station_copy, capsys)
    if change == "sample":
        sequence = write_sequence(tmp_path / "other.yaml", [
            {"jv": {"direction": "reverse"}}, {"jv": {"direction": "forward"}}],
            sample={"id": "T-2", "area_cm2": 0.09})
    elif change == "sequence":
        sequence = write_sequence(tmp_path / "other.yaml", [
            {"jv": {"direction": "reverse", "step_v": 0.02}}, {"jv": {"direction": "forward"}}])
    elif change == "corrupt":
        (folder / "summary.json").write_text('{"run_id": "x", "sam')
    else:
        folder = tmp_path
    before = sorted(p.name for p in folder.iterdir())
    sim_bench.forget_benches()
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station_copy),
                                    "--resume", str(folder), "--json", "--quiet"], capsys)
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert {"sample": "T-1", "sequence": "another sequence", "corrupt": "summary.json",
            "not a run": "summary.json"}[change] in stderr
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written
    assert not sim_bench._benches                              # nothing opened


def test_a_station_that_cannot_be_opened_exits_2_and_writes_nothing(
        tmp_path: Path, write_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    station = write_station(base={"station": "x", "instruments": {
        "smu": {"driver": "keithley2400", "resource": "ASRL/dev/ttyLABCTL_NONE::INSTR"}}})
    sequence = write_sequence(tmp_path / "seq.yaml", [{"jv": {"direction": "reverse"}}])
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station),
                                    "--out", str(tmp_path / "r"), "--json"], capsys)
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and "instruments.smu.resource" in stderr
    assert not (tmp_path / "r").exists()


def test_a_failing_figure_or_catalog_does_not_fail_the_run(
        tmp_path: Path, station_copy: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import labctl.plots
    from labctl.storage import Catalog

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(labctl.plots, "plot_jv", broken)
    monkeypatch.setattr(Catalog, "replace_run", broken)
    sequence = write_sequence(tmp_path / "seq.yaml", [{"jv": {"direction": "both"}}])
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station_copy),
                                    "--out", str(tmp_path / "r"), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["status"] == "ok" and len(summary["results"]) == 2
    for result in summary["results"]:
        assert "pce_pct" in result["metrics"] and "hysteresis_index" in result["metrics"]
        assert any("figure failed" in w for w in result["warnings"])
        assert any("catalog row failed" in w for w in result["warnings"])
    on_disk = json.loads((tmp_path / "r" / summary["run_id"] / "summary.json").read_text())
    assert on_disk["results"] == summary["results"]


def test_a_stop_before_a_measurement_starts_measures_nothing(tmp_path: Path,
                                                             station_copy: Path) -> None:
    import threading

    from labctl.runner import Runner

    stop = threading.Event()
    stop.set()
    sequence = write_sequence(tmp_path / "seq.yaml", [{"jv": {"direction": "reverse"}}])
    runner = Runner(sequence, station_copy, simulated=True, out_dir=tmp_path / "r",
                    show_progress=False, stop_event=stop)
    summary = runner.run()
    assert summary["status"] == "aborted" and summary["results"] == []
    assert not list(runner.state.folder.glob("*.csv"))
    assert json.loads((runner.state.folder / "summary.json").read_text())["status"] == "aborted"


@pytest.mark.parametrize("argv", [["run", "seq.yaml"], ["analyze", "iv", "x.csv"], ["nope"]])
def test_a_bad_command_line_is_exit_2_with_one_line(argv: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run_cli(argv, capsys)
    assert code == 2 and stdout == ""
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("labctl")


def test_hysteresis_contract_on_the_example_station(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """docs/contracts.md: with ion_amplitude > 0 a scan comparable to or faster than ion_tau_s shows
    normal hysteresis (reverse above forward), a scan much slower follows the single-diode
    curve. The example station keeps its cell dark behind the shutter while the lamp warms;
    the default light soak of a lit J-V step settles it under light first."""
    data = yaml.safe_load(STATION.read_text())
    data["simulation"]["device"].update(ion_amplitude=0.3, ion_tau_s=5.0)
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = write_sequence(tmp_path / "seq.yaml", [
        {"jv": {"direction": "both", "dwell_s": 0.01}},
        {"jv": {"direction": "both", "dwell_s": 25.0, "step_v": 0.05}}])
    code, stdout, stderr = run_cli(["run", str(sequence), "--station", str(station),
                                    "--out", str(tmp_path / "r"), "--json", "--quiet"], capsys)
    assert code == 0, stderr
    fast, _, slow, _ = json.loads(stdout)["results"]
    assert fast["metrics"]["hysteresis_index"] > 0.1          # ~0.5 x ion_amplitude
    assert abs(slow["metrics"]["hysteresis_index"]) < 0.01
    truth_pce = steady_truth(data["simulation"]["device"])["pce_pct"]
    assert slow["metrics"]["pce_pct"] == pytest.approx(truth_pce, rel=0.01)
