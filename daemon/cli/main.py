"""The `photosift` command: thin subcommands, one boundary that turns errors into exit codes.

Exit codes: 0 ok, 1 error, 2 bad configuration or usage, 3 the daemon is not
running (for commands that ask it) or already owns the index (for `daemon` and `index`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__, last_word, paths
from ..config import load
from ..errors import PhotosiftError
from . import control, desktop, docs, duplicates, lifecycle, queries, run, saved, store, tags


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("chromadb", "httpx", "watchdog"):
        logging.getLogger(noisy).setLevel(logging.WARNING)



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photosift", description="Search and tag your photos by meaning (CLIP).")
    parser.add_argument("--version", action="version", version=f"photosift {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run.add_parsers(sub)
    lifecycle.add_parsers(sub)
    queries.add_parsers(sub)
    duplicates.add_parsers(sub)
    saved.add_parsers(sub)
    control.add_parsers(sub)
    store.add_parsers(sub)
    tags.add_parsers(sub)
    desktop.add_parsers(sub)
    docs.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if argv is None:
        import argcomplete

        argcomplete.autocomplete(parser)  # at a Tab in a shell: prints the candidates and exits
    args = parser.parse_args(tags.with_default_subcommand(sys.argv[1:] if argv is None else argv))
    if getattr(args, "k", 1) < 1:
        parser.error("argument -k: must be at least 1")
    if not getattr(args, "needs_config", True):
        return int(args.func(args, None))
    socket = paths.socket_path()  # until the config says otherwise (a config that fails to load cannot)
    try:
        config = load()
        socket = config.socket_path
        _setup_logging(config.log_level if args.command == "daemon" else "warning")
        return int(args.func(args, config))
    except PhotosiftError as exc:
        message = str(exc)
        print(f"photosift: {message}", file=sys.stderr)
        if args.command == "daemon" and exc.exit_code != 3:  # 3: another daemon owns it, and its last word
            last_word.record(socket, last_word.FAILED, message, exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`photosift tags list | head`): stop quietly, as Unix tools do, and
        # point stdout at nothing so the interpreter's final flush does not complain either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        # a bug, or a broken install (a module missing): the daemon's last word says so, or `status --wait`,
        # `start --wait` and the tray would wait for a daemon that is gone; the traceback follows as ever
        if args.command == "daemon":
            last_word.record(socket, last_word.FAILED, f"the daemon crashed: {exc!r} (the traceback is in its log)",
                             1)
        raise


if __name__ == "__main__":
    sys.exit(main())
