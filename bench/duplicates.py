"""How long finding every near-duplicate group takes on a large library (target: 100,000 records in at
most 60 s on a 2-core CPU), with the method photosift uses: blocked matrix products over the stored
embeddings (duplicates/near.py), proven by stored perceptual hashes (duplicates/groups.py).

The library is photosift's own copy of the embeddings with N records of CLIP-like clustered vectors
(search_recall.py's), 1 in 50 with one to three planted near-copies (the embedding moved slightly, the
pHash a few bits off), every record's pHash known (as for photos indexed by this version). Both number
formats run when this CPU has native bf16 (what the daemon uses there), fp32 otherwise.

    python bench/duplicates.py                  # 100,000 records
    python bench/duplicates.py --size 20000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from machine import describe
from memory import rss_mb
from search_recall import clustered

from photosift.daemon.duplicates.groups import find
from photosift.daemon.index.archive import Archive
from photosift.daemon.index.store import FileRecord
from photosift.daemon.precision import native_bf16

DIM = 512


def build(path: Path, n: int) -> tuple[Archive, list[str], int]:
    """N records in a copy at `path`, the last ones planted copies of earlier ones; returns the copy, the
    paths, and how many photos have copies."""
    rng = np.random.default_rng(5)
    originals = n - n // 50 * 2  # room for the copies (two on average)
    vectors = clustered(3, originals, DIM, 500, 0.6, 32)
    phashes = rng.integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64) * 2 + 1
    sources = rng.choice(originals, size=n // 50, replace=False)
    copies = rng.integers(1, 4, size=len(sources))
    rows, planted = [*range(originals)], 0
    extra_vectors = []
    for source, count in zip(sources, copies, strict=True):
        made = min(int(count), n - len(rows))
        planted += made > 0
        for _ in range(made):
            moved = vectors[source] + rng.normal(size=DIM).astype(np.float32) * 0.004
            extra_vectors.append(moved / np.linalg.norm(moved))
            phashes[len(rows)] = phashes[source] ^ np.uint64(1 << int(rng.integers(0, 64)))
            rows.append(int(source))
    allv = np.concatenate([vectors, np.stack(extra_vectors)])[:n]
    archive = Archive(path, DIM)
    paths = [f"/library/{i // 1000:03d}/IMG_{i:07d}.jpg" for i in range(len(allv))]
    for start in range(0, len(allv), 5000):
        end = min(start + 5000, len(allv))
        records = [FileRecord(paths[i], "/library", 3_000_000, 1, f"{i:032x}", 4000, 3000, 1_600_000_000 + i,
                              "bench") for i in range(start, end)]
        archive.upsert(records, allv[start:end])
        archive.put_phashes({f"{i:032x}": int(phashes[i]) for i in range(start, end)})
        print(f"\rwriting the copy: {end:,}/{len(allv):,}", end="", flush=True)
    print(flush=True)
    return archive, paths, planted


def reset_peak() -> None:
    """Start VmHWM afresh (Linux: writing 5 to clear_refs), so that each run's peak is its own."""
    with contextlib.suppress(OSError):  # without it, the peak covers what ran before too
        Path("/proc/self/clear_refs").write_text("5")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records (default 100,000)")
    args = ap.parse_args()
    print(describe(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="duplicates-"))
    try:
        archive, paths, planted = build(work / "copy.sqlite", args.size)
        formats = [torch.bfloat16, torch.float32] if native_bf16() else [torch.float32]
        for dtype in formats:
            before = rss_mb(os.getpid())
            reset_peak()
            started = time.perf_counter()
            groups = find(archive, paths, compute=lambda _record: None, dtype=dtype)
            seconds = time.perf_counter() - started
            print(f"{str(dtype).removeprefix('torch.'):>9}: {len(paths):,} records, {len(groups):,} groups "
                  f"({planted:,} planted) in {seconds:.1f} s (blocked matrix products + pHash proof); "
                  f"memory: {before:.0f} MB before, peak {rss_mb(os.getpid(), 'VmHWM'):.0f} MB", flush=True)
        archive.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
