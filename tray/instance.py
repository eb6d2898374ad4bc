"""One search window per session: a second `photosift similar FILE --gui` hands its request to the first.

The process that shows the search window (the tray app, or a `--gui` command
that found no window open) listens on `gui.sock` beside the API socket, in the
same owner-only folder. A request is one JSON line; the answer is "ok". Binding
happens under a lock file, so two windows starting at the same moment cannot
both become the instance. Windows has no Unix sockets in Python: there every
`--gui` command opens its own window.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from photosift.daemon.api.transport import bind_unix_socket, remove_socket
from photosift.daemon.errors import SocketError
from photosift.daemon.lock import FileLock

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 << 10
IO_TIMEOUT = 2.0
SUPPORTED = sys.platform != "win32"

Mode = Literal["show", "search", "similar", "duplicates", "quit"]


@dataclass(frozen=True)
class Request:
    """What the window should show: itself (as it was), a text search, images like `paths`, or the duplicates
    (under `paths[0]` if given); or "quit":
    the process showing it ends (the tray app too: uninstalling asks so)."""

    mode: Mode = "show"
    text: str = ""
    paths: tuple[str, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        return json.dumps({"mode": self.mode, "text": self.text, "paths": list(self.paths)}).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> Request:
        """Parse one request line; ValueError names what is wrong with it."""
        data: Any = json.loads(line)
        if not isinstance(data, dict) or data.get("mode") not in ("show", "search", "similar", "duplicates", "quit"):
            raise ValueError("a request is an object with mode show, search, similar, duplicates or quit")
        text, paths = data.get("text", ""), data.get("paths", [])
        if not isinstance(text, str) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("text must be a string and paths a list of strings")
        if data["mode"] == "similar" and not paths:
            raise ValueError("a similar request needs paths")
        return cls(data["mode"], text, tuple(paths))


def address_beside(api_socket: Path) -> Path:
    """The single-instance socket, in the API socket's owner-only folder."""
    return api_socket.parent / "gui.sock"


def send(address: Path, request: Request) -> bool:
    """Hand the request to the running window; False when none is running."""
    if not SUPPORTED:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(IO_TIMEOUT)
        try:
            sock.connect(str(address))
            sock.sendall(request.encode())
            return sock.makefile("rb").readline().strip() == b"ok"
        except OSError:
            return False


def _locked(address: Path) -> FileLock:
    """The lock under which the window socket is bound and removed (two windows may start at once)."""
    return FileLock(address.with_suffix(".lock"))


class InstanceServer:
    """Listens on `address` and calls `handler(request)` on its own thread for each request.

    The handler must only hand the request over (to the Tk thread's queue): it runs
    while the sender waits for "ok".
    """

    def __init__(self, address: Path, handler: Callable[[Request], None]) -> None:
        self.address = address
        self.handler = handler
        self._sock: socket.socket | None = None
        self._inode = 0
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name="photosift-instance", daemon=True)

    def start(self) -> bool:
        """Become the instance; False when another process already is (or on Windows)."""
        if not SUPPORTED:
            return False
        with _locked(self.address).held_while():
            try:
                self._sock = bind_unix_socket(self.address)
            except SocketError as exc:
                log.info("not the window instance: %s", exc)
                return False
            self._inode = os.stat(self.address).st_ino
        self._thread.start()
        return True

    def _serve(self) -> None:
        assert self._sock is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._wake_r in ready:
                    return
                with contextlib.suppress(BlockingIOError):
                    conn, _ = self._sock.accept()
                    with conn:
                        self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        conn.settimeout(IO_TIMEOUT)
        try:
            line = conn.makefile("rb").readline(MAX_REQUEST_BYTES + 1)
            request = Request.decode(line)
        except (OSError, ValueError) as exc:
            log.warning("ignored a bad window request: %s", exc)
            with contextlib.suppress(OSError):
                conn.sendall(f"error {exc}\n".encode())
            return
        self.handler(request)
        with contextlib.suppress(OSError):
            conn.sendall(b"ok\n")

    def close(self) -> None:
        """Stop listening and remove the socket."""
        if self._thread.is_alive():
            self._wake_w.send(b"x")
            self._thread.join()
        if self._sock is not None:
            self._sock.close()
            with _locked(self.address).held_while():
                # only our own socket: a newer instance may have replaced it after a crash of ours
                if self.address.exists() and os.stat(self.address).st_ino == self._inode:
                    remove_socket(self.address)
            self._sock = None
        self._wake_r.close()
        self._wake_w.close()
