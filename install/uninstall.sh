#!/usr/bin/env bash
# Remove what install/install.sh added: the file-manager actions, the user service (stopping the
# daemon), the tray's autostart and launcher, and the virtualenv. The index and the config stay,
# so a reinstall finds your library as it was, unless --purge (then they go too).
#
#   ./install/uninstall.sh [--purge]
set -euo pipefail
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
VENV="${PHOTOSIFT_VENV:-$DATA_HOME/photosift/venv}"
purge=0
case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    -h|--help) sed -n '2,6s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

if [[ ! -x "$VENV/bin/photosift" ]]; then
    echo "uninstall.sh: no photosift installation in $VENV" >&2
    exit 1
fi
photosift="$VENV/bin/photosift"
"$photosift" shell-ext uninstall
"$photosift" service uninstall
if [[ $purge -eq 1 ]]; then
    mapfile -t places < <("$VENV/bin/python" -c '
from photosift.daemon import paths
print(paths.data_dir()); print(paths.cache_dir()); print(paths.config_file())')
fi
rm -rf "$VENV"
echo "removed $VENV"
if [[ $purge -eq 1 ]]; then
    for place in "${places[@]}"; do
        rm -rf "$place" && echo "removed $place"
    done
else
    echo "kept the index and your config (./install/uninstall.sh --purge removes them too)"
fi
