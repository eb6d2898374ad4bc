"""Desktop integration commands: `photosift shell-ext` (the "Find similar images" file-manager actions) and
`photosift service` (the daemon as a user service, the tray's autostart); see photosift.shell_ext."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .. import paths
from ..config import Config

TARGET_CHOICES = ("nautilus", "nemo", "dolphin", "thunar", "caja", "windows", "macos", "all")


def cmd_shell_ext(args: argparse.Namespace, _config: Config) -> int:
    from photosift.shell_ext.common import photosift_argv
    from photosift.shell_ext.installer import LINUX_TARGETS, TARGETS, Installer, export

    photosift = photosift_argv()
    if args.action == "export":
        for path in export(args.target, Path(args.folder), photosift):
            print(path)
        return 0
    installer = Installer(Path.home(), paths.data_dir() / "shell-ext.json", photosift)
    if "all" in args.target:
        targets = list(LINUX_TARGETS if sys.platform.startswith("linux") else installer.detect())
    elif args.target:
        targets = args.target
    else:
        targets = list(TARGETS) if args.action == "uninstall" else installer.detect()
    if not targets:
        print("no supported file manager found (nautilus, nemo, dolphin, thunar, caja); name one with --target",
              file=sys.stderr)
        return 1
    said = installer.install(targets) if args.action == "install" else installer.uninstall(targets)
    print("\n".join(said) if said else f"nothing to do: already {args.action}ed for {', '.join(targets)}")
    return 0


def cmd_service(args: argparse.Namespace, config: Config) -> int:
    from photosift.shell_ext import service
    from photosift.shell_ext.common import photosift_argv

    from ..client import Client
    from ..errors import DaemonNotRunning

    manifest = paths.data_dir() / "service.json"
    if args.action == "install":
        said = service.install(Path.home(), manifest, photosift_argv(), paths.cache_dir(), start=not args.no_start)
    else:
        from photosift.tray.instance import address_beside

        def daemon_pid() -> int | None:
            try:
                with Client(config.socket_path, timeout=10) as client:
                    return int(client.status()["pid"])
            except DaemonNotRunning:
                return None

        said = service.uninstall(Path.home(), manifest, daemon_pid(), lambda: daemon_pid() is not None,
                                 address_beside(config.socket_path))
    print("\n".join(said) if said else f"nothing to do: already {args.action}ed")
    return 0


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
    p.set_defaults(func=cmd_shell_ext)

    p = sub.add_parser("service", help="run the daemon with your session (systemd --user, launchd) and the tray")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("install", help="install the user service and the tray's autostart, and start them")
    a.add_argument("--no-start", action="store_true", help="only write the files")
    actions.add_parser("uninstall", help="stop the daemon and remove what install added (the index stays)")
    p.set_defaults(func=cmd_service)
