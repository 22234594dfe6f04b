"""`labctl check` and `labctl validate` through the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from labctl.cli import main
from labctl.registry.procedures import ProcedurePlugin, register_procedure, reload_procedures
from labctl.steps import StepBase

ROOT = Path(__file__).resolve().parents[1]


def test_check_prints_every_identity(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(ROOT / "configs" / "stations" / "simulated.yaml"), "--sim"])
    out = capsys.readouterr().out
    assert code == 0
    for name, needle in (("smu", "MODEL 2400"), ("ref_smu", "MODEL 2450"), ("lamp", "69907"),
                         ("shutter", "SC10"), ("wheel_a", "FW102C"), ("photodiode", "0.45 A/W")):
        line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert needle in line


def test_check_of_an_unreachable_instrument_is_exit_2_one_line(
        write_station: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_station(base={"station": "x", "instruments": {
        "smu": {"driver": "keithley2400", "resource": "ASRL/dev/ttyLABCTL_NONE::INSTR"}}})
    code = main(["check", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert f"{path}:" in err and "instruments.smu.resource" in err


def test_check_of_a_bad_station_file_names_file_line_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "station.yaml"
    path.write_text("station: x\ninstruments:\n  smu: {driver: keithley2400}\n")
    code = main(["check", str(path), "--sim"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and f"{path}:3:" in err and "resource" in err


def test_validate_prints_runs_and_estimated_time(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(ROOT / "configs" / "sequences" / "jv-demo.yaml"),
                 "--station", str(ROOT / "configs" / "stations" / "simulated.yaml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "[0] jv:" in out and "141 points" in out and "[1] jv_steady" in out
    assert "estimated run time:" in out


def test_line_frequency_sets_the_integration_time(write_station: Callable[..., Path]) -> None:
    """1 PLC is 20 ms at 50 Hz and 16.7 ms at 60 Hz: a sweep point's time follows."""
    from labctl.opened_station import open_station

    durations_s = {}
    for hz in (50, 60):
        path = write_station(name=f"st{hz}.yaml", simulation={"line_frequency_hz": hz})
        with open_station(path, simulated=True) as station:
            smu = station.instruments["smu"]
            clock = station.bench.clock
            start_s = clock.now_s()
            smu.sweep_voltage_linear(0.0, 1.0, 101, source_delay_s=0.0, compliance_a=0.05)
            durations_s[hz] = clock.now_s() - start_s
    # 4 A/D phases of 1 PLC each per point: 101 * 4 * (1/50 - 1/60) s shorter at 60 Hz
    assert durations_s[50] - durations_s[60] == pytest.approx(101 * 4 * (1 / 50 - 1 / 60),
                                                              rel=0.02)


class _ValidateOnlyStep(StepBase):
    """A kind of measurement that validates but has no procedure (yet)."""

    procedure: ClassVar[str] = "validate_only"
    hold_s: float = Field(1.0, gt=0, description="Hold (s).")


@pytest.fixture
def validate_only_kind() -> Iterator[None]:
    register_procedure(ProcedurePlugin(
        name="validate_only", summary="a step without a procedure", step_model=_ValidateOnlyStep,
        estimate_duration_s=lambda step, timing: step.hold_s,
        describe=lambda step: f"validate_only: {step.hold_s:g} s"))
    yield
    reload_procedures()


def test_steps_this_version_cannot_run_validate_but_run_refuses_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], validate_only_kind: None) -> None:
    sequence = tmp_path / "seq.yaml"
    sequence.write_text("sample: {id: C-1, area_cm2: 0.09}\nsteps:\n"
                        "  - jv: {direction: reverse}\n  - validate_only: {hold_s: 2}\n")
    station = ROOT / "configs" / "stations" / "simulated.yaml"
    assert main(["validate", str(sequence), "--station", str(station)]) == 0
    assert "cannot run validate_only yet" in capsys.readouterr().out
    out = tmp_path / "runs"
    code = main(["run", str(sequence), "--station", str(station), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"{sequence}:4: steps[1].validate_only:" in err
    assert not out.exists() or not any(out.iterdir())     # nothing written, nothing opened
