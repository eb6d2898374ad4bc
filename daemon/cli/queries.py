"""CLI queries answered by the running daemon: search, similar, classify (and their --gui forms).

Each is a small function over the client; `cli.main` turns a missing daemon into
one line and exit code 3. Nothing here imports torch or Chroma, so these
commands start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Literal

from ..client import Client
from ..config import Config
from ..dates import period_start
from ..errors import DateError
from .output import print_hits, print_labels


def search_terms(args: argparse.Namespace) -> list[Any]:
    """The API query from the command line: the words as one prompt, `--not` prompts subtracted,
    `--image` files mixed in."""
    terms: list[Any] = []
    if args.text:
        terms.append(" ".join(args.text))
    terms += [{"text": t, "weight": -1.0} for t in args.exclude]
    terms += [{"image": os.path.abspath(p)} for p in args.image]
    return terms


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """--folder, --after, --before and --tag as the client's filter arguments."""
    return {"folder": os.path.abspath(args.folder) if args.folder else None, "taken_after": args.after,
            "taken_before": args.before, "tags": args.tag or None}


def in_window(args: argparse.Namespace, config: Config, mode: Literal["search", "similar"], text: str = "",
              files: tuple[str, ...] = ()) -> int:
    """Show the query in the search window (the open one, else a new one, until it is closed)."""
    if any(filters(args).values()) or getattr(args, "exclude", None) or getattr(args, "image", None):
        print("with --gui, give only the words or files; set filters in the window", file=sys.stderr)
        return 2
    return show_in_window(config, mode, text, files)


def show_in_window(config: Config, mode: Literal["search", "similar", "duplicates"], text: str = "",
                   paths: tuple[str, ...] = ()) -> int:
    """Hand a request to the open window (the tray's, or another `--gui` command's), else open one here and
    wait until it closes."""
    from photosift.tray.instance import Request, address_beside, send

    request = Request(mode, text, paths)
    if send(address_beside(config.socket_path), request):
        return 0  # the open window shows it
    from photosift.tray.gui import run_window  # Tk and the window code only when a window must open

    return run_window(config, request)


def cmd_search(args: argparse.Namespace, config: Config) -> int:
    if args.gui:
        return in_window(args, config, "search", " ".join(args.text))
    terms = search_terms(args)
    if not terms:
        print("give some text to search for (or --image FILE)", file=sys.stderr)
        return 2
    with Client(config.socket_path) as client:
        hits = client.search(terms, args.k, **filters(args))
    print_hits(hits, args.json, args.all, args.paths)
    return 0


def cmd_similar(args: argparse.Namespace, config: Config) -> int:
    files = [os.path.abspath(p) for p in args.files]
    if args.gui:
        return in_window(args, config, "similar", files=tuple(files))
    with Client(config.socket_path) as client:
        hits = client.similar(files, args.k, **filters(args))
    print_hits(hits, args.json, args.all, args.paths)
    return 0


def cmd_classify(args: argparse.Namespace, config: Config) -> int:
    is_url = args.image.startswith(("http://", "https://"))
    with Client(config.socket_path) as client:
        source = {"url": args.image} if is_url else {"path": os.path.abspath(args.image)}
        labels = client.classify(args.labels, **source)
    print_labels(labels, args.json)
    return 0


def a_date(text: str) -> str:
    """argparse's type for dates: read as the daemon reads them (dates.py), so that a bad one is a usage
    error naming the option (exit 2) before anything is sent."""
    try:
        period_start(text)
    except DateError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", help="only images inside this folder")
    p.add_argument("--after", metavar="DATE", type=a_date,
                   help="only images taken in or after DATE: a year (2023), a month (2023-06), a day or a time")
    p.add_argument("--before", metavar="DATE", type=a_date,
                   help="only images taken before DATE began (--after 2023 --before 2024: the year 2023)")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="only images with this tag (repeatable)")


def add_output_options(p: argparse.ArgumentParser) -> None:
    formats = p.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="every hit, with whether it is relevant")
    formats.add_argument("-f", "--paths", action="store_true",
                         help="bare paths, one per line (with --all the less likely ones too): for xargs")


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("search", help="find images by a text description")
    p.add_argument("text", nargs="*", help="what to look for (the words form one description)")
    p.add_argument("--not", dest="exclude", action="append", default=[], metavar="TEXT",
                   help="push results away from this description (repeatable)")
    p.add_argument("--image", action="append", default=[], metavar="FILE",
                   help="mix an image into the query (repeatable)")
    add_filter_options(p)
    p.add_argument("-k", type=int, default=10, help="at most this many results (default 10)")
    p.add_argument("--all", action="store_true",
                   help="print k results, the less likely ones too, with a line where relevance ends")
    add_output_options(p)
    p.add_argument("--gui", action="store_true", help="show the results in the search window (the words are optional)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="images similar to one or more images")
    p.add_argument("files", nargs="+", metavar="FILE")
    add_filter_options(p)
    p.add_argument("-k", type=int, default=20, help="at most this many results (default 20)")
    p.add_argument("--all", action="store_true",
                   help="print k results, the less likely ones too, with a line where relevance ends")
    add_output_options(p)
    p.add_argument("--gui", action="store_true",
                   help="show the results in the search window (reusing the open one)")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("classify", help="zero-shot probabilities of labels for one image (path or URL)")
    p.add_argument("image", help="an image path or an http(s) URL")
    p.add_argument("--labels", nargs="+", required=True, metavar="LABEL")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_classify)
