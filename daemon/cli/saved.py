"""`photosift saved add|list|remove`: searches kept as folders of links by the running daemon."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..answers import SavedState
from ..client import Client
from ..config import Config
from .output import print_json
from .queries import add_filter_options, filters


def cmd_add(args: argparse.Namespace, config: Config) -> int:
    query = " ".join(args.query).strip()
    if not query and not args.tag:
        print("give words to search for, or --tag TAG to keep a tag as a folder", file=sys.stderr)
        return 2
    with Client(config.socket_path) as client:
        state = client.save_search(args.name, query, args.exclude, **filters(args))
    if args.json:
        print_json(state)
    else:
        print(f"saved {state['name']!r}: {_photos(state['links'])} in {state['path']}")
        print("  kept up to date as photos arrive, change, move or go")
    return 0


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        states = client.saved()
    if args.json:
        print_json(states)
    elif not states:
        print("no saved searches (photosift saved add NAME WORDS... makes one)")
    for state in [] if args.json else states:
        print(f"{state['name']}: {_asks(state)}; {_photos(state['links'])} in {state['path']}")
    return 0


def cmd_remove(args: argparse.Namespace, config: Config) -> int:
    with Client(config.socket_path) as client:
        answer = client.remove_saved(args.name)
    if args.json:
        print_json(answer)
        return 0
    print(f"removed {answer['name']!r}: {answer['removed']} link(s) taken out of {answer['path']}")
    if answer["left"]:
        print(f"  kept there, not photosift's: {', '.join(answer['left'][:10])}"
              + (f" and {len(answer['left']) - 10} more" if len(answer["left"]) > 10 else ""))
    return 0


def _asks(state: SavedState) -> str:
    """What a saved search asks, in the command line's words."""
    parts = [repr(state["query"])] if state["query"] else []
    parts += [f"--not {t!r}" for t in state["exclude"]]
    parts += [f"--tag {t}" for t in state["tags"]]
    if state["folder"]:
        parts.append(f"--folder {state['folder']}")
    if state["taken_after"]:
        parts.append(f"--after {state['taken_after']}")
    if state["taken_before"]:
        parts.append(f"--before {state['taken_before']}")
    return " ".join(parts)


def _photos(n: int) -> str:
    return f"{n} photo" + ("" if n == 1 else "s")


def add_parsers(sub: Any) -> None:
    """Register `saved` and its actions on the main parser."""
    p = sub.add_parser("saved", help="searches kept as folders of links, up to date as the library changes")
    actions = p.add_subparsers(dest="saved_action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="keep a search (or a tag, with --tag) as a folder of links",
                           description="The folder (saved_folder/NAME, default ~/Pictures/photosift/NAME) holds "
                                       "a link to each relevant result and follows the library live.")
    a.add_argument("name", metavar="NAME", help="the saved search's name, which is its folder's name")
    a.add_argument("query", nargs="*", metavar="WORDS", help="what to look for (the words form one description)")
    a.add_argument("--not", dest="exclude", action="append", default=[], metavar="TEXT",
                   help="push results away from this description (repeatable)")
    add_filter_options(a)
    a.set_defaults(func=cmd_add)
    a = actions.add_parser("list", help="the saved searches, with their folders")
    a.set_defaults(func=cmd_list)
    a = actions.add_parser("remove", help="forget a saved search; only photosift's links leave its folder")
    a.add_argument("name", metavar="NAME")
    a.set_defaults(func=cmd_remove)
    for a in actions.choices.values():
        a.add_argument("--json", action="store_true", help="the answer as the API gives it")
