"""The virtual clock with parallel channels: a channel waiting for an instrument lock that
another channel holds while it sleeps on the clock steps aside instead of stalling it."""

from __future__ import annotations

import threading
import time

from labctl import clock
from labctl.clock import ChannelLock, VirtualClock


def run_two_channels(lock: object, stall_timeout_s: float) -> tuple[float, list[float]]:
    """Channel A takes the lock and sleeps 10 s of virtual time holding it (an instrument's
    reply); channel B then wants the lock. Returns (real seconds, B's virtual times)."""
    virtual = VirtualClock(stall_timeout_s=stall_timeout_s)
    barrier = threading.Barrier(2)
    taken = threading.Event()
    got_at: list[float] = []

    def holder() -> None:
        with virtual.channel():
            barrier.wait()
            with lock:  # type: ignore[attr-defined]
                taken.set()
                virtual.sleep(10.0)

    def waiter() -> None:
        with virtual.channel():
            barrier.wait()
            taken.wait()
            with lock:  # type: ignore[attr-defined]
                got_at.append(virtual.now_s())
            virtual.sleep(1.0)
            got_at.append(virtual.now_s())

    previous = clock.use(virtual)
    try:
        threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
        started_s = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        return time.monotonic() - started_s, got_at
    finally:
        clock.use(previous)


def test_a_channel_blocked_on_a_channel_lock_does_not_stall_the_clock() -> None:
    real_s, got_at = run_two_channels(ChannelLock(), stall_timeout_s=2.0)
    assert got_at == [10.0, 11.0]          # B got the lock when A's sleep ended, on time
    assert real_s < 1.0                    # no stall timeout was waited for


def test_a_plain_lock_stalls_the_clock_until_its_timeout() -> None:
    # the behaviour ChannelLock fixes: the clock waits for B, which waits for A
    real_s, got_at = run_two_channels(threading.RLock(), stall_timeout_s=0.3)
    assert got_at == [10.0, 11.0]
    assert real_s >= 0.3
