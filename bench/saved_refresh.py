"""What keeping saved searches live costs on a large library (docs/saved.md).

A saved search is run again whenever the index changes (once it is quiet for a
second, at the latest every 10 s of a long import). With a real store of N
records (CLIP-like clustered vectors, as in search_latency.py) and ViT-B/32's
text tower (random weights unless real ones are cached), prints:
  (1) one refresh of a saved search, the ranking read as far as relevance goes, for a few queries
  (2) the worst case: a search whose every result is relevant, read up to the 10,000 links allowed:
      filled the first time in steps (100, 200, 400 ... 6,400, 10,000 results: each a store query and a
      relevance mark), refreshed later in one step (it starts a quarter past the last count)
  (3) bringing a folder of 10,000 links up to date: made from nothing, then with nothing changed
The refresh runs as background work beside indexing; (2) bounds what one saved search can take from it.

    python bench/saved_refresh.py                  # N = 100,000
    python bench/saved_refresh.py --size 20000
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from index_throughput import vit_b32
from machine import describe, store_args
from search_latency import filled_store

from photosift.daemon import background, paths
from photosift.daemon.decode import Limits
from photosift.daemon.engine import SAVED_MAX
from photosift.daemon.index.catalog import Catalog
from photosift.daemon.index.decoders import Budget, QueryDecoders
from photosift.daemon.index.store import Store
from photosift.daemon.model import load
from photosift.daemon.saved import links
from photosift.daemon.searcher import RELEVANT_FIRST, Embedder, Filters, Searcher, Term


def main() -> None:
    args = store_args(__doc__)

    spec, note = vit_b32(args.workdir)
    print(describe())
    print(f"model: {note}")
    model = load(spec, "cpu", paths.cache_dir())
    print(f"encoder: {model.choice.precision} ({model.choice.why})", flush=True)
    kept = filled_store(args.workdir, spec, args.size)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(kept, data)
        store = Store.open("", data, model.model_id, model.embed_dim)
        catalog = Catalog(store.records())
        decoders = QueryDecoders(Budget())  # text only: its workers are never started
        embedder = Embedder(model, store, store, catalog, Limits(), decoders)
        searcher = Searcher(embedder, tagged=lambda tags: [], neutral=background.neutral(model.encode_texts))
        print(f"store: {len(catalog):,} records")

        searcher.relevant([Term(text="warm up")], Filters(), SAVED_MAX)
        for query in ("beach sunsets", "a dog on a sofa", "snow in the mountains", "birthday cake"):
            t = time.perf_counter()
            found = searcher.relevant([Term(text=query)], Filters(), SAVED_MAX)
            print(f"(1) refresh of {query!r}: {len(found):,} relevant, {(time.perf_counter() - t) * 1000:,.0f} ms")

        query = searcher.compose([Term(text="beach sunsets")])
        t = time.perf_counter()
        k, steps = min(RELEVANT_FIRST, SAVED_MAX), 0
        while True:
            hits = searcher._marked(query, True, searcher._nearest(query, k, Filters()))  # what relevant() runs
            steps += 1
            if k >= SAVED_MAX:
                break
            k = min(2 * k, SAVED_MAX)
        print(f"(2) worst case, every result relevant up to {len(hits):,}: the first filling, {steps} steps in "
              f"{time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        hits = searcher._marked(query, True, searcher._nearest(query, SAVED_MAX, Filters()))
        print(f"    a later refresh, read from where the last one ended ({len(hits):,}): 1 step in "
              f"{time.perf_counter() - t:.2f} s")

        targets = [h.record.path for h in hits]
        folder = Path(tmp) / "saved" / "everything"
        t = time.perf_counter()
        made = links.sync(folder, {}, targets)
        first = time.perf_counter() - t
        t = time.perf_counter()
        links.sync(folder, made, targets)
        again = time.perf_counter() - t
        print(f"(3) a folder of {len(made):,} links: made in {first:.2f} s, brought up to date unchanged in "
              f"{again:.2f} s")
        decoders.stop()
        store.close()


if __name__ == "__main__":
    main()
