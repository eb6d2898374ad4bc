"""Handing work to the Tk thread: Tk may only be touched from the thread that made it.

Workers (API calls, thumbnails, the tray icon's menu, the single-instance
listener) `post` a function; the Tk loop polls the queue and runs it. The poll
is quick while a window is showing and slow while the tray app sits idle.
"""

from __future__ import annotations

import queue
import tkinter as tk
from collections.abc import Callable
from typing import Any

FAST_MS = 30
IDLE_MS = 200


class UiQueue:
    """Functions posted from any thread, run on the Tk thread in order."""

    def __init__(self, root: tk.Tk) -> None:
        self.root = root
        self._inbox: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self._timer: str | None = self.root.after(FAST_MS, self._drain)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run fn(*args) on the Tk thread soon; safe from any thread."""
        self._inbox.put((fn, args))

    def _drain(self) -> None:
        # the next poll is set first, so a failing function (Tk reports it) cannot stop the queue
        showing = any(isinstance(w, tk.Toplevel) and w.winfo_viewable() for w in self.root.winfo_children())
        self._timer = self.root.after(FAST_MS if showing or self.root.winfo_viewable() else IDLE_MS, self._drain)
        while True:
            try:
                fn, args = self._inbox.get_nowait()
            except queue.Empty:
                break
            fn(*args)

    def close(self) -> None:
        if self._timer is not None:
            self.root.after_cancel(self._timer)
            self._timer = None
