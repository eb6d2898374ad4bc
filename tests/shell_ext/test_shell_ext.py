"""The file-manager actions: generated for real, installed into a throwaway home by the real CLI, checked by
the real validators (desktop-file-validate, xmllint, plistlib), and removed again without a trace."""

from __future__ import annotations

import configparser
import json
import os
import plistlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import photosift_cmd

from photosift.shell_ext import linux, thunar, windows
from photosift.shell_ext.common import IMAGE_MIME_TYPES, desktop_exec
from photosift.shell_ext.installer import export

PHOTOSIFT = ["/opt/photo sift/bin/photosift"]  # a path with a space, as a user's may have
USER_UCA = """<?xml version="1.0" encoding="UTF-8"?>
<actions>
<action>
\t<icon>utilities-terminal</icon>
\t<name>Open Terminal Here</name>
\t<unique-id>1700000000000001-1</unique-id>
\t<command>exo-open --working-directory %f --launch TerminalEmulator</command>
\t<description>Example for a custom action</description>
\t<patterns>*</patterns>
\t<startup-notify/>
\t<directories/>
</action>
</actions>
"""


def shell_ext(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PHOTOSIFT_DATA_DIR": str(home / ".local/share/photosift")}
    return subprocess.run(photosift_cmd("shell-ext", *args), capture_output=True, text=True, timeout=60, env=env)


def tree(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_install_is_idempotent_and_uninstall_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config/Thunar").mkdir(parents=True)
    (home / ".config/Thunar/uca.xml").write_text(USER_UCA)
    before, folders_before = tree(home), sorted(home.rglob("*"))
    first = shell_ext(home, "install", "--target", "all")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("wrote") == 4 and "added the action to" in first.stdout
    script = home / ".local/share/nautilus/scripts/Find similar images"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert stat.S_IMODE((home / ".local/share/kio/servicemenus/photosift-find-similar.desktop").stat().st_mode) == 0o755
    installed = tree(home)
    again = shell_ext(home, "install", "--target", "all")
    assert again.stdout.startswith("nothing to do: already installed") and tree(home) == installed

    removed = shell_ext(home, "uninstall", "--json")
    assert removed.returncode == 0 and sum(": removed " in line for line in json.loads(removed.stdout)["done"]) == 5
    assert tree(home) == before  # the user's uca.xml byte for byte; our files and the manifest gone
    data = home / ".local/share/photosift"  # photosift's own folder (the index lives there) stays
    left = [p for p in sorted(home.rglob("*")) if p != data and data not in p.parents]
    assert left == sorted([*folders_before, home / ".local", home / ".local/share"])  # the folders made go too


def test_an_edited_action_is_kept_and_a_created_uca_is_removed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert shell_ext(home, "install", "--target", "nemo", "--target", "thunar").returncode == 0
    action = home / ".local/share/nemo/actions/photosift-find-similar.nemo_action"
    action.write_text(action.read_text().replace("Find similar images", "Ähnliche Bilder"))
    removed = shell_ext(home, "uninstall", "--target", "nemo", "--target", "thunar")
    assert f"kept {action}: it was changed after photosift installed it" in removed.stdout
    assert "thunar: removed" in removed.stdout and not (home / ".config/Thunar/uca.xml").exists()
    assert [str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()] == [str(action.relative_to(home))]


def test_desktop_file_validate_accepts_the_service_menu(tmp_path: Path) -> None:
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils; install/test.sh installs it)")
    menu = export("dolphin", tmp_path, PHOTOSIFT)[0]
    done = subprocess.run([validate, str(menu)], capture_output=True, text=True)
    # Type=Service is KDE's extension of the spec, which the validator knows but holds to Application's keys:
    # those two complaints are expected, and nothing else may be wrong
    errors = [line for line in done.stdout.splitlines() if "error" in line]
    assert sorted(e.split(": error: ")[1] for e in errors) == [
        'key "Actions" is present in group "Desktop Entry", but the type is "Service" while this key is only valid '
        'for type "Application"',
        'key "MimeType" is present in group "Desktop Entry", but the type is "Service" while this key is only valid '
        'for type "Application"',
    ]
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(menu)
    assert entry["Desktop Entry"]["MimeType"].rstrip(";").split(";") == list(IMAGE_MIME_TYPES)
    assert entry["Desktop Action findSimilar"]["Exec"] == '"/opt/photo sift/bin/photosift" similar --gui -- %F'


def test_the_nemo_action_shows_for_images_only() -> None:
    action = configparser.ConfigParser(interpolation=None)
    action.read_string(linux.nemo_action(PHOTOSIFT).text)
    nemo = action["Nemo Action"]
    assert nemo["Selection"] == "notnone" and nemo["Name"] == "Find similar images"
    assert nemo["Mimetypes"].rstrip(";").split(";") == list(IMAGE_MIME_TYPES)
    assert nemo["Exec"].endswith("similar --gui -- %F")


def test_exec_quoting_follows_the_desktop_entry_spec() -> None:
    assert desktop_exec(["/usr/bin/photosift", "similar"], "%F") == "/usr/bin/photosift similar %F"
    # quoted, with ", `, $ and \\ escaped inside; then every backslash doubled; a literal % doubled
    assert desktop_exec(['/a b/$x"y`\\z', "50%"], "%F") == '"/a b/\\\\$x\\\\"y\\\\`\\\\\\\\z" 50%% %F'


def test_thunar_merge_keeps_the_users_actions_and_xmllint_agrees(tmp_path: Path) -> None:
    uca = tmp_path / "uca.xml"
    merged = thunar.merged(USER_UCA, PHOTOSIFT, uca)
    assert merged.startswith(USER_UCA[: USER_UCA.index("</actions>")])  # the user's part untouched
    assert thunar.merged(merged, PHOTOSIFT, uca) == merged  # merging again changes nothing
    uca.write_text(merged)
    xmllint = shutil.which("xmllint")
    if xmllint is None:
        pytest.skip("xmllint is not installed (Debian: libxml2-utils; install/test.sh installs it)")
    assert subprocess.run([xmllint, "--noout", str(uca)], capture_output=True).returncode == 0
    assert "<command>&apos;/opt/photo sift/bin/photosift&apos; similar --gui -- %F</command>" in merged \
        or "<command>'/opt/photo sift/bin/photosift' similar --gui -- %F</command>" in merged
    assert thunar.unmerged(merged, uca) == USER_UCA


def test_a_broken_uca_xml_is_reported_and_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    uca = home / ".config/Thunar/uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text("<actions><action>half written")
    done = shell_ext(home, "install", "--target", "thunar")
    assert done.returncode == 1 and "is not valid XML" in done.stderr and "left it alone" in done.stderr
    assert uca.read_text() == "<actions><action>half written"
    assert not (home / ".local/share/photosift/shell-ext.json").exists()


def test_the_windows_registry_file_is_well_formed(tmp_path: Path) -> None:
    reg, unreg = export("windows", tmp_path, [r"C:\Users\Ana Lima\photosift\Scripts\photosift.exe"])
    text = reg.read_bytes().decode("utf-16")
    assert text.startswith("\ufeffWindows Registry Editor Version 5.00\r\n\r\n") or text.startswith(
        "Windows Registry Editor Version 5.00\r\n\r\n")
    lines = [line for line in text.lstrip("\ufeff").split("\r\n")[2:] if line]
    keys = [line for line in lines if line.startswith("[")]
    assert keys == [f"[HKEY_CURRENT_USER\\{windows.KEY}]", f"[HKEY_CURRENT_USER\\{windows.KEY}\\command]"]
    for line in lines:  # every other line is name=value with both sides quoted (or @ for the default)
        if not line.startswith("["):
            name, value = line.split("=", 1)
            assert (name == "@" or (name.startswith('"') and name.endswith('"'))) and value.startswith('"')
    command = next(line for line in lines if line.startswith("@=") and "--gui" in line)
    assert command == ('@="\\"C:\\\\Users\\\\Ana Lima\\\\photosift\\\\Scripts\\\\photosift.exe\\" similar --gui -- '
                       '\\"%1\\""')
    assert unreg.read_bytes().decode("utf-16").lstrip("\ufeff").endswith(f"[-HKEY_CURRENT_USER\\{windows.KEY}]\r\n")


def test_the_macos_quick_action_parses(tmp_path: Path) -> None:
    info, document = export("macos", tmp_path, PHOTOSIFT)
    assert info.parent.parent.name == "Find similar images.workflow"
    service = plistlib.loads(info.read_bytes())["NSServices"][0]
    assert service["NSSendFileTypes"] == ["public.image"] and service["NSMenuItem"]["default"] == "Find similar images"
    workflow = plistlib.loads(document.read_bytes())
    action = workflow["actions"][0]["action"]
    assert action["ActionParameters"]["COMMAND_STRING"] == \
        "exec '/opt/photo sift/bin/photosift' similar --gui -- \"$@\"\n"
    assert action["ActionParameters"]["inputMethod"] == 1  # the files as arguments
    assert workflow["workflowMetaData"]["workflowTypeIdentifier"] == "com.apple.Automator.servicesMenu"


def test_the_nautilus_python_extension_compiles() -> None:
    source = linux.nautilus_extension(PHOTOSIFT).text
    compile(source, "photosift_find_similar.py", "exec")  # Nautilus itself cannot run here
    assert "COMMAND = ['/opt/photo sift/bin/photosift', 'similar', '--gui', '--']" in source


def test_native_targets_of_other_systems_point_to_export(tmp_path: Path) -> None:
    done = shell_ext(tmp_path / "home", "install", "--target", "windows")
    assert done.returncode == 1
    assert "photosift shell-ext export windows DIR" in done.stderr


def test_a_failure_midway_still_records_what_was_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    uca = home / ".config/Thunar/uca.xml"
    uca.parent.mkdir(parents=True)
    uca.write_text("not xml")
    done = shell_ext(home, "install", "--target", "nemo", "--target", "thunar")
    assert done.returncode == 1
    assert shell_ext(home, "uninstall").stdout.startswith("nemo: removed")
    assert [p.name for p in home.rglob("*") if p.is_file()] == ["uca.xml"]
