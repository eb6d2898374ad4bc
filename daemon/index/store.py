"""The vector store: one Chroma collection per model, one record per file.

A record's id is derived from its path, so writing the same file twice can
only ever replace, never duplicate. The collection's metadata names the model
and the schema version; a different model gets a different collection.

Every error of Chroma comes out as a `StoreUnavailable` of a kind (health.py),
reported to `on_failure` on its way: a full disk, a server that stopped, damaged
files. Searches, the writer and the tags all meet the same answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np

from ..errors import StoreError, StoreUnavailable
from .health import classify
from .probe import examine

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Chroma's defaults (M=16, ef_search=100) stay below 0.98 recall@10 on clustered
# CLIP-like vectors; bench/search_recall.py measures these against exact search.
HNSW = {"space": "cosine", "ef_construction": 200, "max_neighbors": 32, "ef_search": 160}
PAGE = 5000
# Chroma's bindings hold the GIL for a whole call: deleting 5,000 records of a 100,000-record
# collection froze every other thread of the daemon for 1.4 s, and a search, which gives the GIL up
# at each step of the text encoder, waited for one such call per step (a minute in all). Writes go
# in pages of this size instead (0.12 s each, no slower in total), and wait between pages while a
# query runs (`pause`).
WRITE_PAGE = 200
VECTOR_PAGE = 20_000  # embedding pages: fewer, larger reads are faster (12.5 s vs 9.8 s for 100,000)


def record_id(path: str) -> str:
    """Stable id of the record for `path`."""
    return hashlib.blake2b(path.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class FileRecord:
    """What the index knows of one file, besides its embedding."""

    path: str
    root: str
    size: int
    mtime_ns: int
    content_hash: str
    width: int
    height: int
    taken_at: int
    model: str

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> FileRecord:
        return cls(
            path=str(meta["path"]),
            root=str(meta["root"]),
            size=int(meta["size"]),
            mtime_ns=int(meta["mtime_ns"]),
            content_hash=str(meta["hash"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            taken_at=int(meta["taken_at"]),
            model=str(meta["model"]),
        )

    def metadata(self) -> dict[str, Any]:
        meta = asdict(self)
        meta["hash"] = meta.pop("content_hash")
        return meta


@dataclass(frozen=True)
class Hit:
    """One search result, with its embedding (relevance.py holds it against a neutral prompt)."""

    record: FileRecord
    score: float
    embedding: np.ndarray = field(repr=False, compare=False)
    relevant: bool = True


class StoredEmbeddings(Protocol):
    """Where stored embeddings are read: photosift's copy (archive.py), or the store itself."""

    def embeddings(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of `paths` (those that exist)."""

    def vectors(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every record's id and embedding, a page at a time."""


def _client(store_url: str, data_dir: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if not store_url:
        return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)
    url = urlparse(store_url)
    return chromadb.HttpClient(
        host=url.hostname or "localhost",
        port=url.port or (443 if url.scheme == "https" else 8000),
        ssl=url.scheme == "https",
        settings=settings,
    )


def location(store_url: str, data_dir: Path) -> str:
    """Where the store lives, as messages name it: the server's URL, or the embedded store's folder."""
    return store_url or str(data_dir / "chroma")


def _nothing() -> None:
    pass


def _ignore(_failure: StoreUnavailable) -> None:
    pass


class Store:
    """The Chroma collection of one model's embeddings.

    `pause` is called before each page of a write: the daemon's waits there while a query runs
    (priority.py), so that a large write (a folder of 100,000 photos taken out of the index) never
    holds a search up for more than one page.
    """

    def __init__(self, collection: Any, model_id: str, client: Any, where: str = "the store",
                 on_failure: Callable[[StoreUnavailable], None] = _ignore,
                 pause: Callable[[], None] = _nothing) -> None:
        self._collection = collection
        self._client = client
        self.model_id = model_id
        self.location = where
        self._on_failure = on_failure
        self._pause = pause
        self._closed_for: str | None = None  # why it answers nothing now (a rebuild under way)

    @classmethod
    def open(cls, store_url: str, data_dir: Path, model_id: str, embed_dim: int,
             on_failure: Callable[[StoreUnavailable], None] = _ignore,
             pause: Callable[[], None] = _nothing) -> Store:
        """Open (creating if needed) the collection for `model_id`."""
        where = location(store_url, data_dir)
        try:
            client = _client(store_url, data_dir)
            collection = client.get_or_create_collection(
                name=model_id,
                configuration={"hnsw": dict(HNSW)},
                metadata={"model": model_id, "schema_version": SCHEMA_VERSION, "embed_dim": embed_dim},
                embedding_function=None,
            )
        except Exception as exc:
            raise StoreError(f"cannot open the Chroma store at {where}: {exc}") from exc
        meta = collection.metadata or {}
        if meta.get("schema_version") != SCHEMA_VERSION or meta.get("embed_dim") != embed_dim:
            raise StoreError(
                f"collection {model_id} was written by another photosift schema "
                f"({meta.get('schema_version')}, dim {meta.get('embed_dim')}); remove it to rebuild"
            )
        return cls(collection, model_id, client, where, on_failure, pause)

    @classmethod
    def open_existing(cls, store_url: str, data_dir: Path, model_id: str) -> Store | None:
        """Open the collection for `model_id` read-only in spirit: None if nothing was indexed yet."""
        where = location(store_url, data_dir)
        try:
            client = _client(store_url, data_dir)
            names = {getattr(c, "name", c) for c in client.list_collections()}
            if model_id not in names:
                client.clear_system_cache()
                return None
            collection = client.get_collection(model_id, embedding_function=None)
        except Exception as exc:
            raise StoreError(f"cannot open the Chroma store at {where}: {exc}") from exc
        return cls(collection, model_id, client, where)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Chroma's errors, as the `StoreUnavailable` they mean (reported to `on_failure` first)."""
        if self._closed_for is not None:
            raise StoreUnavailable("rebuilding", f"the index at {self.location} is being rebuilt ({self._closed_for})")
        try:
            yield
        except Exception as exc:
            failure = classify(exc, self.location)
            self._on_failure(failure)
            raise failure from exc

    def count(self) -> int:
        with self._guard():
            return int(self._collection.count())

    def records(self) -> Iterator[FileRecord]:
        """Every record's metadata, page by page."""
        offset = 0
        while True:
            with self._guard():
                page = self._collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            metas = page["metadatas"] or []
            for meta in metas:
                yield FileRecord.from_metadata(meta)
            if len(metas) < PAGE:
                return
            offset += PAGE

    def vectors(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """Every record's id and embedding, a page (ids, (n, dim) array) at a time.

        Ids, not paths: reading the metadata as well costs more than half again
        (100,000 records: 10 s for embeddings alone); callers map ids to paths
        with `record_id` over the catalog's paths.
        """
        offset = 0
        while True:
            with self._guard():
                page = self._collection.get(include=["embeddings"], limit=VECTOR_PAGE, offset=offset)
            ids = list(page["ids"])
            if ids:
                yield ids, np.asarray(page["embeddings"], dtype=np.float32)
            if len(ids) < VECTOR_PAGE:
                return
            offset += VECTOR_PAGE

    def upsert(self, records: Sequence[FileRecord], embeddings: np.ndarray) -> None:
        """Write records; a path given twice (a batch can hold two versions of a file) keeps the last."""
        if not records:
            return
        last = {r.path: i for i, r in enumerate(records)}  # Chroma refuses duplicate ids in one call
        keep = sorted(last.values())
        for start in range(0, len(keep), WRITE_PAGE):
            page = keep[start : start + WRITE_PAGE]
            self._pause()
            with self._guard():
                self._collection.upsert(
                    ids=[record_id(records[i].path) for i in page],
                    embeddings=embeddings[page].astype(np.float32),
                    metadatas=[records[i].metadata() for i in page],
                )

    def embeddings(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings of `paths` (those that exist)."""
        if not paths:
            return {}
        with self._guard():
            got = self._collection.get(ids=[record_id(p) for p in paths], include=["embeddings", "metadatas"])
        out = {}
        vectors = got["embeddings"] if got["embeddings"] is not None else []
        for meta, emb in zip(got["metadatas"] or [], vectors, strict=True):
            out[str(meta["path"])] = np.asarray(emb, dtype=np.float32)
        return out

    def get(self, path: str) -> FileRecord | None:
        with self._guard():
            got = self._collection.get(ids=[record_id(path)], include=["metadatas"])
        metas = got["metadatas"] or []
        return FileRecord.from_metadata(metas[0]) if metas else None

    def delete(self, paths: Iterable[str]) -> None:
        """Forget the records of `paths` (those that exist)."""
        ids = [record_id(p) for p in paths]
        for start in range(0, len(ids), WRITE_PAGE):
            self._pause()
            with self._guard():
                self._collection.delete(ids=ids[start : start + WRITE_PAGE])

    def query(
        self,
        embedding: np.ndarray,
        k: int,
        where: dict[str, Any] | None = None,
        ids: list[str] | None = None,
    ) -> list[Hit]:
        """The k nearest records to a normalised embedding (among `ids`, if given); score is the cosine."""
        if ids is not None and not ids:
            return []
        # no count() to clamp k: Chroma answers fewer results itself, and counting costs a table scan
        with self._guard():
            res = self._collection.query(
                query_embeddings=[embedding.astype(np.float32)],
                n_results=min(k, len(ids)) if ids is not None else k,
                where=where,
                ids=ids,
                include=["metadatas", "distances", "embeddings"],
            )
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        vectors = res["embeddings"][0] if res["embeddings"] is not None else []
        return [Hit(FileRecord.from_metadata(m), 1.0 - float(d), np.asarray(v, dtype=np.float32))
                for m, d, v in zip(metas, dists, vectors, strict=False)]

    def examine(self) -> tuple[int, str | None]:
        """(records, None) when the collection reads and searches soundly, else what failed (probe.py)."""
        return examine(self._collection)

    def close(self) -> None:
        """Release the embedded store's files (its system is cached per path by Chroma)."""
        with contextlib.suppress(AttributeError):
            self._client.clear_system_cache()

    def close_for(self, reason: str) -> None:
        """Answer nothing (`StoreUnavailable("rebuilding")`, at once) until `replace` gives a new collection,
        and let go of the files: they are about to be moved aside."""
        self._closed_for = reason
        self.close()

    def replace(self, fresh: Store) -> None:
        """Take over `fresh`'s collection (a rebuilt one): everyone holding this Store sees it at once."""
        self._collection, self._client, self._closed_for = fresh._collection, fresh._client, None

    def rename_aside(self, name: str) -> None:
        """Give the collection another name, so that a new one can take its place (a server's damaged
        collection is set aside this way, never deleted)."""
        with self._guard():
            self._collection.modify(name=name)
