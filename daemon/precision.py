"""The number formats the encoder can run in, what this machine runs natively, and the conversion.

CLIP's own mixed precision is kept whatever the format: convolutions, linear
layers, attention and the projections take the reduced type, while layer norms
(clip's `LayerNorm` computes in fp32 whatever comes in), embeddings and the
logit scale stay fp32. That is what `clip.model.convert_weights` does for fp16
on a GPU; here it serves bf16 on a CPU as well.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# the CPU features that make bf16 arithmetic native (not emulated through fp32 at a loss)
BF16_FEATURES = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}


@dataclass(frozen=True)
class Choice:
    """How the encoder runs, and why: what `status` reports."""

    device: str
    backend: str
    precision: str
    why: str


def native_bf16() -> str | None:
    """The name of the CPU feature that runs bf16 natively here, or None."""
    probes = {"amx_bf16": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}
    for feature, probe in probes.items():
        supported = getattr(torch.cpu, probe, None)  # private, but what torch's own kernels dispatch on
        if supported is not None and supported():
            return BF16_FEATURES[feature]
    return None


def cpu_name() -> str:
    """The CPU's model name (what a remembered measurement is valid for)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    return platform.processor() or platform.machine()


def device_name(device: str) -> str:
    """The hardware behind a torch device, by name."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return f"Apple MPS ({platform.machine()})"
    return cpu_name()


def convert(network: Any, precision: str) -> Any:
    """Put a CLIP network's weights in `precision` (in place; returns it), the layer norms kept fp32."""
    network.float()
    dtype = DTYPES[precision]
    if dtype is torch.float32:
        return network

    def narrow(layer: nn.Module) -> None:
        if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            layer.weight.data = layer.weight.data.to(dtype)
            if layer.bias is not None:
                layer.bias.data = layer.bias.data.to(dtype)
        if isinstance(layer, nn.MultiheadAttention):
            for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight",
                         "in_proj_bias", "bias_k", "bias_v"):
                tensor = getattr(layer, name)
                if tensor is not None:
                    tensor.data = tensor.data.to(dtype)
        for name in ("text_projection", "proj"):
            tensor = getattr(layer, name, None)
            if isinstance(tensor, torch.Tensor):
                tensor.data = tensor.data.to(dtype)

    network.apply(narrow)
    return network
