"""Serving the API on the Unix socket: uvicorn in a thread, with a peer-uid check per connection."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .transport import bind_unix_socket, peer_uid, remove_socket

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
KEEP_ALIVE_SECONDS = 5


class OwnerOnlyProtocol(H11Protocol):
    """h11 HTTP that hangs up, before reading a byte, on peers running as another user."""

    refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        uid = peer_uid(sock) if sock is not None else None
        if uid is not None and uid != os.getuid():
            log.warning("refused an API connection from uid %d", uid)
            self.refused = True
            transport.close()
            return
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.refused:  # a refused connection never set up h11's state
            super().connection_lost(exc)


class ApiServer:
    """The API on `socket_path`, served from its own thread and event loop."""

    def __init__(self, app: Any, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._sock = bind_unix_socket(socket_path)
        config = uvicorn.Config(
            app,
            http=OwnerOnlyProtocol,
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
        remove_socket(self.socket_path)
