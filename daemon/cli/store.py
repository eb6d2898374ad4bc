"""`photosift store check` and `store rebuild`: the index's health, asked of the daemon (which owns it)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..client import Client
from ..config import Config
from .output import print_json


def cmd_store(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        if args.action == "check":
            check = client.check_store()
            if args.json:
                print_json(check)
            else:
                print(f"store:  {check['location']} ({check['store_records']:,} records)")
                print(f"copy:   {check['copy_location']} ({check['copy_records']:,} records)")
                for problem in check["problems"]:
                    print(f"problem: {problem}")
                print("healthy" if check["healthy"] else
                      "`photosift store rebuild` rebuilds the store from photosift's copy (no image is encoded)")
            return 0 if check["healthy"] else 1
        started = time.monotonic()
        info = client.rebuild_store()
    if args.json:
        print_json(info)
    else:
        print(f"rebuilt the index from photosift's copy: {info['restored']:,} records in "
              f"{time.monotonic() - started:.1f} s, no image encoded")
        if info["moved_to"]:
            print(f"the old one is kept at {info['moved_to']} (delete it when you no longer need it)")
    return 0


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("store", help="check the index, or rebuild it from photosift's own copy")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("check", "examine the store and photosift's copy of the embeddings; exit 1 on a problem"),
                         ("rebuild", "move the store aside and rebuild it from photosift's copy (no encoding)")):
        a = actions.add_parser(action, help=text)
        a.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_store)
