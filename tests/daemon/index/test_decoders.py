"""Decoder processes: a file that hangs, balloons or crashes its decoder fails alone, with its reason.

The decoders are real worker processes decoding real photos; the misbehaviour
comes from `tests/fixtures/misbehaving_codec.py`, installed in the workers only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from engine_harness import CountingModel
from helpers import wait_for
from PIL import Image
from skimage import data

from photosift.daemon.decode import Decoded, Limits, content_hash, decode_file
from photosift.daemon.errors import RequestError
from photosift.daemon.index.decoders import Budget, DecodeWorker, Picture, QueryDecoders, StillChanging, Unreadable
from photosift.daemon.index.pipeline import Pipeline
from photosift.daemon.searcher import Embedder

from .conftest import Parts

CODEC = "tests.fixtures.misbehaving_codec:install"


def photo(path: Path) -> Path:
    Image.fromarray(data.chelsea()).save(path, quality=90)
    return path


@pytest.fixture
def worker() -> Iterator[DecodeWorker]:
    w = DecodeWorker(Budget(timeout=2.0, memory_mb=256), CODEC)
    yield w
    w.stop()


def decode(worker: DecodeWorker, path: Path) -> object:
    return worker.decode(str(path), 64, Limits(), content_hash(path))


def test_a_photo_decodes_in_the_worker_as_it_does_here(worker: DecodeWorker, tmp_path: Path) -> None:
    path = photo(tmp_path / "cat.jpg")
    got = decode(worker, path)
    assert isinstance(got, Decoded)
    assert (got.pixels == decode_file(str(path), 64, Limits()).pixels).all()
    assert worker.pid is not None


def test_a_hung_decoder_is_killed_at_the_limit_and_replaced(worker: DecodeWorker, tmp_path: Path) -> None:
    good = photo(tmp_path / "cat.jpg")
    assert isinstance(decode(worker, good), Decoded)
    first = worker.pid
    started = time.monotonic()
    got = decode(worker, photo(tmp_path / "hang.jpg"))
    assert got == Unreadable("decoding took longer than 2 s (decode_timeout): the decoder was stopped")
    assert time.monotonic() - started < 10
    assert isinstance(decode(worker, good), Decoded), "a new worker takes over"
    assert worker.pid != first


def test_a_ballooning_decoder_stops_at_the_memory_limit(worker: DecodeWorker, tmp_path: Path) -> None:
    got = decode(worker, photo(tmp_path / "balloon.jpg"))
    assert got == Unreadable("decoding needed more than the 256 MB allowed (decode_memory_mb)")
    assert isinstance(decode(worker, photo(tmp_path / "cat.jpg")), Decoded)


def test_a_crashing_decoder_is_reported_and_replaced(worker: DecodeWorker, tmp_path: Path) -> None:
    got = decode(worker, photo(tmp_path / "crash.jpg"))
    assert got == Unreadable("the decoder crashed on this file (killed by SIGABRT)")
    assert isinstance(decode(worker, photo(tmp_path / "cat.jpg")), Decoded)


def test_bad_files_answer_as_values(worker: DecodeWorker, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    got = decode(worker, broken)
    assert isinstance(got, Unreadable) and "corrupt or truncated" in got.reason
    gone = photo(tmp_path / "gone.jpg")
    digest = content_hash(gone)
    gone.unlink()
    assert isinstance(worker.decode(str(gone), 64, Limits(), digest), StillChanging)


def test_indexing_goes_on_past_a_hung_file(parts: Parts) -> None:
    good = [photo(parts.root / f"cat-{i}.jpg") for i in range(4)]
    hung = photo(parts.root / "hang.jpg")
    pipeline = Pipeline(parts.stages, parts.writer, batch_size=4, workers=1, budget=Budget(timeout=2.0),
                        decoder_init=CODEC)
    pipeline.start()
    try:
        for path in (good[0], hung, *good[1:]):
            assert pipeline.submit(str(path))
        assert pipeline.wait_idle(timeout=60)
    finally:
        pipeline.stop()
    assert {str(p) for p in good} <= set(parts.catalog.paths())
    (failure,) = parts.ledger.all()
    assert failure.path == str(hung) and failure.reason.startswith("decoding took longer than 2 s")
    # recorded against this version of the file: it is tried again only when it changes
    assert parts.ledger.failed_unchanged(str(hung), failure.stat)


def test_a_path_submitted_again_while_in_hand_is_encoded_once(parts: Parts) -> None:
    # a new folder's scan and its files' created events both submit the same files: the second
    # submission waits for the first one's outcome, then finds the file unchanged
    held = photo(parts.root / "held.jpg")
    hold = Path(f"{held}.hold")
    hold.touch()
    counting = CountingModel(parts.stages.model)
    stages = dataclasses.replace(parts.stages, model=counting)
    pipeline = Pipeline(stages, parts.writer, batch_size=4, workers=2, quiet=0.1, decoder_init=CODEC)
    pipeline.start()
    try:
        assert pipeline.submit(str(held))
        wait_for(lambda: Path(f"{held}.started").exists(), 30)  # a worker decodes it now
        assert pipeline.submit(str(held))  # the other worker is free to take it
        hold.unlink()
        wait_for(lambda: pipeline.completed == 2 and pipeline.pending == 0 and pipeline.settling == 0, 30)
    finally:
        pipeline.stop()
    assert counting.images_encoded == 1
    assert parts.catalog.paths() == {str(held)}


def test_queries_decode_files_and_bytes_in_workers_under_the_same_budget(parts: Parts, tmp_path: Path) -> None:
    # "find similar" on a file that is not indexed, or classifying one: a file that hangs its decoder
    # answers 422 at the limit instead of holding an API thread (and the daemon's memory) for good
    decoders = QueryDecoders(Budget(timeout=2.0, memory_mb=256), workers=1, initializer=CODEC)
    embedder = Embedder(parts.stages.model, parts.store, parts.archive, parts.catalog, Limits(), decoders)
    outside = photo(tmp_path / "cat.jpg")
    try:
        with pytest.raises(RequestError) as hung:
            embedder.image(str(photo(tmp_path / "hang.jpg")))
        assert hung.value.status == 422 and hung.value.code == "bad_image"
        assert str(hung.value).endswith("hang.jpg: decoding took longer than 2 s (decode_timeout): "
                                        "the decoder was stopped")
        # the replaced worker answers the next query, as this process would have decoded it
        local = decode_file(str(outside), 64, Limits()).pixels
        assert (embedder.pixels(str(outside)) == local).all()
        assert np.allclose(embedder.image(str(outside)), parts.stages.model.encode_images(local[None])[0],
                           atol=1e-5)
        # bytes (a fetched URL's) go through a worker too
        got = decoders.decode_data(outside.read_bytes(), 64, Limits())
        assert isinstance(got, Picture) and (got.pixels == local).all()
        bad = decoders.decode_data(b"\xff\xd8\xff\xe0 not really a jpeg", 64, Limits())
        assert isinstance(bad, Unreadable) and "corrupt or truncated" in bad.reason
    finally:
        decoders.stop()


def test_query_decoders_serve_concurrent_callers_one_worker_each(tmp_path: Path) -> None:
    decoders = QueryDecoders(Budget(timeout=10.0), workers=2)
    paths = [photo(tmp_path / f"cat-{i}.jpg") for i in range(6)]
    try:
        with ThreadPoolExecutor(4) as pool:  # more callers than workers: the others wait for one
            got = list(pool.map(lambda p: decoders.decode(str(p), 64, Limits()), paths))
        assert all(isinstance(g, Decoded) for g in got)
        assert [g.path for g in got] == [str(p) for p in paths]  # type: ignore[union-attr]
    finally:
        decoders.stop()
