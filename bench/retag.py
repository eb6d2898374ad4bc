"""Re-tagging the whole library after a vocabulary change: no image is decoded or encoded.

With a real store of N records (CLIP-like clustered vectors, as in
search_latency.py) and the default vocabulary embedded by ViT-B/32's text tower
(real weights when cached, else random weights, and it says which), prints:
  (1) embedding the vocabulary (once per vocabulary and model; cached on disk)
  (2) the tag rule alone over N stored embeddings held in memory (matrix product, softmax, top-k)
  (3) photosift's re-tag from the store: Chroma pages of embeddings → rule → SQLite tag index
With random weights every tag is about equally likely, so the threshold is set low
enough that each image gets max_tags tags: the most rows the tag index can get.

    python bench/retag.py                  # N = 100,000
    python bench/retag.py --size 20000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from index_throughput import vit_b32
from search_latency import filled_store

from photosift.daemon import paths
from photosift.daemon.config import TagSettings
from photosift.daemon.index.store import Store
from photosift.daemon.model import load
from photosift.daemon.tags.rule import Tagger
from photosift.daemon.tags.sync import TagSync
from photosift.daemon.tags.table import TagTable
from photosift.daemon.tags.vocabulary import build


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records in the store (default 100,000)")
    ap.add_argument("--min-probability", type=float, default=0.001,
                    help="the rule's threshold (default 0.001: random weights spread probability almost evenly, "
                         "so this keeps max_tags = 5 tags per image, the most rows the index can get)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    spec, note = vit_b32(args.workdir)
    model = load(spec, "cpu", paths.cache_dir())
    settings = TagSettings(min_probability=args.min_probability)
    vocabulary = build(settings)
    prompts = sum(len(t.prompts) for t in vocabulary.tags)
    t = time.perf_counter()
    tagger = Tagger.build(model, vocabulary, settings)
    print(f"model: {note}")
    print(f"(1) embedding the vocabulary: {len(vocabulary.tags)} tags, {prompts} prompts in "
          f"{time.perf_counter() - t:.1f} s (once per vocabulary; cached)", flush=True)

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(filled_store(args.workdir, spec, args.size), data)
        store = Store.open("", data, model.model_id, model.embed_dim)
        t = time.perf_counter()
        vectors = np.concatenate([v for _, v in store.vectors()])
        print(f"    (reading {len(vectors):,} embeddings from Chroma: {time.perf_counter() - t:.1f} s)", flush=True)
        t = time.perf_counter()
        decided = tagger.decide(vectors)
        rule = time.perf_counter() - t
        per_image = np.mean([len(d) for d in decided])
        print(f"(2) the rule over {len(vectors):,} embeddings in memory: {rule:.2f} s "
              f"({len(vectors) / rule:,.0f} images/s; {per_image:.1f} tags per image)", flush=True)
        tagging = TagSync(tagger, TagTable(Path(tmp) / "tags.sqlite"), model.model_id)
        indexed = [r.path for r in store.records()]  # the daemon's catalog holds these in memory
        t = time.perf_counter()
        files = tagging.retag_all(store, indexed)
        whole = time.perf_counter() - t
        print(f"(3) re-tag from the store into the tag index: {files:,} files in {whole:.1f} s "
              f"({files / whole:,.0f} files/s), 0 images decoded or encoded")
        tagging.index.close()
        store.close()


if __name__ == "__main__":
    main()
