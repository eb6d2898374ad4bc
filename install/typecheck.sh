#!/usr/bin/env bash
# The type checker over the three packages (run by install/test.sh, so by CI too).
# photosift maps its import names onto the top-level folders (photosift.daemon -> daemon/, see
# pyproject's package-dir), which mypy cannot follow by itself: it reads them through a tree of
# links, build/typecheck/photosift/{daemon,tray,shell_ext}, that mirrors the installed layout.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck/photosift
mkdir -p "$tree"
for package in daemon tray shell_ext; do
    ln -sfn "../../../$package" "$tree/$package"
done
exec "${VENV:-.venv}/bin/mypy" -p photosift.daemon -p photosift.tray -p photosift.shell_ext "$@"
