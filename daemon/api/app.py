"""The API's routes (FastAPI): every answer is JSON, every error `{"error": {"code", "message"}}`."""

from __future__ import annotations

import base64
import logging
import os
from datetime import datetime, timezone
from typing import Annotated, Any, Protocol, cast

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .. import __version__
from ..answers import (
    DuplicateGroup,
    Explanation,
    ExportResult,
    Failure,
    FileInfo,
    FileTags,
    FolderChange,
    FolderState,
    Paused,
    RebuildInfo,
    Rescan,
    SavedRemoved,
    SavedState,
    Status,
    StoreCheck,
    StoreState,
    Trashed,
    VocabularyEntry,
)
from ..dates import unix_start
from ..errors import RequestError, StoreUnavailable
from ..folders import Change
from ..index.health import StoreHealth
from ..index.roots import Roots
from ..index.store import Hit as StoreHit
from ..saved.live import SavedFolders
from ..saved.spec import SavedSearch
from ..searcher import Filters, Searcher, Term
from ..tags.queries import TagQueries
from .schemas import (
    MAX_IMAGE_BASE64,
    ClassifyRequest,
    ErrorResponse,
    ExportRequest,
    Filtered,
    FolderList,
    FolderRequest,
    Hit,
    ImageTerm,
    Label,
    RescanRequest,
    SavedRequest,
    SearchRequest,
    SimilarRequest,
    TaggedRequest,
    TextTerm,
    TrashRequest,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = MAX_IMAGE_BASE64 + MAX_BODY_BYTES  # `similar` with an uploaded image, and its filters
# requests that only read (besides every GET): background work steps aside while they run (priority.py)
READS = frozenset({"/v1/search", "/v1/similar", "/v1/classify", "/v1/tagged"})
PathQuery = Annotated[str, Query(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]


class Daemon(Protocol):
    """What the API needs from the engine."""

    searcher: Searcher
    tag_queries: TagQueries
    roots: Roots
    health: StoreHealth
    saved: SavedFolders

    def status(self) -> Status: ...
    def store_task(self, action: str, reason: str = "", timeout: float | None = None) -> object: ...
    def file_info(self, path: str) -> FileInfo: ...
    def duplicates(self, folder: str | None = None) -> list[DuplicateGroup]: ...
    def trash(self, paths: list[str]) -> Trashed: ...
    def failures(self) -> list[Failure]: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _hits(hits: list[StoreHit]) -> list[Hit]:
    return [
        Hit(
            path=h.record.path,
            score=round(h.score, 6),
            relevant=h.relevant,
            taken_at=datetime.fromtimestamp(h.record.taken_at, tz=timezone.utc),
            width=h.record.width,
            height=h.record.height,
        )
        for h in hits
    ]


def _filters(req: Filtered) -> Filters:
    """The one conversion of the request's filters (search and similar share them): taken from the start of
    `taken_after`'s period up to, not including, the start of `taken_before`'s."""
    return Filters(req.folder, unix_start(req.taken_after), unix_start(req.taken_before), req.tags)


def _term(raw: str | TextTerm | ImageTerm) -> Term:
    """A search term from its request form: a plain string ("-people" subtracts), or a weighted text or image."""
    if isinstance(raw, str):
        if raw.startswith("-") and len(raw) > 1:
            return Term(text=raw[1:].strip(), weight=-1.0)
        return Term(text=raw)
    if isinstance(raw, TextTerm):
        return Term(text=raw.text, weight=raw.weight)
    return Term(image=raw.image, weight=raw.weight)


def create_app(daemon: Daemon) -> FastAPI:
    """The FastAPI application over a running engine."""
    errors: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse}
                                               for code in (400, 404, 409, 413, 422, 503)}
    app = FastAPI(title="photosift", version=__version__, responses=errors,
                  description="The photosift daemon's local API, served on a per-user Unix socket.")

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        limit = MAX_UPLOAD_BYTES if request.url.path == "/v1/similar" else MAX_BODY_BYTES
        if length is None and request.headers.get("transfer-encoding"):
            # a body of unknown length could be any length: the limits hold only against a declared one
            return _error(411, "length_required", "send the body with a Content-Length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error(413, "body_too_large", f"request bodies are limited to {limit} bytes here")
        return await call_next(request)

    @app.middleware("http")
    async def reads_first(request: Request, call_next: Any) -> Any:
        # From the moment a read arrives, not only while it encodes: the writer's store calls hold the
        # GIL for a page at a time, and every hand-over between the threads that answer a request would
        # otherwise wait for one (a search took seconds while a folder of 100,000 left the index).
        # Never for requests that wait for the writer themselves (store checks, folder changes).
        if request.method != "GET" and request.url.path not in READS:
            return await call_next(request)
        with daemon.searcher.model.priority.query():
            return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors()[:10]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg')}")
        return _error(422, "invalid_request", "; ".join(problems))

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestError)
    async def query_error(_request: Request, exc: RequestError) -> JSONResponse:
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(_request: Request, exc: StoreUnavailable) -> JSONResponse:
        # the store has already told the daemon's health (status shows it; damage is being repaired)
        return _error(503, "store_unavailable", f"the index cannot answer now: {exc}")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering a request")
        return _error(500, "internal", "internal error (details are in the daemon's log)")

    @app.get("/v1/status")
    def status() -> Status:
        """Version, model, device, counts, per-root progress, paused flag, uptime."""
        return daemon.status()

    @app.post("/v1/search")
    def search(req: SearchRequest) -> list[Hit]:
        """Ranked images for a text query, optionally mixed with images and negative terms."""
        raw = [req.query] if isinstance(req.query, str) else req.query
        return _hits(daemon.searcher.search([_term(t) for t in raw], req.k, _filters(req)))

    @app.post("/v1/similar")
    def similar(req: SimilarRequest) -> list[Hit]:
        """Images most like the given ones (the inputs excluded; unindexed inputs are encoded on the fly), or
        like an uploaded image (`image`: its bytes in base64, up to 32 MB, decoded under indexing's limits)."""
        if (req.paths is None) == (req.image is None):
            raise RequestError("invalid_request", 'give exactly one of "paths" and "image"', 422)
        if req.image is not None:
            try:
                data = base64.b64decode(req.image, validate=True)
            except ValueError as exc:  # binascii.Error among them: the alphabet is right, the padding not
                raise RequestError("invalid_request", f"image: not base64 ({exc})", 422) from exc
            return _hits(daemon.searcher.similar_to_data(data, req.k, _filters(req)))
        assert req.paths is not None
        return _hits(daemon.searcher.similar(req.paths, req.k, _filters(req)))

    @app.post("/v1/classify")
    def classify(req: ClassifyRequest) -> list[Label]:
        """Softmax probabilities over the labels (scaled by the model's logit scale)."""
        if (req.path is None) == (req.url is None):
            raise RequestError("invalid_request", 'give exactly one of "path" and "url"', 422)
        labels = daemon.searcher.classify(req.path or req.url or "", req.labels)
        return [Label(label=lab.text, probability=round(lab.probability, 6)) for lab in labels]

    @app.get("/v1/duplicates")
    def duplicates(folder: PathQuery | None = None) -> list[DuplicateGroup]:
        """Groups of near-identical photos (burst shots, re-saved, resized or lightly edited copies;
        `identical`: the same bytes) among those indexed, under `folder` if given; the copy to keep first.
        Found from the stored embeddings and perceptual hashes: nothing is encoded."""
        if folder is not None and not os.path.isabs(folder):
            raise RequestError("relative_path", f"give the folder as an absolute path, not {folder!r}", 422)
        return daemon.duplicates(os.path.realpath(folder) if folder else None)

    @app.post("/v1/trash")
    def trash(req: TrashRequest) -> Trashed:
        """Move photos to the desktop's trash (never deleted outright; restorable from there); only files
        inside a watched folder. The index follows as for any deletion."""
        return daemon.trash(req.paths)

    @app.get("/v1/saved")
    def list_saved() -> list[SavedState]:
        """The saved searches, each with its folder of links and how many it holds."""
        return daemon.saved.states()

    @app.post("/v1/saved")
    def add_saved(req: SavedRequest) -> SavedState:
        """Keep a search as a folder of links to its relevant results (a tag's files, with `tags` and no
        `query`), kept up to date as photos arrive, change, move or go."""
        if req.folder is not None and not os.path.isabs(req.folder):
            raise RequestError("relative_path", f"give the folder as an absolute path, not {req.folder!r}", 422)
        folder = os.path.realpath(req.folder) if req.folder else None
        return daemon.saved.add(SavedSearch(req.name, (req.query or "").strip(), tuple(req.exclude), folder,
                                            req.taken_after, req.taken_before, tuple(req.tags or ())))

    @app.delete("/v1/saved")
    def remove_saved(name: Annotated[str, Query(min_length=1, max_length=1000)]) -> SavedRemoved:
        """Forget a saved search; only the links photosift made leave its folder (the folder goes when
        nothing else is in it)."""
        return daemon.saved.remove(name)

    @app.get("/v1/files")
    def files(path: PathQuery) -> FileInfo:
        """What the index knows about one file."""
        return daemon.file_info(os.path.realpath(path))

    @app.get("/v1/errors")
    def failures() -> list[Failure]:
        """Files that could not be indexed, with reasons."""
        return daemon.failures()

    @app.post("/v1/pause")
    def pause() -> Paused:
        daemon.pause()
        return {"paused": True}

    @app.post("/v1/resume")
    def resume() -> Paused:
        daemon.resume()
        return {"paused": False}

    @app.post("/v1/rescan")
    def rescan(req: RescanRequest | None = None) -> Rescan:
        """Reconcile every root now, or one folder inside a root."""
        return {"scanning": daemon.roots.rescan(req.path if req else None)}

    @app.get("/v1/tags")
    def tags(path: PathQuery | None = None) -> FileTags | list[VocabularyEntry]:
        """Without `path`: the vocabulary with how many files carry each tag. With it: that file's tags."""
        return daemon.tag_queries.vocabulary() if path is None else daemon.tag_queries.tags_of(path)

    @app.get("/v1/tags/explain")
    def explain(path: PathQuery) -> Explanation:
        """The evidence behind a file's tags: each candidate's score, threshold or facet, and why it was
        or was not chosen."""
        return daemon.tag_queries.explain(path)

    @app.post("/v1/tagged")
    def tagged(req: TaggedRequest) -> list[str]:
        """Indexed files carrying all (or any) of the tags."""
        return daemon.tag_queries.tagged(req.tags, every=req.mode == "all")

    @app.post("/v1/tags/write")
    def write_tags(req: ExportRequest | None = None) -> ExportResult:
        """Write tags into XMP sidecars and/or extended attributes, as [tagging] enables them."""
        req = req or ExportRequest()
        return daemon.tag_queries.export(req.path, unwrite=False, dry_run=req.dry_run)

    @app.post("/v1/tags/unwrite")
    def unwrite_tags(req: ExportRequest | None = None) -> ExportResult:
        """Remove exactly what photosift wrote into sidecars and extended attributes, nothing else."""
        req = req or ExportRequest()
        return daemon.tag_queries.export(req.path, unwrite=True, dry_run=req.dry_run)

    @app.get("/v1/store")
    def store() -> StoreState:
        """The index's health: ok, or why it cannot be used, with what to do, and the last rebuild."""
        return daemon.health.answer()

    @app.post("/v1/store/check")
    def check_store() -> StoreCheck:
        """Examine the store and photosift's own copy of the embeddings and compare them (changes nothing)."""
        return cast(StoreCheck, daemon.store_task("check"))

    @app.post("/v1/store/rebuild")
    def rebuild_store() -> RebuildInfo:
        """Move the store aside (never deleted) and write a new one from photosift's own copy of the
        embeddings, encoding no image. Searches answer 503 until it is done."""
        return cast(RebuildInfo, daemon.store_task("rebuild", "asked for (photosift store rebuild)"))

    @app.get("/v1/folders")
    def list_folders() -> list[FolderState]:
        """The watched folders with their state and image counts."""
        return daemon.roots.states()

    @app.post("/v1/folders")
    def add_folder(req: FolderRequest) -> FolderChange:
        """Watch a folder from now on (saved in the config file) and index it."""
        return _change(daemon.roots.add(_absolute(req.path)))

    @app.delete("/v1/folders")
    def remove_folder(path: PathQuery) -> FolderChange:
        """Stop watching a folder (saved in the config file); its images leave the index (their embeddings
        are kept for the grace period)."""
        return _change(daemon.roots.remove(_absolute(path)))

    @app.put("/v1/folders")
    def set_folders(req: FolderList) -> FolderChange:
        """Watch exactly these folders (saved in the config file): narrowing a watch keeps the images that
        stay under it, and nothing that leaves is encoded again if it comes back within the grace period."""
        return _change(daemon.roots.set([_absolute(p) for p in req.paths]))

    def release() -> None:
        """Let go of the engine once the server has stopped. FastAPI keeps every route's endpoint in
        process-wide caches, and each endpoint holds the engine through this function's `daemon`: a
        stopped engine (a test's, one of many in a process) would keep its store's files open."""
        nonlocal daemon
        daemon = cast(Daemon, None)

    app.state.release = release
    return app


def _absolute(path: str) -> str:
    # a relative path would be read from the daemon's working folder, not the caller's
    if not os.path.isabs(os.path.expanduser(path)):
        raise RequestError("relative_path", f"give the folder as an absolute path, not {path!r}", 422)
    return path


def _change(change: Change) -> FolderChange:
    return {"folders": list(change.folders), "added": list(change.added), "removed": list(change.removed)}
