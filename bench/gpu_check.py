"""The CUDA path of the encoder, and indexing throughput on a GPU.

Run on a machine with an NVIDIA GPU (photosift's tests never need one):

    python bench/gpu_check.py --size 512

1. The tiny CLIP fixture on CUDA (fp16) embeds like on the CPU (fp32), and the GPU's
   JPEG path passes its tests on CUDA (tests/daemon/test_gpu_jpeg.py: every EXIF
   orientation against upright twins, the same pixels as the CPU path).
2. ViT-B/32 (real weights if cached, else random: speed does not depend on them)
   model-only images/s on preprocessed tensors, by batch size.
3. Decoding capacity, 12 MP JPEGs/s: photosift's decoder processes on all cores but
   one, and nvJPEG batches (read from disk, decoded, turned and resized on the GPU).
4. The real Pipeline (decoder processes, GPU JPEG batches, the writer, the catalog and
   the failure ledger) with the GPU encoder; the store is an in-memory stand-in that
   implements Store's interface, so the figure is decode+encode without Chroma.
5. End to end: `photosift index DIR --once` on the JPEG files on disk, with the
   real Chroma store (target >= 1,500 images/s on an H200).
6. The original exercise's naive loop on the same GPU.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "fixtures"))

from index_throughput import end_to_end, hash_and_decode, make_jpegs, naive_loop, vit_b32
from machine import describe
from shapes import CLASSES, draw_shape

from photosift.daemon import paths
from photosift.daemon.config import DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS
from photosift.daemon.decode import FileStat, Limits, content_hash_of, decode_file, normalise
from photosift.daemon.gpu_jpeg import Compressed, decode_batch, header
from photosift.daemon.index.archive import Archive
from photosift.daemon.index.catalog import Catalog
from photosift.daemon.index.ledger import Ledger
from photosift.daemon.index.pipeline import Pipeline, Stages
from photosift.daemon.index.scan import Rules
from photosift.daemon.index.writer import Writer
from photosift.daemon.model import load, resolve_device

FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "shapes-clip.pt"


class MemoryStore:
    """Store's interface over a dict: this bench measures decode and encode, not Chroma."""

    location = "memory"

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.vectors: dict[str, np.ndarray] = {}

    def upsert(self, records, embeddings) -> None:  # type: ignore[no-untyped-def]
        for r, e in zip(records, embeddings, strict=True):
            self.vectors[r.path] = e

    def embeddings(self, paths_):  # type: ignore[no-untyped-def]
        return {p: self.vectors[p] for p in paths_ if p in self.vectors}

    def delete(self, paths_) -> None:  # type: ignore[no-untyped-def]
        for p in paths_:
            self.vectors.pop(p, None)


def check_cuda_parity() -> None:
    assert resolve_device("auto") == "cuda", "no CUDA device"
    gpu = load(str(FIXTURE), "cuda", paths.cache_dir())
    cpu = load(str(FIXTURE), "cpu", paths.cache_dir(), "fp32")
    assert gpu.dtype == torch.float16 and cpu.dtype == torch.float32
    rng = random.Random(5)
    imgs = np.stack([normalise(draw_shape(c, s, 64, rng).image) for c, s in CLASSES])
    texts = [f"a photo of a {c} {s}" for c, s in CLASSES]
    gi, ci = gpu.encode_images(imgs), cpu.encode_images(imgs)
    gt, ct = gpu.encode_texts(texts), cpu.encode_texts(texts)
    assert gi.dtype == np.float32 and np.allclose(np.linalg.norm(gi, axis=1), 1, atol=1e-3)
    cos_i = (gi * ci).sum(1).min()
    cos_t = (gt * ct).sum(1).min()
    acc = float(((gi @ gt.T).argmax(1) == np.arange(len(CLASSES))).mean())
    print(f"[1] CUDA fp16 vs CPU fp32, tiny fixture: min cosine images {cos_i:.5f}, texts {cos_t:.5f}; "
          f"zero-shot on GPU {acc:.0%}  ({torch.cuda.get_device_name()})")
    assert cos_i > 0.99 and cos_t > 0.99
    tests = Path(__file__).parents[1] / "tests" / "daemon" / "test_gpu_jpeg.py"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests), "-k", "cuda"],
                          capture_output=True, text=True)
    print(f"[1] the GPU's JPEG path on CUDA: {proc.stdout.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stdout


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def model_only(spec: str, device: str, tensors: np.ndarray) -> None:
    model = load(spec, device, paths.cache_dir())
    for batch in (32, 128, 256):
        model.encode_images(tensors[:batch])
        _sync()
        t = time.perf_counter()
        for start in range(0, len(tensors), batch):
            model.encode_images(tensors[start : start + batch])
        _sync()
        rate = len(tensors) / (time.perf_counter() - t)
        print(f"[2] model only, {model.dtype}, batch {batch:3d}: {rate:8.1f} images/s")


def decode_capacity(files: list[Path], workers: int, device: str) -> None:
    rate = hash_and_decode(files, workers, processes=True)
    print(f"[3] hashing + decoding only, {workers} decoder processes: {rate:8.1f} images/s")
    for batch in (64, 256):
        t = time.perf_counter()
        for start in range(0, len(files), batch):
            items = []
            for f in files[start : start + batch]:
                data = f.read_bytes()
                head = header(data, Limits(), 0)
                assert head is not None
                items.append(Compressed(path=str(f), stat=FileStat.of(f), content_hash=content_hash_of(data),
                                        width=head.width, height=head.height, taken_at=head.taken_at, data=data,
                                        orientation=head.orientation))
            decode_batch(items, 224, device)
        _sync()
        rate = len(files) / (time.perf_counter() - t)
        print(f"[3] reading + hashing + decoding on {device} (nvJPEG on CUDA), batch {batch}: {rate:8.1f} images/s")


def pipeline_rate(spec: str, device: str, folder: Path, files: list[Path], workers: int, batch: int) -> None:
    model = load(spec, device, paths.cache_dir())
    store = MemoryStore(model.model_id)
    catalog = Catalog()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "failures.sqlite")
        archive = Archive(Path(tmp) / "embeddings.sqlite", model.embed_dim)  # photosift's copy is written too
        rules = Rules.build((folder,), DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS)
        writer = Writer(store, archive, catalog, ledger, rules)  # type: ignore[arg-type]
        stages = Stages(model, archive, catalog, ledger, rules, Limits(),
                        gpu=device if device.startswith("cuda") else None)
        pipeline = Pipeline(stages, writer, batch, workers)
        pipeline.start()
        t = time.perf_counter()
        for f in files:
            pipeline.submit(str(f))
        pipeline.wait_idle()
        rate = len(files) / (time.perf_counter() - t)
        pipeline.stop()
        ledger.close()
        archive.close()
    assert len(catalog) == len(files)
    print(f"[4] pipeline (decoder processes x{workers}, {model.device} encode, batch {batch}, in-memory store): "
          f"{rate:8.1f} images/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--device", default="cuda", help="cpu runs everything but the CUDA parity check (a dry run)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-gpu")
    args = ap.parse_args()
    print(describe())
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.device == "cuda":
        check_cuda_parity()
    folder = args.workdir / f"jpegs-{args.size}"
    files = make_jpegs(folder, args.size, workers=os.cpu_count() or 1)
    spec, note = vit_b32(args.workdir)
    print(f"model: {note}; files: {len(files)} x 12 MP JPEG; cpu cores: {os.cpu_count()}")
    tensors = np.stack([decode_file(str(f), 224, Limits()).pixels for f in files])
    model_only(spec, args.device, tensors)
    workers = max(1, (os.cpu_count() or 2) - 1)
    decode_capacity(files, workers, args.device)
    pipeline_rate(spec, args.device, folder, files, workers, 128)
    result = end_to_end(spec, args.device, folder, args.workdir, 128, None)
    print(f"[5] photosift index --once, end to end, Chroma store ({result['encoder']['precision']}): "
          f"{result['images_per_second']:8.1f} images/s ({result['encoded']} in {result['seconds']:.1f} s)")
    rate = naive_loop(spec, args.device, files[:200])
    print(f"[6] naive loop on {args.device} (open, preprocess, encode 1 by 1): {rate:8.1f} images/s")


if __name__ == "__main__":
    main()
