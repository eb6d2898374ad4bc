"""An in-memory mirror of the index's metadata: what is indexed, by path and by content.

Loaded once from the store at start-up and kept in step by the store writer,
it answers the pipeline's hot questions (is this file unchanged? have we
already embedded these bytes somewhere else?) without a store round trip.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable

from ..decode import FileStat
from .store import FileRecord


class Catalog:
    """Indexed files by path and by content hash. Safe to read from any thread."""

    def __init__(self, records: Iterable[FileRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[str, FileRecord] = {}
        self._by_hash: dict[str, set[str]] = defaultdict(set)
        self._by_folder: dict[str, set[str]] = defaultdict(set)  # the folders polled for want of a watch
        self._per_root: Counter[str] = Counter()
        self.generation = 0  # moves with every change: readers that keep something derived see it is stale
        for record in records:
            self._add(record)

    def _add(self, record: FileRecord) -> None:
        old = self._by_path.get(record.path)
        if old is not None:
            self._forget(old)
        self._by_path[record.path] = record
        self._by_hash[record.content_hash].add(record.path)
        self._by_folder[os.path.dirname(record.path)].add(record.path)
        self._per_root[record.root] += 1

    def _forget(self, record: FileRecord) -> None:
        paths = self._by_hash.get(record.content_hash)
        if paths is not None:
            paths.discard(record.path)
            if not paths:
                del self._by_hash[record.content_hash]
        folder = os.path.dirname(record.path)
        siblings = self._by_folder.get(folder)
        if siblings is not None:
            siblings.discard(record.path)
            if not siblings:
                del self._by_folder[folder]
        self._per_root[record.root] -= 1

    def put(self, records: Iterable[FileRecord]) -> None:
        with self._lock:
            for record in records:
                self._add(record)
            self.generation += 1

    def reset(self, records: Iterable[FileRecord]) -> None:
        """Hold exactly `records` from now on (the store was rebuilt from them)."""
        with self._lock:
            self._by_path.clear()
            self._by_hash.clear()
            self._by_folder.clear()
            self._per_root.clear()
            for record in records:
                self._add(record)
            self.generation += 1

    def remove(self, paths: Iterable[str]) -> None:
        with self._lock:
            for path in paths:
                record = self._by_path.pop(path, None)
                if record is not None:
                    self._forget(record)
            self.generation += 1

    def get(self, path: str) -> FileRecord | None:
        with self._lock:
            return self._by_path.get(path)

    def unchanged(self, path: str, stat: FileStat) -> bool:
        """True when `path` is indexed at exactly this size and mtime."""
        record = self.get(path)
        return record is not None and record.size == stat.size and record.mtime_ns == stat.mtime_ns

    def same_content(self, content_hash: str) -> list[str]:
        """Indexed paths whose bytes hash to `content_hash`."""
        with self._lock:
            return sorted(self._by_hash.get(content_hash, ()))

    def paths(self) -> set[str]:
        with self._lock:
            return set(self._by_path)

    def under(self, folder: str) -> list[str]:
        """Indexed paths inside `folder` (recursively)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            return [p for p in self._by_path if p.startswith(prefix)]

    def in_folder(self, folder: str) -> list[str]:
        """Indexed paths directly in `folder` (not in its subfolders)."""
        with self._lock:
            return sorted(self._by_folder.get(folder.rstrip(os.sep) or os.sep, ()))

    def count_in_root(self, root: str) -> int:
        """How many indexed files lie under the root `root`: those indexed under it, plus those
        indexed under folders it has since absorbed (cheap: a counter per root they were indexed in)."""
        prefix = root.rstrip(os.sep) + os.sep
        with self._lock:
            return sum(n for r, n in self._per_root.items() if r == root or r.startswith(prefix))

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_path)
