"""`photosift store check`, `store rebuild` (asked of the daemon, which owns the index) and `store migrate`
(the index moved between the embedded store and a Chroma server without encoding anything)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from .. import paths
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


def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    """Point the index at another store; the daemon fills it from photosift's own copy of the embeddings
    as it starts (its start-up agreement, index/doctor.py), so no image is encoded. A running daemon is
    stopped for the move and started again."""
    from photosift.shell_ext import lifecycle
    from photosift.shell_ext.common import photosift_argv

    from .. import config_file
    from ..index.store import location
    from .lifecycle import START_WAIT, wait_for_start

    target = "" if args.to == EMBEDDED else args.to.rstrip("/")
    out = sys.stderr if args.json else sys.stdout  # with --json, the story goes to stderr, the answer to stdout
    data_dir = paths.data_dir()
    if target == config.store:
        print(f"the index is already at {location(target, data_dir)}", file=out)
        if args.json:
            print_json({"store": location(target, data_dir), "moved": False})
        return 0
    if target and not _answers(target):
        print(f"photosift: the Chroma server at {target} does not answer: start it (`chroma run --path DIR --port "
              "PORT`) or check the address; nothing was changed", file=sys.stderr)
        return 1
    if not any(data_dir.glob("embeddings-*.sqlite")):
        print("note: there is no copy of the index to carry over yet (nothing indexed?): the new store fills as "
              "the daemon indexes", file=sys.stderr)
    pid = lifecycle.daemon_pid(config.socket_path)
    if pid is not None:
        print(f"stopping the daemon (pid {pid}) for the move", file=out, flush=True)
        lifecycle.stop(config.socket_path, Path.home())
    old = data_dir / "chroma"
    if not target and old.is_dir():  # from before the move to the server: stale now, the copy is what counts
        aside = old.with_name(f"chroma.before-migrate-{time.strftime('%Y%m%d-%H%M%S')}")
        old.rename(aside)
        print(f"moved the old embedded store aside to {aside} (delete it when you no longer need it)", file=out)
    config_file.set_store(paths.config_file(), target)
    where = location(target, data_dir)
    print(f"the index now lives at {where} (saved in {paths.config_file()})", file=out)
    if pid is None:
        print("the daemon writes it from photosift's copy when it next starts (no image is encoded)", file=out)
        if args.json:
            print_json({"store": where, "moved": True})
        return 0
    since = time.time()
    started = lifecycle.start(photosift_argv(), Path.home(), paths.cache_dir())
    print(f"starting the daemon ({started.how}); it writes the index from photosift's copy, encoding nothing",
          file=out, flush=True)
    return wait_for_start(config, START_WAIT, since, as_json=args.json)


def _answers(url: str) -> bool:
    """Whether a Chroma server answers at `url` (its heartbeat)."""
    import httpx

    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=10).is_success
    except httpx.HTTPError:
        return False


def a_store(text: str) -> str:
    """argparse's type for `--to`: "embedded" or a Chroma server's http(s) URL."""
    if text == EMBEDDED or text.startswith(("http://", "https://")):
        return text
    raise argparse.ArgumentTypeError(f"“{text}” is neither {EMBEDDED} nor a Chroma server URL "
                                     "(http://host:port)")


EMBEDDED = "embedded"


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("store", help="check the index, rebuild it from photosift's own copy, or move it to a "
                                     "Chroma server")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("check", "examine the store and photosift's copy of the embeddings; exit 1 on a problem"),
                         ("rebuild", "move the store aside and rebuild it from photosift's copy (no encoding)")):
        a = actions.add_parser(action, help=text)
        a.add_argument("--json", action="store_true")
        a.set_defaults(func=cmd_store)
    a = actions.add_parser("migrate", help="move the index to a Chroma server, or back to the embedded store, "
                                           "encoding nothing (a running daemon is restarted)")
    a.add_argument("--to", required=True, type=a_store, metavar="URL|embedded",
                   help="a Chroma server (http://host:port), or `embedded` for photosift's own store")
    a.add_argument("--json", action="store_true", help="the daemon's status once it answers from the new store")
    a.set_defaults(func=cmd_migrate)
