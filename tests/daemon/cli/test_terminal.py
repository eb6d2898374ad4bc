"""The CLI in a real terminal: tmux runs bash with photosift's generated completion script and
`status --watch` on a tty, and the test reads the screen as a user would see it."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import photosift_cmd, wait_for, write_config

from photosift.daemon.client import answering_pid

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (install/test.sh adds it)")


class Terminal:
    """One tmux session on a server of its own, running bash without the user's startup files."""

    def __init__(self, env: dict[str, str]) -> None:
        self.server = f"photosift-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.tmux("new-session", "-d", "-x", "160", "-y", "40", "bash --norc --noprofile")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null", *args], env=self.env,
                              capture_output=True, text=True, timeout=30, check=True)
        return done.stdout

    def type(self, text: str, enter: bool = False) -> None:
        self.tmux("send-keys", "-l", text)
        if enter:
            self.tmux("send-keys", "Enter")

    def key(self, name: str) -> None:
        self.tmux("send-keys", name)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def shows(self, text: str, timeout: float = 60) -> str:
        """Wait until the screen shows `text`; the screen then."""
        def showing() -> str:
            screen = self.screen()
            return screen if text in screen else ""

        try:
            return str(wait_for(showing, timeout))
        except AssertionError:
            raise AssertionError(f"the terminal never showed {text!r}; it shows:\n{self.screen()}") from None

    def prompt_reads(self, line: str, timeout: float = 60) -> None:
        """Wait until the line being typed reads `line` (tmux drops trailing spaces from the screen)."""
        def reading() -> bool:
            lines = [x for x in self.screen().splitlines() if x.strip()]
            return bool(lines) and lines[-1] == line.rstrip()

        try:
            wait_for(reading, timeout)
        except AssertionError:
            raise AssertionError(f"the prompt never read {line!r}; the terminal shows:\n{self.screen()}") from None

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.tmux("kill-server")


@pytest.fixture
def terminal(env: dict[str, Path], tmp_path: Path) -> Iterator[Terminal]:
    home = tmp_path / "home"
    home.mkdir()
    environ = {**os.environ, "HOME": str(home), "TERM": "xterm-256color",
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    term = Terminal(environ)
    term.type("PS1='$ '", enter=True)
    yield term
    term.close()


def test_bash_completes_commands_options_and_subcommands(terminal: Terminal, tmp_path: Path) -> None:
    script = tmp_path / "photosift.bash"
    script.write_text(subprocess.run(photosift_cmd("completion", "bash"), capture_output=True, text=True,
                                     timeout=60, check=True).stdout)
    terminal.type(f"source {shlex.quote(str(script))}", enter=True)
    for typed, completed in (("photosift cla", "photosift classify "),
                             ("photosift tags unw", "photosift tags unwrite "),
                             ("photosift search --aft", "photosift search --after "),
                             ("photosift folders re", "photosift folders remove ")):
        terminal.type(typed)
        terminal.key("Tab")
        terminal.prompt_reads(f"$ {completed}")
        terminal.key("C-c")
    terminal.type("photosift st")  # several candidates: a second Tab lists them
    terminal.key("Tab")
    terminal.key("Tab")
    listed = terminal.shows("status")
    assert all(name in listed for name in ("start", "status", "stop", "store"))


def test_status_watch_says_when_the_daemon_goes_and_follows_it_back(
    terminal: Terminal, env: dict[str, Path], make_shape: Callable[..., Path]
) -> None:
    make_shape(env["photos"], "red", "circle")
    write_config(env["config"], folders=[str(env["photos"])], debounce_seconds=0.3)
    sock = env["run"] / "api.sock"
    pids: list[int] = []
    try:
        assert subprocess.run(photosift_cmd("start"), capture_output=True, timeout=300).returncode == 0
        pids.append(answering_pid(sock) or 0)
        terminal.type("photosift status --watch; echo exit=$?", enter=True)
        terminal.shows("1 indexed")
        assert subprocess.run(photosift_cmd("stop"), capture_output=True, timeout=300).returncode == 0
        down = terminal.shows("it stopped at")  # why, in full (after "it is stopping", if it saw that)
        assert "SIGTERM received" in down and "watching for it to come back" in down and not re.search(r"exit=\d", down)
        assert subprocess.run(photosift_cmd("start"), capture_output=True, timeout=300).returncode == 0
        pids.append(answering_pid(sock) or 0)
        wait_for(lambda: "1 indexed" in (s := terminal.screen()) and "come back" not in s, 60)
        terminal.key("C-c")
        terminal.shows("exit=0")
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
