"""Thumbnails for the search window: made off the UI thread, upright, cached on disk by path and version.

A thumbnail is keyed by the file's real path, its modification time and size,
and the thumbnail size, so an edited photo gets a new one and an unchanged one
is read back instead of decoded again. Decoding goes through the indexer's
`open_image` (draft-mode JPEG decoding, EXIF orientation, the decompression
bomb guard), so thumbnails are upright and cheap even for 50-megapixel files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from photosift.daemon.errors import DecodeError

THUMB_SIZE = 176  # five columns in the default window; cached at this size
MAX_CACHE_BYTES = 256 << 20

Done = Callable[[str, Path | None, str | None], None]  # (image path, thumbnail or None, error or None)


class Thumbnails:
    """A disk cache of thumbnails with a small pool of worker threads."""

    def __init__(self, folder: Path, size: int = THUMB_SIZE, workers: int = 2,
                 max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.folder = folder
        self.size = size
        self.max_bytes = max_bytes
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="photosift-thumb")

    def _key(self, path: str) -> Path:
        real = os.path.realpath(path)
        st = os.stat(real)
        digest = hashlib.sha256(f"{real}\0{st.st_mtime_ns}\0{st.st_size}\0{self.size}".encode()).hexdigest()
        return self.folder / digest[:2] / f"{digest[:32]}.jpg"

    def cached(self, path: str) -> Path | None:
        """The thumbnail of this version of the file, if it was made before."""
        try:
            thumb = self._key(path)
        except OSError:
            return None
        return thumb if thumb.exists() else None

    def make(self, path: str) -> Path:
        """The thumbnail of `path`, made now unless cached; raises DecodeError or OSError."""
        thumb = self._key(path)
        if thumb.exists():
            os.utime(thumb)  # recently used: pruned last
            return thumb
        # numpy and the decoders load on the first thumbnail, off the UI thread, not while the window opens
        from photosift.daemon.decode import Limits, open_image, to_rgb

        # decoded at no less than twice the thumbnail's size, for LANCZOS to have pixels to work with
        opened = open_image(path, 2 * self.size, Limits())
        try:
            small = to_rgb(opened.image)
            small.thumbnail((self.size, self.size), Image.Resampling.LANCZOS, reducing_gap=2.0)
            thumb.parent.mkdir(parents=True, exist_ok=True)
            tmp = thumb.with_name(f".{thumb.name}.{os.getpid()}.tmp")
            small.save(tmp, "JPEG", quality=85)
            os.replace(tmp, thumb)  # readers never see half a file
        finally:
            opened.close()
        return thumb

    def request(self, path: str, done: Done) -> Future[None]:
        """Make the thumbnail on a worker thread and call `done` there (the UI marshals it back)."""

        def work() -> None:
            try:
                thumb = self.make(path)
            except DecodeError as exc:
                done(path, None, exc.reason)
            except OSError as exc:
                done(path, None, exc.strerror or str(exc))
            else:
                done(path, thumb, None)

        return self._pool.submit(work)

    def prune(self) -> int:
        """Delete the least recently used thumbnails beyond the size budget; returns how many."""
        files = []
        for thumb in self.folder.glob("*/*.jpg"):
            with contextlib.suppress(OSError):
                st = thumb.stat()
                files.append((st.st_mtime, st.st_size, thumb))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, thumb in sorted(files):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                thumb.unlink()
                removed += 1
            total -= size
        return removed

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
