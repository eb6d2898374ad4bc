"""The data dir lock: a second owner is refused at once, and a dead owner's lock is free."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from photosift.daemon.errors import StoreLocked
from photosift.daemon.lock import DataDirLock

HOLD = """
import sys, time
from pathlib import Path
from photosift.daemon.lock import DataDirLock
lock = DataDirLock(Path(sys.argv[1]))
lock.acquire("daemon")
print("locked", flush=True)
time.sleep(600)
"""


def test_second_owner_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        lock = DataDirLock(tmp_path)
        with pytest.raises(StoreLocked, match=rf"pid {holder.pid} \(daemon\)"):
            lock.acquire()
        assert lock.is_held_elsewhere()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 leaves no stale lock: the kernel released it with the process
    lock = DataDirLock(tmp_path)
    lock.acquire()
    lock.release()
    assert not lock.is_held_elsewhere()
