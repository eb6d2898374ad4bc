"""The CLI's generated companions: the man page and the completion scripts come from the parser itself, and
`python -m photosift` is the command."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import photosift_cmd

from photosift.daemon.cli.main import build_parser


def commands(parser: argparse.ArgumentParser, prefix: str = "photosift") -> list[str]:
    """Every command line the parser knows, subcommands of subcommands included ("photosift folders add")."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found += commands(sub, f"{prefix} {name}")
    return found


def test_python_m_photosift_is_the_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "photosift", "--version"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("photosift "), done.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed (install/test.sh adds it)")
def test_the_man_page_renders_every_command(tmp_path: Path) -> None:
    page = tmp_path / "photosift.1"
    page.write_text(subprocess.run(photosift_cmd("manual"), capture_output=True, text=True, timeout=60,
                                   check=True).stdout)
    shown = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "MANWIDTH": "200", "MANPAGER": "cat", "PAGER": "cat"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "photosift - search and tag your photos by meaning (CLIP)" in text
    missing = [c for c in commands(build_parser()) if f"COMMAND '{c}'" not in text]
    assert not missing, missing
    assert "--after DATE" in text and "a year (2023), a month (2023-06)" in text  # options, with their help


def test_the_completion_scripts_are_generated_for_each_shell() -> None:
    bash = subprocess.run(photosift_cmd("completion", "bash"), capture_output=True, text=True, timeout=60)
    assert bash.returncode == 0 and "complete " in bash.stdout and "photosift" in bash.stdout
    assert subprocess.run(["bash", "-n"], input=bash.stdout, text=True, timeout=60).returncode == 0
    fish = subprocess.run(photosift_cmd("completion", "fish"), capture_output=True, text=True, timeout=60)
    assert fish.returncode == 0 and "complete --command photosift" in fish.stdout
    zsh = subprocess.run(photosift_cmd("completion", "zsh"), capture_output=True, text=True, timeout=60)
    assert zsh.returncode == 0 and "#compdef photosift" in zsh.stdout
    for shell, script in (("zsh", zsh.stdout), ("fish", fish.stdout)):  # their own syntax checks, where present
        if shutil.which(shell):
            assert subprocess.run([shell, "-n"], input=script, text=True, timeout=60).returncode == 0
    wrong = subprocess.run(photosift_cmd("completion", "tcsh"), capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "invalid choice: 'tcsh'" in wrong.stderr
