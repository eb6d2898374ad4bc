"""The daemon's public client: what the CLI, the tray and file-manager actions use.

They never touch the store or the model; everything goes through the API on
the per-user Unix socket (loopback TCP with a token on Windows).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from . import last_word
from .answers import (
    DuplicateGroup,
    Explanation,
    ExportResult,
    Failure,
    FileInfo,
    FileTags,
    FolderChange,
    FolderState,
    Hit,
    Label,
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
from .api.loopback import USE_LOOPBACK, read_endpoint
from .errors import ApiError, DaemonNotRunning, EndpointError, PhotosiftError


class Client:
    """A small synchronous client of the daemon's API.

    `path` is the daemon's Unix socket, or on Windows its endpoint file (loopback
    TCP with a token, see api/loopback.py).
    """

    def __init__(self, path: Path, timeout: float = 60.0, loopback: bool = USE_LOOPBACK) -> None:
        # httpx takes a fifth of a second to import: only when a request is made, so that commands that
        # need none (`similar --gui` handing over to the open window) start at once
        import httpx

        self.path = path
        self.timeout = timeout
        if loopback:
            try:
                endpoint = read_endpoint(path)
            except EndpointError as exc:
                raise self._not_running(f"({exc})") from exc
            self._http = httpx.Client(base_url=endpoint.url, timeout=timeout,
                                      headers={"Authorization": f"Bearer {endpoint.token}"})
        else:
            self._http = httpx.Client(transport=httpx.HTTPTransport(uds=str(path)), base_url="http://localhost",
                                      timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, timeout: float | None = None, **kwargs: Any) -> Any:
        import httpx  # already loaded by __init__

        try:
            response = self._http.request(method, path, timeout=timeout or self.timeout, **kwargs)
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            raise self._not_running(f"(nothing answers on {self.path})") from exc
        except httpx.NetworkError as exc:  # read or write failed: it went away while answering
            raise self._not_running(f"(it closed the connection without answering: stopping, or stopped: {exc})") \
                from exc
        except httpx.TimeoutException as exc:
            raise PhotosiftError(
                f"the photosift daemon did not answer within {timeout or self.timeout:g} s ({method} {path})"
            ) from exc
        if response.is_error:
            try:
                error = response.json()["error"]
                raise ApiError(response.status_code, error["code"], error["message"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "http_error", response.text[:200]) from None
        return response.json()

    def _not_running(self, detail: str) -> DaemonNotRunning:
        """The error for a daemon that does not answer, with its last word when it left one (why it stopped
        or could not start: last_word.py) and how to start it."""
        said = last_word.explain(last_word.read(self.path))
        why = f"the photosift daemon is not running {detail}" + (f"; {said}" if said else "")
        return DaemonNotRunning(f"{why}; start it with `photosift start`", why)

    def status(self) -> Status:
        return self._call("GET", "/v1/status")

    def search(self, query: str | list[Any], k: int = 20, **filters: Any) -> list[Hit]:
        """Ranked images for a query; filters: folder, taken_after, taken_before (dates as daemon/dates.py reads
        them: 2024, 2024-06, 2024-06-30 or an ISO time; before is exclusive), tags."""
        return self._call("POST", "/v1/search", json={"query": query, "k": k, **_filters(filters)})

    def similar(self, paths: list[str], k: int = 20, **filters: Any) -> list[Hit]:
        """Images like all of `paths` (which are left out), with the same filters as `search`."""
        return self._call("POST", "/v1/similar", json={"paths": paths, "k": k, **_filters(filters)})

    def similar_to_image(self, data: bytes, k: int = 20, **filters: Any) -> list[Hit]:
        """Images like the image whose bytes these are (a pasted screenshot), with `search`'s filters."""
        return self._call("POST", "/v1/similar", json={"image": base64.b64encode(data).decode("ascii"), "k": k,
                                                       **_filters(filters)})

    def classify(self, labels: list[str], path: str | None = None, url: str | None = None) -> list[Label]:
        body: dict[str, Any] = {"labels": labels}
        body.update({"path": path} if path is not None else {"url": url})
        return self._call("POST", "/v1/classify", json=body)

    def file(self, path: str) -> FileInfo:
        return self._call("GET", "/v1/files", params={"path": path})

    def duplicates(self, folder: str | None = None) -> list[DuplicateGroup]:
        # a whole library's groups take tens of seconds on a 100,000-photo library (bench/duplicates.py)
        params = {"folder": folder} if folder else {}
        return self._call("GET", "/v1/duplicates", timeout=max(self.timeout, 600), params=params)

    def trash(self, paths: list[str]) -> Trashed:
        """Move photos (inside watched folders) to the desktop's trash."""
        return self._call("POST", "/v1/trash", json={"paths": paths})

    def saved(self) -> list[SavedState]:
        """The saved searches and their folders."""
        return self._call("GET", "/v1/saved")

    def save_search(self, name: str, query: str = "", exclude: list[str] | None = None, **filters: Any) -> SavedState:
        """Keep a search as a folder of links (`search`'s filters; no query: the files carrying `tags`)."""
        body = {"name": name, "query": query or None, "exclude": exclude or [], **_filters(filters)}
        # the first filling runs the search and makes its links: longer than a query on a large library
        return self._call("POST", "/v1/saved", json=body, timeout=max(self.timeout, 120))

    def remove_saved(self, name: str) -> SavedRemoved:
        return self._call("DELETE", "/v1/saved", params={"name": name})

    def errors(self) -> list[Failure]:
        return self._call("GET", "/v1/errors")

    def pause(self) -> Paused:
        return self._call("POST", "/v1/pause")

    def resume(self) -> Paused:
        return self._call("POST", "/v1/resume")

    def rescan(self, path: str | None = None) -> Rescan:
        return self._call("POST", "/v1/rescan", json={"path": path} if path else None)

    def store(self) -> StoreState:
        return self._call("GET", "/v1/store")

    def check_store(self) -> StoreCheck:
        """Examine the store and photosift's copy of the embeddings (reads every record id: seconds)."""
        return self._call("POST", "/v1/store/check", timeout=STORE_TASK_SECONDS)

    def rebuild_store(self) -> RebuildInfo:
        """Rebuild the store from photosift's copy (100,000 records take minutes on a small machine)."""
        return self._call("POST", "/v1/store/rebuild", timeout=STORE_TASK_SECONDS)

    def folders(self) -> list[FolderState]:
        return self._call("GET", "/v1/folders")

    def add_folder(self, path: str) -> FolderChange:
        return self._call("POST", "/v1/folders", json={"path": path})

    def remove_folder(self, path: str) -> FolderChange:
        return self._call("DELETE", "/v1/folders", params={"path": path})

    def set_folders(self, paths: list[str]) -> FolderChange:
        return self._call("PUT", "/v1/folders", json={"paths": paths})

    def tags(self, path: str) -> FileTags:
        return self._call("GET", "/v1/tags", params={"path": path})

    def vocabulary(self) -> list[VocabularyEntry]:
        return self._call("GET", "/v1/tags")

    def explain(self, path: str) -> Explanation:
        return self._call("GET", "/v1/tags/explain", params={"path": path})

    def tagged(self, tags: list[str], mode: str = "all") -> list[str]:
        return self._call("POST", "/v1/tagged", json={"tags": tags, "mode": mode})

    def export(self, path: str | None = None, unwrite: bool = False, dry_run: bool = False) -> ExportResult:
        body: dict[str, Any] = {"dry_run": dry_run}
        if path is not None:
            body["path"] = path
        return self._call("POST", "/v1/tags/unwrite" if unwrite else "/v1/tags/write", json=body)


FILTERS = ("folder", "taken_after", "taken_before", "tags")
STORE_TASK_SECONDS = 3600.0


def _filters(given: dict[str, Any]) -> dict[str, Any]:
    """The filters that are set; an unknown name is a programming error, not something to send."""
    unknown = set(given) - set(FILTERS)
    if unknown:
        raise TypeError(f"unknown filters: {sorted(unknown)}")
    return {key: value for key, value in given.items() if value is not None}


def answering_pid(path: Path, timeout: float = 10.0) -> int | None:
    """The pid of the daemon that answers on `path`, or None when none does."""
    try:
        with Client(path, timeout=timeout) as client:
            return int(client.status()["pid"])
    except DaemonNotRunning:
        return None
