"""The indexing pipeline, top to bottom.

    touch ─▶ debounce ─▶ examine (N threads) ─▶ encode (1 thread, batches) ─▶ write (1 thread) ─▶ store
                 submit ─┘        └─ decode (a worker process each: decoders.py)

`Stages` holds each stage as a plain method over typed messages, so tests can
run them inline; `Pipeline` runs them on threads joined by bounded queues.
Paths arrive settled (`submit`: a scan found them) or as they change (`touch`:
a watch event; the debouncer submits them once they stop changing). Every
submitted path is accounted for until the writer has applied its outcome,
which is what `wait_idle` waits on.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import io
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..decode import Decoded, Examined, FileStat, Limits, content_hash, content_hash_of, open_image
from ..errors import DecodeError, FileChanged
from ..gpu_jpeg import JPEG_MAGIC, Compressed, decode_batch, header
from ..model import ClipModel
from .archive import Archive
from .catalog import Catalog
from .debounce import Debouncer
from .decoders import Budget, Decode, DecodeWorker, StillChanging, Unreadable, decode
from .health import StoreHealth
from .keeper import Keeper
from .ledger import Ledger
from .messages import Changing, Done, Encoded, Failed, Remove, Reuse, WriterOp
from .scan import Rules
from .writer import Writer

log = logging.getLogger(__name__)

WRITER_TICK = 1.0  # the writer looks at least this often whether held work is due for a retry
GPU_MAX_BYTES = 64 << 20  # larger files are no camera JPEG: hashed from disk, decoded the CPU way


class _Stop(enum.Enum):
    """The marker a thread puts on a queue to wake its consumer and tell it to finish."""

    STOP = "stop"


STOP = _Stop.STOP


@dataclass
class Stages:
    """The per-item work of each stage, free of threads and queues."""

    model: ClipModel
    archive: Archive  # photosift's copy of the stored embeddings: a copy or a moved file reuses its own
    catalog: Catalog
    ledger: Ledger
    rules: Rules
    limits: Limits
    gpu: str | None = None  # the CUDA device that decodes JPEGs in batches (gpu_jpeg.py); None: all on the CPU

    def examine(self, path: str, decoder: Decode = decode) -> Examined | WriterOp | Changing:
        """Decide what a path needs: nothing, a copy of a known embedding, a failure record, encoding,
        or another look once it stops changing. `decoder` decodes (the pipeline's: in a worker process);
        beside a GPU, a JPEG is read and hashed once here and decoded on the GPU with its batch."""
        try:
            stat = FileStat.of(path)
        except OSError:
            return Done(path)  # vanished: its delete event (or the next scan) removes it
        root = self.rules.root_of(path)
        if root is None:
            return Done(path)  # its folder stopped being watched while it waited
        if not self.rules.admits(path):
            # a live event's path judged as the scan judges it: a link out of the roots (made, moved in
            # or re-pointed while we run) is never indexed, and one indexed before is forgotten
            return Remove((path,)) if self.catalog.get(path) is not None else Done(path)
        if self.catalog.unchanged(path, stat) or self.ledger.failed_unchanged(path, stat):
            return Done(path)
        try:
            data = _read_small(path, stat) if self.gpu is not None else None
            digest = content_hash_of(data) if data is not None else content_hash(path)
            reused = self._reuse(path, stat, digest, root)
            if reused is not None:
                return reused
            head = header(data, self.limits, stat.mtime_ns // 1_000_000_000) if data is not None else None
            if data is not None and head is not None:
                if FileStat.of(path) != stat:
                    return Changing(path)
                return Compressed(path=path, stat=stat, content_hash=digest, width=head.width, height=head.height,
                                  taken_at=head.taken_at, data=data, orientation=head.orientation)
            decoded = decoder(path, self.model.input_resolution, self.limits, digest)
        except FileNotFoundError:
            return Done(path)  # deleted while we looked at it
        except FileChanged:
            return Changing(path)  # it is being written: look again once it settles
        except DecodeError as exc:
            return Failed(path, stat, exc.reason)
        except OSError as exc:
            return Failed(path, stat, f"cannot read: {exc}")
        if isinstance(decoded, Unreadable):
            return Failed(path, stat, decoded.reason)
        if isinstance(decoded, StillChanging):
            return Changing(path)
        return decoded

    def _reuse(self, path: str, stat: FileStat, digest: str, root: str) -> Reuse | Done | None:
        # the path itself counts as a source: a file touched but not changed keeps its embedding,
        # and so does one whose move the writer applied while we were hashing it
        for source in self.catalog.same_content(digest):
            record = self.catalog.get(source)
            if source == path and self.catalog.unchanged(path, stat):
                return Done(path)
            stored = self.archive.embeddings([source]).get(source)
            if record is None or stored is None:
                continue
            new = dataclasses.replace(record, path=path, root=root, size=stat.size, mtime_ns=stat.mtime_ns)
            return Reuse(new, stored)
        kept = self.archive.retired_like(digest)  # a photo of a folder removed within the grace period
        if kept is not None:
            record, stored = kept
            return Reuse(dataclasses.replace(record, path=path, root=root, size=stat.size, mtime_ns=stat.mtime_ns),
                         stored)
        return None

    def encode(self, batch: list[Examined]) -> list[WriterOp]:
        """Embed a batch of images (background work: queries go first): decoded ones, and JPEGs that are
        decoded on the GPU first. A JPEG the GPU decoder refuses is decoded here on the CPU instead (rare:
        its header passed Pillow's checks, and the pixel limit bounds the work)."""
        size = self.model.input_resolution
        jpegs = [d for d in batch if isinstance(d, Compressed)]
        on_gpu = dict(zip(map(id, jpegs), decode_batch(jpegs, size, self.gpu), strict=True)) if self.gpu else {}
        rows: list[torch.Tensor] = []
        kept: list[Examined] = []
        ops: list[WriterOp] = []
        for d in batch:
            pixels: torch.Tensor | str = torch.from_numpy(d.pixels) if isinstance(d, Decoded) else on_gpu[id(d)]
            if isinstance(pixels, str) and isinstance(d, Compressed):
                try:
                    pixels = torch.from_numpy(open_image(io.BytesIO(d.data), size, self.limits).to_pixels(size))
                except DecodeError as exc:
                    ops.append(Failed(d.path, d.stat, exc.reason))
                    continue
            assert isinstance(pixels, torch.Tensor)
            rows.append(pixels.to(self.model.device))
            kept.append(d)
        if kept:
            embeddings = self.model.encode_images(torch.stack(rows), background=True)
            ops.insert(0, Encoded(tuple((d, self.rules.root_of(d.path) or "") for d in kept), embeddings))
        return ops


def _read_small(path: str, stat: FileStat) -> bytes | None:
    """A JPEG's bytes, read whole to be hashed here and decoded on the GPU; None for anything else."""
    if not 0 < stat.size <= GPU_MAX_BYTES:
        return None
    with open(path, "rb") as f:
        data = f.read()
    return data if data.startswith(JPEG_MAGIC) else None


class Pipeline:
    """Runs the stages on threads: `touch` or `submit` paths, `send` removals and moves, `wait_idle` for
    the result.

    With `exclusive_encode` (the encoder runs on the CPU), decoding and writing
    pause while a batch is encoded: they would share the same cores, and the
    encoder's OpenMP threads lose far more to a preempted thread than the others
    gain. Phases of all-cores decoding and all-cores encoding are faster.
    On a GPU everything runs at once.
    """

    def __init__(
        self,
        stages: Stages,
        writer: Writer,
        batch_size: int,
        workers: int,
        exclusive_encode: bool = False,
        quiet: float = 2.0,
        on_overflow: Callable[[], None] = lambda: None,
        health: StoreHealth | None = None,
        heartbeat: bool = False,
        budget: Budget | None = None,
        decoder_init: str | None = None,
    ) -> None:
        self.stages = stages
        self.budget = budget or Budget()  # what one file may cost its decoder process
        self._decoder_init = decoder_init  # run in each decoder process first (tests inject a codec)
        # more files changing at once than it can track: `on_overflow` should rescan instead
        self._debouncer = Debouncer(quiet, self.submit, on_overflow)
        self.writer = writer
        self.health = health or StoreHealth(writer.store.location)
        # a failing store holds the writes (and the paths behind them) until it answers again
        self.keeper = Keeper(writer, self.health, look_again=self._debouncer.touch, rescan=on_overflow,
                             heartbeat=heartbeat)
        self.batch_size = batch_size
        self.exclusive_encode = exclusive_encode
        self._decode_gate = threading.Event()
        self._decode_gate.set()
        self._resumed = threading.Event()  # cleared while the user has paused indexing
        self._resumed.set()
        self._decoding = 0  # paths a worker holds and has not passed on yet
        self._waiting: set[str] = set()  # paths in the queue, not yet taken by a worker
        self._examining: set[str] = set()  # paths a worker took, until the writer has applied their outcome
        self._again: set[str] = set()  # of those, the ones submitted again meanwhile
        self._paths: queue.Queue[str | _Stop] = queue.Queue(maxsize=max(64, 4 * batch_size))
        self._decoded: queue.Queue[Examined | _Stop] = queue.Queue(maxsize=2 * batch_size)
        self._ops: queue.Queue[WriterOp | _Stop] = queue.Queue(maxsize=64)
        self._stopping = threading.Event()
        self._stopped = False
        self._pending = 0
        self.completed = 0  # units of work finished since start: drives progress bars
        self._burst_start = 0  # `completed` when the queue last ran empty
        self._idle = threading.Condition()
        self.indexed_since_start = 0
        self._workers = [
            threading.Thread(target=self._examine_loop, name=f"photosift-decode-{i}", daemon=True)
            for i in range(workers)
        ]
        self._encoder = threading.Thread(target=self._encode_loop, name="photosift-encode", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="photosift-write", daemon=True)

    # -- feeding ---------------------------------------------------------------------------------

    def touch(self, path: str) -> None:
        """Note that `path` changed just now: it is submitted once it has stopped changing."""
        self._debouncer.touch(path)

    def submit(self, path: str) -> bool:
        """Queue a path for examination; blocks while the pipeline is full. False once stopping.

        A path already waiting in the queue is not queued again: the waiting one will see
        the file as it is when it is examined. A path being examined, encoded or written is
        looked at again once its outcome is applied, never beside it: a new folder's scan and
        its files' events both find the same files, and two looks at once would encode twice.
        """
        with self._idle:
            if path in self._waiting:
                return True
            if path in self._examining:
                self._again.add(path)
                return True
            self._waiting.add(path)
            self._pending += 1
        while not self._stopping.is_set():
            try:
                self._paths.put(path, timeout=0.2)
                return True
            except queue.Full:
                continue
        self._complete(1)
        return False

    def send(self, op: WriterOp) -> bool:
        """Hand a removal or move straight to the writer, in order with everything before it.

        False once stopping: the change is then found by the next start-up reconcile.
        """
        if self._stopping.is_set():
            return False
        with self._idle:
            self._pending += 1
        self._ops.put(op)
        return True

    def pause(self) -> None:
        """Stop examining new paths (queries still work; queued work waits)."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def pending(self) -> int:
        """Paths and ops submitted and not yet applied."""
        with self._idle:
            return self._pending

    @property
    def settling(self) -> int:
        """Paths that changed and are waiting to stop changing before they are submitted."""
        return self._debouncer.pending

    def progress(self) -> tuple[int, int]:
        """(done, total) of the current burst of work: what finished since the queue was last
        empty, and that plus what is still queued. (0, 0) when idle."""
        with self._idle:
            done = self.completed - self._burst_start
            return done, done + self._pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every submitted path and sent op has been applied."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0 or self._stopped, timeout)

    def _complete(self, n: int) -> None:
        with self._idle:
            self._pending -= n
            self.completed += n
            if self._pending <= 0:
                self._pending = 0
                self._burst_start = self.completed
                self._idle.notify_all()

    # -- threads ---------------------------------------------------------------------------------

    def start(self) -> None:
        for t in (*self._workers, self._encoder, self._writer):
            t.start()
        self._debouncer.start()

    def stop(self) -> None:
        """Stop taking work, finish the batch in hand, apply what is already encoded, then return.

        Paths still queued are dropped: they are found again by the next start-up reconcile.
        """
        self._stopping.set()
        self.writer.stopping.set()  # a re-tag or a mass removal in hand ends at its next page
        self._debouncer.stop()  # what it still holds is found again by the next start-up reconcile
        self._resumed.set()  # paused workers must see the stop
        for _ in self._workers:
            self._put_control(self._paths)
        for t in self._workers:
            t.join()
        self._decoded.put(STOP)
        self._encoder.join()
        self._writer.join()
        with self._idle:  # anything sent after the writer's last op will never be applied
            self._stopped = True
            self._idle.notify_all()

    def _release(self, paths: tuple[str, ...]) -> None:
        """The outcome of examining `paths` is applied: one submitted again meanwhile is looked at once
        more after a quiet spell (it changed again, or a scan and an event both found it; then the look
        finds it unchanged and costs a stat)."""
        with self._idle:
            again = [p for p in paths if p in self._again]
            self._examining.difference_update(paths)
            self._again.difference_update(again)
        for path in again:  # before the caller completes the work: `settling` counts it first
            self._debouncer.touch(path)

    def _put_control(self, q: queue.Queue[str | _Stop]) -> None:
        while True:
            try:
                q.put(STOP, timeout=0.1)
                return
            except queue.Full:
                try:  # drop a queued path to make room: it is re-found at the next start
                    if q.get_nowait() is not STOP:
                        self._complete(1)
                except queue.Empty:
                    pass

    def _examine_loop(self) -> None:
        worker = DecodeWorker(self.budget, self._decoder_init)
        try:
            worker.start()  # while the first scan starts: ready by the time the first path arrives
            self._examine_with(worker)
        finally:
            worker.stop()

    def _examine_with(self, worker: DecodeWorker) -> None:
        decoder = functools.partial(worker.decode, cancel=self._stopping)
        while True:
            path = self._paths.get()
            if path is STOP:
                return
            if self._stopping.is_set():
                self._complete(1)
                continue
            with self._idle:
                self._waiting.discard(path)
                self._examining.add(path)
                self._decoding += 1
            self._resumed.wait()
            if not self.keeper.admit(path):  # the store fails and enough waits for it already
                with self._idle:
                    self._decoding -= 1
                self._release((path,))
                self._complete(1)
                continue
            self._decode_gate.wait()
            try:
                result = self.stages.examine(path, decoder)
            except Exception as exc:
                log.exception("unexpected error examining %s", path)
                result = Failed(path, FileStat(-1, -1), f"internal error: {exc!r}")
            if isinstance(result, Changing):
                self._debouncer.touch(result.path)
                result = Done(result.path)
            if isinstance(result, Examined):
                self._decoded.put(result)
            else:
                self._ops.put(result)
                if isinstance(result, Remove):  # a removal releases nothing at the writer (see _examined)
                    self._release((path,))
            with self._idle:
                self._decoding -= 1

    def _nothing_coming(self) -> bool:
        """No decoded image is on its way: encode what we have instead of waiting for a full batch."""
        with self._idle:
            decoding = self._decoding
        return decoding == 0 and self._paths.empty() and self._decoded.empty()

    def _next_batch(self) -> tuple[list[Examined], bool]:
        batch: list[Examined] = []
        first = self._decoded.get()
        if first is STOP:
            return batch, True
        batch.append(first)
        while len(batch) < self.batch_size:
            try:
                item = self._decoded.get(timeout=0.01)
            except queue.Empty:
                if self._nothing_coming():
                    break
                continue
            if item is STOP:
                return batch, True
            batch.append(item)
        return batch, False

    def _encode_loop(self) -> None:
        while True:
            batch, stop = self._next_batch()
            if batch:
                if self.exclusive_encode:
                    self._decode_gate.clear()
                try:
                    results = self.stages.encode(batch)
                except Exception as exc:
                    log.exception("encoding a batch of %d failed", len(batch))
                    results = [Failed(d.path, d.stat, f"encoder error: {exc!r}") for d in batch]
                finally:
                    self._decode_gate.set()
                for op in results:
                    self._ops.put(op)
            if stop:
                self._ops.put(STOP)
                return

    def _write_loop(self) -> None:
        # background work: the store's writes wait between pages while a query runs (store.py)
        with self.stages.model.priority.background():
            self._write_ops()

    def _write_ops(self) -> None:
        while True:
            try:
                op = self._ops.get(timeout=WRITER_TICK)
            except queue.Empty:
                self.keeper.tick()
                continue
            if op is STOP:
                self.keeper.stop()
                return
            # writing (Chroma's index updates) would contend with the encoder like decoding does
            self._decode_gate.wait()
            try:
                for path in self.keeper.apply(op):  # files that turned out to be still changing
                    self._debouncer.touch(path)
                if isinstance(op, Encoded):
                    self.indexed_since_start += len(op.items)
            except Exception:
                # a bug on one op (the store's own failures are held and retried by the keeper):
                # the next reconcile finds these files again; the daemon keeps running
                log.exception("writing %s failed", type(op).__name__)
            self._release(_examined(op))
            self._complete(_weight(op))
            self.keeper.tick()


def _examined(op: WriterOp) -> tuple[str, ...]:
    """The examined paths whose outcome `op` is. Removals and moves are left out: the watcher sends
    them too, and one of those must not release a path that a worker still holds."""
    if isinstance(op, Encoded):
        return tuple(d.path for d, _ in op.items)
    if isinstance(op, Reuse):
        return (op.record.path,)
    if isinstance(op, Failed | Done):
        return (op.path,)
    return ()


def _weight(op: WriterOp) -> int:
    """How many units of pending work an op completes: one per path, one per sent op."""
    return len(op.items) if isinstance(op, Encoded) else 1
