# Shared by quickstart.sh, test.sh and install.sh: create a virtualenv and install photosift into it.
# VENV is the virtualenv's folder (default .venv in the checkout); PHOTOSIFT_TORCH overrides the torch
# pin (e.g. a CUDA- or ROCm-specific build).

PYTHON="${PYTHON:-python3}"
PHOTOSIFT_TORCH="${PHOTOSIFT_TORCH:-torch==2.14.1 torchvision==0.29.1}"
VENV="${VENV:-.venv}"

# The virtualenv with pip and torch, before photosift itself.
make_venv() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086  # the pin is a list of requirements
    "$VENV/bin/python" -m pip install --quiet $PHOTOSIFT_TORCH
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
