"""Starting, stopping and reading the daemon the way it runs here: `photosift start|stop|restart|logs`.

Where photosift's user service is installed and `systemd --user` runs, the
service manager does it (so it keeps restarting a daemon that fails, and logs to
the journal); otherwise the daemon runs as a background process of the user's,
logging to `daemon.log` in photosift's cache folder. The tray's and the search
window's Start use `start` too, so every way of starting one behaves alike.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from photosift.daemon import last_word
from photosift.daemon.client import answering_pid

from .service import UNIT, start_in_background, stop_daemon, user_systemd_running

LOG_FILE = "daemon.log"


@dataclass(frozen=True)
class Started:
    """How a daemon was started: by its user service (`process` None), or as the returned background process."""

    how: str
    process: subprocess.Popen[bytes] | None


def uses_service(home: Path) -> bool:
    """Whether the daemon runs as photosift's systemd user service here (installed, and systemd answers)."""
    return (sys.platform.startswith("linux") and (home / ".config/systemd/user" / UNIT).exists()
            and user_systemd_running())


def start(photosift: list[str], home: Path, logs: Path) -> Started:
    """Start the daemon through its user service where that is how it runs here, else in the background.
    Returns at once: the daemon says when it answers (`photosift status --wait`)."""
    if uses_service(home):
        done = subprocess.run(["systemctl", "--user", "start", UNIT], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise OSError(f"systemctl --user start {UNIT} failed: {done.stderr.strip()}")
        return Started(f"its user service {UNIT}", None)
    process = start_in_background(photosift, "daemon", logs / LOG_FILE)
    return Started(f"pid {process.pid}, logging to {logs / LOG_FILE}", process)


def daemon_pid(socket: Path) -> int | None:
    """The daemon's pid: the one that answers, else one still starting (loading its model) or stopping."""
    pid = answering_pid(socket)
    if pid is not None:
        return pid
    word = last_word.read(socket)
    alive = (last_word.STARTING, last_word.RUNNING, last_word.STOPPING)
    if word is not None and word.state in alive and last_word.alive(word.pid):
        return word.pid
    return None


def stop(socket: Path, home: Path, timeout: float = 120.0) -> str:
    """Stop the daemon (it finishes its batch and closes the index first) and say what was done."""
    pid = daemon_pid(socket)
    if uses_service(home):
        subprocess.run(["systemctl", "--user", "stop", UNIT], capture_output=True, text=True, timeout=timeout)
        return f"stopped {UNIT}" if pid is not None else f"{UNIT} was not running"
    if pid is None:
        return "the daemon was not running"
    gone = stop_daemon(pid, lambda: daemon_pid(socket) is not None, timeout)
    if not gone:
        raise OSError(f"the daemon (pid {pid}) did not stop within {timeout:g} s; `kill {pid}` stops it at once "
                      "(the index survives that)")
    return f"stopped the daemon (pid {pid})"


def log_command(home: Path, logs: Path, lines: int, follow: bool) -> list[str] | Path:
    """What shows the daemon's log: the journal's command line where the service logs there, else the file."""
    journalctl = shutil.which("journalctl")
    if journalctl is not None and uses_service(home):
        return [journalctl, "--user", "--unit", UNIT, "--lines", str(lines), "--output", "cat", "--no-pager",
                *(["--follow"] if follow else [])]
    return logs / LOG_FILE
