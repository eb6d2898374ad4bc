"""Decoding in worker processes, each file under a wall-clock and a memory limit.

Image decoders are C code fed with whatever files a library holds: a crafted or
damaged file can make one loop for minutes or allocate gigabytes. A thread
running such a decoder cannot be stopped, and it would stall indexing (and in
the worst case the daemon) for good. A process can: each examine thread of the
pipeline owns one `DecodeWorker`, sends it one file at a time and waits at most
`timeout` seconds; a worker that overruns is killed and replaced, and a file
that takes the worker down with it (a crash, the memory limit) is reported the
same way. Either way the file is recorded as failed with the reason and retried
only when it changes. Workers also decode beside the GIL, which lets decoding
scale with cores beside a GPU where threads stopped at about eight.

Workers come from a fork server (a clean process started once, with the
decoders imported): forking the daemon itself, with its threads and its model,
would be unsafe and slow. The memory limit is `RLIMIT_AS` on Unix; where it
does not exist (Windows) only the time limit applies.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from ..decode import Decoded, Limits, decode_file
from ..errors import DecodeError, FileChanged

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

POLL = 0.1  # how often a waiting thread looks whether it is told to stop


@dataclass(frozen=True)
class Budget:
    """What one file may cost a worker."""

    timeout: float = 10.0  # seconds of wall-clock time
    memory_mb: int = 2048  # megabytes of address space beyond the worker's own start-up size


@dataclass(frozen=True)
class Unreadable:
    """The file cannot be indexed as it is: why, in words."""

    reason: str


@dataclass(frozen=True)
class StillChanging:
    """The file changed or vanished while it was read: look again once it settles."""

    reason: str


Outcome = Decoded | Unreadable | StillChanging
Decode = Callable[[str, int, Limits, str], Outcome]  # path, input size, limits, content hash


def decode(path: str, size: int, limits: Limits, digest: str, memory_mb: int | None = None) -> Outcome:
    """`decode_file` with its failures as values, as a worker answers (and as a test runs it inline)."""
    try:
        return decode_file(path, size, limits, digest)
    except FileChanged as exc:
        return StillChanging(str(exc))
    except DecodeError as exc:
        return Unreadable(exc.reason)
    except MemoryError:
        allowed = f"the {memory_mb} MB allowed (decode_memory_mb)" if memory_mb else "the memory available"
        return Unreadable(f"decoding needed more than {allowed}")
    except OSError as exc:
        return Unreadable(f"cannot read: {exc}")
    except Exception as exc:  # noqa: BLE001 - a decoder's bug on a strange file: that file fails, the worker goes on
        return Unreadable(f"decoder error: {exc!r}")


def _context() -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # workers fork with Pillow and numpy already imported
        return ctx
    return multiprocessing.get_context("spawn")


def _address_space() -> int:
    """This process's current virtual memory size in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError, AttributeError):
        return 0


def _serve(conn: Connection, budget: Budget, initializer: str | None) -> None:
    """A worker's life: decode each file it is sent, answer, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the daemon's to handle; it stops us
    if initializer:
        module, _, name = initializer.partition(":")
        getattr(importlib.import_module(module), name)()
    own = _address_space()
    if resource is not None and own:
        limit = own + (budget.memory_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the daemon is gone or done with us
        path, size, limits, digest = job
        answer = decode(path, size, limits, digest, budget.memory_mb)
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return


class DecodeWorker:
    """One worker process, used by one thread at a time; started on first use, replaced when killed."""

    def __init__(self, budget: Budget, initializer: str | None = None) -> None:
        self.budget = budget
        self.initializer = initializer  # "module:function" run in the worker first (tests inject codecs)
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        """The worker process's id, while one runs."""
        return self._process.pid if self._process is not None else None

    def decode(self, path: str, size: int, limits: Limits, digest: str,
               cancel: threading.Event | None = None) -> Outcome:
        """Decode one file in the worker; a file over its budget comes back `Unreadable`, with the reason."""
        conn = self._connection()
        try:
            conn.send((path, size, limits, digest))
        except (OSError, ValueError):  # the worker died idle: start another and try once more
            self._discard()
            conn = self._connection()
            conn.send((path, size, limits, digest))
        deadline = time.monotonic() + self.budget.timeout
        while not conn.poll(POLL):
            if cancel is not None and cancel.is_set():
                self._discard()
                return StillChanging("indexing stopped while the file was decoded")
            if time.monotonic() >= deadline:
                self._discard()
                log.warning("killed the decoder of %s after %g s", path, self.budget.timeout)
                return Unreadable(f"decoding took longer than {self.budget.timeout:g} s (decode_timeout): "
                                  "the decoder was stopped")
        try:
            answer: Outcome = conn.recv()
        except (EOFError, OSError):
            code = self._discard()
            return Unreadable(f"the decoder crashed on this file ({_death(code)})")
        return answer

    def start(self) -> None:
        """Start the worker process now rather than at the first file."""
        self._connection()

    def stop(self) -> None:
        """End the worker (it finishes nothing: a file in hand is simply dropped)."""
        self._discard()

    def _connection(self) -> Connection:
        if self._conn is None:
            ours, theirs = multiprocessing.Pipe()
            process = _context().Process(target=_serve, args=(theirs, self.budget, self.initializer),
                                         name="photosift-decoder", daemon=True)
            process.start()
            theirs.close()
            self._process, self._conn = process, ours
        return self._conn

    def _discard(self) -> int | None:
        """Kill the worker (if it runs) and forget it; returns its exit code."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        if process.is_alive():
            process.kill()
        process.join(5)
        code = process.exitcode
        if code is not None:
            process.close()
        return code


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
