"""Desktop integration commands: `photosift shell-ext` (the "Find similar images" file-manager actions) and
`photosift service` (the daemon as a user service, the tray's autostart); see photosift.shell_ext."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import paths
from ..config import Config
from .output import print_json

TARGET_CHOICES = ("nautilus", "nemo", "dolphin", "thunar", "caja", "windows", "macos", "all")


def cmd_shell_ext(args: argparse.Namespace, _config: Config) -> int:
    from photosift.shell_ext.common import photosift_argv
    from photosift.shell_ext.installer import LINUX_TARGETS, TARGETS, Installer, export

    photosift = photosift_argv()
    if args.action == "export":
        written = [str(p) for p in export(args.target, Path(args.folder), photosift)]
        print_json({"written": written}) if args.json else print("\n".join(written))
        return 0
    installer = Installer(Path.home(), paths.data_dir() / "shell-ext.json", photosift)
    if "all" in args.target:
        targets = list(LINUX_TARGETS if sys.platform.startswith("linux") else installer.detect())
    elif args.target:
        targets = args.target
    else:
        targets = list(TARGETS) if args.action == "uninstall" else installer.detect()
    if not targets:
        print("photosift: no supported file manager found (nautilus, nemo, dolphin, thunar, caja); name one with "
              "--target", file=sys.stderr)
        return 1
    said = installer.install(targets) if args.action == "install" else installer.uninstall(targets)
    _report(args, said, f"nothing to do: already {args.action}ed for {', '.join(targets)}", targets=targets)
    return 0


def cmd_service(args: argparse.Namespace, config: Config) -> int:
    from photosift.shell_ext import service
    from photosift.shell_ext.common import photosift_argv

    from ..client import answering_pid

    manifest = paths.data_dir() / "service.json"
    if args.action == "install":
        from photosift.shell_ext import command_line

        from .docs import manual_page

        photosift = photosift_argv()
        command = [command_line.launcher(photosift), *command_line.completions_and_manual(manual_page())]
        said = service.install(Path.home(), manifest, photosift, paths.cache_dir(), start=not args.no_start,
                               command=command)
        if not command_line.on_path(Path.home()):
            said.append(f"note: {Path.home() / command_line.LAUNCHER.parent} is not on your PATH yet: it is from "
                        "your next login on most systems (or add it in your shell's profile)")
    else:
        from photosift.tray.instance import address_beside

        said = service.uninstall(Path.home(), manifest, answering_pid(config.socket_path),
                                 lambda: answering_pid(config.socket_path) is not None,
                                 address_beside(config.socket_path))
    _report(args, said, f"nothing to do: already {args.action}ed")
    return 0


def _report(args: argparse.Namespace, said: list[str], nothing: str, **extra: object) -> None:
    """What an install or uninstall did, a line each (or `--json`: those lines as `done`)."""
    if args.json:
        print_json({**extra, "done": said})
    else:
        print("\n".join(said) if said else nothing)


def add_parsers(sub: Any) -> None:
    """Register `shell-ext` and `service` on the main parser."""
    p = sub.add_parser("shell-ext", help='the "Find similar images" action in file managers')
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("install", "install for the file managers found here (or --target)"),
                         ("uninstall", "remove exactly what install added")):
        a = actions.add_parser(action, help=text)
        a.add_argument("--target", action="append", choices=TARGET_CHOICES, default=[],
                       help="a file manager (repeatable); all: every one for this system")
    e = actions.add_parser("export", help="write a target's files to a folder, to install by hand")
    e.add_argument("target", choices=TARGET_CHOICES[:-1])
    e.add_argument("folder")
    for a in actions.choices.values():
        a.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_shell_ext)

    p = sub.add_parser("service", help="run the daemon with your session (systemd --user, launchd) and the tray")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("install", help="install the user service and the tray's autostart, and start them")
    a.add_argument("--no-start", action="store_true", help="only write the files")
    actions.add_parser("uninstall", help="stop the daemon and remove what install added (the index stays)")
    for a in actions.choices.values():
        a.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_service)
