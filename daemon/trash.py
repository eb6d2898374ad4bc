"""Sending photos to the desktop's trash: what the Duplicates view's "let go" does, never a deletion.

send2trash puts each file where the desktop's own file manager finds it (the
freedesktop Trash on Linux, with its .trashinfo to restore it from; the Recycle
Bin; the macOS Trash), and the index follows as for any file that leaves a
watched folder. Only files inside a watched folder are accepted: the API is no
general-purpose way to throw away a user's files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from send2trash import send2trash
from send2trash.exceptions import TrashPermissionError

from .answers import Trashed

log = logging.getLogger(__name__)


def to_trash(paths: Iterable[str], root_of: Callable[[str], str | None]) -> Trashed:
    """Move each of `paths` to the trash; what went, and what did not with why (nothing else is touched)."""
    answer: Trashed = {"trashed": [], "failed": []}
    for path in paths:
        reason = _refused(path, root_of)
        if reason is None:
            try:
                send2trash(path)
            except TrashPermissionError as exc:
                reason = f"no trash can be used for it: {exc}"
            except OSError as exc:
                reason = f"cannot move it to the trash: {exc.strerror or exc}"
        if reason is None:
            answer["trashed"].append(path)
            log.info("moved %s to the trash", path)
        else:
            answer["failed"].append({"path": path, "reason": reason})
    return answer


def _refused(path: str, root_of: Callable[[str], str | None]) -> str | None:
    if not os.path.isabs(path):
        return "not an absolute path"
    if root_of(path) is None:
        return "not inside a watched folder"
    if not os.path.lexists(path):
        return "no such file"
    if os.path.isdir(path) and not os.path.islink(path):
        return "a folder (only photos are sent to the trash)"
    return None
