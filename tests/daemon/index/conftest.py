"""The index's parts on a real temp store with the tiny CLIP, built without an engine: for tests of one
stage (test_stages.py) and of the threaded pipeline over them (test_decoders.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from photosift.daemon.config import DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS
from photosift.daemon.decode import Decoded, Limits
from photosift.daemon.index.archive import Archive
from photosift.daemon.index.catalog import Catalog
from photosift.daemon.index.ledger import Ledger
from photosift.daemon.index.pipeline import Stages
from photosift.daemon.index.scan import Rules
from photosift.daemon.index.store import Store, StoredEmbeddings
from photosift.daemon.index.writer import Writer


class Tags:
    """Records what the writer tells tagging: a fake of the real `TagFollower` interface."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.removed: list[str] = []

    def apply(self, paths: Sequence[str], embeddings: np.ndarray) -> None:
        assert len(paths) == len(embeddings)
        self.applied += paths

    def remove(self, paths: Sequence[str]) -> None:
        self.removed += paths

    def retag_all(self, stored: StoredEmbeddings, paths: Iterable[str],
                  stopping: Callable[[], bool] = lambda: False) -> int:
        return 0

    def stale(self, library: int) -> bool:
        return False


class Parts:
    def __init__(self, root: Path, model, data: Path) -> None:
        self.root = root
        self.embed_dim = model.embed_dim
        self.store = Store.open("", data, model.model_id, model.embed_dim)
        self.archive = Archive(data / "embeddings.sqlite", model.embed_dim)
        self.catalog = Catalog()
        self.ledger = Ledger(data / "failures.sqlite")
        self.rules = Rules.build((root,), DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS)
        self.tags = Tags()
        self.stages = Stages(model, self.archive, self.catalog, self.ledger, self.rules, Limits())
        self.writer = Writer(self.store, self.archive, self.catalog, self.ledger, self.rules, self.tags)

    def index(self, path: Path) -> None:
        """examine → encode → write, inline."""
        decoded = self.stages.examine(str(path))
        assert isinstance(decoded, Decoded)
        (encoded,) = self.stages.encode([decoded])
        assert self.writer.apply(encoded) == ()


@pytest.fixture
def parts(tmp_path: Path, model) -> Iterator[Parts]:
    root = tmp_path / "photos"
    root.mkdir()
    p = Parts(root, model, tmp_path / "data")
    yield p
    p.ledger.close()
    p.archive.close()
    p.store.close()
