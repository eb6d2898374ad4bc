"""Is a Chroma collection sound? A count, a sample of stored embeddings that must find themselves, a query.

Damaged HNSW files show in different ways: a garbage header or a missing
`link_lists.bin` fails the first read, a truncated `data_level0.bin` fails only
for records stored past the cut ("Error getting embedding"), and garbage in
`chroma.sqlite3` fails any query. So the probe reads embeddings spread over the
whole collection (first, quarters, last) and searches with each: a sound index
finds each one at distance zero.

A damaged index may also crash or hang the process that opens it, so at start-up
the daemon runs this module in a child process with a time limit (`ChildProbe`,
started before the model loads, so that the two overlap) before opening the
store itself; `photosift store check` runs `examine` in the daemon on the
collection it has open.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

PROBE_SECONDS = 180.0  # loading a 100,000-image HNSW index takes seconds; a hang is what this catches
_SELF_DISTANCE = 1e-3  # a stored embedding's cosine distance to itself, with float32 rounding


def examine(collection: Any) -> tuple[int, str | None]:
    """(records, None) for a sound collection, else (records or -1, what failed). Reads; never writes."""
    try:
        count = int(collection.count())
    except Exception as exc:  # noqa: BLE001 - any error of a damaged store is the answer
        return -1, f"counting its records failed: {exc}"
    if count == 0:
        return 0, None
    for offset in sorted({0, count // 4, count // 2, 3 * count // 4, count - 1}):
        try:
            got = collection.get(limit=1, offset=offset, include=["embeddings"])
            vector = np.asarray(got["embeddings"][0], dtype=np.float32)
            found = collection.query(query_embeddings=[vector], n_results=min(10, count), include=["distances"])
        except Exception as exc:  # noqa: BLE001 - as above
            return count, f"reading record {offset + 1} of {count} failed: {exc}"
        distances = (found["distances"] or [[]])[0]
        if not distances or distances[0] > _SELF_DISTANCE:
            return count, f"record {offset + 1} of {count} does not find itself in the index"
    return count, None


class ChildProbe:
    """`examine` run on the embedded store at `chroma_dir` in a child process, started at once: the daemon
    loads its model meanwhile. A child that crashes or hangs counts as damage."""

    def __init__(self, chroma_dir: Path, collection: str) -> None:
        self._child: subprocess.Popen[str] | None = None
        if (chroma_dir / "chroma.sqlite3").exists():  # nothing to examine in a store not made yet
            self._child = subprocess.Popen(
                [sys.executable, "-m", "photosift.daemon.index.probe", str(chroma_dir), collection],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )

    def problem(self, timeout: float = PROBE_SECONDS) -> str | None:
        """None if the store is sound (or holds no such collection), else what is wrong with it."""
        if self._child is None:
            return None
        try:
            out, err = self._child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.communicate()
            return f"checking it took longer than {timeout:g} s"
        lines = out.strip().splitlines()
        if self._child.returncode != 0 or not lines:
            tail = err.strip().splitlines()[-1:] or [f"exit status {self._child.returncode}"]
            return f"checking it crashed the checking process ({tail[0]})"
        return json.loads(lines[-1])["problem"]

    def cancel(self) -> None:
        """Stop the child if it still runs (the daemon failed to start)."""
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.communicate()


def probe_in_child(chroma_dir: Path, collection: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Examine the embedded store at `chroma_dir` in a child process and wait for the answer."""
    return ChildProbe(chroma_dir, collection).problem(timeout)


def _main(chroma_dir: str, name: str) -> int:
    import chromadb
    from chromadb.config import Settings

    try:
        client = chromadb.PersistentClient(path=chroma_dir, settings=Settings(anonymized_telemetry=False))
        names = {getattr(c, "name", c) for c in client.list_collections()}
        if name not in names:
            print(json.dumps({"records": 0, "problem": None}))
            return 0
        count, problem = examine(client.get_collection(name, embedding_function=None))
    except Exception as exc:  # noqa: BLE001 - opening a damaged store fails in many ways; each is the answer
        count, problem = -1, f"opening it failed: {exc}"
    print(json.dumps({"records": count, "problem": problem}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
