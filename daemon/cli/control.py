"""CLI commands that watch and steer the running daemon: status, errors, pause, resume, rescan, folders.

All of them ask the daemon, except `folders` while no daemon runs: the folder
list lives in the config file, so it is edited there and the daemon picks it
up when it starts (see docs/configuration.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any

from .. import folders, paths
from ..answers import Status
from ..client import Client
from ..config import Config
from ..errors import DaemonNotRunning
from ..progress import Progress
from .lifecycle import wait_for_start
from .output import print_change, print_json, print_status

WATCH_SECONDS = 0.5


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    if args.wait is not None:
        return wait_for_start(config, args.wait, args.since, args.json)
    with Client(config.socket_path) as client:
        if args.watch:
            return _watch(client, args.json)
        status = client.status()
    print_json(status) if args.json else print_status(status)
    return 0


def _watch(client: Client, as_json: bool) -> int:
    """Poll the daemon and redraw one progress line (or print one JSON object per line) until Ctrl+C. A daemon
    that stops meanwhile is said to be down, with why, and watched again once it is back."""
    status: Status | None = client.status()  # a daemon that is not running fails here, before anything is drawn
    progress, shown, why, live = Progress(), "", "", sys.stderr.isatty()
    try:
        while True:
            if as_json:
                sys.stdout.write(json.dumps(status) + "\n")
                sys.stdout.flush()
            elif status is not None:
                line = progress.line(status)
                if live:  # redraw in place, within the terminal's width; \x1b[K clears what was longer
                    width = shutil.get_terminal_size().columns - 1
                    fitted = line if len(line) <= width else line[:width - 1] + "…"
                    sys.stderr.write(f"\r{fitted}\x1b[K")
                    sys.stderr.flush()
                elif line != shown:  # piped into a file: one line per change
                    print(line, flush=True)
                shown = line
            time.sleep(WATCH_SECONDS)  # a polling interval, not synchronisation
            try:
                status = client.status()
            except DaemonNotRunning as exc:
                if str(exc) != why:  # it just went, or has more to say (stopping, then stopped): say it in full
                    why = str(exc)
                    _went_down(why, as_json, live)
                    shown = ""
                status = None
            else:
                why = ""
    except KeyboardInterrupt:
        return 0
    finally:
        if live and not as_json:
            sys.stderr.write("\n")


def _went_down(why: str, as_json: bool, live: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"running": False, "message": why}) + "\n")
        sys.stdout.flush()
        return
    waiting = "watching for it to come back (Ctrl+C ends)"
    if live:
        sys.stderr.write(f"\r\x1b[K{why}\n{waiting}")
        sys.stderr.flush()
    else:
        print(f"{why}\n{waiting}", flush=True)


def cmd_errors(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        failures = client.errors()
    if args.json:
        print_json(failures)
    elif not failures:
        print("no failed files")
    for failure in [] if args.json else failures:
        print(f"{failure['path']}: {failure['reason']}")
    return 0


def cmd_pause(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        answer = client.pause()
    print_json(answer) if args.json else print("indexing paused (queries still work); `photosift resume` resumes")
    return 0


def cmd_resume(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        answer = client.resume()
    print_json(answer) if args.json else print("indexing resumed")
    return 0


def cmd_rescan(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        answer = client.rescan(os.path.abspath(args.path) if args.path else None)
    print_json(answer) if args.json else print("rescanning " + ", ".join(answer["scanning"]))
    return 0


def cmd_folders(args: argparse.Namespace, config: Config) -> int:
    if args.action in ("add", "remove"):
        args.path = folders.normalise(args.path)  # relative to where the user is, not the daemon
    elif args.action == "set":
        args.paths = [folders.normalise(p) for p in args.paths]
    try:
        with Client(config.socket_path) as client:
            return _folders(args, client)
    except DaemonNotRunning:
        return _folders_offline(args, config)


def _folders(args: argparse.Namespace, client: Client) -> int:
    if args.action == "list":
        listing = client.folders()
        if args.json:
            print_json(listing)
        for root in [] if args.json else listing:
            state = "" if root["state"] == "online" else f"  OFFLINE ({root['state']})"
            print(f"{root['path']}  ({root['indexed']} indexed){state}")
        return 0
    if args.action == "set":
        change = client.set_folders(args.paths)
    else:
        change = client.add_folder(args.path) if args.action == "add" else client.remove_folder(args.path)
    print_change(change, args.json, LIVE_NOTES[args.action])
    return 0


LIVE_NOTES = {
    "add": "the daemon is indexing it now",
    "remove": "its images are leaving the index; their embeddings are kept for `forget_after_days`, so adding it "
              "back encodes nothing",
    "set": "images under the watched folders stay indexed, new folders are being indexed, and images that left "
           "are kept for `forget_after_days`",
}


def _folders_offline(args: argparse.Namespace, config: Config) -> int:
    current = tuple(folders.normalise(str(f)) for f in config.folders)
    if args.action == "list":
        if args.json:
            print_json([{"path": f} for f in current])
        for folder in [] if args.json else current:
            print(folder)
        return 0
    if args.action == "set":
        change = folders.plan_set(current, args.paths)
    else:
        change = (folders.plan_add if args.action == "add" else folders.plan_remove)(current, args.path)
    folders.save(paths.config_file(), change)
    print_change(change, args.json, "saved in the config; the daemon is not running, and will "
                  + ("index it" if args.action == "add" else "take it in") + " when it starts")
    return 0


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("status", help="counts: indexed, queued, failed; folders and their state")
    p.add_argument("--watch", action="store_true", help="a live progress bar until Ctrl+C (with --json: JSON lines)")
    p.add_argument("--wait", type=float, metavar="SECONDS",
                   help="wait up to SECONDS for a starting daemon to answer; exit 1 with why if it fails to start")
    p.add_argument("--since", type=float, metavar="UNIX_TIME",
                   help="with --wait: the daemon was started at this time (what it said before is old news)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("errors", help="files that could not be indexed, with reasons")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_errors)

    for name, func, text in (("pause", cmd_pause, "pause indexing"), ("resume", cmd_resume, "resume indexing")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("rescan", help="reconcile every folder now, or one folder")
    p.add_argument("path", nargs="?", metavar="FOLDER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rescan)

    p = sub.add_parser("folders", help="list, add, remove or set the watched folders")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("list", "the watched folders"), ("add", "watch a folder"),
                         ("remove", "stop watching a folder: its images leave the index"),
                         ("set", "watch exactly these folders (narrow a watch: the images that stay are kept)")):
        a = actions.add_parser(action, help=text)
        if action in ("add", "remove"):
            a.add_argument("path", metavar="FOLDER")
        elif action == "set":
            a.add_argument("paths", nargs="+", metavar="FOLDER")
        a.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_folders)
