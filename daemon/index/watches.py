"""Which folders the OS really watches, and which must be looked at on a timer instead.

watchdog adds one inotify watch per folder and, when the per-user limit
(`fs.inotify.max_user_watches`) is reached, silently skips the folders it could
not watch: changes there would never be seen. The kernel itself says what is
watched: `/proc/self/fdinfo/<fd>` lists every watch of an inotify instance by
device and inode. `Coverage` compares the folders a scan walked with that list
and keeps those it lacks as candidates. A folder made a moment ago may not be
watched *yet* (watchdog adds its watch when it reads the folder's creation
event), so a candidate is confirmed only when it is still unwatched at least
`SETTLE_SECONDS` later, at the next poll; only confirmed folders are shown,
warned about (once, with the fix) and polled by roots.py every `POLL_SECONDS`.

Elsewhere than Linux (FSEvents, ReadDirectoryChangesW) one watch covers a whole
tree: there is nothing to compare, and every walked folder counts as watched.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

POLL_SECONDS = 30.0  # an unwatched folder is looked at this often: a new file there is indexed within it
SETTLE_SECONDS = 5.0  # a folder still unwatched this long after a scan found it so is past the limit
_LIMITS = ("/proc/sys/fs/inotify/max_user_watches", "/proc/sys/user/max_inotify_watches")

FolderId = tuple[int, int, int]  # (major, minor, inode) of a folder


def folder_id(st: os.stat_result) -> FolderId:
    return os.major(st.st_dev), os.minor(st.st_dev), st.st_ino


def watched_folders() -> set[FolderId] | None:
    """Every inode this process's inotify instances watch, or None where the OS does not tell."""
    if not sys.platform.startswith("linux"):
        return None
    found: set[FolderId] = set()
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            info = Path(f"/proc/self/fdinfo/{fd}").read_text()
        except OSError:
            continue  # closed meanwhile
        for line in info.splitlines():
            # "inotify wd:3 ino:2a7 sdev:800001 mask:...": sdev is the kernel's dev_t (major << 20 | minor)
            if line.startswith("inotify "):
                fields = dict(part.split(":", 1) for part in line.split()[1:] if ":" in part)
                sdev, ino = int(fields["sdev"], 16), int(fields["ino"], 16)
                found.add((sdev >> 20, sdev & 0xFFFFF, ino))
    return found


def watch_limits() -> tuple[int, ...]:
    """The inotify watch limits in force (the system's, and the user namespace's where there is one)."""
    values = []
    for path in _LIMITS:
        try:
            values.append(int(Path(path).read_text()))
        except (OSError, ValueError):
            continue
    return tuple(values)


class Coverage:
    """Unwatched folders per root, from what scans walked and what the kernel watches. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._candidates: dict[str, dict[str, tuple[FolderId, float]]] = {}  # root: {folder: (id, first seen)}
        self._confirmed: dict[str, list[str]] = {}
        self._warned: set[str] = set()
        self.limits_when_found: tuple[int, ...] = ()

    def update(self, root: str, folder: str, walked: Iterable[tuple[str, FolderId]]) -> None:
        """A scan walked `folder` (under `root`) and everything in it: what it found replaces what was
        known there."""
        prefix = folder.rstrip(os.sep) + os.sep
        self._replace(root, lambda p: p == folder or p.startswith(prefix), walked)

    def polled(self, root: str, polled: list[str], walked: Iterable[tuple[str, FolderId]]) -> set[str]:
        """The unwatched folders `polled` were looked at, meeting `walked` (themselves, where they still
        exist, and their subfolders); returns the unwatched subfolders met for the first time."""
        before = set(polled)
        known = set(self._candidates.get(root, ()))
        self._replace(root, before.__contains__, walked)
        return set(self._candidates.get(root, ())) - known - before

    def _replace(self, root: str, covered: Callable[[str], bool], walked: Iterable[tuple[str, FolderId]]) -> None:
        watched = watched_folders()
        if watched is None:
            return
        now = self._clock()
        with self._lock:
            old = self._candidates.get(root, {})
            current = {p: seen for p, seen in old.items() if not covered(p)}
            for path, ident in walked:
                if ident not in watched:
                    current[path] = (ident, old[path][1] if path in old else now)
            self._candidates[root] = current
            self._confirmed[root] = [p for p in self._confirmed.get(root, []) if p in current]

    def confirm(self) -> None:
        """Look again at the candidates: those watched by now are dropped, those unwatched since at least
        SETTLE_SECONDS are confirmed (and warned about, once per root, with the fix)."""
        watched = watched_folders()
        if watched is None:
            return
        now = self._clock()
        first: list[tuple[str, int]] = []
        with self._lock:
            for root, candidates in self._candidates.items():
                for path in [p for p, (ident, _) in candidates.items() if ident in watched]:
                    del candidates[path]
                self._confirmed[root] = sorted(p for p, (_, seen) in candidates.items()
                                               if now - seen >= SETTLE_SECONDS)
                if self._confirmed[root] and root not in self._warned:
                    self._warned.add(root)
                    self.limits_when_found = watch_limits()
                    first.append((root, len(self._confirmed[root])))
                elif not candidates:
                    self._warned.discard(root)  # warn again if it comes back
        for root, count in first:
            limit = " / ".join(str(v) for v in self.limits_when_found) or "unknown"
            log.warning("%d folder(s) under %s cannot be watched: the inotify watch limit is reached "
                        "(fs.inotify.max_user_watches: %s). Raise it, e.g. `sudo sysctl fs.inotify.max_user_watches"
                        "=524288` (and in /etc/sysctl.d/ to keep it); until then photosift looks at those folders "
                        "every %g s", count, root, limit, POLL_SECONDS)

    def pending(self) -> bool:
        """Whether any folder is unwatched, or may be: a poll is due."""
        with self._lock:
            return any(self._candidates.values())

    def unwatched(self, root: str) -> list[str]:
        """The confirmed folders under `root` that no watch covers, sorted."""
        with self._lock:
            return list(self._confirmed.get(root, ()))

    def forget(self, root: str) -> None:
        """The root is no longer watched at all (removed, offline), or is about to be watched afresh."""
        with self._lock:
            self._candidates.pop(root, None)
            self._confirmed.pop(root, None)
            self._warned.discard(root)

    def limits_raised(self) -> bool:
        """True when the watch limit is now higher than when unwatched folders were found."""
        now = watch_limits()
        return bool(self.limits_when_found) and any(
            new > old for new, old in zip(now, self.limits_when_found, strict=False))
