"""The package as pip builds it: every subpackage shipped, every third-party import declared.

An editable install in a developer's venv hides both mistakes (the source tree
is on the path, and packages installed by hand are importable), so these read
pyproject.toml itself.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_subpackage_is_listed() -> None:
    setuptools = PROJECT["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    for package, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([package, *rel.parts])
            assert name in listed, f"{name} ({init.parent}) is missing from [tool.setuptools] packages"


def test_every_third_party_import_of_the_package_is_a_dependency() -> None:
    optional = [dep for extra, deps in PROJECT["project"]["optional-dependencies"].items() if extra != "test"
                for dep in deps]  # imported only where installed (HEIF support)
    requirements = PROJECT["project"]["dependencies"] + optional
    declared = {_normalise(re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]) for dep in requirements}
    owners = packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    missing = {}
    for folder in PROJECT["tool"]["setuptools"]["package-dir"].values():
        for source in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                # gi: PyGObject, built against the system's GLib by install/venv.sh where it can be (the tray's
                # menu, opening files through GIO); every import of it is guarded, with a fallback
                for top in {n.split(".")[0] for n in names} - stdlib - {"photosift", "tomli", "gi"}:
                    dists = {_normalise(d) for d in owners.get(top, [top])}
                    if not dists & declared:
                        missing[top] = f"{source.relative_to(ROOT)} ({', '.join(sorted(dists))})"
    assert not missing, f"imported but not in [project] dependencies: {missing}"
