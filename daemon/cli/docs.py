"""`photosift completion SHELL` and `photosift manual`: the shell completion script and the man page, both
generated from the parser itself, so neither can drift from the commands.

Completion is argcomplete's: the script asks `photosift` for the candidates at
each Tab (cli.main answers before doing anything else), in bash, zsh and fish.
install.sh writes both where the shells and `man` look for a user's own.
"""

from __future__ import annotations

import argparse
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def cmd_completion(args: argparse.Namespace, _config: object) -> int:
    import argcomplete

    print(argcomplete.shellcode(["photosift"], shell=args.shell), end="")
    return 0


def manual_page() -> str:
    """The man page (roff) of the whole CLI, every subcommand with its options."""
    from build_manpages.manpage import Manpage

    from .. import __version__
    from .main import build_parser

    return str(Manpage(build_parser(), _data={"manual_title": "photosift manual", "version": __version__,
                                              "project_name": "photosift",
                                              "description": "search and tag your photos by meaning (CLIP)"}))


def cmd_manual(_args: argparse.Namespace, _config: object) -> int:
    print(manual_page(), end="")
    return 0


def add_parsers(sub: Any) -> None:
    """Register these subcommands on the main parser."""
    p = sub.add_parser("completion", help="print the shell completion script (bash, zsh or fish)",
                       description="bash: photosift completion bash > ~/.local/share/bash-completion/completions/"
                                   "photosift; fish: ... fish > ~/.config/fish/completions/photosift.fish; "
                                   "zsh: eval \"$(photosift completion zsh)\" in ~/.zshrc")
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=cmd_completion, needs_config=False)

    p = sub.add_parser("manual", help="print the man page (roff), as `man photosift` shows it")
    p.set_defaults(func=cmd_manual, needs_config=False)
