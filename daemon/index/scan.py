"""Which files under the roots are candidate images: walking, excludes, symlinks.

Directory symlinks are never followed: they either point inside a root (whose
files are indexed there already) or out of the roots, and never following
them also makes loops impossible. A symlinked *file* is indexed only when its
target resolves inside one of the roots.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..decode import FileStat
from .watches import FolderId, folder_id

log = logging.getLogger(__name__)


@dataclass
class Rules:
    """Exclude globs, folders photosift fills itself and the extension filter, applied to paths under a root.

    Shared by every component; `roots` is replaced as a whole (never mutated in
    place) when the user adds or removes a folder, so readers always see a
    consistent tuple without a lock.
    """

    roots: tuple[str, ...]
    exclude: tuple[str, ...]
    extensions: frozenset[str]
    skip: tuple[str, ...] = ()  # folders photosift fills itself (the saved searches' links): never indexed

    @classmethod
    def build(cls, roots: tuple[Path, ...], exclude: tuple[str, ...], extensions: tuple[str, ...],
              skip: tuple[Path, ...] = ()) -> Rules:
        return cls(tuple(os.path.abspath(r) for r in roots), exclude, frozenset(e.lower() for e in extensions),
                   tuple(os.path.abspath(f) for f in skip))

    def root_of(self, path: str) -> str | None:
        """The configured root that contains `path` (the deepest, if roots nest)."""
        best = None
        for root in self.roots:
            if (path == root or path.startswith(root.rstrip(os.sep) + os.sep)) and (
                best is None or len(root) > len(best)
            ):
                best = root
        return best

    def excluded_name(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pat) for pat in self.exclude if "/" not in pat)

    def excluded(self, path: str) -> bool:
        """True if any component below the root, or the relative path, matches an exclude glob."""
        root = self.root_of(path)
        if root is None or any(path == f or path.startswith(f + os.sep) for f in self.skip):
            return True
        rel = PurePosixPath(Path(os.path.relpath(path, root)).as_posix())
        if rel.as_posix() == ".":
            return False
        if any(self.excluded_name(part) for part in rel.parts):
            return True
        return any(fnmatch.fnmatchcase(rel.as_posix(), pat) for pat in self.exclude if "/" in pat)

    def wanted(self, path: str) -> bool:
        """A candidate image: the right extension (any case), not excluded, inside a root."""
        ext = os.path.splitext(path)[1][1:].lower()
        return ext in self.extensions and not self.excluded(path)

    def symlink_target_ok(self, path: str) -> bool:
        """A symlinked file counts only if it resolves to a file inside a root."""
        target = os.path.realpath(path)
        return os.path.isfile(target) and self.root_of(target) is not None

    def admits(self, path: str) -> bool:
        """The scan's judgement of one path, for paths that live events bring: a wanted regular file,
        or a wanted symlink whose target is a file inside a root (never a link out: privacy)."""
        if not self.wanted(path):
            return False
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):
            return self.symlink_target_ok(path)
        return stat.S_ISREG(mode)


def walk(root: str, rules: Rules, folders: list[tuple[str, FolderId]] | None = None,
         recursive: bool = True) -> Iterator[tuple[str, FileStat]]:
    """Every wanted file under `root` (only in it, unless `recursive`) with its stat; unreadable folders
    are logged and skipped. `folders` collects each folder met that is not excluded (`root` included),
    with its identity: watches.py compares them with what the OS watches."""
    if folders is not None:
        with contextlib.suppress(OSError):
            folders.append((root, folder_id(os.stat(root))))
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            log.warning("cannot list %s: %s", folder, exc.strerror or exc)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not rules.excluded_name(entry.name) and not rules.excluded(entry.path):
                        if recursive:
                            stack.append(entry.path)
                        if folders is not None:
                            folders.append((entry.path, folder_id(entry.stat(follow_symlinks=False))))
                    continue
                if not rules.wanted(entry.path):
                    continue
                if entry.is_symlink():
                    if not rules.symlink_target_ok(entry.path):
                        continue
                    st = os.stat(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                else:
                    continue
            except OSError:
                continue  # vanished or unreadable between listing and stat: a later event or scan sees it
            yield entry.path, FileStat(st.st_size, st.st_mtime_ns)


def root_state(root: str) -> str:
    """ "online", or why the root counts as offline ("missing", "not a folder", "unreadable")."""
    try:
        if not os.path.exists(root):
            return "missing"
        if not os.path.isdir(root):
            return "not a folder"
        with os.scandir(root) as it:
            next(it, None)
    except OSError:
        return "unreadable"
    return "online"


def is_empty(root: str) -> bool:
    """An existing root with nothing in it: what an unmounted mount point looks like."""
    try:
        with os.scandir(root) as it:
            return next(it, None) is None
    except OSError:
        return True
