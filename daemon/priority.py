"""Queries before indexing: background image encoding steps aside, layer by layer, while a query runs.

A query (a few tens of milliseconds of work) that arrives while the indexer is
encoding a batch (seconds on a CPU) would otherwise share the cores with it,
and OpenMP threads that are preempted lose far more than their share. Instead,
the encoder's background work checks in before each transformer block (each
ResNet bottleneck) and waits there while any query is running, so a query
waits at most for one block of one chunk of a batch, then has the machine to
itself. Inference keeps no state between layers, so pausing there is safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Priority:
    """Counts running queries; background threads wait at checkpoints while there are any."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queries = 0
        self._local = threading.local()
        self.parked = 0  # background threads waiting at a checkpoint right now

    @contextmanager
    def query(self) -> Iterator[None]:
        """Run interactive work: background work pauses at its next checkpoint until this ends."""
        with self._cond:
            self._queries += 1
        try:
            yield
        finally:
            with self._cond:
                self._queries -= 1
                if self._queries == 0:
                    self._cond.notify_all()

    @property
    def running(self) -> int:
        """How many queries run now."""
        return self._queries

    @contextmanager
    def background(self) -> Iterator[None]:
        """Mark this thread's work as background: its checkpoints yield to queries."""
        self._local.background = True
        try:
            yield
        finally:
            self._local.background = False

    def checkpoint(self, *_hook_args: Any) -> None:
        """Wait here while queries run, if this thread does background work (a forward pre-hook)."""
        if not getattr(self._local, "background", False):
            return
        with self._cond:
            if self._queries:
                self.parked += 1
                self._cond.wait_for(lambda: self._queries == 0)
                self.parked -= 1
