"""The arc lamp switched off after a run and N idle minutes (``lamp_off_after_idle_min``).

An arc lamp is never switched off by a measurement (it is not cycled per measurement), so a
sequence that ends at night would leave it burning until someone comes. With the station
option ``lamp_off_after_idle_min: N``, ``labctl run`` waits N minutes on the labctl clock
after the run has ended (the SMU outputs are off and the shutter is closed by then), the wait
shown on the progress bar, then opens the light source again and switches it off. Ctrl-C (or
the runner's stop request) during the wait leaves the lamp lit: someone is at the bench.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from labctl import clock
from labctl.errors import error_line
from labctl.safety import opened_tolerantly
from labctl.station.config import StationConfig

log = logging.getLogger(__name__)

__all__ = ["IDLE_REASON", "IDLE_SLICE_S", "lamp_off_after_idle", "wait_idle"]

#: Longest single sleep of the idle wait, so a stop request is noticed within it [s].
IDLE_SLICE_S = 0.5
#: What the progress bar says during the wait.
IDLE_REASON = "idle, then the lamp goes off"


def wait_idle(duration_s: float, should_stop: Callable[[], bool] = lambda: False) -> bool:
    """Wait ``duration_s`` on the labctl clock, announcing it (:func:`clock.announce_wait`);
    False as soon as ``should_stop()`` answers True or Ctrl-C arrives."""
    end_s = clock.now_s() + max(0.0, float(duration_s))
    try:
        while True:
            if should_stop():
                return False
            remaining_s = end_s - clock.now_s()
            if remaining_s <= 0:
                return True
            clock.announce_wait(IDLE_REASON, remaining_s)
            clock.sleep(min(IDLE_SLICE_S, remaining_s))
    except KeyboardInterrupt:
        return False
    finally:
        clock.announce_wait(IDLE_REASON, 0.0)


def lamp_off_after_idle(config: StationConfig, simulated: bool | None = None,
                        should_stop: Callable[[], bool] = lambda: False) -> str | None:
    """Wait the station's ``lamp_off_after_idle_min``, then switch its arc lamp off.

    Returns what happened in one line (None when the station has no such option or no arc
    lamp). Never raises: a lamp that cannot be reached or switched off is said in the line
    (and logged as a warning).
    """
    minutes = config.lamp_off_after_idle_min
    light = config.light_source()
    if minutes is None or light is None:
        return None
    try:
        with opened_tolerantly(config, simulated, only={light}) as station:
            source = station.instruments.get(light)
            if source is None:
                return _warn(f"lamp {light!r} not switched off: "
                             f"{station.unreachable.get(light, 'cannot be reached')}")
            if not source.is_arc_lamp:
                return None  # an LED went off with the run's end already
            if not source.is_on:
                return f"lamp {light!r} is off already; no idle wait"
            if not wait_idle(60.0 * float(minutes), should_stop):
                return f"idle wait interrupted: lamp {light!r} left lit"
            source.turn_off()
            return f"lamp {light!r} switched off after {minutes:g} idle minutes"
    except Exception as exc:  # the run has ended: report, never raise
        return _warn(f"lamp {light!r} not switched off: {error_line(exc, with_type=False)}")


def _warn(message: str) -> str:
    log.warning("%s", message)
    return message
