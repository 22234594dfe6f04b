"""``default``: labctl's own tracker, which predicts the steady-state current after each move.

After every move it reads the current transient (readings at geometrically growing intervals),
fits ``I(t) = I_inf + A*exp(-t/tau)`` (:mod:`labctl.mpp.relaxation`; Cimaroli et al., J. Mater.
Chem. C 2017, DOI 10.1039/C7TC03482B) and leaves the point as soon as the predicted steady-state
current ``I_inf`` is known to ``rtol``, instead of waiting for the ions. ``tau`` is measured on
the first transients (Rakocevic et al., Sol. RRL 2019, DOI 10.1002/solr.201800287, measure the
transient first) and then sets the dwell: a visit lasts as long as the extrapolation needs.

The first points (the approach, a few readings each, before ``tau`` is known) are compared at
one time: each is carried on by the drift of its own last two readings, for at most
``drift_horizon_s``, so a current that the ions pull down everywhere does not read as "the
last move lowered the power" (from 0.5 Voc of a Voc-poled cell the approach went down first).
The steady-state powers ``V*I_inf`` of the points visited are a static curve, whatever the ion
history, so the search climbs it (steps growing while the power rises), brackets the maximum and
jumps to the vertex of the parabola through the best point and its neighbours, refined with
probes ``probe_step_v`` either side. Once settled it holds and only reads: it moves again when
the predicted current drifts by ``drift_tol`` (light or degradation), when a reading jumps off the
fitted transient by ``jump_tol`` (irradiance step), or when the re-check interval has passed; the
interval doubles (to ``recheck_max_s``) each time a re-check finds the maximum where it was, so
the tracker perturbs no more often than the device needs (docs/methods.md §3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from labctl.mpp.relaxation import RelaxationFit, fit_relaxation
from labctl.mpp.tracker import Command, Reading, Tracker, TrackerState

__all__ = ["PredictiveTracker"]


@dataclass
class _Visit:
    """The readings at one set-point since the move there (times from the move)."""

    voltage_v: float
    t0_s: float | None
    times_s: list[float] = field(default_factory=list)
    currents_a: list[float] = field(default_factory=list)
    fit: RelaxationFit | None = None
    previous_inf_a: float | None = None


class PredictiveTracker(Tracker):
    """Transient-predicting MPP tracker with adaptive step, dwell and re-check interval."""

    name = "default"

    def __init__(self, step_v: float = 0.01, max_step_v: float = 0.1,
                 probe_step_v: float = 0.004, first_sample_s: float = 0.05,
                 sample_growth: float = 1.6, rtol: float = 1e-4, read_interval_s: float = 2.0,
                 max_visit_s: float = 1800.0, drift_tol: float = 2e-3, jump_tol: float = 5e-3,
                 recheck_min_s: float = 60.0, recheck_max_s: float = 960.0,
                 min_span_tau: float = 0.0, coarse_samples: int = 3,
                 min_v: float = 0.0, drift_horizon_s: float = 1.0) -> None:
        probe_step_v = min(probe_step_v, step_v)  # a small step_v asks for fine probes too
        max_step_v = max(max_step_v, step_v)
        if not (0 < probe_step_v <= step_v <= max_step_v and first_sample_s > 0
                and drift_horizon_s >= 0
                and sample_growth > 1 and rtol > 0 and 0 < recheck_min_s <= recheck_max_s):
            raise ValueError("inconsistent parameters of the default tracker")
        self.step_v, self.max_step_v, self.probe_step_v = step_v, max_step_v, probe_step_v
        self.first_sample_s, self.sample_growth, self.rtol = first_sample_s, sample_growth, rtol
        self.read_interval_s, self.max_visit_s = read_interval_s, max_visit_s
        self.drift_tol, self.jump_tol, self.min_v = drift_tol, jump_tol, min_v
        self.min_span_tau = min_span_tau
        self.coarse_samples = int(coarse_samples)
        self._coarse = False
        self._resumed = False
        self.recheck_min_s, self.recheck_max_s = recheck_min_s, recheck_max_s
        self.tau_s: float | None = None
        self._search_step_v = step_v
        self._recheck_s = recheck_min_s
        self._history: list[tuple[float, float]] = []  # (V, predicted steady-state power)
        #: Approach points read before tau is known: V -> (time, drift of the power [W/s]).
        self._drift: dict[float, tuple[float, float]] = {}
        self.drift_horizon_s = drift_horizon_s
        self._holding = False
        self._hold_since_s = 0.0
        self._hold_reference_a = 0.0
        self._recheck_from_v: float | None = None
        self._visit = _Visit(0.0, None)
        self._wait_s = first_sample_s
        self._last_step_v = 0.0
        self._last_direction = 0.0
        self._last_dwell_s: float | None = None
        self._moves = 0

    # --- interface -----------------------------------------------------------------------

    @property
    def moves(self) -> int:
        return self._moves

    def start(self, start_v: float) -> Command:
        self._visit = _Visit(float(start_v), None)
        self._holding = False
        # A resumed run starts where it was, and so does tracking taken up again after an
        # interruption (a periodic J-V, the dark part of a light cycle) once tau is known:
        # near the maximum, so no coarse approach, only the probes either side.
        warm = self._resumed or (self.tau_s is not None and self._moves > 0)
        self._coarse = self.coarse_samples > 0 and not warm
        if warm:
            self._search_step_v = 2.0 * self.probe_step_v
        self._history = []
        self._drift.clear()
        self._wait_s = self.first_sample_s
        return Command(self._visit.voltage_v, self._wait_s)

    def update(self, reading: Reading) -> Command:
        visit = self._visit
        if visit.t0_s is None:
            visit.t0_s = reading.time_s - self._wait_s
        if self._jumped(visit, reading):  # the light changed: a new curve from here
            visit.times_s.clear()
            visit.currents_a.clear()
            visit.fit = visit.previous_inf_a = None
            self._history.clear()
            self._drift.clear()
            self._holding = False
            self._recheck_from_v = None
            self._search_step_v = 2.0 * self.probe_step_v  # the maximum moves little with light
            self._last_direction = 0.0
            self._coarse = True
        visit.times_s.append(max(reading.time_s - visit.t0_s, 1e-9))
        visit.currents_a.append(reading.current_a)
        self._refit(visit)
        if self._holding:
            return self._hold(reading)
        if self._coarse:
            return self._coarse_update(visit, reading.time_s)
        if not self._visit_done(visit):
            return self._read_again()
        self._learn_tau(visit)
        assert visit.fit is not None
        self._last_dwell_s = visit.times_s[-1]
        self._history.append((visit.voltage_v, visit.voltage_v * visit.fit.current_inf_a))
        return self._next_move(reading.time_s)

    def _coarse_update(self, visit: _Visit, now_s: float) -> Command:
        """The approach: a few quick readings per point, enough to find the maximum's side."""
        if len(visit.times_s) < self.coarse_samples:
            return self._read_again()
        assert visit.fit is not None
        current = visit.fit.current_inf_a if self.tau_s is not None else visit.currents_a[-1]
        self._last_dwell_s = visit.times_s[-1]
        self._history.append((visit.voltage_v, visit.voltage_v * current))
        if self.tau_s is None:
            # The ions still move every point's current alike: compare the points at one
            # time, each carried on by the drift seen at its own last two readings.
            t, i = visit.times_s, visit.currents_a
            self._drift[visit.voltage_v] = (now_s, visit.voltage_v * (i[-1] - i[-2])
                                            / max(t[-1] - t[-2], 1e-9))
        return self._next_move(now_s)

    def state(self) -> TrackerState:
        fit = self._visit.fit
        return TrackerState(self._visit.voltage_v, self._last_step_v, self._last_dwell_s,
                            None if fit is None else fit.current_inf_a)

    def parameters(self) -> dict[str, Any]:
        return {"step_v": self.step_v, "max_step_v": self.max_step_v,
                "probe_step_v": self.probe_step_v, "first_sample_s": self.first_sample_s,
                "sample_growth": self.sample_growth, "rtol": self.rtol,
                "read_interval_s": self.read_interval_s, "max_visit_s": self.max_visit_s,
                "drift_tol": self.drift_tol, "jump_tol": self.jump_tol,
                "recheck_min_s": self.recheck_min_s, "recheck_max_s": self.recheck_max_s,
                "min_span_tau": self.min_span_tau, "coarse_samples": self.coarse_samples,
                "drift_horizon_s": self.drift_horizon_s}

    def snapshot(self) -> dict[str, Any]:
        return {"tau_s": self.tau_s, "search_step_v": self._search_step_v,
                "recheck_s": self._recheck_s, "moves": self._moves,
                "setpoint_v": self._visit.voltage_v}

    def restore(self, snapshot: dict[str, Any]) -> None:
        tau = snapshot.get("tau_s")
        self.tau_s = None if tau is None else float(tau)
        self._search_step_v = float(snapshot.get("search_step_v", self.step_v))
        self._recheck_s = float(snapshot.get("recheck_s", self.recheck_min_s))
        self._moves = int(snapshot.get("moves", 0))
        self._resumed = bool(snapshot)

    # --- the transient at one set-point ---------------------------------------------------

    def _refit(self, visit: _Visit) -> None:
        visit.previous_inf_a = None if visit.fit is None else visit.fit.current_inf_a
        if len(visit.times_s) < 2:
            visit.fit = fit_relaxation(visit.times_s, visit.currents_a, tau_s=1e9)
            return
        if (self._holding and self.tau_s is not None and not math.isnan(self._hold_reference_a)
                and visit.times_s[-1] >= 5.0 * self.tau_s):
            # A settled hold: the transient is known and long past, so the time constant is
            # not searched again at every reading (a 1000-hour hold reads ~10^5-10^6 times).
            visit.fit = fit_relaxation(visit.times_s, visit.currents_a, tau_s=self.tau_s)
            return
        free = fit_relaxation(visit.times_s, visit.currents_a) if len(visit.times_s) >= 4 else None
        if self.tau_s is not None:
            known = fit_relaxation(visit.times_s, visit.currents_a, tau_s=self.tau_s)
            visit.fit = known if free is None or known.rms_a <= 2.0 * free.rms_a + 1e-18 else free
        else:
            visit.fit = free or fit_relaxation(visit.times_s, visit.currents_a,
                                               tau_s=max(visit.times_s[-1], 1e-9))

    def _jumped(self, visit: _Visit, reading: Reading) -> bool:
        """The reading is off the fitted transient by more than ``jump_tol``."""
        fit = visit.fit
        if fit is None or len(visit.times_s) < 3 or visit.t0_s is None:
            return False
        t = reading.time_s - visit.t0_s
        expected = fit.current_inf_a + fit.amplitude_a * math.exp(-t / max(fit.tau_s, 1e-12))
        scale = max(abs(fit.current_inf_a), abs(expected), 1e-15)
        return abs(reading.current_a - expected) > self.jump_tol * scale

    def _visit_done(self, visit: _Visit) -> bool:
        fit = visit.fit
        if fit is None or visit.previous_inf_a is None or len(visit.times_s) < 3:
            return False
        if visit.times_s[-1] >= self.max_visit_s:
            return True
        scale = max(abs(fit.current_inf_a), 1e-15)
        # The first point only starts the climb: a coarse value does (the points near the
        # maximum, visited later, decide where it settles).
        tolerance = (self.rtol if self._history or self._holding else 10.0 * self.rtol) * scale
        if fit.tau_at_lower_edge:  # settled before the first reading
            return abs(visit.currents_a[-1] - visit.currents_a[-2]) <= tolerance
        if not self._history and not self._holding and fit.current_inf_a <= 0.0 \
                and len(visit.times_s) >= 5:
            return True  # at or beyond open circuit: no power to refine, go down
        if self.tau_s is None and (len(visit.times_s) < 5 or fit.tau_at_upper_edge
                                   or visit.times_s[-1] < 0.5 * fit.tau_s):
            return False  # the time constant itself is not known yet
        if (self.tau_s is not None and not fit.tau_at_lower_edge
                and visit.times_s[-1] < self.min_span_tau * self.tau_s):
            return False  # a shorter span amplifies any drift (light, ageing) too much
        return (fit.current_inf_se_a <= tolerance
                and abs(fit.current_inf_a - visit.previous_inf_a) <= tolerance)

    def _learn_tau(self, visit: _Visit) -> None:
        fit = visit.fit
        if fit is None or len(visit.times_s) < 4 or fit.tau_at_upper_edge:
            return
        if fit.tau_at_lower_edge:  # no transient seen: a fast one only if the set-point moved
            if not self._moves:
                return
            tau = visit.times_s[0] / 5.0
        elif visit.times_s[-1] >= 0.5 * fit.tau_s and abs(fit.amplitude_a) > 10.0 * fit.rms_a:
            tau = fit.tau_s
        else:
            return
        self.tau_s = tau if self.tau_s is None else math.sqrt(self.tau_s * tau)

    def _read_again(self) -> Command:
        cap = self.read_interval_s if self._holding else self.max_visit_s
        if self.tau_s is not None and not self._holding:
            cap = max(self.first_sample_s, min(cap, 0.25 * self.tau_s))
        self._wait_s = min(self._wait_s * self.sample_growth, max(cap, self.first_sample_s))
        return Command(self._visit.voltage_v, self._wait_s)

    def _move_to(self, voltage_v: float, now_s: float) -> Command:
        voltage_v = max(self.min_v, voltage_v)
        self._last_step_v = voltage_v - self._visit.voltage_v
        if voltage_v != self._visit.voltage_v:
            self._moves += 1
        self._visit = _Visit(voltage_v, now_s)
        self._wait_s = self.first_sample_s
        return Command(voltage_v, self._wait_s)

    # --- the search over set-points ------------------------------------------------------

    def _points(self, now_s: float | None = None) -> tuple[list[float], list[float]]:
        latest: dict[float, float] = {}
        for voltage_v, power_w in self._history:
            latest[voltage_v] = power_w
        if self._coarse and now_s is not None:
            for voltage_v, (at_s, slope_w_s) in self._drift.items():
                if voltage_v in latest:
                    latest[voltage_v] += slope_w_s * min(max(now_s - at_s, 0.0),
                                                         self.drift_horizon_s)
        voltages = sorted(latest)
        return voltages, [latest[v] for v in voltages]

    def _edge_move(self, voltages: list[float], powers: list[float], best: int) -> float:
        """The best point is the lowest or highest visited: go on beyond it."""
        direction = 1.0 if best == len(voltages) - 1 and powers[best] > 0.0 else -1.0
        anchor = voltages[-1] if direction > 0 else voltages[0]
        if direction == self._last_direction:
            self._search_step_v = min(self._search_step_v * 1.5, self.max_step_v)
        self._last_direction = direction
        return anchor + direction * self._search_step_v

    def _next_move(self, now_s: float) -> Command:
        voltages, powers = self._points(now_s)
        best = max(range(len(powers)), key=powers.__getitem__)
        if len(voltages) == 1:
            self._last_direction = 1.0 if powers[0] > 0.0 else -1.0
            return self._move_to(voltages[0] + self._last_direction * self._search_step_v, now_s)
        if best in (0, len(voltages) - 1):
            return self._move_to(self._edge_move(voltages, powers, best), now_s)
        left, centre, right = voltages[best - 1:best + 2]
        vertex = _parabola_vertex(voltages[best - 1:best + 2], powers[best - 1:best + 2])
        vertex = min(max(vertex, left + 0.1 * (centre - left)), right - 0.1 * (right - centre))
        resolution = (4.01 if self._coarse else 2.01) * self.probe_step_v
        fine = max(centre - left, right - centre) <= resolution
        nearest = min(abs(vertex - v) for v in voltages)
        if fine or nearest < 0.05 * self.probe_step_v:
            target = vertex if fine else centre
            return self._end_approach(target, now_s) if self._coarse else self._settle(
                target, now_s)
        if abs(vertex - centre) < self.probe_step_v:  # refine on the wider side
            side = 1.0 if right - centre > centre - left else -1.0
            vertex = centre + side * self.probe_step_v
        return self._move_to(vertex, now_s)

    def _end_approach(self, voltage_v: float, now_s: float) -> Command:
        """The approach has bracketed the maximum: from here on, steady-state values only."""
        self._coarse = False
        self._history = []
        self._drift.clear()
        self._search_step_v = 2.0 * self.probe_step_v
        self._last_direction = 0.0
        return self._move_to(voltage_v, now_s)

    def _settle(self, voltage_v: float, now_s: float) -> Command:
        if self._recheck_from_v is not None:  # a re-check ended: adapt its interval
            moved = abs(voltage_v - self._recheck_from_v) > 0.5 * self.probe_step_v
            factor = 0.5 if moved else 2.0
            self._recheck_s = min(max(self._recheck_s * factor, self.recheck_min_s),
                                  self.recheck_max_s)
            self._recheck_from_v = None
        self._holding = True
        self._hold_since_s = now_s
        self._hold_reference_a = math.nan
        self._search_step_v = self.step_v
        if abs(voltage_v - self._visit.voltage_v) < 1e-12:
            return self._read_again()
        return self._move_to(voltage_v, now_s)

    def _hold(self, reading: Reading) -> Command:
        visit = self._visit
        fit = visit.fit
        assert fit is not None
        if len(visit.times_s) > 160:  # keep the start of the transient and the recent past
            del visit.times_s[32:64], visit.currents_a[32:64]
        if math.isnan(self._hold_reference_a):
            if self._visit_done(visit):
                self._learn_tau(visit)
                self._last_dwell_s = visit.times_s[-1]
                self._hold_reference_a = fit.current_inf_a
            return self._read_again()
        reference = max(abs(self._hold_reference_a), 1e-15)
        current = self._hold_current_a(visit, fit)
        drift = abs(current - self._hold_reference_a) / reference
        if drift <= self.drift_tol and reading.time_s - self._hold_since_s < self._recheck_s:
            return self._read_again()
        self._holding = False  # re-check: probe either side of the hold point
        self._recheck_from_v = visit.voltage_v
        self._history = [(visit.voltage_v, visit.voltage_v * current)]
        self._search_step_v = self.probe_step_v
        self._last_direction = 1.0
        return self._move_to(visit.voltage_v + self.probe_step_v, reading.time_s)


    def _hold_current_a(self, visit: _Visit, fit: RelaxationFit) -> float:
        """The steady-state current at the hold point now: the fit's while the transient
        lasts, then the mean of the last three readings (a slow drift, e.g. degradation, would
        otherwise be averaged into the fit of the whole hold)."""
        if self.tau_s is None or visit.times_s[-1] < 5.0 * self.tau_s:
            return fit.current_inf_a
        return sum(visit.currents_a[-3:]) / len(visit.currents_a[-3:])


def _parabola_vertex(voltages: list[float], powers: list[float]) -> float:
    """Vertex of the parabola through three points (the middle one highest)."""
    (x0, x1, x2), (y0, y1, y2) = voltages, powers
    d01, d12 = (y1 - y0) / (x1 - x0), (y2 - y1) / (x2 - x1)
    curvature = (d12 - d01) / (x2 - x0)
    if curvature >= 0.0:
        return x1
    slope = (d01 * (x2 - x1) + d12 * (x1 - x0)) / (x2 - x0)
    return x1 - slope / (2.0 * curvature)
