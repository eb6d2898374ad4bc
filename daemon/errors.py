"""The one exception hierarchy of photosift.

Components raise these; only the CLI boundary (`cli.py`) turns them into
messages and exit codes.
"""

from __future__ import annotations


class PhotosiftError(Exception):
    """Base of every error photosift raises on purpose."""

    exit_code = 1


class ConfigError(PhotosiftError):
    """The configuration has problems; `problems` lists every one of them."""

    exit_code = 2

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the configuration ({source}):\n{lines}")


class RequestError(PhotosiftError):
    """A request that cannot be answered as asked (the API turns it into a 4xx with `code`)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class ModelUnavailable(PhotosiftError):
    """The CLIP weights cannot be found or loaded."""


class StoreLocked(PhotosiftError):
    """Another photosift daemon already owns this data dir."""

    exit_code = 3


class StoreError(PhotosiftError):
    """The vector store cannot be opened or used."""


class DecodeError(PhotosiftError):
    """One file could not be turned into an image; `reason` is for humans."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class FileChanged(DecodeError):
    """The file changed while we read it; it will be seen again when it settles."""
