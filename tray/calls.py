"""API calls off the Tk thread: each runs on a worker and its answer comes back through the UI queue."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from photosift.daemon.client import Client
from photosift.daemon.errors import DaemonNotRunning, PhotosiftError

from .uiqueue import UiQueue


class CallError(str):
    """A call's error message; `down` says the daemon is not running, and then the text leaves out the
    shell advice ("start it with `photosift start`"): windows offer a Start button instead."""

    down: bool = False


def call_error(exc: PhotosiftError) -> CallError:
    if isinstance(exc, DaemonNotRunning):
        error = CallError(exc.why)
        error.down = True
        return error
    return CallError(str(exc))


Done = Callable[[Any, CallError | None], None]  # (result or None, error or None), on the Tk thread


class Caller:
    """One worker thread per window: calls run in order, answers after `close()` are dropped."""

    def __init__(self, ui: UiQueue, connect: Callable[[], Client]) -> None:
        self.ui = ui
        self.connect = connect
        self.closed = False
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="photosift-ui")

    def call(self, work: Callable[[Client], Any], done: Done) -> None:
        """Run work(client) on the worker; `done(result, error)` then runs on the Tk thread."""

        def run() -> None:
            try:
                with self.connect() as client:
                    result, error = work(client), None
            except PhotosiftError as exc:
                result, error = None, call_error(exc)
            self.ui.post(lambda: None if self.closed else done(result, error))

        self._worker.submit(run)

    def run(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run something slow that is not an API call (a D-Bus request to the file manager) off the Tk thread."""
        self._worker.submit(fn, *args)

    def close(self) -> None:
        """Drop pending calls; one under way finishes on its own (its answer is discarded)."""
        self.closed = True
        self._worker.shutdown(wait=False, cancel_futures=True)
