"""The daemon's resident memory with ViT-B/32: idle, peak while indexing, and what dominates.

(1) What each part costs, each measured in a fresh process (VmRSS after the step):
    the interpreter, torch, the model loaded, Chroma imported, the store opened with
    N records and searched once (its HNSW index in memory), photosift's copy read.
(2) A real `photosift daemon` over a store of N records and a watched folder that
    receives M 12 MP JPEGs: its RSS once started and idle, its peak (VmHWM) while it
    indexes them, and its RSS when idle again.
(3) One decode of a JPEG whose header is forged to claim 65000x65000 pixels: what
    it adds to a process's peak (it is refused before a pixel is decoded).

ViT-B/32's real weights when cached, else random weights (memory does not depend on
their values; it says which). Figures compare only within one run on one machine.

    python bench/memory.py                   # 100,000 records, 100 JPEGs
    python bench/memory.py --size 20000 --import-size 30
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index_throughput import make_jpegs, vit_b32
from machine import describe
from search_latency import LIBRARY, filled_store, wait_for_daemon

from photosift.daemon.model import model_id_for

STEPS = [
    ("python interpreter", ""),
    ("+ import torch", "import torch"),
    ("+ ViT-B/32 loaded (CPU, precision PRECISION)",
     "from photosift.daemon.model import load\nm = load(SPEC, 'cpu', CACHE, PRECISION)"),
    ("+ import chromadb", "import chromadb"),
    ("+ store opened and searched once (N records)",
     "from photosift.daemon.index.store import Store\nimport numpy as np\n"
     "s = Store.open('', DATA, MODEL_ID, 512)\nv = np.ones(512, dtype=np.float32) / 512 ** 0.5\n"
     "s.query(v, 10)\nrecords = list(s.records())"),
    ("+ photosift's copy: records read", "from photosift.daemon.index.archive import Archive, archive_path\n"
     "a = Archive(archive_path(DATA, MODEL_ID), 512)\nrs = a.records()"),
]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (decoder workers are the fork server's children)."""
    found: list[int] = []
    with contextlib.suppress(OSError):  # gone meanwhile: it has no processes left to list
        for task in Path(f"/proc/{pid}/task").iterdir():
            for kid in (task / "children").read_text().split():
                found += [int(kid), *descendants(int(kid))]
    return found


def descendants_rss_mb(pid: int) -> tuple[int, float]:
    """How many processes `pid` runs beside itself (decoder workers, their fork server) and their RSS
    together (an upper bound: forked workers share Pillow's and numpy's pages)."""
    alive, total = 0, 0.0
    for kid in descendants(pid):
        try:
            total += rss_mb(kid)
            alive += 1
        except (OSError, KeyError):
            continue  # gone meanwhile
    return alive, total


def parts(spec: str, data: Path, model_id: str, cache: Path, precision: str) -> None:
    """Each step's RSS in a fresh process, cumulative, with what the step added."""
    code = f"SPEC = {spec!r}\nDATA = __import__('pathlib').Path({str(data)!r})\nMODEL_ID = {model_id!r}\n" \
           f"CACHE = __import__('pathlib').Path({str(cache)!r})\nPRECISION = {precision!r}\n"
    # a first start with a model measures the precision (calibrate.py): done once here, so that the rows
    # show what a daemon keeps, not that one-time measurement's working memory
    subprocess.run([sys.executable, "-c", code + STEPS[2][1]], check=True, capture_output=True)
    previous = 0.0
    for label, step in STEPS:
        label = label.replace("PRECISION", precision)
        code += step + "\n"
        probe = code + "print(open('/proc/self/status').read())\n"
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        rss = next(int(line.split()[1]) / 1024 for line in done.stdout.splitlines() if line.startswith("VmRSS:"))
        print(f"  {label:<48} {rss:8.0f} MB  ({rss - previous:+.0f} MB)", flush=True)
        previous = rss


def daemon_run(spec: str, kept: Path, jpegs: list[Path], size: int, workdir: Path, precision: str) -> None:
    run = Path(tempfile.mkdtemp(prefix="memory-", dir=workdir))
    watched = run / "Pictures"
    watched.mkdir()
    (run / "config.toml").write_text(f'model = "{spec}"\ndevice = "cpu"\nfolders = ["{watched}", "{LIBRARY}"]\n'
                                     f'debounce_seconds = 0.5\nprecision = "{precision}"\n')
    shutil.copytree(kept, run / "data")
    env = dict(os.environ, PHOTOSIFT_CONFIG=str(run / "config.toml"), PHOTOSIFT_DATA_DIR=str(run / "data"),
               PHOTOSIFT_RUNTIME_DIR=str(run / "rt"))
    daemon = subprocess.Popen([sys.executable, "-m", "photosift.daemon", "daemon"], env=env,
                              stderr=open(run / "daemon.log", "w"))  # noqa: SIM115 - lives as long as the daemon
    try:
        client = wait_for_daemon(run / "rt" / "api.sock", size)
        client.search("a dog on the beach", k=10)  # the text tower and the HNSW index in use once
        time.sleep(2)  # let start-up's transient allocations settle before reading "idle"
        print(f"  started, idle:            RSS {rss_mb(daemon.pid):7.0f} MB (peak so far "
              f"{rss_mb(daemon.pid, 'VmHWM'):.0f} MB); encoder: {client.status()['encoder']['precision']}",
              flush=True)
        for jpeg in jpegs:
            os.link(jpeg, watched / jpeg.name)
        started = time.perf_counter()
        while client.status()["indexed"] < size + len(jpegs):
            time.sleep(0.5)  # polling a process we measure, not synchronisation
        print(f"  indexed {len(jpegs)} JPEGs in {time.perf_counter() - started:.0f} s: peak RSS (VmHWM) "
              f"{rss_mb(daemon.pid, 'VmHWM'):7.0f} MB", flush=True)
        helpers, helpers_mb = descendants_rss_mb(daemon.pid)
        print(f"  beside it: {helpers} process(es) (decoder workers, their fork server), RSS together "
              f"{helpers_mb:.0f} MB", flush=True)
        time.sleep(2)
        print(f"  idle again:               RSS {rss_mb(daemon.pid):7.0f} MB", flush=True)
        client.close()
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(120)
        shutil.rmtree(run, ignore_errors=True)


FORGED = """
import io, resource, sys
from PIL import Image
from photosift.daemon.decode import Limits, decode_file
from photosift.daemon.errors import DecodeError
buf = io.BytesIO()
Image.new("RGB", (512, 512), (200, 120, 40)).save(buf, "JPEG")
raw = bytearray(buf.getvalue())
sof = raw.index(b"\\xff\\xc0")
raw[sof + 5 : sof + 9] = (65000).to_bytes(2, "big") * 2
open(sys.argv[1], "wb").write(bytes(raw))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decode_file(sys.argv[1], 224, Limits())
    verdict = "decoded"
except DecodeError as exc:
    verdict = "refused: " + exc.reason
print(f"{(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024:.0f} MB; {verdict}")
"""


def forged(workdir: Path) -> None:
    done = subprocess.run([sys.executable, "-c", FORGED, str(workdir / "forged.jpg")], capture_output=True,
                          text=True, check=True)
    print(f"  peak added: {done.stdout.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records in the store (default 100,000)")
    ap.add_argument("--import-size", type=int, default=100, help="12 MP JPEGs indexed in (2)")
    ap.add_argument("--precision", default="auto", help="the encoder's precision (config `precision`)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    print(describe())
    args.workdir.mkdir(parents=True, exist_ok=True)
    spec, note = vit_b32(args.workdir)
    kept = filled_store(args.workdir, spec, args.size)
    print(f"model: {note}; store: {args.size:,} records")
    print("(1) what each part costs (fresh processes, cumulative):")
    parts(spec, kept, model_id_for(spec), args.workdir, args.precision)
    print("(2) the daemon:")
    jpegs = make_jpegs(args.workdir / f"jpegs-{args.import_size}", args.import_size)
    daemon_run(spec, kept, jpegs, args.size, args.workdir, args.precision)
    print("(3) a JPEG whose header claims 65000x65000 pixels, decoded once:")
    forged(args.workdir)


if __name__ == "__main__":
    main()
