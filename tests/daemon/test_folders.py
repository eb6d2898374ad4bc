"""The rules for adding and removing watched folders, and the config file rewrite that keeps comments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photosift.daemon import config, folders
from photosift.daemon.errors import ConfigError, RequestError

USER_FILE = """\
# my photosift settings
batch_size = 16   # small: an old laptop

folders = [
    "~/Pictures",        # the phone's camera uploads land here
    "{old}",  # old scans
]
"""


def test_add_rules(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "inner").mkdir(parents=True)
    b.mkdir()
    current = (str(a),)
    assert folders.plan_add(current, str(b)) == folders.Change((str(a), str(b)), added=(str(b),))
    with pytest.raises(RequestError, match="already watched") as same:
        folders.plan_add(current, str(a) + "/")
    assert same.value.status == 409
    with pytest.raises(RequestError, match=f"inside {a}"):
        folders.plan_add(current, str(a / "inner"))
    with pytest.raises(RequestError, match="does not exist") as missing:
        folders.plan_add(current, str(tmp_path / "nope"))
    assert missing.value.code == "not_a_folder"
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(RequestError, match="is not a folder"):
        folders.plan_add(current, str(tmp_path / "file.jpg"))
    with pytest.raises(RequestError, match="whole disk"):
        folders.plan_add(current, "/")
    # a folder that contains watched ones replaces them
    parent = folders.plan_add((str(a / "inner"), str(b)), str(a))
    assert parent.folders == (str(b), str(a)) and parent.removed == (str(a / "inner"),)


def test_remove_rules(tmp_path: Path) -> None:
    current = (str(tmp_path / "a"), str(tmp_path / "b"))
    assert folders.plan_remove(current, str(tmp_path / "a")).folders == (str(tmp_path / "b"),)
    with pytest.raises(RequestError, match="is not a watched folder") as unknown:
        folders.plan_remove(current, str(tmp_path / "c"))
    assert unknown.value.status == 404
    with pytest.raises(RequestError, match="only watched folder") as last:
        folders.plan_remove((str(tmp_path / "a"),), str(tmp_path / "a"))
    assert last.value.code == "last_folder"


def test_save_keeps_comments_and_entries_as_written(tmp_path: Path) -> None:
    old, new = tmp_path / "scans", tmp_path / "new"
    cfg = tmp_path / "config.toml"
    cfg.write_text(USER_FILE.replace("{old}", str(old)))
    os.chmod(cfg, 0o640)
    pictures = folders.normalise("~/Pictures")

    folders.save(cfg, folders.Change((pictures, str(old), str(new)), added=(str(new),)))
    text = cfg.read_text()
    assert "# my photosift settings" in text and "# small: an old laptop" in text
    assert '"~/Pictures",        # the phone\'s camera uploads land here' in text  # untouched, as written
    assert f'"{old}",  # old scans' in text and f'"{new}"' in text
    assert config.load(cfg).folders == (Path(pictures), old, new)
    assert oct(cfg.stat().st_mode & 0o777) == "0o640"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left

    folders.save(cfg, folders.Change((str(old), str(new)), removed=(pictures,)))
    text = cfg.read_text()
    assert "~/Pictures" not in text and "# old scans" in text and "# small: an old laptop" in text
    assert config.load(cfg).folders == (old, new)


def test_save_creates_a_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "config.toml"
    loaded = folders.save(cfg, folders.Change((str(tmp_path),), added=(str(tmp_path),)))
    assert loaded.folders == (tmp_path,) and config.load(cfg).folders == (tmp_path,)
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"


def test_save_refuses_to_write_a_config_that_would_not_load(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    broken = 'batch_sise = 4\nfolders = ["/x"]\n'
    cfg.write_text(broken)
    with pytest.raises(ConfigError, match="did you mean"):
        folders.save(cfg, folders.Change(("/x", "/y"), added=("/y",)))
    assert cfg.read_text() == broken  # nothing lost
    cfg.write_text("folders = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        folders.save(cfg, folders.Change(("/y",), added=("/y",)))
    assert cfg.read_text() == "folders = ["


def test_set_rules(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "inner").mkdir(parents=True)
    b.mkdir()
    narrowed = folders.plan_set((str(a),), [str(a / "inner")])
    assert narrowed == folders.Change((str(a / "inner"),), added=(str(a / "inner"),), removed=(str(a),))
    swapped = folders.plan_set((str(a), str(b)), [str(b), str(a / "inner"), str(a / "inner") + "/"])
    assert swapped.folders == (str(b), str(a / "inner")) and swapped.removed == (str(a),)
    nested = folders.plan_set((str(b),), [str(a / "inner"), str(a)])  # one inside another: watched through it
    assert nested.folders == (str(a),) and nested.removed == (str(b),)
    with pytest.raises(RequestError, match="does not exist"):
        folders.plan_set((str(a),), [str(tmp_path / "nope")])
    with pytest.raises(RequestError, match="at least one folder"):
        folders.plan_set((str(a),), [])
