"""The traffic log: recorded at the adapters, read back, replayed on the simulated bench."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from pyvisa.errors import VisaIOError

from labctl.opened_station import open_station
from labctl.sim.bench import DEFAULT_STATION, forget_benches
from labctl.traffic import (
    Exchange,
    TrafficLog,
    format_exchange,
    install_traffic_log,
    parse_line,
    parse_log,
    read_log,
    replay,
    replies_match,
)


def _session(path: Path, station: Path = DEFAULT_STATION) -> None:
    """A short session on the default simulated bench: SMU reading, shutter, wheel, one
    query the SMU does not know (a timeout), logged to ``path``."""
    with open_station(station) as opened:
        install_traffic_log(opened, path)
        roles = opened.roles()
        roles.smu.configure_voltage_source(compliance_a=0.01)
        roles.smu.set_voltage(0.3)
        roles.smu.enable_output()
        roles.smu.read()
        assert roles.shutter.identity.startswith("THORLABS SC10")
        opened.instruments["wheel_a"].position = 2
        roles.smu.adapter.write(":SYST:NOSUCH?")
        with pytest.raises(VisaIOError):
            roles.smu.adapter.read()


def test_session_is_logged_one_line_per_exchange(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    _session(path)
    text = path.read_text()
    assert text.startswith("# labctl traffic log, format 1\n")
    record = read_log(path)
    assert record.started["station"] == "labsim-default"
    assert record.started["simulated"] == "true"
    assert record.instruments["smu"]["resource"] == "GPIB0::24::INSTR"
    assert record.instruments["smu"]["driver"] == "keithley2400"
    assert record.instruments["shutter"]["read_termination"] == "\r"

    exchanges = record.exchanges
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert len(exchanges) == len(lines)
    read = next(e for e in exchanges if e.sent == ":READ?")
    assert read.name == "smu" and read.resource == "GPIB0::24::INSTR"
    assert read.received.startswith("+3.000000E-01,")
    assert read.reply_s > 0.0
    command = next(e for e in exchanges if e.sent == ":SOUR:VOLT 0.3")
    assert command.received is None and not command.read
    wheel = next(e for e in exchanges if e.sent == "pos=2")
    assert isinstance(wheel.received, bytes) and wheel.received.endswith(b">")
    unknown = next(e for e in exchanges if e.sent == ":SYST:NOSUCH?")
    assert unknown.received is None
    assert unknown.read_error.startswith("VI_ERROR_TMO:")
    assert unknown.reply_s == pytest.approx(2.0, abs=0.01)  # the VISA timeout, virtual time
    times = [e.t_s for e in exchanges]
    assert times == sorted(times)
    for exchange in exchanges:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", exchange.utc)
        assert datetime.fromisoformat(exchange.utc.replace("Z", "+00:00")).tzinfo is not None
    # The make-safe of closing the station is in the log too, the log closed after it.
    assert exchanges[-1].sent in (":SOUR:VOLT 0", ":OUTP OFF")


def test_logging_does_not_change_what_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    with open_station(DEFAULT_STATION) as opened:
        emulator = opened.bench.instruments["smu"]
        emulator.traffic.clear()
        log = install_traffic_log(opened, path)
        smu = opened.roles().smu
        smu.configure_voltage_source(compliance_a=0.01)
        smu.set_voltage(0.2)
        log.close()
        received = list(emulator.traffic)
        assert "_write" not in vars(smu.adapter)  # detached: the adapter is as it was
    sent = [e.sent for e in parse_log(path) if e.name == "smu"]
    assert sent == received


def test_replay_of_a_session_has_no_difference(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    _session(path)
    forget_benches()
    assert replay(path, DEFAULT_STATION) == []


def test_replay_reports_a_changed_reply(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    _session(path)
    lines = path.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if 'sent=":READ?"' in line)
    lines[number - 1] = lines[number - 1].replace('received="+3.000000E-01,',
                                                  'received="+3.100000E-01,')
    path.write_text("".join(lines))
    forget_benches()
    differences = replay(path, DEFAULT_STATION)
    assert len(differences) == 1
    difference = differences[0]
    assert difference.line == number and difference.sent == ":READ?"
    assert "+3.100000E-01" in difference.logged and "+3.000000E-01" in difference.replayed
    assert f"line {number}" in str(difference)


def test_replay_reports_a_reply_that_became_a_timeout(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    _session(path)
    forget_benches()
    with open_station(DEFAULT_STATION) as opened:
        opened.bench.instruments["smu"].fault = "no_reply"
        differences = replay(path, opened)
    answered = [e for e in parse_log(path) if e.name == "smu" and e.received is not None]
    assert [d.line for d in differences] == [e.line for e in answered]
    assert all(d.resource == "GPIB0::24::INSTR" for d in differences)
    assert all("VI_ERROR_TMO" in d.replayed and not d.logged.startswith("error")
               for d in differences)


def test_replay_with_a_tolerance_on_numbers(tmp_path: Path) -> None:
    path = tmp_path / "traffic.log"
    _session(path)
    text = path.read_text().replace('received="+3.000000E-01,', 'received="+3.000001E-01,')
    path.write_text(text)
    forget_benches()
    assert len(replay(path, DEFAULT_STATION)) == 1
    forget_benches()
    assert replay(path, DEFAULT_STATION, rel_tol=1e-5) == []


def test_line_format_round_trips_awkward_messages() -> None:
    exchanges = [
        Exchange(utc="2026-01-02T03:04:05.000006Z", t_s=1.5, resource="ASRL1::INSTR",
                 name="lamp", sent='say "hi"=1\tnow', received="a,b;c\nd"),
        Exchange(utc="2026-01-02T03:04:05.000007Z", t_s=2.0, resource="ASRL3::INSTR",
                 sent="pos?", received=b"pos?\r\xff\x00>", reply_s=0.25),
        Exchange(utc="2026-01-02T03:04:05.000008Z", t_s=3.0, resource="GPIB0::1::INSTR",
                 sent=b"\x01\x02", write_error="VI_ERROR_IO: I/O error"),
        Exchange(utc="2026-01-02T03:04:05.000009Z", t_s=4.0, resource="GPIB0::1::INSTR",
                 received="", read_error=None),
    ]
    for exchange in exchanges:
        line = format_exchange(exchange)
        assert "\n" not in line
        assert parse_line(line) == exchange
    assert parse_line("# a comment") is None and parse_line("   ") is None
    with pytest.raises(ValueError, match="not a traffic log exchange"):
        parse_line("2026-01-02T03:04:05Z t_s=1 bogus=2")


def test_replies_match_compares_numbers_with_a_tolerance() -> None:
    assert replies_match("+1.0E-03,+2.0", "+1.0E-03,+2.0")
    assert not replies_match("+1.0E-03,+2.0", "+1.00001E-03,+2.0")
    assert replies_match("+1.0E-03,+2.0", "+1.00001E-03,+2.0", rel_tol=1e-4)
    assert not replies_match("+1.0E-03,+2.0", "+1.1E-03,+2.0", rel_tol=1e-4)
    assert not replies_match("OFF", "ON", rel_tol=1.0)
    assert not replies_match("1,2", "1,2,3", abs_tol=10.0)


def test_an_adapter_is_logged_once(tmp_path: Path) -> None:
    with open_station(DEFAULT_STATION) as opened:
        first = TrafficLog(tmp_path / "a.log")
        names = first.install(opened)
        assert "smu" in names and "photodiode" not in names  # read by an SMU: no adapter
        assert first.install(opened) == names  # again: no second patch
        second = TrafficLog(tmp_path / "b.log")
        with pytest.raises(ValueError, match="already logged"):
            second.attach_instrument("smu", opened.instruments["smu"])
        second.close()
        opened.instruments["smu"].adapter.write("*CLS")
        first.close()
    assert [e.sent for e in parse_log(tmp_path / "a.log")] == ["*CLS"]
    assert parse_log(tmp_path / "b.log") == []


def test_labctl_run_log_traffic_writes_a_log_that_replays(
        tmp_path: Path, example_station: Callable[..., Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    """``labctl run --log-traffic``: every exchange of the run in traffic.log, which the
    simulated bench answers the same way again."""
    import json

    from labctl.cli import main
    from labctl.traffic import TRAFFIC_LOG_NAME, read_log, replay

    station = example_station()
    sequence = tmp_path / "seq.yaml"
    sequence.write_text("sample: {id: L-1, area_cm2: 0.09}\nsteps:\n"
                        "  - jv: {direction: reverse, step_v: 0.05}\n")
    code = main(["run", str(sequence), "--station", str(station), "--out",
                 str(tmp_path / "r"), "--json", "--quiet", "--log-traffic"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    log_path = tmp_path / "r" / summary["run_id"] / TRAFFIC_LOG_NAME
    records = read_log(log_path).exchanges
    sent = [r.sent for r in records if r.sent]
    assert any(str(s).startswith(":SOUR:VOLT:STAR") for s in sent)   # the sweep
    assert ":OUTP OFF" in sent                                       # the safe shutdown
    assert {r.name for r in records} >= {"smu", "shutter"}
    forget_benches()   # a bench as new, as in another process
    assert replay(log_path, station) == []


def test_the_station_option_logs_traffic_too(tmp_path: Path,
                                             example_station: Callable[..., Path]) -> None:
    import yaml

    from labctl.runner import Runner
    from labctl.traffic import TRAFFIC_LOG_NAME, read_log

    station = example_station()
    data = yaml.safe_load(station.read_text())
    data["log_traffic"] = True
    station.write_text(yaml.safe_dump(data, sort_keys=False))
    sequence = tmp_path / "seq.yaml"
    sequence.write_text("sample: {id: L-2, area_cm2: 0.09}\nsteps:\n"
                        "  - jv: {direction: reverse, step_v: 0.1}\n")
    runner = Runner(sequence, station, out_dir=tmp_path / "r", show_progress=False)
    assert runner.run()["status"] == "ok"
    exchanges = read_log(runner.state.folder / TRAFFIC_LOG_NAME).exchanges
    assert any(r.sent == ":OUTP OFF" for r in exchanges)
