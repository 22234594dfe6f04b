"""Output of an arc lamp on its power supply, as a function of (given) time."""

from __future__ import annotations

import math
from collections.abc import Callable

from labctl.sim.physics.common import check_non_negative
from labctl.station.simulation import LightSim

__all__ = ["ArcLamp"]


class ArcLamp:
    """Output of an arc lamp on a 69907/69920 supply, as a function of (given) time.

    After ``start(t)`` the lamp ignites for ``ignition_s`` with no output; then the relative
    output approaches 1 exponentially from ``relative_start`` with ``warmup_tau_s``, plus a
    linear drift of ``drift_pct_per_h`` counted from ignition; after ``stop`` it is 0.
    A restart begins a new ignition and warm-up (docs/simulation.md §5).

    Parameters
    ----------
    relative_start : float, default 0.8
        Output right after ignition relative to the setpoint [fraction], >= 0.
    warmup_tau_s : float, default 300
        Warm-up time constant [s], >= 0 (0: full output at ignition).
    ignition_s : float, default 5
        Time from START to light [s], >= 0.
    drift_pct_per_h : float, default 0
        Linear drift of the output after ignition [%/h] (negative: the lamp fades).
    """

    def __init__(
        self,
        relative_start: float = 0.8,
        warmup_tau_s: float = 300.0,
        ignition_s: float = 5.0,
        drift_pct_per_h: float = 0.0,
    ) -> None:
        check_non_negative("relative_start", relative_start)
        check_non_negative("warmup_tau_s", warmup_tau_s)
        check_non_negative("ignition_s", ignition_s)
        self.relative_start = relative_start
        self.warmup_tau_s = warmup_tau_s
        self.ignition_s = ignition_s
        self.drift_pct_per_h = drift_pct_per_h
        self._start_s: float | None = None
        self._stop_s: float | None = None
        #: The output relative to the nominal electrical power (set by the supply emulator:
        #: an arc lamp's light follows its power near the set point); None = 1.
        self.power_scale: Callable[[], float] | None = None

    @classmethod
    def from_light(cls, light: LightSim, ignition_s: float = 5.0) -> ArcLamp:
        """The lamp of a station's ``simulation.light`` block (warm-up, start level, drift come
        from there; the ignition time [s] is the supply's)."""
        return cls(relative_start=light.relative_start, warmup_tau_s=light.warmup_tau_s,
                   ignition_s=ignition_s, drift_pct_per_h=light.drift_pct_per_h)

    def start(self, t_s: float) -> None:
        """Switch the lamp on at time ``t_s`` [s]; ignored while it is already on."""
        if self.is_on(t_s):
            return
        self._start_s = t_s
        self._stop_s = None

    def stop(self, t_s: float) -> None:
        """Switch the lamp off at time ``t_s`` [s]; ignored while it is off."""
        if self.is_on(t_s):
            self._stop_s = t_s

    def state_dict(self) -> dict[str, float | None]:
        """When the lamp was last started and stopped [s on the bench clock], None: never."""
        return {"start_s": self._start_s, "stop_s": self._stop_s}

    def load_state(self, state: dict[str, float | None]) -> None:
        """Take back a state :meth:`state_dict` gave (ValueError: a key is missing)."""
        try:
            start_s, stop_s = state["start_s"], state["stop_s"]
            self._start_s = None if start_s is None else float(start_s)
            self._stop_s = None if stop_s is None else float(stop_s)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an arc-lamp state: {exc!r}") from None

    def is_on(self, t_s: float) -> bool:
        """Whether the supply is on at time ``t_s`` [s] (igniting or burning)."""
        if self._start_s is None or t_s < self._start_s:
            return False
        return self._stop_s is None or t_s < self._stop_s

    def _ignition_end_s(self, t_s: float) -> float | None:
        """End of the present ignition [s], or None while the supply is off at ``t_s``."""
        if not self.is_on(t_s) or self._start_s is None:
            return None
        return self._start_s + self.ignition_s

    def is_ignited(self, t_s: float) -> bool:
        """Whether the lamp gives light at time ``t_s`` [s]."""
        ignition_end_s = self._ignition_end_s(t_s)
        return ignition_end_s is not None and t_s >= ignition_end_s

    def relative_output(self, t_s: float) -> float:
        """Output relative to the setpoint [fraction] at time ``t_s`` [s]; 0 when dark."""
        ignition_end_s = self._ignition_end_s(t_s)
        if ignition_end_s is None or t_s < ignition_end_s:
            return 0.0
        since_ignition_s = t_s - ignition_end_s
        warmup = 1.0
        if self.warmup_tau_s > 0.0:
            warmup -= (1.0 - self.relative_start) * math.exp(-since_ignition_s / self.warmup_tau_s)
        drift = self.drift_pct_per_h / 100.0 * since_ignition_s / 3600.0
        scale = 1.0 if self.power_scale is None else float(self.power_scale())
        return max(0.0, warmup + drift) * scale
