"""The shapes of the API's answers, defined once: the daemon builds them, the API declares and checks
them (FastAPI takes these as response models, so they are in the OpenAPI document), and the client
returns them to the CLI and the tray as typed results.

TypedDicts cost nothing at run time, so a front end that imports them still starts at once.
"""

from __future__ import annotations

from typing import Literal

# pydantic reads TypedDicts from typing_extensions only, before Python 3.12
from typing_extensions import NotRequired, TypedDict


class FolderState(TypedDict):
    """A watched folder: online or why not, its images, and whether file events cover it: "yes", "partial"
    (`unwatched` of its folders are past the OS's watch limit, and are polled) or "no" (polled)."""

    path: str
    state: str
    indexed: int
    watched: str
    unwatched: int
    scanning: bool


class Progress(TypedDict):
    """The current burst of work: what finished since the queue was last empty, and that plus what waits."""

    done: int
    total: int


class FailureBrief(TypedDict):
    path: str
    reason: str


class TaggingState(TypedDict):
    """The vocabulary's size; `current` is false while the library is re-tagged after a change of setup."""

    vocabulary: int
    current: bool


class RebuildInfo(TypedDict):
    """The last time the index was rebuilt from photosift's own copy of the embeddings: when, why, where
    the damaged store was moved (never deleted), and how many records came back with no image encoded."""

    at: str  # ISO 8601, as every moment the API gives
    reason: str
    moved_to: str | None
    restored: int


class StoreState(TypedDict):
    """The index's health: "ok", or why it cannot be used ("disk_full", "unreachable", "damaged",
    "rebuilding", "failing") with a sentence that says what to do, since when, and how many photos wait."""

    state: str
    location: str
    message: str | None
    since: str | None
    waiting: int
    rebuilt: RebuildInfo | None


class StoreCheck(TypedDict):
    """`photosift store check`: the store and photosift's own copy examined and compared; `problems` is
    empty when both are sound and hold the same records."""

    healthy: bool
    location: str
    store_records: int
    copy_location: str
    copy_records: int
    problems: list[str]


class EncoderState(TypedDict):
    """How the encoder runs: on which device, with which backend and precision, and why."""

    device: str
    backend: str
    precision: str
    why: str


class Status(TypedDict):
    """Version, model, device, counts, per-folder state, progress, paused flag, uptime."""

    version: str
    pid: int
    model: str
    model_id: str
    device: str
    encoder: EncoderState
    uptime: float
    paused: bool
    indexed: int
    queued: int
    progress: Progress
    scans_pending: int
    scanning: str | None
    overflows: int  # times the OS dropped file events since start (each one rescans every folder)
    failed: int
    failures: list[FailureBrief]  # the first 100
    offline: int
    roots: list[FolderState]
    tagging: TaggingState
    store: StoreState


class DuplicateFile(TypedDict):
    """One photo of a duplicate group: what a person weighs to choose which copy goes."""

    path: str
    folder: str
    size: int  # bytes
    width: int
    height: int
    taken_at: str
    keep: bool  # the copy photosift suggests keeping (duplicates/groups.py: largest, oldest, not a copies folder)


class DuplicateGroup(TypedDict):
    """Photos of one picture: `identical` (the same bytes) or `near` (saved, sized or edited differently)."""

    kind: Literal["identical", "near"]
    files: list[DuplicateFile]


class Trashed(TypedDict):
    """What went to the desktop's trash, and what did not, with why."""

    trashed: list[str]
    failed: list[FailureBrief]


class SavedState(TypedDict):
    """A saved search: what it asks, its folder of links, how many links it holds, when last brought up
    to date (None: never)."""

    name: str
    query: str
    exclude: list[str]
    folder: str | None
    taken_after: str | None
    taken_before: str | None
    tags: list[str]
    path: str
    links: int
    updated_at: str | None


class SavedRemoved(TypedDict):
    """A saved search forgotten: its folder, how many of photosift's links went, and what stays there
    (the user's own files: never touched; the folder itself goes only when nothing is left)."""

    name: str
    path: str
    removed: int
    left: list[str]


class Failure(TypedDict):
    """A file that could not be indexed, why, its size then and when it was tried."""

    path: str
    reason: str
    size: int
    at: str


class FileInfo(TypedDict):
    """What the index knows about one file: its record, or why it is not indexed."""

    path: str
    indexed: bool
    root: str | None
    error: str | None
    size: NotRequired[int]
    mtime_ns: NotRequired[int]
    content_hash: NotRequired[str]
    width: NotRequired[int]
    height: NotRequired[int]
    taken_at: NotRequired[str]
    model: NotRequired[str]


class FolderChange(TypedDict):
    """The watched folders after a change; `removed` on an add lists folders the new one contains."""

    folders: list[str]
    added: list[str]
    removed: list[str]


class Hit(TypedDict):
    """One search result; `taken_at` is ISO 8601 (the API's schemas.Hit sends a datetime)."""

    path: str
    score: float
    relevant: bool
    taken_at: str
    width: int
    height: int


class Label(TypedDict):
    label: str
    probability: float


class TagScore(TypedDict):
    tag: str
    confidence: float


class FileTags(TypedDict):
    """A file's tags, best first; a file that is not indexed is tagged on the fly (`indexed` false)."""

    path: str
    indexed: bool
    tags: list[TagScore]


class VocabularyEntry(TypedDict):
    """A tag of the vocabulary and how many indexed files carry it."""

    tag: str
    count: int


class ExplainRule(TypedDict):
    """The rule's knobs, and what it decided against: the library's calibration (`calibrated` false:
    the library is too small yet, confidences are zero-shot probabilities against the neutral prompt)."""

    min_confidence: float
    max_tags: int
    stands_out: float
    logit_scale: float
    vocabulary: int
    calibrated: bool
    library: int
    neutral: float


class ExplainScore(TypedDict):
    """One candidate tag: its cosine, how far it stands out from the library's background (`z`, in
    background spreads; null before calibration), its confidence and threshold, its facet, and why."""

    tag: str
    cosine: float
    z: float | None
    confidence: float
    threshold: float
    facet: str | None
    chosen: bool
    why: str


class Explanation(TypedDict):
    """The evidence behind a file's tags: the chosen ones, then the best of the rest."""

    path: str
    rule: ExplainRule
    scores: list[ExplainScore]


class ExportResult(TypedDict):
    """What writing (or unwriting) tags changed, or would change with `dry_run`."""

    files: int
    dry_run: bool
    changes: list[str]


class Paused(TypedDict):
    paused: bool


class Rescan(TypedDict):
    """The folders queued for a reconcile."""

    scanning: list[str]
