"""What keeping the index rebuildable costs, and what a rebuild takes, on a store of N records.

  (1) start-up: opening the index through the doctor (SQLite's check of photosift's
      copy, the child-process probe of Chroma, the agreement of the two), against
      opening Chroma alone as photosift did before the copy existed
  (2) the one-time copy of an index made before the copy existed (read back from Chroma)
  (3) a rebuild of the store from the copy (damaged files moved aside, every record
      written into a new HNSW index), and the probe that would have found the damage
  (4) reading every stored embedding: from the copy, and from Chroma

CLIP-like clustered 512-d vectors (see search_recall.py), no model needed.

    python bench/store_rebuild.py                 # 100,000 records
    python bench/store_rebuild.py --size 20000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from machine import describe
from search_latency import fill_store

from photosift.daemon.index.archive import Archive, archive_path
from photosift.daemon.index.doctor import Doctor, Place
from photosift.daemon.index.health import StoreHealth
from photosift.daemon.index.probe import probe_in_child
from photosift.daemon.index.store import Store

MODEL_ID = "bench-rebuild"


def timed(label: str, work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    print(f"  {label:<58} {time.perf_counter() - started:7.1f} s", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records in the store (default 100,000)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    print(describe())
    args.workdir.mkdir(parents=True, exist_ok=True)
    model_id = MODEL_ID
    kept = args.workdir / f"store-{args.size}-{model_id}"
    if not kept.exists():  # built once per size, then copied for each run
        building = kept.with_suffix(".building")
        shutil.rmtree(building, ignore_errors=True)
        fill_store(building, model_id, args.size)
        building.rename(kept)
    run = Path(tempfile.mkdtemp(prefix="rebuild-", dir=args.workdir))
    try:
        data = run / "data"
        shutil.copytree(kept, data)
        print(f"store: {args.size:,} records")
        place = Place("", data, model_id, 512)

        print("(1) start-up")
        timed("open Chroma alone, read every record (before the copy)",
              lambda: len(list(Store.open("", data, model_id, 512).records())))
        doctor = Doctor(place, StoreHealth(str(data)), in_scope=lambda path: True)
        timed("open through the doctor (check, probe, agree)", doctor.open)
        doctor.store.close()
        doctor.archive.close()

        print("(2) the one-time copy of an index made before the copy existed")
        archive_path(data, model_id).unlink()
        doctor = Doctor(place, StoreHealth(str(data)), in_scope=lambda path: True)
        timed("open through the doctor, copying every embedding over", doctor.open)

        print("(3) rebuilding the store from the copy")
        info = timed("rebuild (move aside, write every record anew)", lambda: doctor.rebuild("benchmark"))
        assert info["restored"] == args.size, info
        timed("the child-process probe of the rebuilt store", lambda: probe_in_child(data / "chroma", model_id))

        print("(4) reading every stored embedding")
        copy = Archive(archive_path(data, model_id), 512)
        timed("from photosift's copy", lambda: sum(len(ids) for ids, _ in copy.vectors()))
        timed("from Chroma", lambda: sum(len(ids) for ids, _ in doctor.store.vectors()))
        copy.close()
        doctor.store.close()
        doctor.archive.close()
    finally:
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    main()
