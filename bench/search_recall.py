"""Search quality and latency of the real store: recall@10 of Chroma's HNSW against exact search.

N clustered synthetic 512-d unit vectors (CLIP embeddings of a photo library
cluster by subject: many near-duplicates of a few scenes) go into a real
Chroma collection opened through photosift's Store, with photosift's HNSW
settings; queries are fresh points near the clusters.

    python bench/search_recall.py                 # 100,000 vectors
    python bench/search_recall.py --size 20000 --queries 100
    python bench/search_recall.py --chroma-defaults   # the same, with Chroma's default HNSW settings
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

from photosift.daemon.index import store as store_module
from photosift.daemon.index.store import FileRecord, Store


def clustered(seed: int, n: int, dim: int, clusters: int, spread: float, intrinsic: int) -> np.ndarray:
    """Unit vectors in `clusters` subjects of Zipf-distributed sizes.

    Like CLIP embeddings, every vector shares a common direction, and a subject
    varies along a few directions of its own (`intrinsic` of them) rather than
    in all 512 at once; `intrinsic = dim` gives isotropic clusters instead.
    """
    rng = np.random.default_rng(0)  # the library's subjects are fixed; `seed` draws points from them
    common = _unit(rng.normal(size=dim).astype(np.float32))
    centres = _unit(_unit(rng.normal(size=(clusters, dim)).astype(np.float32)) + common)  # pairwise cos ~0.5
    bases = _unit(rng.normal(size=(clusters, intrinsic, dim)).astype(np.float32))
    sizes = rng.zipf(1.6, size=clusters).astype(np.float64)  # a few big subjects, many small ones
    draw = np.random.default_rng(seed)
    which = draw.choice(clusters, size=n, p=sizes / sizes.sum())
    z = draw.normal(size=(n, intrinsic)).astype(np.float32) * spread / np.sqrt(intrinsic)
    vecs = centres[which] + np.einsum("ni,nid->nd", z, bases[which])  # |noise| ~ spread
    vecs += 0.1 * spread * _unit(draw.normal(size=(n, dim)).astype(np.float32))
    return _unit(vecs)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--clusters", type=int, default=500)
    ap.add_argument("--spread", type=float, default=0.6, help="how far a subject's vectors spread")
    ap.add_argument("--intrinsic", type=int, default=32, help="directions a subject varies along")
    ap.add_argument("--chroma-defaults", action="store_true", help="use Chroma's default HNSW parameters")
    args = ap.parse_args()
    print(describe())

    if args.chroma_defaults:
        store_module.HNSW = {"space": "cosine"}
    print(f"HNSW settings: {store_module.HNSW}")
    data = clustered(7, args.size, args.dim, args.clusters, args.spread, args.intrinsic)
    queries = clustered(8, args.queries, args.dim, args.clusters, args.spread, args.intrinsic)
    sims = data[:2000] @ data[:2000].T
    print(f"mean cosine between random vectors: {sims[np.triu_indices(2000, 1)].mean():.2f}; "
          f"mean top-10 cosine of a query: {np.sort(queries @ data.T, axis=1)[:, -10:].mean():.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open("", Path(tmp), "bench-recall", args.dim)
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, args.size, batch):
            end = min(start + batch, args.size)
            records = [FileRecord(f"/bench/{i:07d}.jpg", "/bench", 1, 1, f"{i:x}", 1, 1, 0, "bench-recall")
                       for i in range(start, end)]
            store.upsert(records, data[start:end])
            print(f"\rinserted {end:,}/{args.size:,} ({end / (time.perf_counter() - t0):,.0f}/s)", end="", flush=True)
        print()
        index_of = {f"/bench/{i:07d}.jpg": i for i in range(args.size)}
        recalls, latencies = [], []
        for q in queries:
            exact = set(np.argsort(-(data @ q))[:10].tolist())
            t = time.perf_counter()
            hits = store.query(q, 10)
            latencies.append((time.perf_counter() - t) * 1000)
            recalls.append(len(exact & {index_of[h.record.path] for h in hits}) / 10)
        store.close()
    print(f"vectors: {args.size:,} x {args.dim}  queries: {args.queries}")
    print(f"recall@10 vs exact search: {np.mean(recalls):.4f} (min {np.min(recalls):.2f})")
    print(f"query latency: p50 {np.percentile(latencies, 50):.1f} ms, p95 {np.percentile(latencies, 95):.1f} ms")


if __name__ == "__main__":
    main()
