"""Re-tagging the whole library after a vocabulary change: no image is decoded or encoded.

With a real store of N records (CLIP-like clustered vectors, as in
search_latency.py) and the default vocabulary embedded by ViT-B/32's text tower
(real weights when cached, else random weights, and it says which), prints:
  (1) embedding the vocabulary (once per vocabulary and model; cached on disk)
  (2) the tag rule alone over N stored embeddings held in memory: calibrating on a sample of the
      library, then each tag's evidence, facets, explaining away and the cap
  (3) photosift's re-tag from the store: a calibration sample fetched by id, Chroma pages of
      embeddings → rule → SQLite tag index
With random weights the tags mean nothing, but the work per image is the same; it prints how many
tags per image the rule gave, since the tag index's rows cost time too.

    python bench/retag.py                  # N = 100,000
    python bench/retag.py --size 20000
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from index_throughput import vit_b32
from machine import describe, store_args
from search_latency import filled_store

from photosift.daemon import background, paths
from photosift.daemon.config import TagSettings
from photosift.daemon.index.store import Store
from photosift.daemon.model import load
from photosift.daemon.tags.rule import Tagger
from photosift.daemon.tags.sync import TagSync
from photosift.daemon.tags.table import TagTable
from photosift.daemon.tags.vocabulary import build


def main() -> None:
    args = store_args(__doc__)

    spec, note = vit_b32(args.workdir)
    model = load(spec, "cpu", paths.cache_dir())
    print(describe())
    settings = TagSettings()
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
        sample = vectors[np.random.default_rng(0).choice(len(vectors), min(len(vectors), background.SAMPLE),
                                                         replace=False)]
        tagger.calibrate(tagger.measure(sample, len(vectors)))
        calibrating = time.perf_counter() - t
        t = time.perf_counter()
        decided = tagger.decide(vectors)
        rule = time.perf_counter() - t
        per_image = np.mean([len(d) for d in decided])
        print(f"(2) the rule over {len(vectors):,} embeddings in memory: calibrating {calibrating:.2f} s, "
              f"deciding {rule:.2f} s ({len(vectors) / rule:,.0f} images/s; {per_image:.1f} tags per image)",
              flush=True)
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
