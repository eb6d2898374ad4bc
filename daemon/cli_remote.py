"""CLI subcommands that only ask the running daemon: similar, errors, pause, resume, rescan.

Each is a small function over the client; `cli.main` turns a missing daemon into
one line and exit code 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .client import Client
from .config import Config


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_hits(hits: list[dict[str, Any]], as_json: bool) -> None:
    """Ranked results as a numbered list (or JSON)."""
    if as_json:
        print_json(hits)
        return
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:3d}. {hit['score']:6.3f}  {hit['path']}")


def print_labels(labels: list[dict[str, Any]], as_json: bool) -> None:
    """Classification probabilities as a table with bars (or JSON)."""
    if as_json:
        print_json(labels)
        return
    width = max(len(lab["label"]) for lab in labels)
    best = max(labels, key=lambda lab: lab["probability"])
    print(f"{'label':<{width}}  probability")
    print(f"{'-' * width}  {'-' * 31}")
    for lab in labels:
        bar = "█" * round(lab["probability"] * 20)
        mark = "  ◀" if lab is best else ""
        print(f"{lab['label']:<{width}}  {lab['probability']:7.2%} {bar}{mark}")


def cmd_similar(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        hits = client.similar([os.path.abspath(p) for p in args.files], args.k)
    print_hits(hits, args.json)
    return 0


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


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("similar", help="images similar to one or more images (asks the daemon)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-k", type=int, default=20, help="how many results (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("errors", help="files that could not be indexed, with reasons (asks the daemon)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_errors)

    for name, func, text in (("pause", cmd_pause, "pause indexing"), ("resume", cmd_resume, "resume indexing")):
        p = sub.add_parser(name, help=f"{text} (asks the daemon)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("rescan", help="reconcile every folder now, or one folder (asks the daemon)")
    p.add_argument("path", nargs="?", metavar="FOLDER")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rescan)
