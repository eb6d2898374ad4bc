"""How the CLI prints answers: plain text for people, `--json` for scripts."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from .. import folders
from ..answers import Explanation, FolderChange, Hit, Label, Status
from ..dates import seconds
from ..progress import duration


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_hits(hits: list[Hit], as_json: bool, everything: bool = False, paths_only: bool = False) -> None:
    """Ranked results as a numbered list (or JSON, every hit with its `relevant`): the relevant ones,
    or with `everything` all of them with a marked line where relevance ends. `paths_only`: the same
    results as bare paths, one per line, for `xargs` and friends (nothing else, not even "no results")."""
    if as_json:
        print_json(hits)
        return
    if paths_only:
        for hit in hits if everything else [h for h in hits if h["relevant"]]:
            print(hit["path"])
        return
    relevant = [h for h in hits if h["relevant"]]
    if not hits:
        print("no results")
    elif not relevant and not everything:
        print(f"no likely matches (--all shows the {len(hits)} closest anyway)")
    for rank, hit in enumerate(hits if everything else relevant, 1):
        if everything and rank == len(relevant) + 1:
            print(f"     ---- less likely matches ({len(hits) - len(relevant)}) ----")
        print(f"{rank:3d}. {hit['score']:6.3f}  {hit['path']}")
    if relevant and not everything and len(relevant) < len(hits):
        print(f"({len(hits) - len(relevant)} less likely matches not shown; --all shows them)")


def print_labels(labels: list[Label], as_json: bool) -> None:
    """Classification probabilities as a table with bars, most likely first (or JSON, in the order asked)."""
    if as_json:
        print_json(labels)
        return
    labels = sorted(labels, key=lambda lab: -lab["probability"])
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
    encoder = status.get("encoder")  # a daemon started before an upgrade does not say
    print(f"model:   {status['model']} on {status['device']}"
          + (f", {encoder['precision']} ({encoder['backend']}): {encoder['why']}" if encoder else ""))
    print(f"indexed: {status['indexed']}")
    done, total = status["progress"]["done"], status["progress"]["total"]
    print(f"queued:  {status['queued']}" + (f"  ({done} of {total} done)" if total else ""))
    print(f"failed:  {status['failed']}" + ("  (`photosift errors` lists them)" if status["failed"] else ""))
    store = status["store"]
    if store["message"]:
        print(f"index:   PROBLEM: {store['message']}")
    if store["rebuilt"]:
        rebuilt = store["rebuilt"]
        print(f"index:   rebuilt {duration(time.time() - seconds(rebuilt['at']))} ago from photosift's copy "
              f"({rebuilt['restored']:,} records, no image encoded): {rebuilt['reason']}"
              + (f"; the old one is at {rebuilt['moved_to']}" if rebuilt["moved_to"] else ""))
    for root in status["roots"]:
        state = root["state"]
        marks = "" if state == "online" else f"  OFFLINE ({state})"
        marks += "  scanning" if root["scanning"] else ""
        if state == "online" and root["watched"] == "no":
            marks += "  (not watched: looked at every 30 s; see docs/troubleshooting.md, \"watch limits\")"
        elif state == "online" and root["watched"] == "partial":
            marks += (f"  ({root['unwatched']:,} folders not watched, past the inotify watch limit: looked at "
                      "every 30 s; raise fs.inotify.max_user_watches, see docs/troubleshooting.md)")
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
        within = any(folder.startswith(added.rstrip("/") + "/") for added in change["added"])
        print(f"no longer watching {folder}" + (" on its own (the new folder contains it)" if within else ""))
    print(f"({note})")


def print_explain(answer: Explanation) -> None:
    rule = answer["rule"]
    print(f"{answer['path']}")
    if rule["calibrated"]:
        basis = (f"calibrated on the library ({rule['library']} images): confidence 50 % at "
                 f"{rule['stands_out']:g} background spreads above what its photos typically score")
    else:
        basis = (f"not calibrated yet (the library has {rule['library']} images): confidence is CLIP's "
                 "probability of the tag against the neutral prompt")
    print(f"  rule: each of {rule['vocabulary']} tags on its own evidence, {basis}; a tag needs its threshold "
          f"(default {rule['min_confidence']:.0%}) and to beat the neutral prompt \"a photo.\" "
          f"(cosine {rule['neutral']:.3f}); at most {rule['max_tags']} tags")
    print(f"  {'tag':<24} {'cosine':>7} {'z':>6} {'confidence':>10} {'needs':>6}  verdict")
    for score in answer["scores"]:
        z = "" if score["z"] is None else f"{score['z']:6.1f}"
        facet = f" [facet {score['facet']}]" if score["facet"] else ""
        verdict = "◀ tagged" if score["chosen"] else score["why"]
        print(f"  {score['tag']:<24} {score['cosine']:7.3f} {z:>6} {score['confidence']:10.1%} "
              f"{score['threshold']:6.0%}  {verdict}{facet}")
