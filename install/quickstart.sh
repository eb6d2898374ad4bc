#!/usr/bin/env bash
# Set up photosift in a virtualenv beside this checkout and run the daemon on its defaults.
#   ./install/quickstart.sh            # set up (idempotent), then run `photosift daemon` in the foreground
#   ./install/quickstart.sh --setup-only
set -euo pipefail
cd "$(dirname "$0")/.."
. install/venv.sh
ensure_venv
if [[ "${1:-}" == "--setup-only" ]]; then
    echo "photosift is installed in $(pwd)/.venv (run: .venv/bin/photosift daemon)"
    exit 0
fi
exec .venv/bin/photosift daemon
