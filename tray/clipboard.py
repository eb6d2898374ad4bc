"""What the clipboard holds, to search with: an image (a screenshot, a picture copied from a browser), files
(paths or file:// URIs, as file managers copy them), or text.

Images are read with Pillow's `ImageGrab.grabclipboard`, which on Linux asks
`xclip` (X11) or `wl-paste` (Wayland) for PNG data. It runs a process that asks
the clipboard's owner, and the owner may be this very program (Tk answers for
its own copies from its event loop), so it is called off the Tk thread. The
image is handed to the daemon as PNG bytes, decoded there under indexing's
limits; text and files come from Tk's own clipboard reading.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from PIL import Image, ImageGrab

NO_READER = "reading images from the clipboard needs xclip (X11) or wl-clipboard (Wayland): install one"


@dataclass(frozen=True)
class ClipboardImage:
    """What the clipboard's image reading found: PNG bytes, files (Windows and macOS list copied files
    this way), or nothing, with `problem` saying why when reading failed."""

    png: bytes | None = None
    paths: tuple[str, ...] = ()
    problem: str | None = None


def read_image() -> ClipboardImage:
    """The clipboard's image, if it holds one. Blocks while the clipboard's owner answers: call it off the
    UI thread."""
    try:
        got = ImageGrab.grabclipboard()
    except NotImplementedError:
        return ClipboardImage(problem=NO_READER)
    except (ChildProcessError, OSError, Image.DecompressionBombError) as exc:
        return ClipboardImage(problem=f"cannot read the clipboard's image: {exc}")
    if isinstance(got, list):
        return ClipboardImage(paths=files_in("\n".join(got)))
    if isinstance(got, Image.Image):
        out = io.BytesIO()
        got.save(out, "PNG")
        return ClipboardImage(png=out.getvalue())
    return ClipboardImage()


def files_in(text: str) -> tuple[str, ...]:
    """The files a copied text names, one per line, as absolute paths or file:// URIs (a file manager's
    copy); none unless every line names an existing file."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not line.startswith("#")]
    paths = []
    for line in lines:
        if line.startswith("file://"):
            line = unquote(urlparse(line).path)
        if not os.path.isabs(line) or not os.path.isfile(line):
            return ()
        paths.append(line)
    return tuple(paths)


def offers_image(targets: str) -> bool:
    """Whether a clipboard owner's TARGETS (as Tk lists them) include an image."""
    return any(t.startswith("image/") for t in targets.split())
