"""The daemon's last word: why it stopped, or could not start, kept beside its socket for whoever finds it down.

A daemon that fails at start (the model cannot be downloaded, a bad config, a
full disk) used to say why only in its log, which nothing pointed to. It now
writes `daemon.state` beside the API socket (the per-user runtime folder, 0700)
as it starts, once it answers, and as it stops or fails; `photosift status`,
the tray, the search window and install.sh read it when nothing answers.
A daemon killed outright leaves "running" behind with a pid that is gone,
which reads as "ended without a word".
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import atomic

FILE = "daemon.state"
STARTING, RUNNING, STOPPING, STOPPED, FAILED = "starting", "running", "stopping", "stopped", "failed"


@dataclass(frozen=True)
class LastWord:
    """What the daemon with `pid` last said of itself: its state, when, and (stopped, failed) why."""

    state: str
    pid: int
    at: float
    message: str = ""
    exit_code: int | None = None


def path_beside(socket_path: Path) -> Path:
    return socket_path.parent / FILE


def record(socket_path: Path, state: str, message: str = "", exit_code: int | None = None) -> None:
    """Write this process's last word (best effort: a daemon that cannot write it still runs)."""
    word = LastWord(state, os.getpid(), time.time(), message, exit_code)
    with contextlib.suppress(OSError):
        socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic.write_text(path_beside(socket_path), json.dumps(asdict(word)) + "\n", new_mode=0o600)


def read(socket_path: Path) -> LastWord | None:
    """The last word beside `socket_path`, or None when there is none (or it cannot be read)."""
    try:
        return LastWord(**json.loads(path_beside(socket_path).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def explain(word: LastWord | None) -> str | None:
    """A sentence about a daemon that does not answer, from its last word; None if it left none."""
    if word is None:
        return None
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(word.at))
    if word.state == FAILED:
        return f"it failed to start at {when}: {word.message}"
    if word.state == STOPPING and alive(word.pid):
        return f"it is stopping (pid {word.pid}, {word.message} at {when}; it finishes the current batch first)"
    if word.state in (STOPPED, STOPPING):  # stopping, and gone: stopped, as it was asked to
        return f"it stopped at {when} ({word.message})"
    if alive(word.pid):
        if word.state == STARTING:
            return f"it is starting (pid {word.pid}, since {when}; loading the model takes a while the first time)"
        return f"its process (pid {word.pid}) runs but does not answer; {where_logs()}"
    return f"it ended without a word (pid {word.pid}, running since {when}: killed, or crashed); {where_logs()}"


def where_logs() -> str:
    """How to read the daemon's log (the user service's journal, or the file of a background start)."""
    return "`photosift logs` shows why"


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (on Windows it cannot be asked: taken as yes)."""
    if os.name == "nt":  # os.kill(pid, 0) terminates the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
