"""Writing tags where other photo tools see them (opt-in): XMP sidecars and Linux extended attributes.

`[tagging] write_xmp = true` keeps tags in sidecars, as `dc:subject` keywords
and as `lr:hierarchicalSubject` and `digiKam:TagsList` entries under the
`parent` branch (`xmp_naming = "append"`: photo.jpg.xmp, digiKam and darktable;
`"stem"`: photo.xmp, Lightroom); `write_xattr = true` keeps `user.xdg.tags`,
flat: the KDE tools that read it take each comma-separated entry as one tag. Both merge
with what is there and remove exactly what photosift wrote (see sidecars.py and
xattrs.py). A file that cannot be written is reported, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .. import atomic
from ..config import TagSettings
from ..errors import PhotosiftError
from . import sidecars, xattrs

log = logging.getLogger(__name__)


class Exporter:
    """Applies one file's tags to its sidecar and extended attributes, as the settings ask."""

    def __init__(self, settings: TagSettings) -> None:
        self.xmp = settings.write_xmp
        self.naming = settings.xmp_naming
        self.parent = settings.parent
        self.xattr = settings.write_xattr and xattrs.SUPPORTED

    @property
    def enabled(self) -> bool:
        return self.xmp or self.xattr

    def write(self, image: Path, tags: list[str], dry_run: bool = False) -> list[str]:
        """Bring the file's sidecar and attributes (those the settings ask for) to `tags`;
        returns what changed (or would, with `dry_run`)."""
        changes = []
        if self.xmp:
            changes += self._sidecar(image, lambda text: _sidecar_text(text, tags, self.parent), dry_run)
        if self.xattr:
            changes += self._attributes(image, tags, dry_run)
        return changes

    def unwrite(self, image: Path, dry_run: bool = False) -> list[str]:
        """Remove exactly what photosift wrote for this file; returns what changed (or would)."""
        changes = self._sidecar(image, lambda text: sidecars.unwrite(text) if text else None, dry_run)
        if xattrs.SUPPORTED:
            try:
                ours = xattrs.current(image)[1]
                if ours:
                    changes.append(f"{image}: {xattrs.TAGS} -= {', '.join(ours)}")
                    if not dry_run:
                        xattrs.unwrite(image)
            except PhotosiftError as exc:
                changes.append(f"{image}: skipped: {exc}")
        return changes

    def _sidecar(self, image: Path, change: Callable[[str | None], str | None], dry_run: bool) -> list[str]:
        sidecar = sidecars.sidecar_path(image, self.naming)
        try:
            before = sidecar.read_text(encoding="utf-8") if sidecar.exists() else None
            after = change(before)
        except (OSError, UnicodeDecodeError, PhotosiftError) as exc:
            log.warning("not writing tags to %s: %s", sidecar, exc)
            return [f"{sidecar}: skipped: {exc}"]
        if after == before:
            return []
        # what photosift's keywords become, so a dry run shows what would be written
        detail = f" (photosift's keywords: {', '.join(sidecars.keywords(after)[1]) or 'none'})" if after else ""
        if dry_run:
            return [f"{sidecar}: {'create' if before is None else 'delete' if after is None else 'update'}{detail}"]
        try:
            if after is None:
                sidecar.unlink()
            else:
                atomic.write_text(sidecar, after)
        except OSError as exc:
            log.warning("cannot write %s: %s", sidecar, exc)
            return [f"{sidecar}: failed: {exc.strerror}"]
        return [f"{sidecar}: {'created' if before is None else 'deleted' if after is None else 'updated'}{detail}"]

    def _attributes(self, image: Path, tags: list[str], dry_run: bool) -> list[str]:
        try:
            before = xattrs.current(image)
            after = xattrs.plan(image, tags)
            if after == before:
                return []
            if not dry_run:
                xattrs.write(image, tags)
        except PhotosiftError as exc:
            log.warning("not writing tags to %s: %s", image, exc)
            return [f"{image}: skipped: {exc}"]
        return [f"{image}: {xattrs.TAGS} = {', '.join(after[0]) or '(removed)'}"]


def _sidecar_text(text: str | None, tags: list[str], parent: str) -> str | None:
    """The sidecar's new text: tags merged in; with no tags, photosift's part taken out (and a
    sidecar photosift created removed: None); no sidecar is created for no tags."""
    if tags:
        return sidecars.merge(text, tags, parent)
    return sidecars.unwrite(text) if text is not None else None
