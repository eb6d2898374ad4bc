"""`python -m photosift.tray`: the search window on its own (the tray icon that opens it comes next)."""

from __future__ import annotations

import sys
import tkinter as tk

from photosift.daemon import paths
from photosift.daemon.client import Client
from photosift.daemon.config import load
from photosift.daemon.errors import PhotosiftError

from .thumbnails import Thumbnails
from .window import SearchWindow


def main() -> int:
    try:
        config = load()
    except PhotosiftError as exc:
        print(f"photosift: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        root = tk.Tk()
    except tk.TclError as exc:
        print(f"photosift: cannot open a window: {exc}", file=sys.stderr)
        return 1
    SearchWindow(root, lambda: Client(config.socket_path), Thumbnails(paths.cache_dir() / "thumbnails"))
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
