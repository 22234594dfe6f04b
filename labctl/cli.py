"""The ``labctl`` command line (DESIGN.md, "Command line").

Exit status: 0 success, 2 bad input (a one-line reason on stderr), 1 a run that failed
(instruments left safe, data kept).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from labctl import __version__
from labctl.yamlio import InputError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class UsageError(InputError):
    """A command-line argument that cannot be used."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


# --- labctl check ---------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    """Open every instrument of a station and print its identity."""
    from labctl.station import load_station, open_station

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
    from labctl.sequence import (
        check_against_station,
        describe,
        estimate_duration_s,
        format_duration,
        load_sequence,
    )
    from labctl.station import load_station

    sequence = load_sequence(args.sequence)
    line_frequency_hz = 50.0
    if args.station:
        station = load_station(args.station)
        check_against_station(sequence, station, simulated=True if args.sim else None)
        line_frequency_hz = float(station.simulation.line_frequency_hz)
    total_s = 0.0
    print(f"sequence {sequence.source}: sample {sequence.sample.id}, "
          f"{len(sequence.steps)} steps")
    for index, step in enumerate(sequence.steps):
        duration_s = estimate_duration_s(step, line_frequency_hz)
        total_s += duration_s
        print(f"  [{index}] {describe(step)}  (~{format_duration(duration_s)})")
    print(f"estimated run time: {format_duration(total_s)}")
    if args.station:
        print(f"station {args.station}: every role the steps need is present")
    return EXIT_OK


# --- the parser -----------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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


if __name__ == "__main__":
    sys.exit(main())
