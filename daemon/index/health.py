"""The index's health: what a failure of the store means, and the state `status`, the tray and the API show.

Every error of Chroma or of photosift's own SQLite files becomes a
`StoreUnavailable` with a kind (`classify`): a full disk, a server that does not
answer, damaged files, a rebuild under way, or anything else. `StoreHealth`
remembers the current one, with how many photos wait for the store, and the last
rebuild; the writer clears it once its held work is written (pipeline.py), and a
damage report asks for a rebuild from photosift's own copy (doctor.py).
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..answers import RebuildInfo, StoreState
from ..dates import iso
from ..errors import StoreUnavailable

log = logging.getLogger(__name__)

NO_ROOM_BYTES = 1 << 20  # less free space than this, and any write error of a local store means a full disk
# what SQLite (Chroma's and ours) and the OS say when a disk is full
_DISK_FULL = ("database or disk is full", "no space left on device", "disk quota exceeded")
# what Chroma's HNSW segments and SQLite say when their files are damaged (truncated, garbage, missing)
_DAMAGE = (
    "database disk image is malformed",
    "file is not a database",
    "error loading hnsw",
    "hnsw segment",
    "error getting embedding",
    "error finding id",
    "corrupt",
)


def classify(exc: BaseException, where: str) -> StoreUnavailable:
    """The failure `exc` of the store at `where`, as a `StoreUnavailable` of the right kind."""
    if isinstance(exc, StoreUnavailable):
        return exc
    text = str(exc).lower()
    if (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or any(s in text for s in _DISK_FULL):
        return StoreUnavailable("disk_full", f"the disk of {where} is full ({exc}): free some space there")
    if _is_connection(exc):
        return StoreUnavailable("unreachable", f"the Chroma server at {where} does not answer ({exc})")
    if any(s in text for s in _DAMAGE):
        return StoreUnavailable("damaged", f"{where} is damaged ({exc})")
    if _no_room(where):  # SQLite often says only "disk I/O error" when its journal cannot grow
        return StoreUnavailable("disk_full", f"the disk of {where} is full ({exc}): free some space there")
    return StoreUnavailable("failing", f"{where} failed: {exc!r}")


def _no_room(where: str) -> bool:
    """True when `where` is a local path whose file system has (almost) no space left."""
    if "://" in where:
        return False
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < NO_ROOM_BYTES
    except OSError:
        return False


def _is_connection(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    import httpx  # Chroma's HTTP client raises httpx's errors; httpx is loaded with it

    return isinstance(exc, httpx.TransportError)


class StoreHealth:
    """The store's current state, reported by whoever meets a failure and cleared by the writer.

    `on_damage(part, reason)` is called once per episode of damage (the engine sends
    the writer a `StoreTask` to repair that part); `waiting` is how many photos the
    writer holds for the store.
    """

    def __init__(self, location: str, data_dir: str = "photosift's data folder",
                 on_damage: Callable[[str, str], None] = lambda part, reason: None) -> None:
        self.location = location
        self.data_dir = data_dir  # where the failure ledger and the tags live (the store may be a server)
        self._on_damage = on_damage
        self._lock = threading.Lock()
        self._failure: StoreUnavailable | None = None
        self._since: float | None = None
        self._repair_asked = False
        self._rebuilt: RebuildInfo | None = None
        self.waiting = 0

    @property
    def ok(self) -> bool:
        with self._lock:
            return self._failure is None

    @property
    def kind(self) -> str:
        with self._lock:
            return "ok" if self._failure is None else self._failure.kind

    def report(self, failure: StoreUnavailable, part: str = "store") -> None:
        """The store failed (`part`: "store", Chroma, or "copy", photosift's own copy); a damaged part is
        repaired once per episode."""
        with self._lock:
            changed = self._failure is None or self._failure.kind != failure.kind
            self._failure = failure
            if changed:
                self._since = time.time()
            repair = failure.kind == "damaged" and not self._repair_asked
            self._repair_asked = self._repair_asked or repair
        if changed:
            log.error("the index cannot be used: %s", failure)
        if repair:
            self._on_damage(part, str(failure))

    def recovered(self) -> None:
        """The store answers and takes writes again."""
        with self._lock:
            was, self._failure, self._since = self._failure, None, None
            self._repair_asked = False
        if was is not None:
            log.info("the index is available again (after: %s)", was)

    def rebuilding(self, reason: str) -> None:
        with self._lock:
            self._failure = StoreUnavailable("rebuilding", f"the index is being rebuilt ({reason})")
            self._since = time.time()

    def rebuilt(self, info: RebuildInfo) -> None:
        """A rebuild finished; remembered for `status` until the daemon stops."""
        with self._lock:
            self._rebuilt = info
            self._failure, self._since, self._repair_asked = None, None, False

    def answer(self) -> StoreState:
        """The state as `status` shows it, with a sentence that says what to do."""
        with self._lock:
            failure, since, rebuilt, waiting = self._failure, self._since, self._rebuilt, self.waiting
        kind = "ok" if failure is None else failure.kind
        return {
            "state": kind,
            "location": self.location,
            "message": None if failure is None else _sentence(kind, str(failure), self.location, waiting),
            "since": None if since is None else iso(since),
            "waiting": waiting,
            "rebuilt": rebuilt,
        }


def _sentence(kind: str, detail: str, location: str, waiting: int) -> str:
    photos = f"{waiting:,} photo{'s' if waiting != 1 else ''} waiting" if waiting else "nothing waiting"
    if kind == "disk_full":
        return f"the index's disk is full ({location}): {photos}; free some space there and indexing resumes by itself"
    if kind == "unreachable":
        return f"the Chroma server at {location} does not answer: {photos}; indexing and search resume when it is back"
    if kind == "damaged":
        return f"the index at {location} is damaged: it is rebuilt from photosift's own copy ({detail})"
    if kind == "rebuilding":
        return f"the index at {location} is being rebuilt from photosift's own copy; search resumes when it is done"
    return f"the index at {location} fails: {detail}; {photos}, photosift retries"
