"""Telling someone: the station's ``notify_command`` when a run does not end ``ok``.

The command is run without a shell, with the path of the run's ``summary.json`` as its last
argument, so a lab can send itself a message (mail, chat, a pager) when a run ends failed or
aborted -- a fault, a full disk, Ctrl-C, SIGTERM. The environment also carries
``LABCTL_RUN_STATUS``, ``LABCTL_RUN_ERROR`` and ``LABCTL_RUN_FOLDER``. A command that cannot
be started, fails or takes longer than :data:`NOTIFY_TIMEOUT_S` is logged as a warning and
never changes the run's status or exit status.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ["NOTIFY_TIMEOUT_S", "notify_run_end", "run_notify_command"]

#: Longest real time the notify command may take before it is killed [s].
NOTIFY_TIMEOUT_S = 60.0
#: Statuses that call for a notification (a run that ended ``ok`` sends none).
NOTIFIED_STATUSES = frozenset({"failed", "aborted"})


def run_notify_command(command: Sequence[str], summary_path: Path,
                       summary: Mapping[str, Any],
                       timeout_s: float = NOTIFY_TIMEOUT_S) -> str | None:
    """Run ``command`` with ``summary_path`` appended; return None on success, else the
    one-line reason it failed (also logged as a warning)."""
    argv = [str(part) for part in command] + [str(summary_path)]
    env = dict(os.environ)
    env["LABCTL_RUN_STATUS"] = str(summary.get("status", ""))
    env["LABCTL_RUN_ERROR"] = str(summary.get("error") or "")
    env["LABCTL_RUN_FOLDER"] = str(Path(summary_path).parent)
    try:
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, errors="replace", timeout=timeout_s, check=False)
    except FileNotFoundError:
        reason = f"cannot run {argv[0]!r}: no such program"
    except PermissionError:
        reason = f"cannot run {argv[0]!r}: not executable"
    except subprocess.TimeoutExpired:
        reason = f"{argv[0]!r} did not finish within {timeout_s:g} s and was stopped"
    except OSError as exc:
        reason = f"cannot run {argv[0]!r}: {exc.strerror or exc}"
    else:
        if done.returncode == 0:
            return None
        last = (done.stderr or done.stdout or "").strip().splitlines()
        detail = f": {last[-1][:200]}" if last else ""
        reason = f"{argv[0]!r} exited with status {done.returncode}{detail}"
    log.warning("notify_command failed: %s", reason)
    return f"notify_command failed: {reason}"


def notify_run_end(command: Sequence[str] | None, summary_path: Path,
                   summary: Mapping[str, Any]) -> str | None:
    """Run the station's notify command when the run did not end ``ok``; return the reason
    it failed (None when it ran, or nothing was to be run). Never raises."""
    if not command or summary.get("status") not in NOTIFIED_STATUSES:
        return None
    try:
        return run_notify_command(command, summary_path, summary)
    except Exception as exc:  # noqa: BLE001 - a notification never changes the run's ending
        log.warning("notify_command failed: %s", exc)
        return f"notify_command failed: {exc}"
