# Shared by quickstart.sh and test.sh: create .venv and install photosift into it.
# PHOTOSIFT_TORCH overrides the torch pin (e.g. a CUDA- or ROCm-specific build).

PYTHON="${PYTHON:-python3}"
PHOTOSIFT_TORCH="${PHOTOSIFT_TORCH:-torch==2.14.1 torchvision==0.29.1}"

ensure_venv() {
    local extras="${1:-}"
    if [[ ! -x .venv/bin/python ]]; then
        "$PYTHON" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086  # the pin is a list of requirements
    .venv/bin/python -m pip install --quiet $PHOTOSIFT_TORCH
    .venv/bin/python -m pip install --quiet -e ".${extras}"
}
