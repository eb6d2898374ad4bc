"""Serving the API: uvicorn in a thread, guarding every connection.

On a Unix socket each connection's peer uid is checked; on Windows' loopback
TCP every request must carry the endpoint's token (see loopback.py). Either
way a client must send its whole request within READ_TIMEOUT seconds, so
slow or stalled clients cannot hold connections (uvicorn itself only times out
idle keep-alive connections, not half-sent requests).

A flood cannot lock anyone out either (a buggy script reconnecting in a loop
would otherwise take the tray and the file-manager action down with it): idle
connections cost almost nothing in an event loop, so up to MAX_WAITING of them
may be open at once, and past that the one that has waited longest is closed
to make room (`Admission`: first those still sending a request, then those idle
between requests). A new client is always let in; only answering is limited
(MAX_CONNECTIONS, more get 503).
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

MAX_WAITING = 512  # connections not being answered (sending a request, or idle between requests)
MAX_CONNECTIONS = MAX_WAITING + 256  # uvicorn answers 503 past this many connections in all
KEEP_ALIVE_SECONDS = 5
READ_TIMEOUT = 10.0
_FILES_BESIDES_CONNECTIONS = 256  # the store, the model, the watches: what else the daemon keeps open

_TIMEOUT_BODY = json.dumps(
    {"error": {"code": "request_timeout", "message": f"the request did not arrive within {READ_TIMEOUT:g} s"}}
).encode()
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_TIMEOUT_BODY)}\r\n\r\n".encode()
    + _TIMEOUT_BODY
)


_BUSY_BODY = json.dumps(
    {"error": {"code": "too_many_connections",
               "message": f"over {MAX_WAITING} connections were waiting; this one had waited longest"}}
).encode()
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_BUSY_BODY)}\r\n\r\n".encode()
    + _BUSY_BODY
)


class Admission:
    """The connections the server is not answering, oldest first; past `limit` the oldest is closed.

    Those still sending a request go first (a slow or stalled sender is the likeliest
    misbehaver), then those idle between requests. Everything runs on the server's
    event loop, so nothing here needs a lock.
    """

    def __init__(self, limit: int = MAX_WAITING) -> None:
        self.limit = limit
        self._sending: dict[GuardedProtocol, None] = {}  # insertion order: oldest first
        self._idle: dict[GuardedProtocol, None] = {}
        self.evicted = 0

    def sending(self, conn: GuardedProtocol) -> None:
        self._forget(conn)
        self._sending[conn] = None
        self._make_room()

    def idle(self, conn: GuardedProtocol) -> None:
        self._forget(conn)
        self._idle[conn] = None
        self._make_room()

    def answering(self, conn: GuardedProtocol) -> None:
        self._forget(conn)

    def _forget(self, conn: GuardedProtocol) -> None:
        self._sending.pop(conn, None)
        self._idle.pop(conn, None)

    def _make_room(self) -> None:
        while len(self._sending) + len(self._idle) > self.limit:
            queue = self._sending or self._idle
            oldest = next(iter(queue))
            del queue[oldest]
            self.evicted += 1
            oldest.evict()


class GuardedProtocol(H11Protocol):
    """h11 HTTP that hangs up on Unix-socket peers of another user before reading a byte, on clients
    that take longer than `read_timeout` to send a request, and on the longest-waiting connection when
    too many wait (`admission`, one per server: `ApiServer` makes a subclass)."""

    refused = False
    read_timeout = READ_TIMEOUT
    admission = Admission()
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
        self.admission.sending(self)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:  # the first bytes of the next request on a kept-alive connection
            self._arm()
            self.admission.sending(self)
        super().data_received(data)
        if self.conn.their_state is not h11.SEND_BODY and self.conn.their_state is not h11.IDLE:
            self._disarm()  # the whole request is in: the time limit is on reading, not on answering
            self.admission.answering(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._deadline is None:
            self.admission.idle(self)  # kept alive, waiting for the next request

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.refused:  # a refused connection never set up h11's state
            self.admission.answering(self)
            super().connection_lost(exc)

    def evict(self) -> None:
        """Close this connection to make room for a new one (it waited longest)."""
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:  # say why, if nothing was sent yet
            self.transport.write(_BUSY_RESPONSE)
        self.transport.close()

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
        waiting = _room_for_connections(MAX_WAITING)
        # this server's own admission (a test may run several servers in one process)
        self.admission = Admission(waiting)
        protocol = type("ServerProtocol", (GuardedProtocol,), {"admission": self.admission})
        config = uvicorn.Config(
            app,
            http=protocol,
            lifespan="off",
            log_config=None,
            access_log=False,
            limit_concurrency=waiting + (MAX_CONNECTIONS - MAX_WAITING),
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
        if self.admission.evicted:
            log.info("closed %d API connection(s) that waited longest, to let others in", self.admission.evicted)
        self._server.should_exit = True
        self._thread.join()
        self._sock.close()
        remove_socket(self.path)


def _room_for_connections(wanted: int) -> int:
    """How many waiting connections the process's open-file limit allows: the soft limit is raised to
    the hard one where it is lower (often 1,024 against 524,288), and what is left after the daemon's
    own files is shared with the connections being answered."""
    try:
        import resource
    except ImportError:  # Windows: no such limit on sockets
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + (MAX_CONNECTIONS - MAX_WAITING) + _FILES_BESIDES_CONNECTIONS
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, (soft - _FILES_BESIDES_CONNECTIONS) * MAX_WAITING // MAX_CONNECTIONS))
