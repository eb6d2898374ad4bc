"""Serving the API: uvicorn in a thread, guarding every connection.

On a Unix socket each connection's peer uid is checked; on Windows' loopback
TCP every request must carry the endpoint's token (see loopback.py). Either
way a client must send its whole request within READ_TIMEOUT seconds, so
slow or stalled clients cannot hold connections (uvicorn itself only times out
idle keep-alive connections, not half-sent requests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .loopback import USE_LOOPBACK, TokenGuard, bind_loopback, publish
from .transport import bind_unix_socket, peer_uid, remove_socket

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
KEEP_ALIVE_SECONDS = 5
READ_TIMEOUT = 10.0

_TIMEOUT_BODY = json.dumps(
    {"error": {"code": "request_timeout", "message": f"the request did not arrive within {READ_TIMEOUT:g} s"}}
).encode()
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMEOUT_BODY)}\r\n\r\n".encode()
    + _TIMEOUT_BODY
)


class GuardedProtocol(H11Protocol):
    """h11 HTTP that hangs up on Unix-socket peers of another user before reading a byte, and on
    clients that take longer than `read_timeout` to send a request."""

    refused = False
    read_timeout = READ_TIMEOUT
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None and sock.family == getattr(socket, "AF_UNIX", None) else None
        if uid is not None and uid != os.getuid():
            log.warning("refused an API connection from uid %d", uid)
            self.refused = True
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:  # the first bytes of the next request on a kept-alive connection
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.SEND_BODY and self.conn.their_state is not h11.IDLE:
            self._disarm()  # the whole request is in: the time limit is on reading, not on answering

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.refused:  # a refused connection never set up h11's state
            super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.info("closing an API connection whose request did not arrive within %g s", self.read_timeout)
        if self.cycle is None or not self.cycle.response_started:  # nothing sent yet: say why first
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


class ApiServer:
    """The API on `path` (the socket, or the endpoint file on loopback), served from its own thread."""

    def __init__(self, app: Any, path: Path, loopback: bool = USE_LOOPBACK) -> None:
        self.path = path
        if loopback:
            self._sock = bind_loopback()
            app = TokenGuard(app, publish(path, self._sock.getsockname()[1]).token)
        else:
            self._sock = bind_unix_socket(path)
        config = uvicorn.Config(
            app,
            http=GuardedProtocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            h11_max_incomplete_event_size=16 * 1024,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="photosift-api", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._sock.close()
        remove_socket(self.path)
