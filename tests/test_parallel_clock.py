"""The virtual clock with parallel channels: a channel waiting for an instrument lock that
another channel holds while it sleeps on the clock steps aside instead of stalling it."""

from __future__ import annotations

import os
import threading
import time

import pytest

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


def run_in_step(channels: int, steps: int) -> tuple[int, list[tuple[float, int]], list]:
    """``channels`` channels that all wake at the same instants (identical cells on identical
    settings). Returns (the most channels seen running at once, the (time, channel) of every
    step in the order run, the CPUs each channel could run on while registered)."""
    virtual = VirtualClock(stall_timeout_s=5.0)
    barrier = threading.Barrier(channels)
    guard = threading.Lock()
    running = [0]
    most = [0]
    order: list[tuple[float, int]] = []
    cpus: list = []

    def channel(k: int) -> None:
        with virtual.channel():
            barrier.wait()
            if hasattr(os, "sched_getaffinity"):
                cpus.append(os.sched_getaffinity(0))
            for _ in range(steps):
                virtual.sleep(1.0)
                with guard:
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                    order.append((virtual.now_s(), k))
                for _ in range(20):
                    time.sleep(0)  # hands the interpreter to any other runnable thread
                with guard:
                    running[0] -= 1

    threads = [threading.Thread(target=channel, args=(k,)) for k in range(channels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return most[0], order, cpus


def test_channels_due_at_the_same_instant_run_one_at_a_time_in_time_order() -> None:
    most, order, _ = run_in_step(channels=4, steps=25)
    assert most == 1                       # never two channels at once
    assert len(order) == 100
    times = [t for t, _ in order]
    assert times == sorted(times)          # the timeline never runs backwards
    for step in range(1, 26):              # every channel ran once at each instant
        assert sorted(k for t, k in order if t == step) == [0, 1, 2, 3]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no thread affinity here")
def test_channels_share_one_cpu_and_get_their_cpus_back() -> None:
    before = os.sched_getaffinity(0)
    virtual = VirtualClock()
    barrier = threading.Barrier(3)
    seen: list[set[int]] = []
    after: list[set[int]] = []

    def channel() -> None:
        with virtual.channel():
            barrier.wait()                 # all three registered at once
            seen.append(os.sched_getaffinity(0))
            barrier.wait()
        after.append(os.sched_getaffinity(0))

    threads = [threading.Thread(target=channel) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(len(cpus) == 1 for cpus in seen) and len({min(c) for c in seen}) == 1
    assert seen[0] <= before
    assert after == [before] * 3           # each thread has its CPUs back when it leaves
    assert os.sched_getaffinity(0) == before
