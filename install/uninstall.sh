#!/usr/bin/env bash
# Remove what install/install.sh added: the file-manager actions, the user service (stopping the
# daemon), the tray's autostart and launcher, the `photosift` command in ~/.local/bin with its
# completion and man page, and the virtualenv. The index and the config stay, so a reinstall finds
# your library as it was, unless --purge: then the tags photosift wrote into XMP sidecars and xattrs
# are taken out again, and the index, the cache and the config go too. --purge also works after a
# plain uninstall (it removes what that left; if your config had photosift write tags into sidecars,
# it asks you to reinstall first, since only photosift can tell its tags from yours, or --keep-tags).
#
#   ./install/uninstall.sh [--purge [--keep-tags]]
set -euo pipefail
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
VENV="${PHOTOSIFT_VENV:-$DATA_HOME/photosift/venv}"
purge=0
keep_tags=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --purge) purge=1 ;;
        --keep-tags) keep_tags=1 ;;
        -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Where photosift keeps its files, as photosift.daemon.paths says (used when photosift itself is gone).
places_without_photosift() {
    if [[ "$(uname)" == Darwin ]]; then
        echo "${PHOTOSIFT_DATA_DIR:-$HOME/Library/Application Support/photosift}"
        echo "${PHOTOSIFT_CACHE_DIR:-$HOME/Library/Caches/photosift}"
        echo "${PHOTOSIFT_CONFIG:-$HOME/Library/Application Support/photosift/config.toml}"
    else
        echo "${PHOTOSIFT_DATA_DIR:-$DATA_HOME/photosift}"
        echo "${PHOTOSIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/photosift}"
        echo "${PHOTOSIFT_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/photosift/config.toml}"
    fi
    echo "${PHOTOSIFT_RUNTIME_DIR:-${XDG_RUNTIME_DIR:-/nonexistent}/photosift}"
}

photosift="$VENV/bin/photosift"
if [[ -x "$photosift" ]]; then
    "$photosift" shell-ext uninstall
    "$photosift" service uninstall
    if [[ $purge -eq 1 && $keep_tags -eq 0 ]]; then
        # the daemon is stopped: unwrite reads photosift's own copy of the index, every sidecar form
        said="$("$photosift" tags unwrite)"
        echo "the tags photosift wrote into XMP sidecars and xattrs: ${said##*$'\n'}"
    fi
    if [[ $purge -eq 1 ]]; then
        mapfile -t places < <("$VENV/bin/python" -c '
from photosift.daemon import paths
print(paths.data_dir()); print(paths.cache_dir()); print(paths.config_file()); print(paths.runtime_dir())')
    fi
    rm -rf "$VENV"
    echo "removed $VENV"
elif [[ $purge -eq 1 ]]; then
    echo "photosift's program is already uninstalled ($VENV is gone): removing what it left"
    mapfile -t places < <(places_without_photosift)
    if [[ $keep_tags -eq 0 ]] && grep -Eqs '^[[:space:]]*write_(xmp|xattr)[[:space:]]*=[[:space:]]*true' "${places[2]}"
    then
        echo "uninstall.sh: your config has photosift write tags into XMP sidecars or xattrs, and only photosift" \
             "can tell its tags from yours: install it again (./install/install.sh --no-start), then run" \
             "./install/uninstall.sh --purge; or --purge --keep-tags removes everything else and leaves them." >&2
        exit 1
    fi
else
    echo "uninstall.sh: no photosift installation in $VENV (--purge removes what an uninstall left)" >&2
    exit 1
fi

if [[ $purge -eq 1 ]]; then
    for place in "${places[@]}"; do
        if [[ -e "$place" ]]; then
            rm -rf "$place" && echo "removed $place"
        fi
    done
    config_dir="$(dirname "${places[2]}")"
    rmdir "$config_dir" 2>/dev/null && echo "removed the empty folder $config_dir" || true
else
    echo "kept the index and your config (./install/uninstall.sh --purge removes them too)"
fi
