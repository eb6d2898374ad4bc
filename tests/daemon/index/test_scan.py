"""Walking the roots: excludes, case-insensitive extensions, symlinks, offline states."""

from __future__ import annotations

import os
from pathlib import Path

from photosift.daemon.config import DEFAULT_EXCLUDE, DEFAULT_EXTENSIONS
from photosift.daemon.index.scan import Rules, is_empty, root_state, walk


def rules_for(*roots: Path, exclude: tuple[str, ...] = DEFAULT_EXCLUDE) -> Rules:
    return Rules.build(roots, exclude, DEFAULT_EXTENSIONS)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_excludes_and_extensions(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    keep = [touch(root / "a.jpg"), touch(root / "B.JPEG"), touch(root / "sub" / "c.Png"), touch(root / "d.heic")]
    for skipped in ["notes.txt", ".hidden.jpg", ".cache/x.jpg", "._a.jpg", "@eaDir/a.jpg",
                    "sub/.thumbnails/t.png", "raw/IMG.CR2", "noext"]:
        touch(root / skipped)
    found = sorted(p for p, _ in walk(str(root), rules_for(root)))
    assert found == sorted(str(p) for p in keep)


def test_user_globs_with_a_slash_match_relative_paths(tmp_path: Path) -> None:
    root = tmp_path / "r"
    touch(root / "exports" / "web" / "a.jpg")
    touch(root / "exports" / "print" / "b.jpg")
    rules = rules_for(root, exclude=("exports/web",))
    assert [Path(p).name for p, _ in walk(str(root), rules)] == ["b.jpg"]


def test_stat_is_size_and_mtime_ns(tmp_path: Path) -> None:
    path = touch(tmp_path / "a.jpg")
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    [(_found, stat)] = list(walk(str(tmp_path), rules_for(tmp_path)))
    assert stat.size == 1 and stat.mtime_ns == 1_600_000_000_123_456_789


def test_symlink_loops_terminate_and_links_out_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    touch(root / "in.jpg")
    touch(outside / "secret.jpg")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "out-dir").symlink_to(outside, target_is_directory=True)
    (root / "out-file.jpg").symlink_to(outside / "secret.jpg")
    (root / "alias.jpg").symlink_to(root / "in.jpg")
    (root / "dangling.jpg").symlink_to(tmp_path / "nothing.jpg")
    found = sorted(Path(p).name for p, _ in walk(str(root), rules_for(root)))
    assert found == ["alias.jpg", "in.jpg"]


def test_root_of_picks_the_deepest_root(tmp_path: Path) -> None:
    outer, inner = tmp_path / "a", tmp_path / "a" / "b"
    rules = rules_for(outer, inner)
    assert rules.root_of(str(inner / "x.jpg")) == str(inner)
    assert rules.root_of(str(outer / "x.jpg")) == str(outer)
    assert rules.root_of(str(tmp_path / "ab" / "x.jpg")) is None


def test_root_states(tmp_path: Path) -> None:
    assert root_state(str(tmp_path / "missing")) == "missing"
    touch(tmp_path / "file")
    assert root_state(str(tmp_path / "file")) == "not a folder"
    empty = tmp_path / "mnt"
    empty.mkdir()
    assert root_state(str(empty)) == "online" and is_empty(str(empty))
