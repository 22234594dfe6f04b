"""Maximum-power-point trackers: pure state machines that see only SMU readings.

A tracker is driven by a loop (``procedures/mpp.py`` on the bench, ``benchmarks/bench_mpp.py``
on a simulated cell): it asks for a set-point and a wait, is given the reading taken after the
wait, and answers with the next command. It never touches an instrument or a clock, so the same
tracker runs on the bench, in a benchmark and in a test (:mod:`labctl.mpp.tracker`).
"""

from __future__ import annotations

from typing import Any

from labctl.mpp.fixed import FixedVoltageTracker
from labctl.mpp.gradient import GradientTracker
from labctl.mpp.perturb_observe import PerturbObserveTracker
from labctl.mpp.predictive import PredictiveTracker
from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["ALGORITHMS", "Command", "FixedVoltageTracker", "GradientTracker",
           "PerturbObserveTracker", "PredictiveTracker", "Reading", "Tracker", "TrackerState",
           "make_tracker"]

#: The ``algorithm`` keys of the ``mpp`` step and their trackers.
ALGORITHMS: dict[str, type[Tracker]] = {
    "fixed_voltage": FixedVoltageTracker,
    "perturb_observe": PerturbObserveTracker,
    "gradient": GradientTracker,
    "default": PredictiveTracker,
}


def make_tracker(algorithm: str, **params: Any) -> Tracker:
    """A new tracker for ``algorithm`` with its parameters (ValueError: unknown name or
    parameter, or a value out of range)."""
    try:
        cls = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"unknown MPP algorithm {algorithm!r}; one of "
                         f"{', '.join(sorted(ALGORITHMS))}") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"algorithm {algorithm!r}: {exc}") from None
