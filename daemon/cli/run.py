"""The commands that run photosift's own processes here: `daemon` (the engine and its API until a
signal), `index --once` (the engine without watching, with a progress bar) and `tray`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .. import __version__, last_word, paths
from ..config import Config
from .output import print_json

# The engine, the model and the store pull in torch and Chroma (seconds of start-up);
# commands that only ask the daemon must start instantly, so those are imported where used.

log = logging.getLogger("photosift")


# -- daemon ------------------------------------------------------------------------------------------


def cmd_daemon(args: argparse.Namespace, config: Config) -> int:
    from ..engine import Engine

    # "starting" once this daemon owns the index (not while another one does): the model may take long
    engine = Engine(config, paths.data_dir(), paths.cache_dir(), serve_api=True,
                    on_owned=lambda: last_word.record(config.socket_path, last_word.STARTING))
    stop = threading.Event()
    why: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        log.info("%s received: finishing the current batch and stopping", name)
        why.append(f"{name} received")
        last_word.record(config.socket_path, last_word.STOPPING, why[0])
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = False
    try:
        engine.start()
        started = True
        last_word.record(config.socket_path, last_word.RUNNING)
        print(f"photosift {__version__} daemon running (pid {engine.status()['pid']}); Ctrl+C stops it",
              file=sys.stderr, flush=True)
        stop.wait()
    finally:
        engine.stop()
        if started:
            last_word.record(config.socket_path, last_word.STOPPED, why[0] if why else "stopped")
    log.info("stopped")
    return 0


# -- index --once --------------------------------------------------------------------------------------


def cmd_index(args: argparse.Namespace, config: Config) -> int:
    folders = tuple(Path(p).expanduser().absolute() for p in args.paths)
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:  # said before torch and the model load: at once
        print(f"photosift: not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    from ..client import answering_pid

    running = answering_pid(config.socket_path)
    if running is not None:
        print(f"photosift: the daemon (pid {running}) owns the index and indexes its folders itself: "
              "`photosift folders add FOLDER` makes it watch one more, `photosift rescan [FOLDER]` looks at "
              "one again now, and `photosift status --watch` shows its progress", file=sys.stderr)
        return 3
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..engine import Engine

    engine = Engine(config, paths.data_dir(), paths.cache_dir(), roots=folders, watch=False)
    engine.start(initial_scan=False)
    started = time.perf_counter()  # after the model has loaded: the rate is the indexing rate
    try:
        # log lines (a file that failed, a store problem) print above the bar instead of through it
        with tqdm(total=0, unit="img", disable=args.quiet, desc="indexing") as bar, logging_redirect_tqdm():
            done = threading.Event()

            def work() -> None:
                try:
                    for folder in engine.roots.folders:
                        engine.roots.scan(folder, progress=bar)
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
    rate = round(encoded / seconds, 2) if seconds > 0 else 0.0
    if args.json:
        print_json({**status, "encoded": encoded, "seconds": round(seconds, 3), "images_per_second": rate})
    else:
        offline = [r for r in status["roots"] if r["state"] != "online"]
        print(f"{status['indexed']} images indexed, {status['failed']} failed"
              + (f", {len(offline)} folder(s) offline" if offline else "")
              + f" ({encoded} encoded in {seconds:.1f} s, {rate:.1f} images/s)")
        for f in status["failures"][:10]:
            print(f"  failed: {f['path']}: {f['reason']}")
    if status["store"]["message"]:  # the photos that waited for the store are found again by the next run
        print(f"photosift: {status['store']['message']}; run the same command again once that is fixed",
              file=sys.stderr)
        return 1
    return 0


def cmd_tray(_args: argparse.Namespace, config: Config) -> int:
    from photosift.tray.app import run_tray  # pystray and Tk only for the tray

    return run_tray(config)


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("daemon", help="run the indexing daemon in the foreground (logs to stderr)")
    p.set_defaults(func=cmd_daemon)

    p = sub.add_parser("index", help="index folders once, with a progress bar, then exit")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--once", action="store_true", help="index, then exit (the only mode; the daemon watches)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the final status as JSON")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("tray", help="the system-tray icon: the daemon's state, its menu, the search window")
    p.set_defaults(func=cmd_tray)
