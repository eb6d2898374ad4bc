"""What decoding a query's image in a decoder process costs ("find similar" on a file that is not
indexed, classify): the first query (the worker starts), warm queries, and the same decode in the
calling thread, in one run on real 12 MP JPEGs.

    python bench/query_decode.py               # 10 files
    python bench/query_decode.py --size 30
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from machine import describe

from photosift.daemon.decode import Limits, decode_file
from photosift.daemon.index.decoders import Budget, DecodeWorker, QueryDecoders

SIZE = 224  # ViT-B/32's input


def ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10, help="12 MP JPEGs decoded each way (default 10)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    print(describe(), flush=True)
    # imported here: the decoder processes import this script again, and torch (which index_throughput
    # brings) would be the first query's cost, not the worker's
    from index_throughput import make_jpegs

    files = [str(p) for p in make_jpegs(args.workdir / "jpegs-12mp", args.size)]
    # in the daemon the indexing pipeline's workers run already: the fork server is up
    indexing = DecodeWorker(Budget())
    indexing.start()
    decoders = QueryDecoders(Budget())
    try:
        started = time.perf_counter()
        decoders.decode(files[0], SIZE, Limits())
        first = ms(started)
        worker, thread = [], []
        for path in files:  # alternating, so that drift hits both alike
            started = time.perf_counter()
            decoders.decode(path, SIZE, Limits())
            worker.append(ms(started))
            started = time.perf_counter()
            decode_file(path, SIZE, Limits())
            thread.append(ms(started))
    finally:
        decoders.stop()
        indexing.stop()
    print(f"first query (the worker starts): {first:6.1f} ms")
    print(f"warm, in a decoder process:      {statistics.median(worker):6.1f} ms (median of {len(files)})")
    print(f"in the calling thread:           {statistics.median(thread):6.1f} ms (median of {len(files)})")


if __name__ == "__main__":
    main()
