"""The run folder's lock on Windows (``msvcrt.locking``), run here with ``msvcrt`` faked.

The fake keeps byte-range locks per file (device and inode) and position, as Windows does
per handle: a second handle cannot lock a byte another holds (``OSError``), unlocking a byte
not held fails, and the test checks that every lock taken was released before its file was
closed. The POSIX path (``fcntl.flock``) is what the rest of the suite runs.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from labctl.storage import lock as lock_module
from labctl.storage.lock import FolderLocked, RunLock, locked_by, run_status


class FakeMsvcrt:
    """``msvcrt.locking`` as Windows does it, for one process's handles."""

    LK_UNLCK, LK_NBLCK = 0, 2

    def __init__(self) -> None:
        self.held: dict[tuple[int, int, int], int] = {}  # (dev, ino, offset) -> fd
        self.calls: list[tuple[int, int]] = []           # (mode, offset)

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1
        stat = os.fstat(fd)
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        key = (stat.st_dev, stat.st_ino, offset)
        self.calls.append((mode, offset))
        if mode == self.LK_NBLCK:
            if key in self.held:
                raise OSError(errno.EACCES, "Permission denied")
            self.held[key] = fd
        elif mode == self.LK_UNLCK:
            if self.held.get(key) != fd:
                raise OSError(errno.EACCES, "Permission denied")
            del self.held[key]
        else:
            raise AssertionError(f"unexpected mode {mode}")


@pytest.fixture
def msvcrt(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    monkeypatch.setattr(lock_module, "fcntl", None)
    monkeypatch.setattr(lock_module, "msvcrt", fake, raising=False)
    return fake


def _summary(folder: Path, status: str) -> None:
    (folder / "summary.json").write_text(f'{{"status": "{status}"}}', encoding="utf-8")


def test_the_windows_lock_is_held_told_and_released(tmp_path: Path, msvcrt: Any) -> None:
    _summary(tmp_path, "running")
    first = RunLock(tmp_path)
    first.acquire()
    assert first.held and msvcrt.held
    assert (tmp_path / ".lock").read_text(encoding="ascii") == f"{os.getpid()}\n"
    with pytest.raises(FolderLocked, match=rf"running labctl \(pid {os.getpid()}\)"):
        RunLock(tmp_path).acquire()
    assert locked_by(tmp_path) == os.getpid()
    assert run_status(tmp_path) == "running"
    first.release()
    assert not msvcrt.held                           # unlocked before the file was closed
    assert locked_by(tmp_path) is None and not msvcrt.held
    assert run_status(tmp_path) == "interrupted"     # "running" on disk, nobody holds it
    again = RunLock(tmp_path)
    again.acquire()                                  # free again: a resume may take it
    again.release()


def test_the_windows_lock_byte_lies_past_the_pid(tmp_path: Path, msvcrt: Any) -> None:
    """A region locked with msvcrt.locking cannot be read by another process: the locked
    byte is past the pid text, so ``labctl status`` can still read who holds the folder."""
    held = RunLock(tmp_path)
    held.acquire()
    try:
        pid_bytes = len((tmp_path / ".lock").read_bytes())
        offsets = {offset for _, offset in msvcrt.calls}
        assert offsets == {lock_module.WINDOWS_LOCK_OFFSET}
        assert lock_module.WINDOWS_LOCK_OFFSET >= pid_bytes
    finally:
        held.release()
    assert [mode for mode, _ in msvcrt.calls] == [msvcrt.LK_NBLCK, msvcrt.LK_UNLCK]
