"""Where an end-to-end index run's time goes, and proof that no file is hashed, decoded or written twice.

Runs `photosift index DIR --once` in this process on N 12 MP JPEGs (made as
`index_throughput.py` makes them) with counters and timers around each stage:
hashing, decoding (the examine thread's wait for its decoder process), the
encoder, the store write, and the encoder's wait for decoded images. Prints the
breakdown and, per file, how many times each stage ran on it.

    python bench/index_profile.py --size 96
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    # everything is imported here, not at the top: each decoder process imports this main module again
    from index_throughput import make_jpegs, vit_b32
    from machine import describe

    from photosift.daemon.cli.main import main as photosift
    from photosift.daemon.index import decoders, keeper, pipeline

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    print(describe())
    files = make_jpegs(args.workdir / f"jpegs-{args.size}", args.size)
    spec, note = vit_b32(args.workdir)
    print(f"model: {note}; files: {len(files)} x 4000x3000 JPEG")

    seconds: dict[str, float] = collections.defaultdict(float)
    per_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    lock = threading.Lock()

    def timed(owner: Any, name: str, stage: str, paths_of: Callable[..., list[str]] | None = None) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                with lock:
                    seconds[stage] += time.perf_counter() - start
                    for path in paths_of(*a, **k) if paths_of else []:
                        per_file[path][stage] += 1

        setattr(owner, name, wrapper)

    timed(pipeline, "content_hash", "hash", lambda path: [str(path)])
    timed(decoders.DecodeWorker, "decode", "decode", lambda self, path, *a, **k: [path])
    timed(pipeline.Stages, "encode", "encode", lambda self, batch: [d.path for d in batch])
    timed(keeper.Keeper, "apply", "write",
          lambda self, op: [d.path for d, _ in op.items] if hasattr(op, "items") else [])
    timed(pipeline.Pipeline, "_next_batch", "encoder waits for images")

    data = tempfile.mkdtemp(dir=args.workdir, prefix="profile-")
    config = Path(data) / "config.toml"
    config.write_text(f'model = "{spec}"\nbatch_size = {args.batch_size}\n')
    os.environ.update(PHOTOSIFT_CONFIG=str(config), PHOTOSIFT_DATA_DIR=data)
    started = time.perf_counter()
    code = photosift(["index", str(files[0].parent), "--once", "--quiet"])
    wall = time.perf_counter() - started
    assert code == 0, code

    print(f"\nstage totals (threads add up: examine runs on several at once), wall {wall:.1f} s incl. model load:")
    for stage, total in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:28s} {total:7.2f} s  ({1000 * total / len(files):6.1f} ms per image)")
    counts = collections.Counter()
    for stages in per_file.values():
        for stage, n in stages.items():
            counts[(stage, n)] += 1
    print("\nper file: how many times each stage ran on it")
    for (stage, n), files_ in sorted(counts.items()):
        print(f"  {stage:8s} x{n}: {files_} files")
    twice = {path: dict(c) for path, c in per_file.items() if any(n > 1 for n in c.values())}
    print("no file went through a stage twice" if not twice else f"TWICE: {twice}")


if __name__ == "__main__":
    main()
