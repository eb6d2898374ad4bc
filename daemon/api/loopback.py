"""The API on Windows, where Python has no Unix sockets: loopback TCP guarded by a token.

The daemon listens on 127.0.0.1 on a port the OS picks, and writes the port and
a fresh random token into an endpoint file in the user's runtime folder
(`%LOCALAPPDATA%`, which only that user can read). A client reads the file and
sends `Authorization: Bearer <token>`. Requests without the right token are
refused (401), and so are requests whose `Host` is not a loopback name (403):
that stops a web page in the user's browser from reaching the API through DNS
rebinding, the classic attack on local HTTP services.

Everything here is plain Python, so the tests run it on Linux too (end to end
over real loopback TCP); only the default choice of it is Windows-only.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EndpointError

# Windows Python has no AF_UNIX sockets: the API falls back to loopback TCP there
USE_LOOPBACK = sys.platform == "win32" or not hasattr(socket, "AF_UNIX")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Endpoint:
    """Where a loopback daemon listens, and the token it wants."""

    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def bind_loopback() -> socket.socket:
    """A listening TCP socket on 127.0.0.1, on a port the OS picks."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def publish(path: Path, port: int) -> Endpoint:
    """Write a new endpoint (the port and a fresh token) to `path`, readable only by this user.

    The file is created with mode 0600 (honoured on POSIX; on Windows the user's
    profile folder's ACL is what keeps others out) and swapped in atomically, so a
    client never reads half of it.
    """
    endpoint = Endpoint(port, secrets.token_urlsafe(32))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".endpoint.", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"port": endpoint.port, "token": endpoint.token, "pid": os.getpid()}, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return endpoint


def read_endpoint(path: Path) -> Endpoint:
    """The endpoint a running daemon published at `path`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Endpoint(int(data["port"]), str(data["token"]))
    except FileNotFoundError as exc:
        raise EndpointError(f"{path} does not exist") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EndpointError(f"{path} is not a photosift endpoint file: {exc}") from exc


class TokenGuard:
    """ASGI middleware: only requests to a loopback `Host` carrying the endpoint's token get through."""

    def __init__(self, app: Asgi, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1").lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in LOOPBACK_HOSTS:
            await _refuse(send, 403, "bad_host", "the API answers only requests addressed to localhost")
        elif not hmac.compare_digest(headers.get(b"authorization", b""), self._expected):
            await _refuse(send, 401, "unauthorized", "missing or wrong token (read it from the endpoint file)")
        else:
            await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
