"""Running photosift with the user's session: a user service for the daemon, an autostart entry for the tray.

Linux: a `systemd --user` unit (restarted on failure, but not after a bad config
or a second instance; idle I/O class, batch CPU scheduling and nice 10, so
indexing never makes the desktop sluggish), plus XDG autostart for the tray and
a launcher for the search window. macOS: a launchd agent (background process
type, low-priority I/O). Where no user service manager runs, `install` starts
the daemon in the background instead and says so. Everything is recorded per
file so `uninstall` removes exactly what `install` wrote.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .common import Generated, desktop_exec
from .installer import Manifest, remove_recorded, write_recorded

UNIT = "photosift.service"
AGENT = "org.photosift.daemon"
# exit codes after which restarting cannot help: a bad config (2), the index held by another photosift (3)
NO_RESTART_CODES = (2, 3)


def systemd_unit(photosift: list[str]) -> Generated:
    return Generated(Path(".config/systemd/user") / UNIT, f"""\
[Unit]
Description=photosift: search your photos by meaning (CLIP index daemon)
Documentation=https://github.com/photosift/photosift

[Service]
Type=simple
ExecStart={shlex.join([*photosift, "daemon"])}
Restart=on-failure
RestartSec=30
RestartPreventExitStatus={" ".join(map(str, NO_RESTART_CODES))}
# indexing yields to everything the user does
Nice=10
CPUSchedulingPolicy=batch
IOSchedulingClass=idle
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=default.target
""")


def launchd_agent(photosift: list[str], home: Path) -> Generated:
    log = str(home / "Library/Logs/photosift.log")
    return Generated(Path("Library/LaunchAgents") / f"{AGENT}.plist", plistlib.dumps({
        "Label": AGENT,
        "ProgramArguments": [*photosift, "daemon"],
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "Nice": 10,
        "StandardOutPath": log,
        "StandardErrorPath": log,
    }).decode())


def desktop_entries(photosift: list[str]) -> list[Generated]:
    """The tray's autostart entry and a launcher for the search window (for desktops without a tray)."""
    tray = f"""\
[Desktop Entry]
Type=Application
Name=photosift
Comment=photosift in the system tray: indexing state, search, pause
Exec={desktop_exec([*photosift, "tray"], "")}
Icon=photosift
Terminal=false
Categories=Graphics;Photography;
X-GNOME-Autostart-enabled=true
"""
    search = f"""\
[Desktop Entry]
Type=Application
Name=photosift search
GenericName=Photo search
Comment=Search your photos by what is in them
Exec={desktop_exec([*photosift, "search", "--gui"], "")}
Icon=photosift
Terminal=false
Categories=Graphics;Photography;
Keywords=photos;pictures;search;similar;CLIP;
StartupWMClass=photosift
"""
    return [Generated(Path(".config/autostart/photosift-tray.desktop"), tray),
            Generated(Path(".local/share/applications/photosift-search.desktop"), search)]


def app_icons() -> list[Generated]:
    """photosift's icon in the user's hicolor theme (what `Icon=photosift` names): the SVG, and PNGs at the
    sizes trays, menus and docks ask for."""
    from photosift.tray import icons

    theme = Path(".local/share/icons/hicolor")
    return [Generated(theme / "scalable/apps/photosift.svg", icons.SVG),
            *(Generated(theme / f"{n}x{n}/apps/photosift.png", "", data=icons.png(n)) for n in icons.PNG_SIZES)]


def user_systemd_running() -> bool:
    """Whether a `systemd --user` manager answers for this user."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return False
    done = subprocess.run([systemctl, "--user", "show-environment"], capture_output=True, timeout=30)
    return done.returncode == 0


def platform_files(photosift: list[str], home: Path) -> list[Generated]:
    if sys.platform == "darwin":
        return [launchd_agent(photosift, home)]
    return [systemd_unit(photosift), *desktop_entries(photosift), *app_icons()]


def start_in_background(photosift: list[str], command: str, log_path: Path) -> subprocess.Popen[bytes]:
    """`photosift COMMAND` detached from this process, in its own session, logging to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen([*photosift, command], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)


def _systemctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, timeout=60)


def install(home: Path, manifest_path: Path, photosift: list[str], logs: Path, start: bool = True,
            command: Sequence[Generated] = ()) -> list[str]:
    """Write the service files and the `command` files (the launcher on PATH, completion, the man page) and
    start the daemon (as a service where a user service manager runs, else in the background) and, on a
    desktop, the tray."""
    manifest = Manifest.load(manifest_path)
    said: list[str] = []
    try:
        for item in platform_files(photosift, home):
            said += write_recorded(home, item, "service", manifest)
        for item in command:
            said += write_recorded(home, item, "command", manifest)
    finally:
        manifest.save()
    if not start:
        return said
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        plist = home / "Library/LaunchAgents" / f"{AGENT}.plist"
        subprocess.run(["launchctl", "bootstrap", f"gui/{os.getuid()}", str(plist)], capture_output=True)
        said.append(f"started the launchd agent {AGENT}")
    elif user_systemd_running():
        _systemctl("daemon-reload")
        done = _systemctl("enable", "--now", UNIT)
        said.append(f"started {UNIT} (systemctl --user status {UNIT})" if done.returncode == 0
                    else f"could not start {UNIT}: {done.stderr.strip()}")
    else:
        daemon = start_in_background(photosift, "daemon", logs / "daemon.log")
        said.append(f"no user service manager runs here (systemd --user): started the daemon in the background "
                    f"(pid {daemon.pid}, log {logs / 'daemon.log'}); it will not start by itself next session")
    if (sys.platform.startswith("linux") and os.environ.get("DISPLAY")) or os.environ.get("WAYLAND_DISPLAY"):
        tray = start_in_background(photosift, "tray", logs / "tray.log")
        said.append(f"started the tray app (pid {tray.pid}); it starts with your desktop session from now on")
    return said


def stop_daemon(pid: int, answering: Callable[[], bool], timeout: float = 60.0) -> bool:
    """SIGTERM the daemon (it finishes its batch and closes the index) and wait until its API stops answering.
    (Not `kill(pid, 0)` to see whether it lives: on Windows that call terminates the process.)"""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not answering():
            return True
        time.sleep(0.1)
    return False


def uninstall(home: Path, manifest_path: Path, running_pid: int | None, answering: Callable[[], bool],
              gui_socket: Path) -> list[str]:
    """Stop the daemon and the tray (or an open search window), and remove the service files (the index and
    the config stay)."""
    from photosift.tray.instance import Request, send

    said: list[str] = []
    if send(gui_socket, Request("quit")):
        said.append("closed the tray app (or the open search window)")
    if sys.platform == "darwin":  # pragma: no cover - macOS only
        subprocess.run(["launchctl", "bootout", f"gui/{os.getuid()}/{AGENT}"], capture_output=True)
    elif user_systemd_running() and _systemctl("disable", "--now", UNIT).returncode == 0:
        said.append(f"stopped and disabled {UNIT}")
        running_pid = None
    if running_pid is not None:
        stopped = stop_daemon(running_pid, answering)
        said.append(f"stopped the daemon (pid {running_pid})" if stopped
                    else f"the daemon (pid {running_pid}) did not stop within a minute; stop it by hand")
    manifest = Manifest.load(manifest_path)
    try:
        said += remove_recorded(home, ["service", "command"], manifest)
    finally:
        manifest.save()
    if sys.platform.startswith("linux") and user_systemd_running():
        _systemctl("daemon-reload")
    return said
