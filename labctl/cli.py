"""The ``labctl`` command line (docs/contracts.md, "Command line").

Exit status: 0 success, 2 bad input (a one-line reason on stderr), 1 a run that failed
(instruments left safe, data kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from labctl import __version__
from labctl.registry.procedures import format_metric, headline
from labctl.yamlio import InputError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class UsageError(InputError):
    """A command-line argument that cannot be used."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _print_json(value: object) -> None:
    """Strict JSON on stdout: NaN and infinities as null (``storage.to_json_compatible``)."""
    from labctl.storage import to_json_compatible

    print(json.dumps(to_json_compatible(value), allow_nan=False))


# --- labctl check ---------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    """Open every instrument of a station and print its identity."""
    from labctl.opened_station import open_station
    from labctl.station import load_station

    config = load_station(args.station)
    simulated = True if args.sim else config.simulated
    with open_station(config, simulated=simulated) as station:
        identities = station.identities()
    where = "simulated bench" if simulated else "VISA"
    print(f"station {config.station} ({config.source}) on the {where}:")
    width = max(len(name) for name in identities)
    for name, identity in identities.items():
        driver = config.instruments[name].driver
        print(f"  {name:<{width}}  {driver:<16}  {identity}")
    return EXIT_OK


# --- labctl validate ------------------------------------------------------------------------

def cmd_validate(args: argparse.Namespace) -> int:
    """Check a sequence (and a station); print the expanded runs and the estimated time."""
    from labctl.registry.procedures import procedure_plugin, procedure_plugins
    from labctl.sequence import (
        check_against_station,
        estimate_duration_s,
        format_duration,
        load_sequence,
    )
    from labctl.station import load_station

    sequence = load_sequence(args.sequence)
    station = None
    if args.station:
        station = load_station(args.station)
        check_against_station(sequence, station, simulated=True if args.sim else None)
    total_s = 0.0
    print(f"sequence {sequence.source}: sample {sequence.sample.id}, "
          f"{len(sequence.steps)} steps")
    for index, step in enumerate(sequence.steps):
        plugin = procedure_plugin(step.procedure)
        duration_s = estimate_duration_s(step, station)
        total_s += duration_s
        print(f"  [{index}] {plugin.describe(step)}  (~{format_duration(duration_s)})")
    print(f"estimated run time: {format_duration(total_s)}")
    later = sorted({s.procedure for s in sequence.steps
                    if not procedure_plugin(s.procedure).runnable})
    if later:
        runnable = sorted(n for n, p in procedure_plugins().items() if p.runnable)
        print(f"  note: valid, but labctl {__version__} cannot run {', '.join(later)} yet "
              f"(`labctl run` refuses the sequence; runnable: {', '.join(runnable)})")
    if station is not None:
        light = station.light_source()
        if light and station.instruments[light].driver.startswith("newport"):
            print(f"  plus the warm-up of the arc lamp {light!r} if it is off when the run "
                  "starts (30 min)")
        print(f"station {args.station}: every role the steps need is present")
        from labctl.calibration import calibration_age_warning

        stale = calibration_age_warning(station)
        if stale:
            print(f"  warning: {stale}")
    return EXIT_OK


# --- labctl run -----------------------------------------------------------------------------

def cmd_run(args: argparse.Namespace) -> int:
    """Run a sequence; print where the results went (or the summary, with --json)."""
    from labctl.runner import Runner

    runner = Runner(args.sequence, args.station, simulated=args.sim, out_dir=args.out,
                    resume_dir=args.resume, show_progress=not args.quiet,
                    log_traffic=args.log_traffic)
    summary = runner.run()
    if args.json:
        _print_json(summary)
    else:
        folder = runner.state.folder if runner.state else args.out
        for result in summary["results"]:
            metrics = result.get("metrics", {})
            direction = "".join(f" {part}" for part in _result_labels(result))
            shown = headline(result["procedure"], metrics)
            if result.get("no_valid_metrics"):
                shown = "no valid metric (all NaN)"
            if result.get("status", "ok") != "ok":
                shown = f"{result['status']}" + (f": {shown}" if shown and not
                                                 result.get("no_valid_metrics") else "")
            print(f"  [{result['step']}] {result['procedure']}{direction}: {shown}")
        print(f"results: {folder}")
    if summary["status"] != "ok":
        _stderr(f"labctl run: {summary['status']}: {summary.get('error', '')}")
    return EXIT_OK if summary["status"] == "ok" else EXIT_FAILED


def _result_labels(result: dict[str, object]) -> list[str]:
    """What tells a step's results apart on their one line: channel, mode (pulsed or dc),
    direction and repeat, where the record has them."""
    labels = [str(result[key]) for key in ("channel", "mode", "direction") if result.get(key)]
    repeat = result.get("repeat")
    if isinstance(repeat, int) and repeat > 0:
        labels.append(f"repeat {repeat}")
    return labels


# --- labctl status --------------------------------------------------------------------------

def cmd_status(args: argparse.Namespace) -> int:
    """Print what a run folder says from disk alone: ok, failed, aborted, interrupted or
    running (a live process holds its lock); with --json, the status, pid and counts."""
    from labctl.storage import locked_by, run_status

    folder = Path(args.run_dir)
    try:
        status = run_status(folder)
    except ValueError as exc:
        raise UsageError(str(exc), file=str(folder)) from None
    if not args.json:
        print(status)
        return EXIT_OK
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    results = summary.get("results") or []
    _print_json({"run_dir": str(folder), "status": status, "pid": locked_by(folder),
                 "summary_status": summary.get("status"), "results": len(results),
                 "error": summary.get("error")})
    return EXIT_OK


def _add_status_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = sub.add_parser("status", help="say whether a run folder is ok, failed, aborted, "
                            "interrupted or running")
    status.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    status.add_argument("--json", action="store_true",
                        help="the status, the pid writing the folder and the summary's counts")
    status.set_defaults(handler=cmd_status)


# --- labctl analyze -------------------------------------------------------------------------

def cmd_analyze(args: argparse.Namespace) -> int:
    """Analyse measurement files written by labctl or plain CSV with labctl's column names,
    with the analysis of the plug-in that provides KIND (the runner's own analysis)."""
    from labctl.registry.procedures import AnalysisContext, plugin_for_analysis
    from labctl.storage import read_measurement

    plugin = plugin_for_analysis(args.kind)
    if plugin is None or plugin.analyze is None:
        from labctl.registry.procedures import analysis_kinds

        available = [k for k in analysis_kinds() if plugin_for_analysis(k) is not None]
        raise UsageError(f"analyze {args.kind} is not available in labctl {__version__} yet "
                         f"(available: {', '.join(available)})")
    options = {option.name: getattr(args, option.name, None)
               for option in plugin.analysis_options}
    context = AnalysisContext(irradiance_override_mw_cm2=args.irradiance_mw_cm2,
                              area_override_cm2=args.area_cm2, options=options)
    out = []
    for path in args.files:
        try:
            measurement = read_measurement(path)
            metrics, warnings = plugin.analyze(measurement, context)
        except (OSError, ValueError) as exc:  # a file that is not such a measurement
            raise UsageError(str(exc) or repr(exc), file=str(path)) from None
        out.append({"file": str(path), "metrics": dict(metrics),
                    "warnings": [*measurement.warnings, *warnings]})
    if args.json:
        _print_json(out)
    else:
        for item in out:
            print(item["file"])
            for key, value in item["metrics"].items():
                print(f"  {key:<22} {format_metric(value)}")
            for warning in item["warnings"]:
                print(f"  warning: {warning}")
    return EXIT_OK


# --- labctl catalog -------------------------------------------------------------------------

def cmd_catalog(args: argparse.Namespace) -> int:
    """List the measurements in the catalog of the --out folder."""
    from labctl.storage import Catalog

    path = Path(args.out) / "catalog.sqlite"
    if not path.is_file():
        raise UsageError(f"no catalog at {path} (run a sequence first, or give --out)")
    rows = Catalog(path).query(sample=args.sample, procedure=args.procedure)
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        metrics = row.get("metrics") or {}
        shown = headline(row["procedure"], metrics)
        direction = f" {row['direction']}" if row.get("direction") else ""
        print(f"{row['started']}  {row['sample_id']}  {row['procedure']}{direction}  "
              f"{row['status']}  {shown}  {row['file']}")
    print(f"{len(rows)} measurements")
    return EXIT_OK


# --- labctl off ---------------------------------------------------------------------------

def cmd_off(args: argparse.Namespace) -> int:
    """Make a bench safe: every SMU output off, the shutter closed, with --lamp the lamp off;
    one line per instrument. Exit 1 when any instrument could not be reached or made safe."""
    from labctl.safety import switch_off
    from labctl.station import load_station

    config = load_station(args.station)
    simulated = True if args.sim else config.simulated
    outcomes = switch_off(config, simulated=simulated, lamp=args.lamp)
    where = "simulated bench" if simulated else "VISA"
    print(f"station {config.station} ({config.source}) on the {where}:")
    width = max(len(outcome.name) for outcome in outcomes)
    for outcome in outcomes:
        print(f"  {outcome.name:<{width}}  {outcome.text}")
    unsafe = [outcome.name for outcome in outcomes if not outcome.ok]
    if unsafe:
        _stderr(f"labctl off: not made safe: {', '.join(unsafe)} (the others are safe)")
        return EXIT_FAILED
    return EXIT_OK


def _add_off_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    off = sub.add_parser("off", help="make a bench safe: SMU outputs off, shutter closed")
    off.add_argument("station", type=Path, metavar="STATION.yaml")
    off.add_argument("--sim", action="store_true", help="use the simulated bench")
    off.add_argument("--lamp", action="store_true",
                     help="also switch the arc lamp off (an LED always goes off)")
    off.set_defaults(handler=cmd_off)


# --- labctl gui -----------------------------------------------------------------------------

def cmd_gui(args: argparse.Namespace) -> int:
    """Open the lab-PC runner (Qt is imported here only: ``labctl run`` does not need it)."""
    try:
        from labctl.gui.app import run_gui
    except ImportError as exc:
        raise UsageError(f"the GUI needs Qt: pip install 'labctl[gui]' ({exc})") from None
    return run_gui(args.station, simulated=args.sim, screenshot=args.screenshot,
                   out_dir=args.out)


def _add_gui_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    gui = sub.add_parser("gui", help="the experiment runner window for the lab PC")
    gui.add_argument("--station", type=Path, metavar="STATION.yaml",
                     help="the station (default: the example bench, simulated)")
    gui.add_argument("--sim", action="store_true", help="use the simulated bench")
    gui.add_argument("--screenshot", type=Path, metavar="FILE",
                     help="save the window as a PNG once the queued work is done, and exit")
    gui.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                     help="results folder (default: results/)")
    gui.set_defaults(handler=cmd_gui)


# --- the parser -----------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error on stderr (exit 2), as every other bad input."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {' '.join(message.split())} (see --help)\n")


def _add_analysis_options(analyze: argparse.ArgumentParser) -> None:
    """The ``analysis_options`` the plug-ins declare, each once (``--thickness-nm``)."""
    from labctl.registry.procedures import procedure_plugins

    known = {action.dest for action in analyze._actions}
    for plugin in procedure_plugins().values():
        for option in plugin.analysis_options:
            if option.name in known:
                continue
            known.add(option.name)
            analyze.add_argument(f"--{option.name.replace('_', '-')}", dest=option.name,
                                 type=option.type, help=option.help or None)


def build_parser() -> argparse.ArgumentParser:
    from labctl.registry.procedures import analysis_kinds

    parser = _Parser(
        prog="labctl", description="Solar-cell characterization bench: J-V, MPP, "
        "intensity-dependent Voc and SCLC, on real or simulated instruments.")
    parser.add_argument("--version", action="version", version=f"labctl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="open every instrument of a station, print identities")
    check.add_argument("station", type=Path, metavar="STATION.yaml")
    check.add_argument("--sim", action="store_true", help="use the simulated bench")
    check.set_defaults(handler=cmd_check)

    validate = sub.add_parser("validate", help="check a sequence (and station) file")
    validate.add_argument("sequence", type=Path, metavar="SEQUENCE.yaml")
    validate.add_argument("--station", type=Path, metavar="STATION.yaml")
    validate.add_argument("--sim", action="store_true",
                          help="check the station as it runs simulated")
    validate.set_defaults(handler=cmd_validate)

    run = sub.add_parser("run", help="run a sequence on a station")
    run.add_argument("sequence", type=Path, metavar="SEQUENCE.yaml")
    run.add_argument("--station", type=Path, required=True, metavar="STATION.yaml")
    run.add_argument("--sim", action="store_true", help="run on the simulated bench")
    run.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                     help="results folder (default: results/)")
    run.add_argument("--json", action="store_true", help="print the summary JSON only")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="continue an interrupted run in its folder (same sample and "
                     "sequence; the catalog stays the one beside RUN_DIR)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--log-traffic", action="store_true",
                     help="write every exchange with every instrument to traffic.log in the "
                     "run folder")
    run.set_defaults(handler=cmd_run)
    _add_status_parser(sub)

    analyze = sub.add_parser("analyze", help="analyse measurement files")
    analyze.add_argument("kind", choices=analysis_kinds())
    analyze.add_argument("files", type=Path, nargs="+", metavar="FILE")
    analyze.add_argument("--json", action="store_true")
    analyze.add_argument("--area-cm2", type=float)
    analyze.add_argument("--irradiance-mw-cm2", type=float)
    analyze.add_argument("--thickness-nm", type=float)
    analyze.add_argument("--eps-r", type=float)
    analyze.add_argument("--temperature-k", type=float)
    _add_analysis_options(analyze)
    analyze.set_defaults(handler=cmd_analyze)

    catalog = sub.add_parser("catalog", help="list measurements from the catalog")
    catalog.add_argument("--sample")
    catalog.add_argument("--procedure")
    catalog.add_argument("--json", action="store_true")
    catalog.add_argument("--out", type=Path, default=Path("results"), metavar="DIR")
    catalog.set_defaults(handler=cmd_catalog)
    _add_off_parser(sub)
    _add_gui_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return EXIT_BAD_INPUT if exc.code not in (0, None) else EXIT_OK
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except InputError as exc:
        _stderr(f"labctl {args.command}: {exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # before or after a run (a run handles Ctrl-C itself)
        _stderr(f"labctl {args.command}: interrupted")
        return EXIT_FAILED
    except Exception as exc:  # never a traceback: one line, and a run has made itself safe
        from labctl.errors import error_line as one_line_error

        _stderr(f"labctl {args.command}: {one_line_error(exc)}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
