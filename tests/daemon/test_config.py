"""Configuration: defaults, validation of every key at once, did-you-mean, exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import photosift_cmd

from photosift.daemon import config, paths
from photosift.daemon.config import DEFAULT_EXCLUDE, load
from photosift.daemon.errors import ConfigError


def test_defaults_when_the_file_does_not_exist(env: dict[str, Path]) -> None:
    config = load()
    assert config.model == "ViT-B/32"
    assert config.device == "auto"
    assert config.store == ""
    assert config.folders == (paths.default_pictures_dir(),)
    for pattern in (".*", "._*", "@eaDir", ".thumbnails"):
        assert pattern in DEFAULT_EXCLUDE
    assert "does not exist" in config.source


def test_environment_overrides_locations(env: dict[str, Path]) -> None:
    assert paths.config_file() == env["config"]
    assert paths.data_dir() == env["data"]
    assert paths.cache_dir() == env["cache"]


def test_values_are_read_and_normalised(env: dict[str, Path]) -> None:
    env["config"].write_text(
        'folders = ["~/Photos", "/srv/pics"]\nextensions = [".JPG", "png"]\nbatch_size = 8\n'
        'log_level = "DEBUG"\nstore = "http://localhost:8000"\nrescan_interval = 0\n'
    )
    config = load()
    assert config.folders == (Path("~/Photos").expanduser(), Path("/srv/pics"))
    assert config.extensions == ("jpg", "png")
    assert config.batch_size == 8
    assert config.log_level == "debug"
    assert config.store == "http://localhost:8000"
    assert config.rescan_interval == 0.0


def test_every_problem_is_reported_at_once(env: dict[str, Path]) -> None:
    env["config"].write_text(
        'exlude = ["*.tmp"]\nbatch_size = "big"\ndevice = "gpu"\nfolders = []\nstore = "chroma.local"\nfoo = 1\n'
    )
    with pytest.raises(ConfigError) as info:
        load()
    problems = info.value.problems
    assert len(problems) == 6
    text = str(info.value)
    assert 'unknown key "exlude" (did you mean "exclude"?)' in text
    assert "batch_size: must be an integer from 1 to 1024" in text
    assert "device: must be" in text and "'gpu'" in text
    assert "folders: must be a non-empty list" in text
    assert "store: must be empty" in text
    assert 'unknown key "foo" (known keys:' in text
    assert str(env["config"]) in text


def test_invalid_toml_names_the_file_and_line(env: dict[str, Path]) -> None:
    env["config"].write_text('model = "ViT-B/32"\nbatch_size = = 3\n')
    with pytest.raises(ConfigError) as info:
        load()
    assert "not valid TOML" in str(info.value) and "line 2" in str(info.value)


def test_bool_is_not_an_integer(env: dict[str, Path]) -> None:
    env["config"].write_text("batch_size = true\n")
    with pytest.raises(ConfigError):
        load()


def test_cli_exits_2_listing_all_problems(env: dict[str, Path]) -> None:
    env["config"].write_text('modle = "x"\nbatch_size = 0\n')
    proc = subprocess.run(photosift_cmd("status"), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert 'did you mean "model"' in proc.stderr
    assert "batch_size: must be" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_key_below_a_table_header_is_named_with_its_table(env: dict[str, Path]) -> None:
    """`batch_size = "big"` appended after [tagging.custom] belongs to that table in TOML: the one message
    names the table and the key and says where it belongs (it was a table-wide message plus a false one)."""
    env["config"].write_text('[tagging]\nvocabulary = "none"\n[tagging.custom]\ndog = ["a dog"]\n'
                             'batch_size = "big"\n')
    with pytest.raises(ConfigError) as info:
        load()
    assert info.value.problems == [
        "[tagging.custom] batch_size: must be a list of prompts ([] for the default templates), got 'big'; "
        '"batch_size" belongs at the top of the file, above the first [table] header (in TOML every key below '
        "[tagging.custom] is part of that table)"]
    assert str(info.value).startswith("1 problem in the configuration")
    env["config"].write_text('[tagging.thresholds]\ndog = 0.7\nmax_tags = 3\n')
    with pytest.raises(ConfigError) as info:
        load()
    assert info.value.problems[0].startswith("[tagging.thresholds] max_tags: must be a confidence between 0 and 1")
    assert '"max_tags" belongs in [tagging]' in info.value.problems[0]


def test_every_key_does_what_it_says() -> None:
    # a key that does nothing is refused, not kept (decode_timeout once was accepted and read nowhere)
    with pytest.raises(ConfigError, match='unknown key "decode_threads"'):
        config.from_mapping({"decode_threads": 4}, "test")
    assert config.from_mapping({"decode_timeout": 60}, "test").decode_timeout == 60.0
    documented = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    for key in (k for k in config.SCHEMA if k != "tagging"):
        assert f"`{key}`" in documented, f"{key} is not in docs/configuration.md"
    for key in config.TAGGING.keys:
        assert f"`{key}`" in documented, f"tagging.{key} is not in docs/configuration.md"
