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
from .output import print_json

KINDS = {"identical": "the same bytes", "near": "the same picture"}


def cmd_duplicates(args: argparse.Namespace, config: Config) -> int:
    folder = os.path.abspath(args.folder) if args.folder else None
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
        print(f"{number}. {KINDS[group['kind']]}, {len(group['files'])} files")
        for f in group["files"]:
            mark = "keep" if f["keep"] else "    "
            print(f"   {mark}  {f['path']}  {f['width']}x{f['height']}, {_size(f['size'])}, {f['taken_at'][:10]}")
            freed += 0 if f["keep"] else f["size"]
    print(f"{len(groups)} group(s); keeping one of each would free {_size(freed)}")


def _size(n: int) -> str:
    """Bytes as people read them: 812 bytes, 3.4 MB."""
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KB", "MB", "GB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def add_parsers(sub: Any) -> None:
    """Register `duplicates` on the main parser."""
    p = sub.add_parser("duplicates", help="groups of near-identical photos, with the copy to keep")
    p.add_argument("folder", nargs="?", help="only photos inside this folder (default: every watched folder)")
    p.add_argument("--json", action="store_true", help="every group and file, as the API answers them")
    p.set_defaults(func=cmd_duplicates)

    p = sub.add_parser("trash", help="move photos to the desktop's trash (restorable; the index follows)")
    p.add_argument("files", nargs="+", metavar="FILE", help="photos inside the watched folders")
    p.add_argument("--json", action="store_true", help="what went and what did not, with why")
    p.set_defaults(func=cmd_trash)
