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
        #: the channels that are due, not every one (8 channels: 7 needless wake-ups a move).
        self._waiting: dict[int, threading.Condition] = {}
        self._wake_s: dict[int, float | None] = {}  # registered thread -> wake-up time or None
        self._stall_timeout_s = stall_timeout_s
        #: Channels blocked on a :class:`ChannelLock`: thread -> the lock's holder.
        self._blocked: dict[int, Callable[[], int | None]] = {}

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
            others = [t for t in self._wake_s if t != me]
            if not others:
                self._now_s = float(time_s)
                self._notify_all()
                return
            registered = me in self._wake_s
            self._wake_s[me] = float(time_s)
            mine = self._waiting.setdefault(me, threading.Condition(self._cond_lock()))
            try:
                while self._now_s < time_s:
                    if self._all_waiting():
                        # every channel waits for a later time: move to the earliest
                        self._advance_to_earliest_wake()
                        continue
                    # a channel is running, or is due and about to wake: let it go first
                    notified = mine.wait(timeout=self._stall_timeout_s)
                    if not notified and self._now_s < time_s:
                        # The running channels have not reached a wait for a long real time:
                        # they are blocked elsewhere. Move on rather than hang, but only to
                        # the earliest pending wake-up, so no waiting channel wakes late
                        # (and never backwards: another waiter may have moved it already).
                        self._advance_to_earliest_wake()
            finally:
                self._waiting.pop(me, None)
                if registered:
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

    def _notify_due(self) -> None:
        """Wake the waiting threads whose wake-up time has come (the condition is held)."""
        for thread, condition in self._waiting.items():
            wake = self._wake_s.get(thread)
            if wake is not None and wake <= self._now_s:
                condition.notify()

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
            registered = me in self._wake_s
            if registered:
                self._blocked[me] = owner
                self._notify_all()
        try:
            yield
        finally:
            if registered:
                with self._cond:
                    self._blocked.pop(me, None)
                    self._notify_all()

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
        try:
            yield
        finally:
            with self._cond:
                self._wake_s.pop(me, None)
                self._notify_all()


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
