"""CLI commands for tags, answered by the running daemon: tags FILE, tags list, tags explain FILE, tagged."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..client import Client
from ..config import Config
from .output import print_explain, print_json


def cmd_tags(args: argparse.Namespace, config: Config) -> int:
    first, rest = args.target[0], args.target[1:]
    with Client(config.socket_path) as client:
        if first == "list" and not rest:
            vocabulary = client.vocabulary()
            if args.json:
                print_json(vocabulary)
            for entry in [] if args.json else sorted(vocabulary, key=lambda e: (-e["count"], e["tag"])):
                print(f"{entry['count']:7,}  {entry['tag']}")
            return 0
        if first in ("write", "unwrite") and len(rest) <= 1:
            path = os.path.abspath(rest[0]) if rest else None
            result = client.export(path, unwrite=first == "unwrite", dry_run=args.dry_run)
            if args.json:
                print_json(result)
                return 0
            for change in result["changes"]:
                print(change)
            verb = "would change" if args.dry_run else "changed"
            print(f"{len(result['changes'])} {verb} ({result['files']} indexed images looked at)")
            return 0
        if first == "explain":
            if not rest:
                print("usage: photosift tags explain FILE...", file=sys.stderr)
                return 2
            explained = [client.explain(os.path.abspath(path)) for path in rest]
            if args.json:
                print_json(explained)
            for explanation in [] if args.json else explained:
                print_explain(explanation)
            return 0
        answers = [client.tags(os.path.abspath(path)) for path in args.target]
    if args.json:
        print_json(answers)
    for answer in [] if args.json else answers:
        tags = ", ".join(f"{t['tag']} ({t['confidence']:.0%})" for t in answer["tags"]) or "(no tags)"
        note = "" if answer["indexed"] else "  [not indexed: decided now]"
        print(f"{answer['path']}: {tags}{note}")
    return 0


def cmd_tagged(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        paths = client.tagged(args.tags, "any" if args.any else "all")
    if args.json:
        print_json(paths)
    elif not paths:
        print("no files")
    for path in [] if args.json else paths:
        print(path)
    return 0


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("tags", help="a file's tags; `tags list`: every tag with counts; `tags explain FILE`; "
                                    "`tags write [PATH]` / `tags unwrite [PATH]`: sidecars and xattrs")
    p.add_argument("target", nargs="+", metavar="FILE | list | explain FILE | write [PATH] | unwrite [PATH]")
    p.add_argument("--dry-run", action="store_true", help="with write/unwrite: only show what would change")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("tagged", help="files carrying all of these tags (or any, with --any)")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--any", action="store_true", help="files carrying at least one of the tags")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tagged)
