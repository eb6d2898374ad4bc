"""photosift as a user service: the generated unit, agent and desktop entries checked by the real validators,
and install/install.sh → `photosift status` → install/uninstall.sh in a throwaway home."""

from __future__ import annotations

import io
import os
import plistlib
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import SHAPES_MODEL, wait_for, write_config
from PIL import Image

from photosift.shell_ext import service

ROOT = Path(__file__).parents[2]
VENV_PHOTOSIFT = ["/opt/photo sift/venv/bin/photosift"]


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: systemd)")
    photosift = shutil.which("photosift") or str(Path(sys.executable).with_name("photosift"))
    unit = tmp_path / service.UNIT
    unit.write_text(service.systemd_unit([photosift]).text)
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    text = unit.read_text()
    for line in ("Restart=on-failure", "RestartPreventExitStatus=2 3", "IOSchedulingClass=idle", "Nice=10",
                 "CPUSchedulingPolicy=batch", "WantedBy=default.target", f"ExecStart={photosift} daemon"):
        assert line in text.splitlines()


def test_the_desktop_entries_validate(tmp_path: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils; install/test.sh installs it)")
    tray, search = service.desktop_entries(VENV_PHOTOSIFT)
    assert tray.path == Path(".config/autostart/photosift-tray.desktop")
    for entry in (tray, search):
        path = tmp_path / entry.path.name
        path.write_text(entry.text)
        done = subprocess.run([validate, str(path)], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout == "", done.stdout
    assert 'Exec="/opt/photo sift/venv/bin/photosift" tray\n' in tray.text
    assert 'Exec="/opt/photo sift/venv/bin/photosift" search --gui\n' in search.text
    assert "Icon=photosift\n" in tray.text and "Icon=photosift\n" in search.text


def test_the_app_icon_for_the_icon_theme(tmp_path: Path) -> None:
    """`Icon=photosift` names these: an SVG and the PNG sizes a tray asks for, in the user's hicolor theme."""
    icons = {str(item.path): item for item in service.app_icons()}
    svg = icons[".local/share/icons/hicolor/scalable/apps/photosift.svg"]
    root = ET.fromstring(svg.text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox") == "0 0 64 64"
    for size in (16, 22, 24, 32, 48, 64, 128, 256):
        item = icons[f".local/share/icons/hicolor/{size}x{size}/apps/photosift.png"]
        image = Image.open(io.BytesIO(item.content))
        assert image.format == "PNG" and image.size == (size, size) and image.mode == "RGBA"


def test_the_launchd_agent_parses(tmp_path: Path) -> None:
    agent = plistlib.loads(service.launchd_agent(VENV_PHOTOSIFT, Path("/Users/ana")).text.encode())
    assert agent["Label"] == "org.photosift.daemon"
    assert agent["ProgramArguments"] == [*VENV_PHOTOSIFT, "daemon"]
    assert agent["KeepAlive"] == {"SuccessfulExit": False} and agent["ProcessType"] == "Background"
    assert agent["LowPriorityIO"] is True and agent["StandardErrorPath"] == "/Users/ana/Library/Logs/photosift.log"


def throwaway_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home folder of a new user, and the environment of a login there (no desktop, no service manager here)."""
    home = tmp_path / "home"
    run = tmp_path / "run"
    home.mkdir()
    run.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PHOTOSIFT_", "XDG_", "DISPLAY", "WAYLAND_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(run),
               # the wheels are cached under the real home: reinstalling torch from there takes a minute
               PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")))
    return home, env


def test_install_sh_runs_the_daemon_and_uninstall_sh_leaves_only_the_index(
    tmp_path: Path, make_shape: Callable[..., Path]
) -> None:
    home, env = throwaway_home(tmp_path)
    photos = home / "Pictures"
    for colour, shape in (("red", "circle"), ("blue", "star"), ("green", "square")):
        make_shape(photos, colour, shape)
    extra = home / "Scans"
    make_shape(extra, "yellow", "triangle")
    config = home / ".config/photosift/config.toml"
    config.parent.mkdir(parents=True)
    # the tiny model: real CLIP weights cannot be downloaded here
    write_config(config, folders=[str(photos)], model=str(SHAPES_MODEL), debounce_seconds=0.3)
    started = time.monotonic()
    done = subprocess.run(["bash", str(ROOT / "install/install.sh"), "--folder", str(extra)], env=env,
                          capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"install.sh took {time.monotonic() - started:.0f} s")
    photosift = str(home / ".local/share/photosift/venv/bin/photosift")
    assert "keeping your config" in done.stdout and f'"{extra}"' in config.read_text()  # --folder was added
    assert "daemon:  running" in done.stdout  # install.sh waited for the daemon's first answer

    def status() -> str:
        return subprocess.run([photosift, "status"], env=env, capture_output=True, text=True, timeout=60).stdout

    wait_for(lambda: "indexed: 4" in status(), 120)
    for installed in (".config/systemd/user/photosift.service", ".config/autostart/photosift-tray.desktop",
                      ".local/share/applications/photosift-search.desktop", ".local/bin/photosift",
                      ".local/share/bash-completion/completions/photosift", ".config/fish/completions/photosift.fish",
                      ".local/share/man/man1/photosift.1", ".local/share/icons/hicolor/48x48/apps/photosift.png"):
        assert (home / installed).exists(), installed
    assert "is not on your PATH yet" in done.stdout  # this login's PATH has no ~/.local/bin: said so

    # the README's commands as written, from a login whose PATH has ~/.local/bin (a new login, here)
    login = {**env, "PATH": f"{home / '.local/bin'}{os.pathsep}{env['PATH']}"}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["photosift", *args], env=login, capture_output=True, text=True, timeout=300)

    restarted = command("restart")
    assert restarted.returncode == 0 and "daemon:  running" in restarted.stdout, restarted.stdout + restarted.stderr
    assert "daemon running" in command("logs").stdout
    page = subprocess.run(["man", "--where", "photosift"], env={**login, "MANPATH": ""}, capture_output=True,
                          text=True, timeout=60)
    assert page.stdout.strip() == str(home / ".local/share/man/man1/photosift.1"), page.stderr  # found via PATH

    removed = subprocess.run(["bash", str(ROOT / "install/uninstall.sh")], env=env, capture_output=True, text=True,
                             timeout=300)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert "stopped the daemon" in removed.stdout and "kept the index and your config" in removed.stdout
    left = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert ".config/photosift/config.toml" in left
    # the photos, and what build tools keep in a home (~/.rustup, from a package built from source), are not ours
    ours = [p for p in left if "photosift" in p and not p.startswith((".local/share/photosift/", ".cache/photosift/"))]
    assert ours == [".config/photosift/config.toml"], ours  # nothing else of photosift's
    assert any(p.startswith(".local/share/photosift/") for p in left)  # the index stays
    assert not (home / ".local/share/photosift/venv").exists()
    for made in (".local/bin", ".config/autostart", ".config/systemd", ".local/share/man", ".config/fish",
                 ".local/share/bash-completion", ".local/share/applications", ".local/share/icons"):
        assert not (home / made).exists(), made  # the folders it made, emptied, go too

    purged = subprocess.run(["bash", str(ROOT / "install/uninstall.sh"), "--purge"], env=env, capture_output=True,
                            text=True, timeout=300)  # after a plain uninstall: removes what that left
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "already uninstalled" in purged.stdout
    ours = [str(p.relative_to(home)) for p in home.rglob("*") if "photosift" in str(p.relative_to(home))]
    assert ours == [], ours
    assert len(list(photos.glob("*.png"))) == 3  # the photos are the user's
