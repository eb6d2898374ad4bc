"""install.sh's choice of PyTorch build: PyPI's Linux torch is the CUDA build (GBs of CUDA libraries), so
without an NVIDIA GPU it installs the CPU-only build from PyTorch's own wheel index.

PyTorch's index cannot be reached from this machine, so the decision and the arguments it hands to pip are
tested (the functions of install/venv.sh that install.sh runs); the GPU is a stand-in `nvidia-smi` on PATH,
since this machine has none, and the CUDA path is today's (PyPI) as before.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def venv_sh(command: str, path_first: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOSIFT_TORCH")}
    environ.update(env)
    if path_first is not None:
        environ["PATH"] = f"{path_first}{os.pathsep}{environ['PATH']}"
    return subprocess.run(["bash", "-c", f". {ROOT / 'install/venv.sh'}; {command}"], env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def gpu(tmp_path: Path) -> Path:
    """A folder with an `nvidia-smi` that lists one GPU, as the driver's tool does."""
    tool = tmp_path / "bin" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-0)'\n")
    tool.chmod(0o755)
    return tool.parent


@pytest.mark.skipif(Path("/proc/driver/nvidia/version").exists(), reason="this machine has an NVIDIA driver")
def test_auto_picks_the_cpu_build_without_an_nvidia_gpu_and_cuda_with_one(gpu: Path) -> None:
    assert venv_sh("torch_build auto").stdout == "cpu\n"
    assert venv_sh("torch_build auto", path_first=gpu).stdout == "cuda\n"


def test_the_builds_arguments_for_pip(gpu: Path) -> None:
    cpu = venv_sh("torch_pip_args cpu").stdout.splitlines()
    assert cpu == ["torch==2.14.1", "torchvision==0.29.1", "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert venv_sh("torch_pip_args cuda").stdout.splitlines() == ["torch==2.14.1", "torchvision==0.29.1"]
    moved = venv_sh("torch_pip_args cpu", PHOTOSIFT_TORCH_CPU_INDEX="https://mirror.example/torch-cpu")
    assert moved.stdout.splitlines()[-1] == "https://mirror.example/torch-cpu"  # the index is a setting
    assert venv_sh("torch_build cpu", path_first=gpu).stdout == "cpu\n"  # asked for: taken as asked
    assert venv_sh("torch_build cuda").stdout == "cuda\n"
    wrong = venv_sh("torch_build gpu")
    assert wrong.returncode == 2 and 'unknown PyTorch build "gpu"' in wrong.stderr


def test_install_sh_refuses_an_unknown_build_before_installing_anything(tmp_path: Path) -> None:
    done = subprocess.run(["bash", str(ROOT / "install/install.sh"), "--torch", "rocm"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path),
                                                      "PHOTOSIFT_VENV": str(tmp_path / "venv")})
    assert done.returncode == 2 and "--torch: rocm is not auto, cpu or cuda" in done.stderr
    assert not (tmp_path / "venv").exists()
