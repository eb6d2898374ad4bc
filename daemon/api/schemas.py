"""Request and response bodies of the API: strict (unknown fields are errors) and bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..dates import period_start

MAX_K = 1000
MAX_TEXT = 1000
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
# a NUL byte can never be part of a path (the OS rejects it with ValueError, not OSError)
MAX_IMAGE_BYTES = 32 << 20  # an uploaded image (`similar`'s `image`): a screenshot or a photo, not a library
MAX_IMAGE_BASE64 = (MAX_IMAGE_BYTES + 2) // 3 * 4
Base64Image = Annotated[str, Field(min_length=4, max_length=MAX_IMAGE_BASE64, pattern=r"^[A-Za-z0-9+/]+={0,2}$")]
PathText = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00]+$")]
Weight = Annotated[float, Field(ge=-10, le=10)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextTerm(Strict):
    """A text prompt with a weight (negative weights push results away)."""

    text: Text
    weight: Weight = 1.0


class ImageTerm(Strict):
    """An image (a path on this machine) to search by, with a weight."""

    image: PathText
    weight: Weight = 1.0


Term = Text | TextTerm | ImageTerm


TagName = Annotated[str, Field(min_length=1, max_length=200)]


DateText = Annotated[str, Field(
    min_length=1, max_length=64,
    description="a year (2024), a month (2024-06), a day (2024-06-30) or an ISO 8601 time; local time without "
                "a zone; a bare number other than a year is refused",
)]


class Filtered(Strict):
    """Filters shared by search and find-similar: a folder, a date range, tags (all of them).

    The range is half-open: taken on or after the start of `taken_after`'s period, and before the start
    of `taken_before`'s (so `2023` and `2024` is the year 2023)."""

    folder: PathText | None = None
    taken_after: DateText | None = None
    taken_before: DateText | None = None
    tags: Annotated[list[TagName], Field(min_length=1, max_length=50)] | None = None

    @field_validator("taken_after", "taken_before")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            period_start(value)  # DateError, a ValueError, becomes a 422 naming the field
        return value


class SearchRequest(Filtered):
    """Text (and image) search. A text term starting with "-" is subtracted: ["beach", "-people"]."""

    query: Text | Annotated[list[Term], Field(min_length=1, max_length=32)]
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 20


class SavedRequest(Filtered):
    """A search to keep as a folder: `name` (the folder's), the words (`query`, one description) and texts to
    push away (`exclude`), with search's filters; without words, the files carrying `tags`."""

    name: Annotated[str, Field(min_length=1, max_length=1000)]
    query: Annotated[str, Field(max_length=MAX_TEXT)] | None = None
    exclude: Annotated[list[Text], Field(max_length=32)] = []


class TaggedRequest(Strict):
    """Files carrying tags: all of them ("all") or at least one ("any")."""

    tags: Annotated[list[TagName], Field(min_length=1, max_length=50)]
    mode: Literal["all", "any"] = "all"


class ExportRequest(Strict):
    """Which indexed images (a file or folder; none: all), and whether only to report."""

    path: PathText | None = None
    dry_run: bool = False


class SimilarRequest(Filtered):
    """Images most like the mean of these images' embeddings (the inputs are excluded), or like an image
    given as its bytes (`image`, base64), filtered like search."""

    paths: Annotated[list[PathText], Field(min_length=1, max_length=100)] | None = None
    image: Base64Image | None = None
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 20


class ClassifyRequest(Strict):
    """Zero-shot probabilities over labels for one image, given as a path or an http(s) URL."""

    path: PathText | None = None
    url: Annotated[str, Field(max_length=4096, pattern=r"^https?://")] | None = None
    labels: Annotated[list[Text], Field(min_length=1, max_length=200)]


class RescanRequest(Strict):
    path: PathText | None = None


class FolderRequest(Strict):
    """A folder to watch (created paths are resolved to absolute ones)."""

    path: PathText


class FolderList(Strict):
    """Exactly the folders to watch."""

    paths: list[PathText] = Field(min_length=1, max_length=1000)


# the client reads these two as answers.Hit and answers.Label (taken_at arrives as ISO 8601 text there)
class TrashRequest(Strict):
    """Photos to move to the desktop's trash (each inside a watched folder)."""

    paths: list[PathText] = Field(min_length=1, max_length=1000)


class Hit(BaseModel):
    path: str
    score: float
    relevant: bool
    taken_at: datetime
    width: int
    height: int


class Label(BaseModel):
    label: str
    probability: float


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


Json = dict[str, Any]
