#!/usr/bin/env bash
# Install what the tests need and run the whole suite (this is what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
. install/venv.sh
. install/system-packages.sh
ensure_system_packages
ensure_venv "[test]"
ensure_tray_menu
.venv/bin/ruff check .
./install/typecheck.sh
.venv/bin/python -m pytest "$@"
