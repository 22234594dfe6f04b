"""The lock of a run folder: held by the live process that writes it.

``RUN_DIR/.lock`` holds the pid of the process writing the folder and an OS-level lock on the
file (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows). The operating system drops the
lock when the process ends, however it ends (SIGKILL, a power cut of the PC), so a lock that
can be taken means nobody writes the folder: a summary that still says ``running`` then
belongs to an interrupted run (docs/contracts.md, "Results").

On Windows the lock is one byte at :data:`WINDOWS_LOCK_OFFSET`, past the pid text: a region
locked with ``msvcrt.locking`` cannot be read by another process, and the pid must stay
readable (``labctl status`` names the holder). The region is unlocked explicitly before the
file is closed (what the Windows C runtime asks for). The Windows path runs here only with
``msvcrt`` faked (tests/test_run_lock.py); it has not been run on Windows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

from labctl.storage.columns import SUMMARY_FILENAME

LOCK_FILENAME = ".lock"
#: Byte locked on Windows (``msvcrt.locking`` locks from the file position): past the pid.
WINDOWS_LOCK_OFFSET = 64

#: What ``labctl status`` prints, from what is on disk.
RUN_STATUSES = ("ok", "failed", "aborted", "interrupted", "running")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class FolderLocked(RuntimeError):
    """Another live process writes the run folder."""

    labctl_message = True


def _try_lock(handle: IO[str]) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # Windows (tests fake msvcrt)
            handle.seek(WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _unlock_and_close(handle: IO[str]) -> None:
    """Drop the lock taken by :func:`_try_lock`, then close the file (on POSIX closing
    alone drops it; Windows wants the region unlocked first)."""
    try:
        if fcntl is None:
            handle.seek(WINDOWS_LOCK_OFFSET)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
    except OSError:  # closing drops it anyway when the process ends
        pass
    finally:
        handle.close()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip() or "x")
    except (OSError, ValueError):
        return None


class RunLock:
    """The lock of one run folder, taken by :meth:`acquire` and dropped by :meth:`release`
    (or by the end of the process)."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_FILENAME
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock and write this process's pid; :class:`FolderLocked` when a live
        process holds it."""
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 - kept open
        if not _try_lock(handle):
            handle.close()
            pid = _read_pid(self.path)
            holder = f" (pid {pid})" if pid is not None else ""
            raise FolderLocked(f"{self.path.parent} is being written by a running labctl"
                               f"{holder}; `labctl status {self.path.parent}` tells when it "
                               "ends")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            _unlock_and_close(handle)

    @property
    def held(self) -> bool:
        return self._handle is not None


def locked_by(folder: Path) -> int | None:
    """The pid of the live process that holds the folder's lock (0 when it cannot be read),
    None when nobody holds it."""
    path = Path(folder) / LOCK_FILENAME
    if not path.is_file():
        return None
    handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - closed below
    if _try_lock(handle):
        _unlock_and_close(handle)  # the lock taken to test it
        return None
    handle.close()
    pid = _read_pid(path)
    return 0 if pid is None else pid


def run_status(folder: Path) -> str:
    """What a run folder says, from disk alone: one of :data:`RUN_STATUSES`.

    ``running`` while a live process holds the folder's lock; a summary that says
    ``running`` with nobody holding the lock is ``interrupted`` (the process was killed or
    the PC lost power). Raises ``ValueError`` for a folder without a readable summary.
    """
    folder = Path(folder)
    if locked_by(folder) is not None:
        return "running"
    path = folder / SUMMARY_FILENAME
    try:
        status = json.loads(path.read_text(encoding="utf-8"))["status"]
    except FileNotFoundError:
        raise ValueError(f"no {SUMMARY_FILENAME} in {folder}: not a labctl run folder") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable {path}: {exc}") from None
    if status == "running":
        return "interrupted"
    return str(status) if status in RUN_STATUSES else "failed"
