"""The one exception hierarchy of photosift: the engine's, its API's and its front ends'.

Components raise these; only the boundaries turn them into something else: the
CLI (`cli/main.py`) into messages and exit codes, the API (`api/app.py`) into
4xx answers, the tray and the search window into a line on screen.
"""

from __future__ import annotations


class PhotosiftError(Exception):
    """Base of every error photosift raises on purpose."""

    exit_code = 1


# -- the engine -----------------------------------------------------------------------------------


class ConfigError(PhotosiftError):
    """The configuration has problems; `problems` lists every one of them."""

    exit_code = 2

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(f"{count} in the configuration ({source}):\n{lines}")


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


class StoreUnavailable(StoreError):
    """The index cannot be read or written right now; `kind` says why, for the fix and the retry:

    "disk_full" (writes fail until space is freed), "unreachable" (a Chroma server
    that does not answer), "damaged" (files that Chroma or SQLite find corrupt:
    rebuilt from photosift's own copy), "rebuilding" (being rebuilt: answers
    resume when it is done) or "failing" (any other error of the store).
    The API answers 503 `store_unavailable`; the writer keeps the work and retries.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class DateError(PhotosiftError, ValueError):
    """A date that cannot be read (dates.py), typed on the command line, in the search window or sent to
    the API; the message says how to write one. On the command line it is a usage error."""

    exit_code = 2


class DecodeError(PhotosiftError):
    """One file could not be turned into an image; `reason` is for humans."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Stopped(Exception):
    """Long background work given up because the daemon stops; what it had not finished is done at the
    next start."""


class FileChanged(DecodeError):
    """The file changed while we read it; it will be seen again when it settles."""


class SidecarError(PhotosiftError):
    """An XMP sidecar that cannot be read or edited safely; it is left as it was."""


class XattrError(PhotosiftError):
    """Extended attributes cannot be read or written on this file (or file system)."""


# -- the API's transport --------------------------------------------------------------------------


class SocketError(PhotosiftError):
    """A Unix socket (the API's, or the search window's) cannot be created."""


class SocketInUse(SocketError):
    """Another live process serves on the socket: like a locked data dir, starting again will not help
    (exit 3, which the systemd unit's RestartPreventExitStatus does not restart)."""

    exit_code = 3


class EndpointError(PhotosiftError):
    """The loopback endpoint file is missing or unreadable: no daemon has published one."""


# -- front ends: the client, the tray, the file-manager actions ----------------------------------


class DaemonNotRunning(PhotosiftError):
    """Nothing answers on the socket. `why` is the message without the advice on starting it from a shell,
    for front ends that offer their own Start."""

    exit_code = 3

    def __init__(self, message: str, why: str | None = None) -> None:
        super().__init__(message)
        self.why = message if why is None else why


class ApiError(PhotosiftError):
    """The daemon answered with an error (a 4xx names the problem)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class DisplayError(PhotosiftError):
    """No display to open a window on (no X server, or DISPLAY unset)."""




class ShellExtError(PhotosiftError):
    """A file-manager integration cannot be installed or removed as asked."""


class UcaError(PhotosiftError):
    """Thunar's uca.xml cannot be edited safely; it is left as it was."""
