"""Groups of near-identical photos, found from what the index already holds; nothing is encoded again.

Embeddings propose: two photos whose embeddings are at least `CANDIDATE` alike
are candidates (near.py). Embeddings cannot decide alone: CLIP puts two shots of
one scene close, and the tests' tiny model puts any two red circles close. A
pixel-level signal decides: the two pictures' perceptual hashes differ in at
most `MAX_BITS` of 64 (decode.perceptual_hash; calibrated in docs/duplicates.md).
Byte-identical files (one content hash) are a group of their own kind.

In each group the copy to keep comes first: the largest picture, then the
oldest, then one outside a folder that collects copies (Downloads, WhatsApp…).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from ..index.archive import Archive
from ..index.store import FileRecord
from .near import close_pairs

log = logging.getLogger(__name__)

CANDIDATE = 0.9  # cosine of the embeddings for a pair to be looked at
MAX_BITS = 12  # of the 64 of a pHash: re-saved, resized, recoloured, cropped by up to ~3 % a side
# how the names of folders where copies collect begin: a photo there is the one to let go when a twin lies
# elsewhere
COPIES = ("download", "whatsapp", "telegram", "signal", "messenger", "received", "sent")

PHash = Callable[[FileRecord], int | None]  # a record's pHash computed now (its file decoded), None if it cannot


@dataclass(frozen=True)
class Group:
    """Photos that are the same picture: `identical` (the same bytes) or `near` (the same picture, saved,
    sized or edited differently). The one to keep first."""

    kind: str
    files: list[FileRecord]


def find(archive: Archive, indexed: Iterable[str], compute: PHash, folder: str | None = None,
         dtype: torch.dtype = torch.float32) -> list[Group]:
    """Every group among the indexed photos (under `folder`, if given), largest groups first."""
    wanted = set(indexed)
    inside = (folder.rstrip(os.sep) + os.sep) if folder else ""
    records: list[FileRecord] = []
    by_bytes: dict[str, list[int]] = {}
    # one of each set of identical files (its first) stands for all of them among the candidates; their
    # embeddings are kept a page at a time (100,000 one-row arrays would cost half as much again)
    speakers: list[int] = []
    chosen: list[np.ndarray] = []
    for page, embeddings in archive.pages():
        rows = []
        for row, record in enumerate(page):
            if record.path not in wanted or not record.path.startswith(inside):
                continue
            same = by_bytes.setdefault(record.content_hash, [])
            if not same:
                speakers.append(len(records))
                rows.append(row)
            same.append(len(records))
            records.append(record)
        chosen.append(embeddings[rows])
    if len(records) < 2:
        return []
    vectors = np.concatenate(chosen)
    del chosen
    pairs = close_pairs(vectors, CANDIDATE, dtype)
    del vectors
    proven = _prove([(speakers[p.first], speakers[p.second]) for p in pairs], records, archive, compute)
    joined = _Union(len(records))
    for members in by_bytes.values():
        for other in members[1:]:
            joined.join(members[0], other)
    for a, b in proven:
        joined.join(a, b)
    groups = []
    for members in joined.sets():
        if len(members) < 2:
            continue
        kind = "identical" if len({records[i].content_hash for i in members}) == 1 else "near"
        groups.append(Group(kind, sorted((records[i] for i in members), key=keep_order)))
    groups.sort(key=lambda g: (-len(g.files), g.files[0].path))
    log.info("%d duplicate group(s) among %d photos (%d candidate pairs, %d proven)", len(groups), len(records),
             len(pairs), len(proven))
    return groups


def keep_order(record: FileRecord) -> tuple[int, int, bool, str]:
    """How a group is sorted, the copy to keep first: the largest picture, then the oldest, then one outside
    a folder where copies collect (then by path, so that the order is stable)."""
    folders = os.path.dirname(record.path).lower().split(os.sep)
    in_copies = any(name.startswith(COPIES) for name in folders)  # "Downloads", "WhatsApp Images"; not "present"
    return -record.width * record.height, record.taken_at, in_copies, record.path


def _prove(pairs: list[tuple[int, int]], records: list[FileRecord], archive: Archive,
           compute: PHash) -> list[tuple[int, int]]:
    """The candidate pairs whose pictures' perceptual hashes agree; hashes not known yet (photos indexed
    before photosift kept them, or decoded on a GPU) are computed now and remembered."""
    needed = {records[i].content_hash: records[i] for pair in pairs for i in pair}
    known = archive.phashes(needed)
    fresh = {}
    for digest, record in needed.items():
        if digest not in known and (value := compute(record)) is not None:
            fresh[digest] = value
    if fresh:
        archive.put_phashes(fresh)
        known.update(fresh)
    proven = []
    for a, b in pairs:
        ha, hb = known.get(records[a].content_hash), known.get(records[b].content_hash)
        if ha is not None and hb is not None and (ha ^ hb).bit_count() <= MAX_BITS:
            proven.append((a, b))
    return proven


class _Union:
    """Disjoint sets over 0..n-1 (union by size, path halving)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]

    def sets(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())
