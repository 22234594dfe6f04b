"""The one place in labctl that reads time and sleeps.

Procedures, drivers and the simulated bench call :func:`now_s` and :func:`sleep` from this
module, never :mod:`time` directly. On a real bench the active clock is a :class:`RealClock`;
on the simulated bench it is the bench's :class:`VirtualClock`, so a 1000-hour stability run
finishes in seconds and tests never sleep for real.

The virtual clock keeps one timeline for several threads (one per SMU channel, say). A thread
that takes part registers with :meth:`VirtualClock.channel`; its sleep then ends when the shared
clock reaches its wake-up time, and the clock only moves on when every registered channel is
waiting. A thread that has not registered (a test, a single procedure, ``pyvisa-shell``) moves
the clock itself: its sleep returns at once with the clock advanced.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Clock(Protocol):
    """What every clock offers."""

    def now_s(self) -> float:
        """Return the time in seconds on this clock's timeline."""

    def sleep(self, duration_s: float) -> None:
        """Wait ``duration_s`` seconds on this clock's timeline."""

    def sleep_until(self, time_s: float) -> None:
        """Wait until the timeline reaches ``time_s``."""

    @property
    def is_virtual(self) -> bool:
        """True when time is simulated."""


class RealClock:
    """Wall-clock time (monotonic), with real sleeps."""

    is_virtual = False

    def __init__(self) -> None:
        self._origin_s = time.monotonic()

    def now_s(self) -> float:
        return time.monotonic() - self._origin_s

    def sleep(self, duration_s: float) -> None:
        if duration_s > 0:
            time.sleep(duration_s)

    def sleep_until(self, time_s: float) -> None:
        self.sleep(time_s - self.now_s())

    @contextmanager
    def channel(self) -> Iterator[None]:
        """Real time needs no coordination between threads."""
        yield

    @contextmanager
    def blocked(self, owner: Callable[[], int | None]) -> Iterator[None]:
        """Real time needs no coordination between threads."""
        yield


class VirtualClock:
    """Simulated time shared by every thread of a bench.

    Registered channels (:meth:`channel`) take turns: once they have all slept, one runs at a
    time, from its wake-up to its next sleep, and the clock moves on when every one waits
    for a later time. Under the interpreter lock threads never ran side by side anyway;
    eight channels woken together for the same instant only fought over it and over the
    bench lock (100 hours on eight channels cost 13x one channel's real time). Channels due
    at the same instant run one after the other, the earliest wake-up first, in the order
    they went to sleep.

    Parameters
    ----------
    start_s : float
        Initial time [s].
    stall_timeout_s : float
        Real seconds a registered channel may wait for the others before the clock assumes
        they are stuck (blocked outside the clock, e.g. on a lock) and moves on anyway, so a
        mistake never hangs a run forever.
    """

    is_virtual = True

    def __init__(self, start_s: float = 0.0, stall_timeout_s: float = 5.0) -> None:
        self._now_s = float(start_s)
        self._cond = threading.Condition()
        #: One condition per waiting thread, on the same lock: moving the clock wakes only
        #: the thread whose turn it is, not every one (8 channels: 7 needless wake-ups).
        self._waiting: dict[int, threading.Condition] = {}
        #: Every thread taking part (channels, and others while they sleep) -> its wake-up
        #: time, or None while it runs.
        self._wake_s: dict[int, float | None] = {}
        #: The registered channels (:meth:`channel`).
        self._channels: set[int] = set()
        #: The channel whose turn it is to run (None: nobody's; the others wait).
        self._turn: int | None = None
        self._stall_timeout_s = stall_timeout_s
        #: Channels blocked on a :class:`ChannelLock`: thread -> the lock's holder.
        self._blocked: dict[int, Callable[[], int | None]] = {}
        #: The one CPU the registered channels run on (Linux), chosen by the first of them.
        self._cpu: int | None = None

    def now_s(self) -> float:
        with self._cond:
            return self._now_s

    def reset(self, start_s: float = 0.0) -> None:
        """Set the clock back (only for a bench reset, with no channel waiting)."""
        with self._cond:
            self._now_s = float(start_s)
            self._notify_all()

    def sleep(self, duration_s: float) -> None:
        # The wake-up time is read and the wait begins under one hold of the (re-entrant)
        # lock, so the clock cannot move between the two.
        with self._cond:
            self.sleep_until(self._now_s + max(0.0, float(duration_s)))

    def sleep_until(self, time_s: float) -> None:
        me = threading.get_ident()
        with self._cond:
            if time_s <= self._now_s:
                return
            if not any(t != me for t in self._wake_s):
                self._now_s = float(time_s)
                self._notify_all()
                return
            channel = me in self._channels
            self._wake_s[me] = float(time_s)
            if channel:
                self._end_turn(me)
            mine = self._waiting.setdefault(me, threading.Condition(self._cond_lock()))
            try:
                while not (self._now_s >= time_s
                           and (not channel or self._turn is None or self._turn == me)):
                    if self._turn is None and self._all_waiting():
                        # every channel waits for a later time: move to the earliest
                        self._advance_to_earliest_wake()
                        continue
                    # a channel runs, or the one whose turn it is is about to wake
                    notified = mine.wait(timeout=self._stall_timeout_s)
                    if not notified:
                        if self._now_s >= time_s:
                            # due, but the channel running has not slept again for a long
                            # real time: go on beside it rather than hang
                            break
                        # The running channels have not reached a wait for a long real time:
                        # they are blocked elsewhere. Move on rather than hang, but only to
                        # the earliest pending wake-up, so no waiting channel wakes late
                        # (and never backwards: another waiter may have moved it already).
                        self._advance_to_earliest_wake()
                if channel:
                    self._turn = me
            finally:
                self._waiting.pop(me, None)
                if channel:
                    # running again: nobody can move on because of that (no broadcast, which
                    # would wake every other channel for nothing)
                    self._wake_s[me] = None
                else:
                    del self._wake_s[me]  # one fewer to wait for: the others may move on
                    self._notify_all()

    def _cond_lock(self) -> threading.RLock:
        return self._cond._lock  # type: ignore[attr-defined]

    def _notify_all(self) -> None:
        """Wake every waiting thread (the condition is held)."""
        self._cond.notify_all()
        for condition in self._waiting.values():
            condition.notify()

    def _end_turn(self, me: int) -> None:
        """``me`` stops running (sleeps, waits for a lock, leaves): the next channel due
        gets the turn (the condition is held)."""
        if self._turn == me:
            self._turn = None
            self._notify_due()

    def _notify_due(self) -> None:
        """Wake the waiting threads that may go on now (the condition is held): every
        unregistered one that is due, and, when it is nobody's turn, the channel due with the
        earliest wake-up (the first to sleep among equals)."""
        next_channel: threading.Condition | None = None
        next_wake_s = math.inf
        for thread, condition in self._waiting.items():
            wake = self._wake_s.get(thread)
            if wake is None or wake > self._now_s:
                continue
            if thread not in self._channels:
                condition.notify()
            elif self._turn is None and wake < next_wake_s:
                next_channel, next_wake_s = condition, wake
        if next_channel is not None:
            next_channel.notify()

    def _advance_to_earliest_wake(self) -> None:
        """Move the clock to the earliest wake-up time still ahead (the condition is held);
        a channel blocked outside the clock (``inf``) has none."""
        ahead = [w for w in self._wake_s.values()
                 if w is not None and self._now_s < w < math.inf]
        if ahead:
            self._now_s = min(ahead)
            self._notify_due()

    @contextmanager
    def blocked(self, owner: Callable[[], int | None]) -> Iterator[None]:
        """The calling channel waits for a lock held by the thread ``owner()`` names: while
        that thread sleeps on the clock (an instrument's reply, holding the lock), the
        clock moves on without the blocked channel, as if it too slept; while the holder
        runs, the blocked channel counts as running (it goes on at this time). No effect on
        a thread that is not a channel."""
        me = threading.get_ident()
        with self._cond:
            channel = me in self._channels
            if channel:
                self._blocked[me] = owner
                self._end_turn(me)
                # Waiting now, if the holder sleeps: when that makes every channel wait,
                # move the clock here (waking only the channel due, not every one).
                if self._turn is None and self._all_waiting():
                    self._advance_to_earliest_wake()
        try:
            yield
        finally:
            if channel:
                with self._cond:
                    # Running again, beside the channel whose turn it is, if any, until it
                    # next sleeps: waiting here for the turn could wait on a thread that
                    # waits, outside the clock, for a lock this one holds.
                    self._blocked.pop(me, None)

    def _all_waiting(self) -> bool:
        """Every channel waits for a later time, or for a lock whose holder does (the
        condition is held)."""
        for thread, wake in self._wake_s.items():
            if wake is None and thread in self._blocked:
                owner = self._blocked[thread]()
                wake = self._wake_s.get(owner) if owner is not None else None
            if wake is None or wake <= self._now_s:
                return False
        return True

    @contextmanager
    def channel(self) -> Iterator[None]:
        """Register the calling thread as a channel of the shared timeline.

        Register every channel before any of them sleeps (start the threads, enter this
        context in each, then meet at a :class:`threading.Barrier`): a channel that sleeps
        while it is still alone moves the clock on by itself.
        """
        me = threading.get_ident()
        with self._cond:
            self._wake_s[me] = None
            self._channels.add(me)
            affinity = self._pin_to_one_cpu()
        try:
            yield
        finally:
            with self._cond:
                self._wake_s.pop(me, None)
                self._channels.discard(me)
                if self._turn == me:
                    self._turn = None
                if not self._channels:
                    self._cpu = None
                self._notify_all()
            if affinity is not None:
                _set_affinity(affinity)

    def _pin_to_one_cpu(self) -> set[int] | None:
        """Keep the calling channel on the CPU of the others (the condition is held); return
        the CPUs it could run on before, None where threads cannot be pinned.

        The channels run one at a time, so one CPU loses nothing; left free, the kernel
        wakes each channel on whichever core is idle, and every hand-over then starts on a
        core whose caches hold the other channel's data (100 h on eight channels in step:
        152 s real, 85-94 s pinned; benchmarks/bench_mpp_long.py).
        """
        if not hasattr(os, "sched_getaffinity"):
            return None
        try:
            allowed = os.sched_getaffinity(0)
            if self._cpu is None or self._cpu not in allowed:
                cpu = _current_cpu()
                self._cpu = cpu if cpu in allowed else min(allowed)
            os.sched_setaffinity(0, {self._cpu})
        except (OSError, ValueError):
            return None
        return allowed


def _current_cpu() -> int | None:
    """The CPU the calling thread runs on now (Linux: ``/proc/thread-self/stat``, field 39,
    proc(5)), else None."""
    try:
        with open("/proc/thread-self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[36])  # the fields after the command name start at field 3
    except (OSError, IndexError, ValueError):
        return None


def _set_affinity(cpus: set[int]) -> None:
    try:
        os.sched_setaffinity(0, cpus)
    except OSError:
        pass


_active: RealClock | VirtualClock = RealClock()
_active_lock = threading.Lock()


def use(clock: RealClock | VirtualClock) -> RealClock | VirtualClock:
    """Make ``clock`` the active clock; return the previous one."""
    global _active
    with _active_lock:
        previous, _active = _active, clock
    return previous


def active() -> RealClock | VirtualClock:
    """The clock procedures and drivers use now."""
    return _active


def now_s() -> float:
    """Time in seconds on the active clock."""
    return _active.now_s()


def sleep(duration_s: float) -> None:
    """Sleep ``duration_s`` seconds on the active clock."""
    _active.sleep(duration_s)


def sleep_until(time_s: float) -> None:
    """Sleep until the active clock reads ``time_s``."""
    _active.sleep_until(time_s)


@contextmanager
def using(clock: RealClock | VirtualClock) -> Iterator[RealClock | VirtualClock]:
    """Use ``clock`` inside a ``with`` block and restore the previous one after."""
    previous = use(clock)
    try:
        yield clock
    finally:
        use(previous)


class ChannelLock:
    """A re-entrant lock for instruments shared by channels of the virtual clock: a channel
    that has to wait for it while its holder sleeps on the clock (for an instrument's reply)
    does not keep the clock waiting (:meth:`VirtualClock.blocked`), which would stall it for
    ``stall_timeout_s`` of real time. Same interface as :class:`threading.RLock`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    def _holder(self) -> int | None:
        return self._owner

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if not self._lock.acquire(blocking=False):
            if not blocking:
                return False
            with _active.blocked(self._holder):
                if not self._lock.acquire(True, timeout):
                    return False
        self._owner = threading.get_ident()
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
        self._lock.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# --- waits that say what they wait for -------------------------------------------------------

#: A listener of announced waits: ``(reason, remaining_s)``; ``remaining_s`` 0 ends the wait.
WaitListener = Callable[[str, float], None]
_wait_listeners: list[WaitListener] = []


def add_wait_listener(listener: WaitListener) -> None:
    """Hear every wait announced with :func:`announce_wait` (a progress bar)."""
    with _active_lock:
        _wait_listeners.append(listener)


def remove_wait_listener(listener: WaitListener) -> None:
    """Stop hearing announced waits (nothing if ``listener`` was not added)."""
    with _active_lock:
        if listener in _wait_listeners:
            _wait_listeners.remove(listener)


def announce_wait(reason: str, remaining_s: float) -> None:
    """Say that the caller waits ``remaining_s`` more seconds for ``reason`` (``0``: done).

    Called by long waits (lamp warm-up, light soak, bias holds) at each slice of the wait;
    a listener that fails is dropped from this announcement only, never breaks the wait.
    """
    with _active_lock:
        listeners = list(_wait_listeners)
    for listener in listeners:
        try:
            listener(reason, max(0.0, float(remaining_s)))
        except Exception:  # noqa: BLE001 - a display must never stop a measurement
            pass
