"""How the CLI prints answers: plain text for people, `--json` for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from .. import folders
from ..answers import Explanation, FolderChange, Hit, Label, Status
from ..progress import duration


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_hits(hits: list[Hit], as_json: bool) -> None:
    """Ranked results as a numbered list (or JSON)."""
    if as_json:
        print_json(hits)
        return
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:3d}. {hit['score']:6.3f}  {hit['path']}")


def print_labels(labels: list[Label], as_json: bool) -> None:
    """Classification probabilities as a table with bars (or JSON)."""
    if as_json:
        print_json(labels)
        return
    width = max(len(lab["label"]) for lab in labels)
    best = max(labels, key=lambda lab: lab["probability"])
    print(f"{'label':<{width}}  probability")
    print(f"{'-' * width}  {'-' * 31}")
    for lab in labels:
        bar = "█" * round(lab["probability"] * 20)
        mark = "  ◀" if lab is best else ""
        print(f"{lab['label']:<{width}}  {lab['probability']:7.2%} {bar}{mark}")


def print_status(status: Status) -> None:
    print(f"daemon:  running (pid {status['pid']}, up {duration(status['uptime'])})"
          + ("  PAUSED" if status["paused"] else ""))
    print(f"model:   {status['model']} on {status['device']}")
    print(f"indexed: {status['indexed']}")
    done, total = status["progress"]["done"], status["progress"]["total"]
    print(f"queued:  {status['queued']}" + (f"  ({done} of {total} done)" if total else ""))
    print(f"failed:  {status['failed']}" + ("  (`photosift errors` lists them)" if status["failed"] else ""))
    for root in status["roots"]:
        state = root["state"]
        marks = "" if state == "online" else f"  OFFLINE ({state})"
        marks += "  scanning" if root["scanning"] else ""
        marks += "" if root["watched"] or state != "online" else "  (not watched: rescanned periodically)"
        print(f"folder:  {root['path']} ({root['indexed']} indexed){marks}")


def print_change(change: FolderChange | folders.Change, as_json: bool, note: str) -> None:
    if isinstance(change, folders.Change):
        change = {"folders": list(change.folders), "added": list(change.added), "removed": list(change.removed)}
    if as_json:
        print_json(change)
        return
    for folder in change["added"]:
        print(f"watching {folder}")
    for folder in change["removed"]:
        print(f"no longer watching {folder}" + (" on its own (the new folder contains it)" if change["added"] else ""))
    print(f"({note})")


def print_explain(answer: Explanation) -> None:
    rule = answer["rule"]
    print(f"{answer['path']}")
    print(f"  rule: softmax over {rule['vocabulary']} tags of cosine × {rule['logit_scale']:g}; "
          f"tags with probability ≥ {rule['min_probability']:g}, at most {rule['max_tags']}")
    print(f"  {'tag':<28} {'cosine':>7} {'probability':>12}")
    for score in answer["scores"]:
        mark = "  ◀ tagged" if score["chosen"] else ""
        print(f"  {score['tag']:<28} {score['cosine']:7.3f} {score['probability']:12.2%}{mark}")
