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

The daemon's queries decode the same way (`QueryDecoders`): "find similar" on
a file that is not indexed, classifying a file or a fetched URL's bytes.

Workers come from a fork server (a clean process started once, with the
decoders imported): forking the daemon itself, with its threads and its model,
would be unsafe and slow. The memory limit is `RLIMIT_AS` on Unix; where it
does not exist (Windows) only the time limit applies.
"""

from __future__ import annotations

import importlib
import io
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import cast

import numpy as np

from ..decode import Decoded, Limits, decode_file, normalise, open_image
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


@dataclass(frozen=True)
class Picture:
    """An image given as bytes (a fetched URL's), cropped for the encoder."""

    crop: np.ndarray  # (R, R, 3) uint8 RGB

    @property
    def pixels(self) -> np.ndarray:
        """The encoder's input: (3, R, R) float32, normalised."""
        return normalise(self.crop)


Outcome = Decoded | Unreadable | StillChanging
Decode = Callable[[str, int, Limits, str], Outcome]  # path, input size, limits, content hash


def decode(path: str, size: int, limits: Limits, digest: str, memory_mb: int | None = None) -> Outcome:
    """`decode_file` with its failures as values, as a worker answers (and as a test runs it inline)."""
    try:
        return decode_file(path, size, limits, digest or None)
    except FileChanged as exc:
        return StillChanging(str(exc))
    except Exception as exc:  # noqa: BLE001 - every other failure is the file's, told in words
        return _unreadable(exc, memory_mb)


def decode_data(data: bytes, size: int, limits: Limits, memory_mb: int | None = None) -> Picture | Unreadable:
    """An image's bytes decoded and cropped, its failures as values."""
    try:
        return Picture(open_image(io.BytesIO(data), size, limits).crop(size))
    except Exception as exc:  # noqa: BLE001 - as in `decode`
        return _unreadable(exc, memory_mb)


def _unreadable(exc: Exception, memory_mb: int | None) -> Unreadable:
    """Why a file cannot be decoded, from what its decoding raised: a decoder's bug on a strange file too
    (that file fails, the worker goes on)."""
    if isinstance(exc, DecodeError):
        return Unreadable(exc.reason)
    if isinstance(exc, MemoryError):
        allowed = f"the {memory_mb} MB allowed (decode_memory_mb)" if memory_mb else "the memory available"
        return Unreadable(f"decoding needed more than {allowed}")
    if isinstance(exc, OSError):
        return Unreadable(f"cannot read: {exc}")
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
        source, size, limits, digest = job  # a path, or an image's bytes
        answer = (decode_data(source, size, limits, budget.memory_mb) if isinstance(source, bytes)
                  else decode(source, size, limits, digest, budget.memory_mb))
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
        """Decode one file in the worker (`digest`: its content hash, "" to have it computed); a file over
        its budget comes back `Unreadable`, with the reason."""
        return cast(Outcome, self._ask((path, size, limits, digest), path, cancel))

    def decode_data(self, data: bytes, size: int, limits: Limits) -> Picture | Unreadable:
        """Decode an image's bytes in the worker, under the same budget."""
        return cast(Picture | Unreadable, self._ask((data, size, limits, ""), "an image's bytes"))

    def _ask(self, job: tuple[str | bytes, int, Limits, str], what: str,
             cancel: threading.Event | None = None) -> Outcome | Picture:
        conn = self._connection()
        try:
            conn.send(job)
        except (OSError, ValueError):  # the worker died idle: start another and try once more
            self._discard()
            conn = self._connection()
            conn.send(job)
        deadline = time.monotonic() + self.budget.timeout
        while not conn.poll(POLL):
            if cancel is not None and cancel.is_set():
                self._discard()
                return StillChanging("indexing stopped while the file was decoded")
            if time.monotonic() >= deadline:
                self._discard()
                log.warning("killed the decoder of %s after %g s", what, self.budget.timeout)
                return Unreadable(f"decoding took longer than {self.budget.timeout:g} s (decode_timeout): "
                                  "the decoder was stopped")
        try:
            answer: Outcome | Picture = conn.recv()
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


class QueryDecoders:
    """Decoder processes for queries: each call borrows a worker (at most `workers` decode at once; more
    calls wait for one to be free); workers start on first use and stay warm."""

    def __init__(self, budget: Budget, workers: int = 2, initializer: str | None = None) -> None:
        self._workers = [DecodeWorker(budget, initializer) for _ in range(workers)]
        self._free: queue.LifoQueue[DecodeWorker] = queue.LifoQueue()  # the warmest first
        for worker in self._workers:
            self._free.put(worker)

    @contextmanager
    def _borrowed(self) -> Iterator[DecodeWorker]:
        worker = self._free.get()
        try:
            yield worker
        finally:
            self._free.put(worker)

    def decode(self, path: str, size: int, limits: Limits) -> Outcome:
        """Decode a file, as `DecodeWorker.decode` does."""
        with self._borrowed() as worker:
            return worker.decode(path, size, limits, "")

    def decode_data(self, data: bytes, size: int, limits: Limits) -> Picture | Unreadable:
        """Decode an image's bytes, as `DecodeWorker.decode_data` does."""
        with self._borrowed() as worker:
            return worker.decode_data(data, size, limits)

    def stop(self) -> None:
        """End the workers (after the API has stopped: no query holds one)."""
        for worker in self._workers:
            worker.stop()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
