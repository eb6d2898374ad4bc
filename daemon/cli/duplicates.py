"""`photosift duplicates`: the groups of near-identical photos, and `photosift trash` for the copies let go,
answered by the running daemon."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from ..answers import DuplicateGroup
from ..client import Client
from ..config import Config
from ..words import DUPLICATE_KINDS, size_text
from .output import print_json
from .queries import show_in_window


def cmd_duplicates(args: argparse.Namespace, config: Config) -> int:
    folder = os.path.abspath(args.folder) if args.folder else None
    if args.gui:
        return show_in_window(config, "duplicates", paths=(folder,) if folder else ())
    with Client(config.socket_path) as client:
        groups = client.duplicates(folder)
    if args.json:
        print_json(groups)
    else:
        print_groups(groups)
    return 0


def cmd_trash(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        answer = client.trash([os.path.abspath(p) for p in args.files])
    if args.json:
        print_json(answer)
    else:
        for path in answer["trashed"]:
            print(f"moved to the trash: {path}")
        for failure in answer["failed"]:
            print(f"not moved: {failure['path']}: {failure['reason']}", file=sys.stderr)
    return 1 if answer["failed"] else 0


def print_groups(groups: list[DuplicateGroup]) -> None:
    """Each group with its files, the one photosift suggests keeping marked, and what letting the rest go
    would free."""
    if not groups:
        print("no duplicates")
        return
    freed = 0
    for number, group in enumerate(groups, 1):
        print(f"{number}. {DUPLICATE_KINDS[group['kind']]}, {len(group['files'])} files")
        for f in group["files"]:
            mark = "keep" if f["keep"] else "    "
            print(f"   {mark}  {f['path']}  {f['width']}x{f['height']}, {size_text(f['size'])}, {f['taken_at'][:10]}")
            freed += 0 if f["keep"] else f["size"]
    print(f"{len(groups)} group(s); keeping one of each would free {size_text(freed)}")


def add_parsers(sub: Any) -> None:
    """Register `duplicates` on the main parser."""
    p = sub.add_parser("duplicates", help="groups of near-identical photos, with the copy to keep")
    p.add_argument("folder", nargs="?", help="only photos inside this folder (default: every watched folder)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="every group and file, as the API answers them")
    shown.add_argument("--gui", action="store_true",
                       help="in the Duplicates window: the groups side by side, tick what goes to the Trash")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("trash", help="move photos to the desktop's trash (restorable; the index follows)")
    p.add_argument("files", nargs="+", metavar="FILE", help="photos inside the watched folders")
    p.add_argument("--json", action="store_true", help="what went and what did not, with why")
    p.set_defaults(func=cmd_trash)
