"""What machine a benchmark ran on: every benchmark prints this first, because CPUs differ (AVX2 only,
or AVX-512 with bf16 and AMX) and figures compare only within one run on one machine."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

# the instruction-set flags that change how fast CLIP and numpy run
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "neon", "asimd")


def describe() -> str:
    """One line: the CPU model, its cores and its relevant flags (from /proc/cpuinfo on Linux)."""
    model, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    present = [f for f in FLAGS if f in flags]
    return f"cpu: {model}; {os.cpu_count()} cores; flags: {' '.join(present) or 'none of ' + ', '.join(FLAGS)}"


def store_args(doc: str | None) -> argparse.Namespace:
    """The arguments of a bench over a large store: --size (records, default 100,000) and --workdir (made)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000, help="records in the store (default 100,000)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "photosift-bench")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    return args
