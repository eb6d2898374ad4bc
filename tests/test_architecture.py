"""The tree's rules, read from the code's own imports (every import, also those inside functions):

- `daemon/index/` never imports `daemon/tags/` (the writer talks to tagging through a Protocol);
- inside `daemon/`, only the CLI (`daemon/cli/`) imports the front ends `tray/` and `shell_ext/`;
- the front ends import only the daemon's public parts: its client and the answers' shapes, progress,
  answers in words, the daemon's last word, the foundations (config, paths, errors, dates, decode, atomic,
  lock) and the API's socket transport;
  never `index/`, `tags/`, `api/app` or the engine. Entry points (`__main__`) may call the CLI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = {"photosift.daemon": ROOT / "daemon", "photosift.tray": ROOT / "tray",
            "photosift.shell_ext": ROOT / "shell_ext"}
FRONT_ENDS = ("photosift.tray", "photosift.shell_ext")
PUBLIC = {f"photosift.daemon.{name}" for name in (
    "client", "answers", "progress", "last_word", "config", "paths", "errors", "dates", "decode", "atomic", "lock",
    "words", "api.transport",
)}


def sources() -> dict[str, tuple[str, bool]]:
    """module name -> (source text, is a package's __init__)."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join([package, *parts])] = (path.read_text(encoding="utf-8"), is_package)
    return found


def imports(modules: dict[str, tuple[str, bool]]) -> Iterator[tuple[str, str]]:
    """(importer, imported module) for every import between photosift's modules."""
    for name, (text, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                # `from package import module` imports the module; `from module import name`, the module
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("photosift."):
                    yield name, target


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(modules: dict[str, tuple[str, bool]]) -> list[str]:
    found = []
    for importer, imported in imports(modules):
        if _inside(importer, "photosift.daemon.index") and _inside(imported, "photosift.daemon.tags"):
            found.append(f"{importer} imports {imported}: index/ must not import tags/")
        if (_inside(importer, "photosift.daemon") and not _inside(importer, "photosift.daemon.cli")
                and any(_inside(imported, f) for f in FRONT_ENDS)):
            found.append(f"{importer} imports {imported}: only daemon/cli/ may import the front ends")
        front_end = any(_inside(importer, f) for f in FRONT_ENDS)
        if (front_end and not importer.endswith(".__main__") and _inside(imported, "photosift.daemon")
                and imported not in PUBLIC):
            found.append(f"{importer} imports {imported}: front ends import only {', '.join(sorted(PUBLIC))}")
    return found


def test_the_tree_keeps_its_rules() -> None:
    assert violations(sources()) == []


def test_the_check_sees_forbidden_imports() -> None:
    # the rules above are only worth something if a breach shows: add one of each kind and look
    modules = sources()
    modules["photosift.daemon.index.intruder"] = ("from ..tags import rule\n", False)
    modules["photosift.daemon.searcher_intruder"] = ("def f():\n    import photosift.tray.app\n", False)
    modules["photosift.tray.intruder"] = ("from photosift.daemon.index.store import Store\n"
                                          "from photosift.daemon import engine\n", False)
    found = violations(modules)
    assert any(v.startswith("photosift.daemon.index.intruder imports photosift.daemon.tags.rule") for v in found)
    assert any(v.startswith("photosift.daemon.searcher_intruder imports photosift.tray.app") for v in found)
    assert any(v.startswith("photosift.tray.intruder imports photosift.daemon.index.store") for v in found)
    assert any(v.startswith("photosift.tray.intruder imports photosift.daemon.engine") for v in found)
    assert len(found) == 4
