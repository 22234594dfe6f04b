"""Stand-ins for the trackers and MPP metrics of :mod:`labctl.mpp.algorithms` and
:mod:`labctl.analysis.mpp`, so ``procedures/mpp.py`` runs before those modules exist.

``procedures/mpp.py`` imports :func:`make_tracker` and :func:`mpp_metrics` from the real
modules when they are there and from here otherwise; this module goes when they land.
The trackers follow the interface of :mod:`labctl.mpp.tracker`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["FixedVoltageTracker", "PerturbObserveTracker", "make_tracker", "mpp_metrics",
           "stability_metrics"]


class FixedVoltageTracker(Tracker):
    """Holds ``start_v``: the stabilized power output at a fixed voltage."""

    name = "fixed_voltage"

    def __init__(self, dwell_s: float = 1.0) -> None:
        self.dwell_s = float(dwell_s)
        self.setpoint_v = math.nan
        self._current_a: float | None = None

    def start(self, start_v: float) -> Command:
        self.setpoint_v = float(start_v)
        return Command(self.setpoint_v, self.dwell_s)

    def update(self, reading: Reading) -> Command:
        self._current_a = reading.current_a
        return Command(self.setpoint_v, self.dwell_s)

    def state(self) -> TrackerState:
        return TrackerState(self.setpoint_v, None, self.dwell_s, self._current_a)

    def parameters(self) -> dict[str, Any]:
        return {"dwell_s": self.dwell_s}


class PerturbObserveTracker(Tracker):
    """Perturb and observe: move ``step_v``, wait ``settle_s``, keep the direction while the
    power rises. With ``adaptive`` the step halves at each reversal (down to ``min_step_v``)
    and, once the step is at its floor, the dwell doubles up to ``max_dwell_s``, so a
    settled cell is perturbed rarely; a power change beyond ``retrack_fraction`` restores
    the first step and dwell."""

    name = "perturb_observe"

    def __init__(self, step_v: float = 0.01, settle_s: float = 0.5, adaptive: bool = False,
                 min_step_v: float = 0.001, max_dwell_s: float = 60.0,
                 retrack_fraction: float = 0.02) -> None:
        self.first_step_v, self.first_dwell_s = float(step_v), float(settle_s)
        self.adaptive = adaptive
        self.min_step_v, self.max_dwell_s = float(min_step_v), float(max_dwell_s)
        self.retrack_fraction = float(retrack_fraction)
        self.step_v, self.dwell_s = self.first_step_v, self.first_dwell_s
        self.setpoint_v = math.nan
        self.direction = 1.0
        self._last_power_w: float | None = None
        self._current_a: float | None = None
        self._moves = 0

    @property
    def moves(self) -> int:
        return self._moves

    def start(self, start_v: float) -> Command:
        self.setpoint_v = float(start_v)
        self._last_power_w = None
        return Command(self.setpoint_v, max(self.dwell_s, 1e-3))

    def update(self, reading: Reading) -> Command:
        power_w = reading.power_w
        self._current_a = reading.current_a
        last = self._last_power_w
        if last is not None:
            if power_w < last:
                self.direction = -self.direction
                if self.adaptive:
                    self._narrow()
            if self.adaptive and abs(power_w - last) > self.retrack_fraction * max(abs(last),
                                                                                  1e-30):
                self.step_v, self.dwell_s = self.first_step_v, self.first_dwell_s
        self._last_power_w = power_w
        self.setpoint_v += self.direction * self.step_v
        self._moves += 1
        return Command(self.setpoint_v, max(self.dwell_s, 1e-3))

    def _narrow(self) -> None:
        if self.step_v > self.min_step_v:
            self.step_v = max(self.min_step_v, 0.5 * self.step_v)
        else:
            self.dwell_s = min(self.max_dwell_s, 2.0 * max(self.dwell_s, 1e-3))

    def state(self) -> TrackerState:
        return TrackerState(self.setpoint_v, self.step_v, self.dwell_s, self._current_a)

    def parameters(self) -> dict[str, Any]:
        base = {"step_v": self.first_step_v, "settle_s": self.first_dwell_s}
        if self.adaptive:
            base.update(min_step_v=self.min_step_v, max_dwell_s=self.max_dwell_s,
                        retrack_fraction=self.retrack_fraction)
        return base

    def snapshot(self) -> dict[str, Any]:
        return {"step_v": self.step_v, "dwell_s": self.dwell_s, "direction": self.direction}

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.step_v = float(snapshot.get("step_v", self.step_v))
        self.dwell_s = float(snapshot.get("dwell_s", self.dwell_s))
        self.direction = float(snapshot.get("direction", self.direction))


def make_tracker(algorithm: str, **params: Any) -> Tracker:
    """A tracker for the ``algorithm`` of an ``mpp`` step (stand-in: ``gradient`` and
    ``default`` are an adaptive perturb-and-observe until labctl.mpp.algorithms lands)."""
    step_v = float(params.get("step_v", 0.01))
    settle_s = float(params.get("settle_s", 0.5))
    if algorithm == "fixed_voltage":
        return FixedVoltageTracker(float(params.get("dwell_s", 1.0)))
    if algorithm == "perturb_observe":
        return PerturbObserveTracker(step_v, settle_s)
    if algorithm in ("default", "gradient"):
        tracker = PerturbObserveTracker(step_v, settle_s, adaptive=True,
                                        max_dwell_s=float(params.get("max_dwell_s", 60.0)))
        tracker.name = algorithm
        return tracker
    raise ValueError(f"unknown MPP algorithm {algorithm!r}")


def _final_window(time_s: np.ndarray, fraction: float = 0.2) -> np.ndarray:
    """Mask of the last ``fraction`` of the run's time."""
    if time_s.size == 0:
        return np.zeros(0, dtype=bool)
    start_s = time_s[-1] - fraction * (time_s[-1] - time_s[0])
    return time_s >= start_s


def mpp_metrics(time_s: np.ndarray, voltage_v: np.ndarray, j_ma_cm2: np.ndarray,
                irradiance_mw_cm2: np.ndarray, true_pmax_mw_cm2: np.ndarray | None = None
                ) -> dict[str, float]:
    """Stand-in of the MPP metrics: the stabilized PCE (mean over the last 20 % of the run),
    Vmpp and Jmpp there, the settling time into ±1 % of it, and in simulation the tracking
    efficiency (measured energy over the true steady-state energy)."""
    t = np.asarray(time_s, float)
    v, j = np.asarray(voltage_v, float), np.asarray(j_ma_cm2, float)
    e = np.asarray(irradiance_mw_cm2, float)
    nan = math.nan
    if t.size < 2:
        return {"pce_stabilized_pct": nan, "vmpp_v": nan, "jmpp_ma_cm2": nan,
                "settling_time_s": nan, "tracking_efficiency": nan}
    power = v * j
    final = _final_window(t)
    p_final = float(np.mean(power[final]))
    e_final = float(np.mean(e[final]))
    outside = np.abs(power - p_final) > 0.01 * abs(p_final)
    last_out = np.flatnonzero(outside)
    settling_s = float(t[last_out[-1] + 1] - t[0]) if last_out.size and \
        last_out[-1] + 1 < t.size else (0.0 if not last_out.size else nan)
    efficiency = nan
    if true_pmax_mw_cm2 is not None:
        truth = np.asarray(true_pmax_mw_cm2, float)
        ok = np.isfinite(truth)
        if np.count_nonzero(ok) > 1:
            measured = np.trapezoid(power[ok], t[ok])
            ideal = np.trapezoid(truth[ok], t[ok])
            efficiency = float(measured / ideal) if ideal > 0 else nan
    return {"pce_stabilized_pct": p_final / e_final * 100.0 if e_final > 0 else nan,
            "vmpp_v": float(np.mean(v[final])), "jmpp_ma_cm2": float(np.mean(j[final])),
            "settling_time_s": settling_s, "tracking_efficiency": efficiency}


def stability_metrics(time_s: np.ndarray, power: np.ndarray) -> dict[str, float]:
    """Stand-in of T95, T80 and Ts80 [h]: the first time the power falls below 95 % / 80 % of
    its initial value (Ts80: of its maximum, the burn-in's end); NaN when it never does."""
    t_h = np.asarray(time_s, float) / 3600.0
    p = np.asarray(power, float)
    out = {"t95_h": math.nan, "t80_h": math.nan, "ts80_h": math.nan}
    if p.size < 2:
        return out
    for key, reference, start in (("t95_h", p[0], 0), ("t80_h", p[0], 0),
                                  ("ts80_h", float(np.max(p)), int(np.argmax(p)))):
        fraction = 0.95 if key == "t95_h" else 0.8
        below = np.flatnonzero(p[start:] < fraction * reference)
        if below.size:
            out[key] = float(t_h[start + below[0]] - t_h[start if key == "ts80_h" else 0])
    return out
