"""Search latency through the daemon's socket: idle, while indexing, and under 50 concurrent clients.

A real `photosift daemon` process serves a store of N records (CLIP-like
clustered 512-d vectors, see search_recall.py) with ViT-B/32's text tower
(the real weights when cached, else random weights: speed does not depend on
their values, and it says which). This process is the client: `POST
/v1/search` over the Unix socket, as the CLI and the tray send it.

  (1) idle: p50/p95 of sequential searches while nothing is being indexed
  (2) while indexing: the same while the daemon encodes a camera import of
      12 MP JPEGs dropped into its watched folder
  (3) 50 concurrent clients: throughput and p50/p95 per request
  (4) under a flood: p50/p95 of sequential searches while 300 clients in another process
      trickle headers they never finish and reconnect whenever they are hung up on (flood.py)

Targets on a 2-core CPU: idle p50 <= 80 ms, p95 while indexing <= 300 ms, p95 under the flood < 1 s.

    python bench/search_latency.py                  # 100,000 records, 200 JPEGs to index
    python bench/search_latency.py --size 20000 --import-size 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from index_throughput import make_jpegs, vit_b32
from machine import describe
from search_recall import clustered

from photosift.daemon.client import Client
from photosift.daemon.errors import DaemonNotRunning
from photosift.daemon.index.archive import Archive, archive_path
from photosift.daemon.index.store import FileRecord, Store
from photosift.daemon.model import model_id_for

LIBRARY = "/library"  # the stored records' root: not mounted here, so kept and searched, never scanned

QUERIES = [
    "a dog on the beach", "kids playing in the snow", "a birthday cake with candles", "sunset over the sea",
    "a receipt", "a screenshot of a phone", "my cat sleeping on the sofa", "mountains with a lake",
    "a plate of pasta", "a red car in the street", "people at a wedding", "a bird on a branch",
    "fireworks at night", "a train station", "flowers in a garden", "a document with a table",
]


def filled_store(workdir: Path, spec: str, n: int) -> Path:
    """A data dir holding N records (built once per size and model, then copied for each run)."""
    model_id = model_id_for(spec)  # hashes the checkpoint: once
    kept = workdir / f"store-{n}-{model_id}"
    if not kept.exists():
        building = kept.with_suffix(".building")
        shutil.rmtree(building, ignore_errors=True)
        fill_store(building, model_id, n)
        building.rename(kept)
    return kept


def fill_store(data_dir: Path, model_id: str, n: int) -> None:
    """N records under LIBRARY (a root the daemon is told to watch but that is not mounted here: it keeps
    and searches the records of an unmounted root, as for a drive that is unplugged), in the model's collection and in
    photosift's own copy of it (as the daemon's writer writes both)."""
    store = Store.open("", data_dir, model_id, 512)
    copy = Archive(archive_path(data_dir, model_id), 512)
    vectors = clustered(7, n, 512, 500, 0.6, 32)
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        end = min(start + 5000, n)
        records = [FileRecord(f"{LIBRARY}/{i // 1000:03d}/IMG_{i:07d}.jpg", LIBRARY, 2_000_000, 1, f"{i:032x}",
                              4000, 3000, 1_600_000_000 + i * 600, model_id) for i in range(start, end)]
        copy.upsert(records, vectors[start:end])
        store.upsert(records, vectors[start:end])
        print(f"\rfilling the store: {end:,}/{n:,} ({end / (time.perf_counter() - t0):,.0f}/s)", end="", flush=True)
    print()
    copy.close()
    store.close()


def timed_search(client: Client, query: str, k: int) -> float:
    t = time.perf_counter()
    hits = client.search(query, k)
    elapsed = (time.perf_counter() - t) * 1000
    assert len(hits) == k, hits
    return elapsed


def summary(latencies: list[float]) -> str:
    return (f"p50 {np.percentile(latencies, 50):6.1f} ms, p95 {np.percentile(latencies, 95):6.1f} ms, "
            f"max {max(latencies):6.1f} ms ({len(latencies)} searches)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records in the store (default 100,000)")
    ap.add_argument("--import-size", type=int, default=200, help="12 MP JPEGs indexed during phase 2")
    ap.add_argument("--queries", type=int, default=200, help="sequential searches in phase 1")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--per-client", type=int, default=10, help="searches per concurrent client")
    ap.add_argument("--flood", type=int, default=300, help="misbehaving clients in phase 4")
    ap.add_argument("-k", type=int, default=20)
    ap.add_argument("--precision", default="auto", help="the encoder's precision (auto, fp32, bf16)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    print(describe())

    args.workdir.mkdir(parents=True, exist_ok=True)
    spec, note = vit_b32(args.workdir)
    jpegs = make_jpegs(args.workdir / f"jpegs-{args.import_size}", args.import_size)
    run = Path(tempfile.mkdtemp(prefix="latency-", dir=args.workdir))
    watched = run / "Pictures"
    watched.mkdir()
    (run / "config.toml").write_text(f'model = "{spec}"\ndevice = "cpu"\nfolders = ["{watched}", "{LIBRARY}"]\n'
                                     f'precision = "{args.precision}"\ndebounce_seconds = 0.5\n')
    shutil.copytree(filled_store(args.workdir, spec, args.size), run / "data")
    env = dict(os.environ, PHOTOSIFT_CONFIG=str(run / "config.toml"), PHOTOSIFT_DATA_DIR=str(run / "data"),
               PHOTOSIFT_RUNTIME_DIR=str(run / "rt"))
    daemon = subprocess.Popen([sys.executable, "-m", "photosift.daemon", "daemon"], env=env,
                              stderr=open(run / "daemon.log", "w"))  # noqa: SIM115 - lives as long as the daemon
    sock = run / "rt" / "api.sock"
    try:
        client = wait_for_daemon(sock, args.size)
        print(f"model: {note}; store: {args.size:,} records; daemon pid {daemon.pid}; cores: {os.cpu_count()}")
        for query in QUERIES:  # warm-up: first calls pay for lazy initialisation
            timed_search(client, query, args.k)

        idle = [timed_search(client, QUERIES[i % len(QUERIES)], args.k) for i in range(args.queries)]
        print(f"(1) idle:            {summary(idle)}", flush=True)

        for jpeg in jpegs:  # a camera import: the watcher sees them arrive
            os.link(jpeg, watched / jpeg.name)
        busy, started, i = [], time.perf_counter(), 0
        while True:
            status = client.status()
            if status["indexed"] >= args.size + len(jpegs):
                break
            if status["queued"] > 0:
                busy.append(timed_search(client, QUERIES[i % len(QUERIES)], args.k))
                i += 1
        seconds = time.perf_counter() - started
        print(f"(2) while indexing:  {summary(busy)}; {len(jpegs)} JPEGs indexed in {seconds:.0f} s "
              f"({len(jpegs) / seconds:.1f} images/s alongside the searches)", flush=True)

        def one_client(c: int) -> list[float]:
            with Client(sock) as own:
                return [timed_search(own, QUERIES[(c + j) % len(QUERIES)], args.k) for j in range(args.per_client)]

        t = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = [lat for lats in pool.map(one_client, range(args.clients)) for lat in lats]
        wall = time.perf_counter() - t
        print(f"(3) {args.clients} concurrent clients: {len(results) / wall:.1f} searches/s, every one answered; "
              f"{summary(results)}")

        flood = subprocess.Popen([sys.executable, str(Path(__file__).with_name("flood.py")), str(sock),
                                  str(args.flood), "600"], stdout=subprocess.PIPE, text=True)
        try:
            assert flood.stdout is not None and flood.stdout.readline().strip() == "flooding"
            flooded = [timed_search(client, QUERIES[i % len(QUERIES)], args.k) for i in range(args.queries)]
        finally:
            flood.kill()
            flood.communicate()
        print(f"(4) under a flood of {args.flood} trickling, reconnecting clients: {summary(flooded)}")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(120)
        shutil.rmtree(run, ignore_errors=True)


def wait_for_daemon(sock: Path, size: int) -> Client:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            client = Client(sock)
            status = client.status()
            # idle means idle: the copied store has no tags yet, and the daemon first re-tags every record
            if status["indexed"] >= size and status["tagging"]["current"] and not status["queued"]:
                return client
            client.close()
        except DaemonNotRunning:
            pass
        time.sleep(0.5)  # polling a starting process
    raise SystemExit(f"the daemon did not come up; see its log in {sock.parent.parent}/daemon.log")


if __name__ == "__main__":
    main()
