"""Keeping Chroma and photosift's own copy of the index sound and in agreement.

At start-up (`Doctor.open`): the copy is checked by SQLite, the embedded store
is probed in a child process (probe.py), anything damaged is moved aside (never
deleted) and rebuilt from the other, and the two are made to agree: what the
copy holds that Chroma lacks (a crash between the two writes, a rebuilt store)
is written into Chroma from the copy, and what Chroma holds that the copy lacks
(an index made before the copy existed) is copied from Chroma, once. Not a
single image is encoded for any of it.

While running, damage found by a search or a write (health.py) brings the
writer a `StoreTask`, and the writer (the one thread that writes) calls
`repair`; `photosift store check` and `store rebuild` come the same way.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..answers import RebuildInfo, StoreCheck
from ..dates import iso
from ..errors import StoreUnavailable
from .archive import Archive, archive_path
from .health import StoreHealth
from .probe import ChildProbe
from .store import PAGE, FileRecord, Store, record_id

log = logging.getLogger(__name__)

STORE = "store"  # Chroma, where searches run
COPY = "copy"  # photosift's own copy (archive.py)


@dataclass(frozen=True)
class Place:
    """Where one model's index lives: a Chroma server (`store_url`) or the embedded store under `data_dir`."""

    store_url: str
    data_dir: Path
    model_id: str
    embed_dim: int
    keep_retired: float = 30 * 86400  # seconds a removed folder's records stay in the copy (archive.py)

    @property
    def embedded(self) -> bool:
        return not self.store_url

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def copy_path(self) -> Path:
        return archive_path(self.data_dir, self.model_id)


class Doctor:
    """Opens, checks and rebuilds the index of one model. `in_scope` says which records are this
    daemon's to keep in agreement: all of them in the embedded store; on a shared Chroma server, those
    under this daemon's roots (another machine's records are its own business)."""

    def __init__(self, place: Place, health: StoreHealth, in_scope: Callable[[str], bool],
                 pause: Callable[[], None] = lambda: None) -> None:
        self.place = place
        self.pause = pause  # the store's writes wait here between pages while a query runs (store.py)
        self.health = health
        self.in_scope = in_scope
        self.store: Store
        self.archive: Archive
        self._copy_remade: tuple[str, Path] | None = None  # why and where to, when start-up remade the copy

    # -- start-up ----------------------------------------------------------------------------------

    def open(self, probe: ChildProbe | None = None) -> list[FileRecord]:
        """Open the copy and the store, rebuilding whichever is damaged; returns the store's records.

        `probe` is the embedded store's child-process probe if the caller started it early (the engine
        does, before loading the model); otherwise it is run here."""
        self.archive = self._open_copy()
        if self.place.embedded and probe is None:
            probe = ChildProbe(self.place.chroma_dir, self.place.model_id)
        problem = probe.problem() if probe is not None else None
        moved = None
        if problem is not None:
            moved = _move_aside(self.place.chroma_dir)
            log.error("the index at %s is damaged (%s): moved to %s, rebuilding it from photosift's copy",
                      self.place.chroma_dir, problem, moved)
        self.store = self._open_store()
        if problem is not None:
            self._rebuilt(f"damaged: {problem}", moved, *self._fill(self.store))
        try:
            records = self._agree()
        except StoreUnavailable as failure:
            if failure.kind != "damaged" or not self.place.embedded:
                raise
            # the probe's sample missed it; reading everything found it
            self.repair(STORE, str(failure))
            records = self._agree()
        if self._copy_remade is not None:
            reason, moved_copy = self._copy_remade
            self.health.rebuilt({"at": iso(time.time()), "reason": f"photosift's copy was damaged: {reason}",
                                 "moved_to": str(moved_copy), "restored": self.archive.count()})
        return records

    def _open_copy(self) -> Archive:
        path = self.place.copy_path
        try:
            archive = Archive(path, self.place.embed_dim, self._copy_failed, self.place.keep_retired)
            problem = archive.check()
        except StoreUnavailable as failure:
            if failure.kind != "damaged":
                raise
            archive, problem = None, str(failure)
        if problem is None and archive is not None:
            return archive
        if archive is not None:
            archive.close()
        moved = _move_aside(path)
        log.error("photosift's copy of the index %s is damaged (%s): moved to %s, made again from the store",
                  path, problem, moved)
        self._copy_remade = (problem or "unreadable", moved)
        return Archive(path, self.place.embed_dim, self._copy_failed, self.place.keep_retired)

    def _open_store(self) -> Store:
        return Store.open(self.place.store_url, self.place.data_dir, self.place.model_id, self.place.embed_dim,
                          on_failure=self._store_failed, pause=self.pause)

    def _store_failed(self, failure: StoreUnavailable) -> None:
        self.health.report(failure, STORE)

    def _copy_failed(self, failure: StoreUnavailable) -> None:
        self.health.report(failure, COPY)

    def _agree(self) -> list[FileRecord]:
        """Make Chroma and the copy hold the same records (in scope): the copy wins where they differ,
        because the writer writes it first. Returns every record in the store."""
        chroma = {r.path: r for r in self.store.records()}
        copy = {r.path: r for r in self.archive.records() if self.in_scope(r.path)}
        push = [p for p, r in copy.items() if chroma.get(p) != r]
        pull = [p for p in chroma if p not in copy and self.in_scope(p)]
        if pull:
            log.info("copying %d record(s) from the store into photosift's own copy (no image is encoded)", len(pull))
            for start in range(0, len(pull), PAGE):
                chunk = pull[start : start + PAGE]
                vectors = self.store.embeddings(chunk)
                found = [p for p in chunk if p in vectors]
                if found:
                    self.archive.upsert([chroma[p] for p in found], np.stack([vectors[p] for p in found]))
        if push:
            log.info("writing %d record(s) from photosift's copy into the store (no image is encoded)", len(push))
            for start in range(0, len(push), PAGE):
                chunk = push[start : start + PAGE]
                vectors = self.archive.embeddings(chunk)
                self.store.upsert([copy[p] for p in chunk], np.stack([vectors[p] for p in chunk]))
                chroma.update((p, copy[p]) for p in chunk)
        return list(chroma.values())

    # -- running -----------------------------------------------------------------------------------

    def repair(self, part: str, reason: str) -> RebuildInfo:
        """Rebuild the damaged `part` (STORE from the copy, COPY from the store), the damaged files moved
        aside. Called on the writer's thread."""
        if part == COPY:
            return self._rebuild_copy(reason)
        return self.rebuild(f"damaged: {reason}")

    def rebuild(self, reason: str) -> RebuildInfo:
        """Move the store aside (a server's collection: renamed) and write a new one from the copy."""
        self.health.rebuilding(reason)
        moved: str | None
        if self.place.embedded:
            self.store.close_for(reason)
            moved = str(_move_aside(self.place.chroma_dir))
        else:
            moved = f"{self.place.model_id}-aside-{time.strftime('%Y%m%d-%H%M%S')}"
            self.store.rename_aside(moved)
            self.store.close_for(reason)
        fresh = self._open_store()
        filled = self._fill(fresh)  # before it answers: searches get 503 until it holds every record
        self.store.replace(fresh)
        return self._rebuilt(reason, moved, *filled)

    def _fill(self, store: Store) -> tuple[int, float]:
        """Write every record of the copy into a new, empty store; how many, in how many seconds."""
        started, restored = time.perf_counter(), 0
        for records, vectors in self.archive.pages():
            store.upsert(records, vectors)
            restored += len(records)
        return restored, time.perf_counter() - started

    def _rebuilt(self, reason: str, moved: Path | str | None, restored: int, seconds: float) -> RebuildInfo:
        info: RebuildInfo = {"at": iso(time.time()), "reason": reason,
                             "moved_to": None if moved is None else str(moved), "restored": restored}
        log.warning("the index was rebuilt from photosift's copy: %d record(s) in %.1f s, no image encoded "
                    "(the old one is at %s)", restored, seconds, moved)
        self.health.rebuilt(info)
        return info

    def _rebuild_copy(self, reason: str) -> RebuildInfo:
        self.archive.close()
        moved = _move_aside(self.archive.path)
        log.error("photosift's copy of the index is damaged (%s): moved to %s, made again from the store",
                  reason, moved)
        self.archive.reopen()  # a new, empty file; everyone holding the Archive sees it
        self._agree()
        info: RebuildInfo = {"at": iso(time.time()), "reason": f"copy damaged: {reason}", "moved_to": str(moved),
                             "restored": self.archive.count()}
        self.health.rebuilt(info)
        return info

    def check(self) -> StoreCheck:
        """Examine the store and the copy and compare them, changing nothing."""
        copy_problem = self.archive.check()
        copy = {record_id(r.path): r for r in self.archive.records() if self.in_scope(r.path)}
        count, store_problem = self.store.examine()
        stored: dict[str, FileRecord] = {}
        if store_problem is None:
            stored = {record_id(r.path): r for r in self.store.records() if self.in_scope(r.path)}
        missing = sum(1 for i in copy if i not in stored) if store_problem is None else 0
        extra = sum(1 for i in stored if i not in copy)
        differ = sum(1 for i, r in stored.items() if i in copy and copy[i] != r)
        problems = [f"the store: {store_problem}"] if store_problem else []
        problems += [f"photosift's copy: {copy_problem}"] if copy_problem else []
        if missing:
            problems.append(f"{missing} record(s) of photosift's copy are missing from the store")
        if extra:
            problems.append(f"{extra} record(s) of the store are missing from photosift's copy")
        if differ:
            problems.append(f"{differ} record(s) differ between the store and photosift's copy")
        return {"healthy": not problems, "location": self.store.location, "store_records": count,
                "copy_records": len(copy), "copy_location": str(self.archive.path), "problems": problems}


def _move_aside(path: Path) -> Path:
    """Rename a damaged store or copy to `<name>.damaged-<time>` beside it: never deleted, the user decides."""
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):  # SQLite's journal files belong with their database
        journal = path.with_name(path.name + suffix)
        if journal.exists():
            os.replace(journal, target.with_name(target.name + suffix))
    return target
