"""Decoder processes: a file that hangs, balloons or crashes its decoder fails alone, with its reason.

The decoders are real worker processes decoding real photos; the misbehaviour
comes from `tests/fixtures/misbehaving_codec.py`, installed in the workers only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from photosift.daemon.decode import Decoded, Limits, content_hash
from photosift.daemon.index.decoders import Budget, DecodeWorker, StillChanging, Unreadable
from photosift.daemon.index.pipeline import Pipeline

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
    from photosift.daemon.decode import decode_file

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
