"""A lab's own procedure package, installed with a ``labctl.procedures`` entry point, runs
through ``labctl validate``, ``labctl run`` and ``labctl analyze`` like a built-in one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labctl.cli import main
from labctl.registry.procedures import procedure_plugins, reload_procedures

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(__file__).with_name("plugin_package") / "labctl_hold_plugin"


def install(site: Path) -> None:
    """Install the package into ``site`` as pip would: the package and its ``.dist-info``
    with the entry point (importlib.metadata finds it on sys.path)."""
    shutil.copytree(PACKAGE, site / PACKAGE.name)
    info = site / "labctl_hold_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labctl-hold-plugin\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[labctl.procedures]\nbias_hold = labctl_hold_plugin:PLUGIN\n")
    (info / "RECORD").write_text("")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    install(site)
    monkeypatch.syspath_prepend(str(site))
    reload_procedures()
    yield site
    monkeypatch.undo()
    sys.modules.pop("labctl_hold_plugin", None)
    reload_procedures()


@pytest.fixture
def files(tmp_path: Path, example_station: Callable[..., Path]) -> tuple[Path, Path]:
    station = example_station()   # no ions: the held current is the scan's
    sequence = tmp_path / "seq.yaml"
    sequence.write_text("sample: {id: P-1, area_cm2: 0.09}\nsteps:\n"
                        "  - jv: {direction: reverse}\n"
                        "  - bias_hold: {bias_v: {from_step: 0, metric: vmpp_v},"
                        " duration_s: 20, interval_s: 1}\n")
    return sequence, station


def test_the_entry_point_registers_the_plugin(site: Path) -> None:
    assert "bias_hold" in procedure_plugins()
    assert procedure_plugins()["bias_hold"].runnable


def test_validate_run_and_analyze(site: Path, files: tuple[Path, Path], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    sequence, station = files
    assert main(["validate", str(sequence), "--station", str(station)]) == 0
    assert "[1] bias_hold: " in capsys.readouterr().out
    code = main(["run", str(sequence), "--station", str(station), "--out",
                 str(tmp_path / "r"), "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0, summary.get("error")
    jv, hold = summary["results"]
    assert hold["procedure"] == "bias_hold" and 18 <= hold["metrics"]["points"] <= 20
    # held at the J-V's Vmpp, the current density is the J-V's Jmpp
    assert hold["metrics"]["mean_j_ma_cm2"] == pytest.approx(jv["metrics"]["jmpp_ma_cm2"],
                                                             rel=0.01)
    data_file = tmp_path / "r" / summary["run_id"] / hold["file"]
    assert main(["analyze", "hold", str(data_file), "--json"]) == 0
    (analysed,) = json.loads(capsys.readouterr().out)
    assert analysed["metrics"] == hold["metrics"]
    assert main(["catalog", "--out", str(tmp_path / "r"), "--procedure", "bias_hold"]) == 0
    assert "1 measurements" in capsys.readouterr().out


def test_a_new_process_finds_it(tmp_path: Path, files: tuple[Path, Path]) -> None:
    site = tmp_path / "fresh-site"
    site.mkdir()
    install(site)
    sequence, station = files
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    result = subprocess.run([sys.executable, "-m", "labctl.cli", "validate", str(sequence)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "bias_hold: " in result.stdout
