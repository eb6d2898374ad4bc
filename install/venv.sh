# Shared by quickstart.sh, test.sh and install.sh: create a virtualenv and install photosift into it.
# VENV is the virtualenv's folder (default .venv in the checkout); PHOTOSIFT_TORCH overrides the torch
# pin (e.g. a ROCm-specific build); PHOTOSIFT_TORCH_CPU_INDEX is where PyTorch's CPU-only build comes from.

PYTHON="${PYTHON:-python3}"
PHOTOSIFT_TORCH="${PHOTOSIFT_TORCH:-torch==2.14.1 torchvision==0.29.1}"
PHOTOSIFT_TORCH_CPU_INDEX="${PHOTOSIFT_TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}"
VENV="${VENV:-.venv}"

# Whether this machine has an NVIDIA GPU (its driver answers, or is loaded).
nvidia_gpu_present() {
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
        return 0
    fi
    [[ -e /proc/driver/nvidia/version ]]
}

# torch_build auto|cpu|cuda: which PyTorch build to install. PyPI's Linux torch is the CUDA build (GBs of
# CUDA libraries); without an NVIDIA GPU they are dead weight, so auto picks the CPU-only build there.
# Elsewhere (macOS, Windows) PyPI's build is the right one and auto says "pypi".
torch_build() {
    case "$1" in
        cpu|cuda) echo "$1" ;;
        auto) if [[ "$(uname)" != Linux ]]; then echo pypi
              elif nvidia_gpu_present; then echo cuda
              else echo cpu; fi ;;
        *) echo "unknown PyTorch build \"$1\" (auto, cpu or cuda)" >&2; return 2 ;;
    esac
}

# torch_pip_args BUILD: pip install's arguments for that build (one per line).
torch_pip_args() {
    # shellcheck disable=SC2086  # the pin is a list of requirements
    printf '%s\n' $PHOTOSIFT_TORCH
    if [[ "$1" == cpu ]]; then
        printf '%s\n' --index-url "$PHOTOSIFT_TORCH_CPU_INDEX"
    fi
}

# The virtualenv with pip and torch (BUILD, default PyPI's), before photosift itself.
make_venv() {
    local build="${1:-pypi}" args
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    mapfile -t args < <(torch_pip_args "$build")
    "$VENV/bin/python" -m pip install --quiet "${args[@]}"
}

# The checkout installed editable, with extras (e.g. "[test]"), for development and the tests.
ensure_venv() {
    local extras="${1:-}"
    make_venv
    "$VENV/bin/python" -m pip install --quiet -e ".${extras}"
}

# PyGObject, for the tray's menu on Linux (pystray's gtk and appindicator backends). Built from
# source against the system's gobject-introspection: 3.51+ needs girepository-2.0 (glib 2.80),
# older systems take the 3.50 series. Best effort: without it the tray falls back to a menu-less icon.
ensure_tray_menu() {
    local spec
    if pkg-config --exists girepository-2.0 2>/dev/null; then
        spec="PyGObject>=3.51"
    elif pkg-config --exists gobject-introspection-1.0 2>/dev/null; then
        spec="PyGObject>=3.42,<3.51"
    else
        echo "note: no gobject-introspection development files; the tray icon will have no menu" >&2
        return 0
    fi
    "$VENV/bin/python" -c "import gi" 2>/dev/null && return 0
    "$VENV/bin/python" -m pip install --quiet "$spec" \
        || echo "note: PyGObject did not build; the tray icon will have no menu" >&2
}
