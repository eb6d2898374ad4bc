"""`photosift start | stop | restart | logs`: the daemon run the way it runs here (photosift.shell_ext.lifecycle:
its user service where installed, else a background process), and `status --wait`, which start uses."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .. import last_word, paths
from ..client import Client, answering_pid
from ..config import Config
from ..errors import DaemonNotRunning
from .output import print_json, print_status

WAIT_POLL = 0.5
FOLLOW_POLL = 0.5
START_WAIT = 600.0  # a first start may download the model (350 MB)


def wait_for_start(config: Config, seconds: float, since: float | None, as_json: bool) -> int:
    """Wait until the daemon answers (0, and its status), says it failed or stopped (1, and why, with the fix
    when it gave one), or died without a word (1); 3 if it is still starting after `seconds`. Only what the
    daemon said since `since` (default: now) counts, so a failed first start never looks like a success."""
    since = time.time() if since is None else since
    deadline = time.monotonic() + seconds
    narrated = ""
    while True:
        try:
            with Client(config.socket_path, timeout=10) as client:
                status = client.status()
            print_json(status) if as_json else print_status(status)
            return 0
        except DaemonNotRunning as exc:
            word = last_word.read(config.socket_path)
            fresh = word if word is not None and word.at >= since else None
            if fresh is not None and (fresh.state in (last_word.FAILED, last_word.STOPPED)
                                      or not last_word.alive(fresh.pid)):
                print(f"photosift: {exc}", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"photosift: {exc}", file=sys.stderr)
                return 3
            news = last_word.explain(fresh)
            if news and news != narrated and not as_json:
                print(f"waiting for the daemon: {news}", file=sys.stderr, flush=True)
                narrated = news
        time.sleep(WAIT_POLL)  # polling a process that is starting, not synchronisation


def cmd_start(args: argparse.Namespace, config: Config) -> int:
    from photosift.shell_ext import lifecycle
    from photosift.shell_ext.common import photosift_argv

    running = answering_pid(config.socket_path)
    if running is not None:
        _say(args, {"started": False, "pid": running}, f"the daemon is already running (pid {running})")
        return 0
    since = time.time()
    try:
        started = lifecycle.start(photosift_argv(), Path.home(), paths.cache_dir())
    except OSError as exc:
        print(f"photosift: cannot start the daemon: {exc}", file=sys.stderr)
        return 1
    if not args.json:
        print(f"starting the daemon ({started.how})", flush=True)
    if args.no_wait:
        if args.json:
            print_json({"started": True, "pid": None if started.process is None else started.process.pid})
        return 0
    return wait_for_start(config, args.wait, since, args.json)


def cmd_stop(args: argparse.Namespace, config: Config) -> int:
    from photosift.shell_ext import lifecycle

    pid = lifecycle.daemon_pid(config.socket_path)
    try:
        said = lifecycle.stop(config.socket_path, Path.home())
    except OSError as exc:
        print(f"photosift: {exc}", file=sys.stderr)
        return 1
    _say(args, {"stopped": pid is not None, "pid": pid}, said)
    return 0


def cmd_restart(args: argparse.Namespace, config: Config) -> int:
    """`stop` then `start`; with --json only start's answer is printed (one JSON document)."""
    from photosift.shell_ext import lifecycle

    try:
        said = lifecycle.stop(config.socket_path, Path.home())
    except OSError as exc:
        print(f"photosift: {exc}", file=sys.stderr)
        return 1
    if not args.json:
        print(said)
    return cmd_start(args, config)


def cmd_logs(args: argparse.Namespace, _config: Config) -> int:
    import subprocess

    from photosift.shell_ext import lifecycle

    source = lifecycle.log_command(Path.home(), paths.cache_dir(), args.lines, args.follow)
    if isinstance(source, list):
        try:
            return subprocess.run(source).returncode
        except KeyboardInterrupt:
            return 0
    if not source.exists():
        print(f"photosift: no daemon log yet at {source} (a daemon started by `photosift start`, the tray or "
              "install.sh logs there; `photosift daemon` logs to its terminal)", file=sys.stderr)
        return 1
    return _tail(source, args.lines, args.follow)


def _tail(log: Path, lines: int, follow: bool) -> int:
    """The last `lines` lines of the log, then (with `follow`) what is added until Ctrl+C."""
    with log.open("rb") as f:
        tail = f.read().splitlines(keepends=True)[-lines:] if lines else []
        sys.stdout.write(b"".join(tail).decode("utf-8", "replace"))
        sys.stdout.flush()
        try:
            while follow:
                chunk = f.read()
                if chunk:
                    sys.stdout.write(chunk.decode("utf-8", "replace"))
                    sys.stdout.flush()
                elif log.stat().st_size < f.tell():  # truncated: read it from the start again
                    f.seek(0)
                else:
                    time.sleep(FOLLOW_POLL)  # a polling interval, as `tail -f` has
        except KeyboardInterrupt:
            pass
    return 0


def _say(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print_json(data) if args.json else print(text)


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    for name, text in (("start", "start the daemon (its user service where installed, else in the background) "
                                 "and wait until it answers"),
                       ("restart", "stop the daemon, then start it again")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--wait", type=float, default=START_WAIT, metavar="SECONDS",
                       help=f"how long to wait for its first answer (default {START_WAIT:g})")
        p.add_argument("--no-wait", action="store_true", help="return as soon as it is started")
        p.add_argument("--json", action="store_true", help="its status once it answers")
        p.set_defaults(func=cmd_start if name == "start" else cmd_restart)

    p = sub.add_parser("stop", help="stop the daemon (it finishes the current batch first)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("logs", help="the daemon's log: its user service's journal, or its log file")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing what it logs, until Ctrl+C")
    p.add_argument("-n", "--lines", type=int, default=50, metavar="N", help="the last N lines (default 50)")
    p.set_defaults(func=cmd_logs)
