#!/usr/bin/env bash
# Install photosift for this user (Linux, macOS) and start it:
#   a virtualenv in ~/.local/share/photosift/venv with photosift from this checkout,
#   a starter config naming the folders to index (asked for, or --folder),
#   the daemon as a user service (systemd --user / launchd; else started in the background),
#   the tray app's autostart entry and a "photosift search" launcher,
#   "Find similar images" in the file managers that are installed,
#   the `photosift` command in ~/.local/bin, with shell completion and a man page.
# Without an NVIDIA GPU (Linux) it installs PyTorch's CPU-only build, a fraction of the CUDA one's size.
# Run it again to update; install/uninstall.sh reverses it.
#
#   ./install/install.sh [--folder DIR]... [--no-shell-ext] [--no-start] [--torch auto|cpu|cuda]
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
VENV="${PHOTOSIFT_VENV:-$DATA_HOME/photosift/venv}"

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
die() { echo "install.sh: $*" >&2; exit 2; }

folders=()
shell_ext=1
start=1
torch=auto
while [[ $# -gt 0 ]]; do
    case "$1" in
        --folder) [[ $# -ge 2 ]] || die "--folder needs a folder"
                  [[ -d "$2" ]] || die "$2 is not a folder"
                  folders+=("$(cd "$2" && pwd)"); shift 2 ;;
        --no-shell-ext) shell_ext=0; shift ;;
        --no-start) start=0; shift ;;
        --torch) [[ $# -ge 2 ]] || die "--torch needs auto, cpu or cuda"
                 torch="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

. "$SRC/install/venv.sh"
build="$(torch_build "$torch")" || die "--torch: $torch is not auto, cpu or cuda"
case "$build" in
    cpu) echo "PyTorch: the CPU-only build, from $PHOTOSIFT_TORCH_CPU_INDEX" \
              "($([[ $torch == auto ]] && echo "no NVIDIA GPU here; " || true)--torch cuda installs the CUDA build)" ;;
    cuda) echo "PyTorch: the CUDA build, from PyPI$([[ $torch == auto ]] && echo " (an NVIDIA GPU is here)" || true)" ;;
esac
echo "Installing photosift into $VENV (a minute or two the first time)..."
if [[ $build == cpu && $torch == auto ]]; then
    # a network that lets PyPI through may not let PyTorch's index through: PyPI's build works too
    if ! make_venv cpu 2>/dev/null; then
        echo "note: PyTorch's CPU-only build could not be installed from $PHOTOSIFT_TORCH_CPU_INDEX (unreachable" \
             "from here?); installing PyPI's build instead, which works the same with GBs of unused CUDA" \
             "libraries (PHOTOSIFT_TORCH_CPU_INDEX can name a mirror)" >&2
        make_venv pypi
    fi
else
    make_venv "$build"
fi
"$VENV/bin/python" -m pip install --quiet "$SRC"
if [[ "$(uname)" == Linux ]]; then
    ensure_tray_menu
fi
photosift="$VENV/bin/photosift"

config="$("$VENV/bin/python" -c 'from photosift.daemon import paths; print(paths.config_file())')"
if [[ ! -e "$config" ]]; then
    if [[ ${#folders[@]} -eq 0 && -t 0 ]]; then
        pictures="$("$VENV/bin/python" -c 'from photosift.daemon import paths; print(paths.default_pictures_dir())')"
        read -r -p "Folders to index, separated by spaces [$pictures]: " -a answer || true
        for folder in "${answer[@]}"; do
            folder="${folder/#\~/$HOME}"
            [[ -d "$folder" ]] || die "$folder is not a folder"
            folders+=("$(cd "$folder" && pwd)")
        done
    fi
    "$VENV/bin/python" - "$config" "${folders[@]}" <<'PY'
import json, sys
from pathlib import Path
from photosift.daemon import atomic
config, folders = Path(sys.argv[1]), sys.argv[2:]
lines = ["# photosift's configuration: every key is optional; docs/configuration.md lists them all.", ""]
if folders:
    lines.append("folders = [" + ", ".join(json.dumps(f) for f in folders) + "]")
else:
    lines.append("# folders = [\"~/Pictures\"]   # the default: your Pictures folder")
atomic.write_text(config, "\n".join(lines) + "\n")
print(f"wrote {config}")
PY
else
    echo "keeping your config: $config"
    for folder in "${folders[@]}"; do
        "$photosift" folders add "$folder" || true
    done
fi

if [[ $start -eq 1 ]]; then
    since="$(date +%s)"
    "$photosift" service install
else
    "$photosift" service install --no-start
fi
if [[ $shell_ext -eq 1 ]]; then
    "$photosift" shell-ext install || echo "note: no file manager found for \"Find similar images\"" >&2
fi
echo
if [[ $start -eq 1 ]]; then
    # the first start loads (or downloads, 350 MB) the model: wait for the daemon's first answer, or for why not
    echo "waiting for the daemon to answer (the first start can take a few minutes)..."
    if ! "$photosift" status --wait "${PHOTOSIFT_START_WAIT:-900}" --since "$since"; then
        echo
        echo "photosift is installed, but its daemon is not running: the reason is above." >&2
        echo "Fix it, then start it again: photosift service install (or photosift daemon)." >&2
        exit 1
    fi
    echo
fi
echo "photosift is installed. Try: photosift status   (man photosift lists every command)"
