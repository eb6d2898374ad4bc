"""The `photosift` command: thin subcommands, one boundary that turns errors into exit codes.

Exit codes: 0 ok, 1 error, 2 bad configuration or usage, 3 the index is owned
by a running daemon (or another photosift process).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__, paths
from .cli_remote import add_parsers, print_hits, print_json, print_labels
from .client import Client
from .config import Config, load
from .errors import PhotosiftError, StoreLocked
from .lock import DataDirLock

# The engine, the model and the store pull in torch and Chroma (seconds of start-up);
# commands that only ask the daemon must start instantly, so those are imported where used.

log = logging.getLogger("photosift")


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("chromadb", "httpx", "watchdog"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# -- daemon ------------------------------------------------------------------------------------------


def cmd_daemon(args: argparse.Namespace, config: Config) -> int:
    from .engine import Engine

    engine = Engine(config, paths.data_dir(), paths.cache_dir(), serve_api=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received: finishing the current batch and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine.start()
    try:
        print(f"photosift {__version__} daemon running (pid {engine.status()['pid']}); Ctrl+C stops it",
              file=sys.stderr, flush=True)
        stop.wait()
    finally:
        engine.stop()
    log.info("stopped")
    return 0


# -- index --once --------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, config: Config) -> int:
    from tqdm import tqdm

    from .engine import Engine

    folders = tuple(Path(p).expanduser().absolute() for p in args.paths)
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        print(f"not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    engine = Engine(config, paths.data_dir(), paths.cache_dir(), roots=folders, watch=False)
    engine.start(initial_scan=False)
    started = time.perf_counter()  # after the model has loaded: the rate is the indexing rate
    try:
        with tqdm(total=0, unit="img", disable=args.quiet, desc="indexing") as bar:
            done = threading.Event()

            def work() -> None:
                try:
                    for folder in engine.roots:
                        engine.scan(folder, progress=bar)
                finally:
                    done.set()

            start_completed = engine.pipeline.completed
            worker = threading.Thread(target=work, name="photosift-index")
            worker.start()
            while not done.wait(0.25):
                bar.n = min(engine.pipeline.completed - start_completed, bar.total or 0)
                bar.refresh()
            worker.join()
            bar.n = bar.total or 0
            bar.refresh()
        seconds = time.perf_counter() - started
        encoded = engine.pipeline.indexed_since_start
        status = engine.status()
    finally:
        engine.stop()
    status["encoded"] = encoded
    status["seconds"] = round(seconds, 3)
    status["images_per_second"] = round(encoded / seconds, 2) if seconds > 0 else 0.0
    if args.json:
        print_json(status)
    else:
        offline = [r for r in status["roots"] if r["state"] != "online"]
        print(f"{status['indexed']} images indexed, {status['failed']} failed"
              + (f", {len(offline)} folder(s) offline" if offline else "")
              + f" ({encoded} encoded in {seconds:.1f} s, {status['images_per_second']:.1f} images/s)")
        for f in status["failures"][:10]:
            print(f"  failed: {f['path']}: {f['reason']}")
    return 0


# -- status / search / classify: through the daemon when it runs, else directly -------------------------


def _daemon_running() -> str | None:
    lock = DataDirLock(paths.data_dir())
    return lock.holder() if lock.is_held_elsewhere() else None


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    holder = _daemon_running()
    if holder:
        with Client(config.socket_path) as client:
            status = client.status()
        status["daemon"] = holder
    else:
        status = _offline_status(config)
    if args.json:
        print_json(status)
        return 0
    print(f"daemon:  {status.get('daemon') or 'not running'}" + ("  (paused)" if status.get("paused") else ""))
    print(f"model:   {status['model']}")
    print(f"indexed: {status['indexed']}")
    if "queued" in status:
        print(f"queued:  {status['queued']}")
    print(f"failed:  {status['failed']}")
    for f in status["failures"][:20]:
        print(f"  {f['path']}: {f['reason']}")
    for root in status.get("roots", []):
        state = root["state"]
        mark = "" if state == "online" else f"  OFFLINE ({state})"
        print(f"folder:  {root['path']} ({root['indexed']} indexed){mark}")
    return 0


def _offline_status(config: Config) -> dict[str, Any]:
    from .ledger import Ledger
    from .model import model_id_for
    from .store import Store

    data_dir = paths.data_dir()
    with DataDirLock(data_dir) as _lock:
        store = Store.open_existing(config.store, data_dir, model_id_for(config.model))
        try:
            records = list(store.records()) if store else []
        finally:
            if store:
                store.close()
        ledger = Ledger(data_dir / "failures.sqlite")
        failures = ledger.all()
        ledger.close()
    from .scan import root_state

    roots = []
    for folder in config.folders:
        root = str(folder)
        prefix = root.rstrip("/") + "/"
        roots.append({"path": root, "state": root_state(root),
                      "indexed": sum(1 for r in records if r.path.startswith(prefix))})
    return {
        "daemon": None,
        "model": config.model,
        "indexed": len(records),
        "failed": len(failures),
        "failures": [{"path": f.path, "reason": f.reason} for f in failures],
        "offline": sum(1 for r in roots if r["state"] != "online"),
        "roots": roots,
    }


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    if _daemon_running():
        with Client(config.socket_path) as client:
            results = client.search(args.text, args.k)
    else:
        results = _search_directly(args, config)
        if results is None:
            print("nothing is indexed yet: run `photosift daemon` or `photosift index FOLDER --once`",
                  file=sys.stderr)
            return 1
    print_hits(results, args.json)
    return 0


def _search_directly(args: argparse.Namespace, config: Config) -> list[dict[str, Any]] | None:
    """Search the store in this process, which is only safe while no daemon owns it."""
    from .model import load as load_model
    from .model import model_id_for
    from .query import search
    from .store import Store

    data_dir = paths.data_dir()
    with DataDirLock(data_dir) as lock:
        lock.path.write_text(f"pid {os.getpid()} (search)")
        store = Store.open_existing(config.store, data_dir, model_id_for(config.model))
        if store is None:
            return None
        try:
            model = load_model(config.model, config.device, paths.cache_dir())
            hits = search(model, store, args.text, args.k)
        finally:
            store.close()
    return [{"path": h.record.path, "score": round(h.score, 6),
             "taken_at": datetime.fromtimestamp(h.record.taken_at, tz=timezone.utc).isoformat(),
             "width": h.record.width, "height": h.record.height} for h in hits]


def cmd_classify(args: argparse.Namespace, config: Config) -> int:
    is_url = args.image.startswith(("http://", "https://"))
    if _daemon_running():
        with Client(config.socket_path) as client:
            source = {"url": args.image} if is_url else {"path": os.path.abspath(args.image)}
            labels = client.classify(args.labels, **source)
    else:  # the original exercise needs no daemon: load the model here
        from .decode import Limits
        from .model import load as load_model
        from .query import classify, image_pixels

        model = load_model(config.model, config.device, paths.cache_dir())
        limits = Limits(config.max_pixels, config.max_file_mb << 20)
        found = classify(model, image_pixels(args.image, model.input_resolution, limits), args.labels)
        labels = [{"label": lab.text, "probability": round(lab.probability, 6)} for lab in found]
    print_labels(labels, args.json)
    return 0


# -- parser and boundary ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photosift", description="Search and tag your photos by meaning (CLIP).")
    parser.add_argument("--version", action="version", version=f"photosift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("daemon", help="run the indexing daemon in the foreground (logs to stderr)")
    p.set_defaults(func=cmd_daemon)

    p = sub.add_parser("index", help="index folders once, with a progress bar, then exit")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--once", action="store_true", help="index, then exit (the only mode; the daemon watches)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final status as JSON")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("status", help="counts: indexed, queued, failed (with reasons), offline folders")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("search", help="find images by a text description")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=10, help="how many results (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("classify", help="zero-shot probabilities of labels for one image (path or URL)")
    p.add_argument("image", help="an image path or an http(s) URL")
    p.add_argument("--labels", nargs="+", required=True, metavar="LABEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_classify)
    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "k", 1) < 1:
        print("-k must be at least 1", file=sys.stderr)
        return 2
    try:
        config = load()
        _setup_logging(config.log_level if args.command == "daemon" else "warning")
        return int(args.func(args, config))
    except StoreLocked as exc:
        print(f"photosift: {exc}", file=sys.stderr)
        return exc.exit_code
    except PhotosiftError as exc:
        print(f"photosift: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
