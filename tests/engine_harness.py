"""A real Engine on real temp folders for tests, with an encoder call counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from helpers import wait_for

from photosift.daemon import background
from photosift.daemon.config import Config
from photosift.daemon.decode import Limits
from photosift.daemon.engine import Engine
from photosift.daemon.index.catalog import Catalog
from photosift.daemon.index.decoders import Budget, QueryDecoders
from photosift.daemon.index.store import Hit, Store
from photosift.daemon.model import ClipModel
from photosift.daemon.searcher import Embedder, Searcher, Term


class CountingModel:
    """The real tiny CLIP, counting how many images it has encoded (re-encoding is what we must avoid)."""

    def __init__(self, model: ClipModel) -> None:
        self._model = model
        self.images_encoded = 0

    def encode_images(self, batch: np.ndarray, background: bool = False) -> np.ndarray:
        self.images_encoded += len(batch)
        return self._model.encode_images(batch, background)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def make_engine(env: dict[str, Path], model: CountingModel, watch: bool = True, serve_api: bool = False,
                **overrides: Any) -> Engine:
    settings: dict[str, Any] = dict(
        folders=(env["photos"],), model="unused: the model is passed in", debounce_seconds=0.3,
        rescan_interval=0.0, decode_workers=0, batch_size=8,
    )
    settings.update(overrides)
    settings.setdefault("saved_folder", env["data"].parent / "saved searches")  # never the user's ~/Pictures
    return Engine(Config(**settings), env["data"], env["cache"], watch=watch, model=model,  # type: ignore[arg-type]
                  serve_api=serve_api)


def indexed_paths(engine: Engine) -> set[str]:
    """The paths in the store itself (not only the in-memory catalog)."""
    return {r.path for r in engine.store.records()}


def settled(engine: Engine) -> bool:
    status = engine.status()
    return status["queued"] == 0 and status["scans_pending"] == 0


@contextmanager
def running_engine(env: dict[str, Path], model: CountingModel, indexed: int, **overrides: Any) -> Iterator[Engine]:
    """A started engine that has indexed `indexed` files and gone quiet; stopped afterwards."""
    engine = make_engine(env, model, **overrides)
    engine.start()
    try:
        wait_for(lambda: settled(engine) and len(engine.catalog) == indexed, 60)
        yield engine
    finally:
        engine.stop()


def search_store(model: ClipModel, store: Store, text: str, k: int) -> list[Hit]:
    """A text search through the daemon's own `Searcher` over a store opened outside any engine."""
    # text only: the decoder processes are never started
    embedder = Embedder(model, store, store, Catalog(store.records()), Limits(), QueryDecoders(Budget()))
    searcher = Searcher(embedder, tagged=lambda tags: [], neutral=background.neutral(model.encode_texts))
    return searcher.search([Term(text=text)], k)
