"""CLI commands for tags, answered by the running daemon: `tags show|list|explain|write|unwrite`, `tagged`.

`photosift tags FILE...` (no subcommand) is `tags show FILE...`: cli.main inserts the word, so the short
form keeps working while every subcommand is a real one with its own options and usage.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .. import paths
from ..answers import ExportResult, FileTags
from ..client import Client
from ..config import Config
from ..errors import DaemonNotRunning
from .output import print_explain, print_json

T = TypeVar("T")
SUBCOMMANDS = ("show", "list", "explain", "write", "unwrite")


def cmd_show(args: argparse.Namespace, config: Config) -> int:
    return _per_file(args, config, Client.tags, print_tags)


def print_tags(answer: FileTags) -> None:
    tags = ", ".join(f"{t['tag']} ({t['confidence']:.0%})" for t in answer["tags"]) or "(no tags)"
    note = "" if answer["indexed"] else "  [not indexed: decided now]"
    print(f"{answer['path']}: {tags}{note}")


def _per_file(args: argparse.Namespace, config: Config, ask: Callable[[Client, str], T],
              show: Callable[[T], None]) -> int:
    """Ask the daemon about each of `args.files` and print the answers (or all of them as one JSON list)."""
    with Client(config.socket_path) as client:
        answers = [ask(client, os.path.abspath(path)) for path in args.files]
    if args.json:
        print_json(answers)
    for answer in [] if args.json else answers:
        show(answer)
    return 0


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        vocabulary = client.vocabulary()
    if args.json:
        print_json(vocabulary)
        return 0
    shown = sorted((e for e in vocabulary if e["count"] or args.all), key=lambda e: (-e["count"], e["tag"]))
    for entry in shown:
        print(f"{entry['count']:7,}  {entry['tag']}")
    unused = len(vocabulary) - len(shown)
    if unused:
        print(f"({unused} tags of the vocabulary are on no photo; --all lists them)")
    return 0


def cmd_explain(args: argparse.Namespace, config: Config) -> int:
    return _per_file(args, config, Client.explain, print_explain)


def cmd_write(args: argparse.Namespace, config: Config) -> int:
    unwrite = args.tags_action == "unwrite"
    targets: list[str | None] = [os.path.abspath(p) for p in args.paths] or [None]
    try:
        with Client(config.socket_path) as client:
            results = [client.export(path, unwrite=unwrite, dry_run=args.dry_run) for path in targets]
    except DaemonNotRunning:
        if not unwrite:
            raise  # writing needs the tags, which the daemon decides
        results = [_unwrite_offline(config, targets, args.dry_run)]
    if args.json:
        print_json(results if args.paths else results[0])
        return 0
    changes = [change for result in results for change in result["changes"]]
    for change in changes:
        print(change)
    verb = "would change" if args.dry_run else "changed"
    print(f"{len(changes)} {verb} ({sum(r['files'] for r in results)} indexed images looked at)")
    return 0


def _unwrite_offline(config: Config, targets: list[str | None], dry_run: bool) -> ExportResult:
    """`tags unwrite` without a daemon (photosift being uninstalled, say): the files photosift's own copy of
    the index lists, each sidecar form tried (the naming may have changed since they were written), since a
    sidecar records what photosift added to it."""
    from dataclasses import replace

    from ..config import XMP_NAMINGS
    from ..index.archive import indexed_paths
    from ..tags.export import Exporter

    files = sorted(p for p in indexed_paths(paths.data_dir())
                   if any(t is None or _inside(p, os.path.realpath(t)) for t in targets))
    exporters = [Exporter(replace(config.tagging, xmp_naming=naming)) for naming in XMP_NAMINGS]
    changes = [change for f in files for exporter in exporters for change in exporter.unwrite(Path(f), dry_run)]
    return {"files": len(files), "dry_run": dry_run, "changes": changes}


def _inside(path: str, target: str) -> bool:
    return path == target or path.startswith(target.rstrip(os.sep) + os.sep)


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


def with_default_subcommand(argv: list[str]) -> list[str]:
    """`tags FILE...` means `tags show FILE...`, and options given before the subcommand (`tags --json show
    F`) go after it, where the subcommand's parser reads them; anything else is left for the parser to judge."""
    for i, word in enumerate(argv):
        if word.startswith("-"):
            continue
        if word != "tags":
            return argv  # another command
        rest = argv[i + 1:]
        if any(w in ("-h", "--help") for w in rest):
            return argv
        first = next((j for j, w in enumerate(rest) if not w.startswith("-")), None)
        if first is None:
            return argv
        if rest[first] in SUBCOMMANDS:
            return [*argv[:i + 1], rest[first], *rest[:first], *rest[first + 1:]]
        return [*argv[:i + 1], "show", *rest]
    return argv


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("tags", help="a file's tags, the vocabulary's counts, why a tag was given; "
                                    "writing them where other photo tools see them",
                       description="`photosift tags FILE...` is short for `photosift tags show FILE...`.")
    actions = p.add_subparsers(dest="tags_action", required=True, metavar="ACTION")
    a = actions.add_parser("show", help="the tags of these files (decided now for files not indexed)")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.set_defaults(func=cmd_show)
    a = actions.add_parser("list", help="the tags on at least one photo, with their counts")
    a.add_argument("--all", action="store_true", help="every tag of the vocabulary, those on no photo too")
    a.set_defaults(func=cmd_list)
    a = actions.add_parser("explain", help="every tag's score for these files, and why each was given or not")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.set_defaults(func=cmd_explain)
    for action, text in (("write", "write tags to XMP sidecars and xattrs (as the config opts in)"),
                         ("unwrite", "remove what `tags write` wrote, restoring the sidecars it changed")):
        a = actions.add_parser(action, help=text + "; every indexed image, or those under PATHs")
        a.add_argument("paths", nargs="*", metavar="PATH")
        a.add_argument("--dry-run", action="store_true", help="only show what would change")
        a.set_defaults(func=cmd_write)
    for a in actions.choices.values():
        a.add_argument("--json", action="store_true")

    p = sub.add_parser("tagged", help="files carrying all of these tags (or any, with --any)")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--any", action="store_true", help="files carrying at least one of the tags")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tagged)
