"""The CLIP model: loading (by name, TorchScript archive or plain state_dict) and encoding.

Everything goes through `clip.model.build_model`, so an OpenAI release, a
fine-tuned checkpoint and the tiny test fixture are the same class with the
same code path. Embeddings come out L2-normalised as float32 numpy arrays.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import logging
import os
import threading
import urllib.error
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .calibrate import settle
from .errors import ModelUnavailable
from .precision import Choice
from .priority import Priority

with warnings.catch_warnings():
    # clip imports pkg_resources at import time; the warning says nothing useful to our users
    warnings.simplefilter("ignore", UserWarning)
    import clip
    from clip.model import Bottleneck, ResidualAttentionBlock, build_model

log = logging.getLogger(__name__)

# clip.model.CLIP, a torch Module whose towers and weights are read by name; clip ships no type
# information, and torch's Module.__getattr__ would type every attribute as `Tensor | Module`
Network = Any

# images per encoder call for background work on a CPU (see ClipModel.encode_images): bf16 runs about
# twice as fast as fp32 (calibrate.py keeps it only when it is faster), so twice the images keep a layer's
# pass as short; smaller chunks cost bf16 about 6 % of its throughput
BACKGROUND_CHUNK = {torch.float32: 8, torch.bfloat16: 16}


def resolve_device(preference: str) -> str:
    """Turn the configured device into a concrete torch device: auto means cuda > mps > cpu."""
    if preference != "auto":
        if preference.startswith("cuda") and not torch.cuda.is_available():
            raise ModelUnavailable(f'device = "{preference}" but CUDA is not available on this machine')
        if preference == "mps" and not torch.backends.mps.is_available():
            raise ModelUnavailable('device = "mps" but Apple MPS is not available on this machine')
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights are, and the id its embeddings are stored under."""

    path: Path
    model_id: str
    display_name: str


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _digest_of_version(path, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _digest_of_version(path: Path, size: int, mtime_ns: int) -> str:
    """SHA-256 of a checkpoint as it is now (the daemon asks twice at start: once to probe the store
    while the model loads, once to load it; 350 MB take a fraction of a second each)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _checkpoint(spec: str) -> Path:
    path = Path(spec).expanduser()
    if not path.is_file():
        names = ", ".join(clip.available_models())
        raise ModelUnavailable(
            f'model "{spec}" is neither a CLIP model name ({names}) nor an existing checkpoint file'
        )
    return path


def model_id_for(spec: str) -> str:
    """The id (and collection name) of a model's embeddings, without loading or downloading it."""
    if spec in clip.available_models():
        return "clip-" + spec.replace("/", "-").replace("@", "-")
    return f"ckpt-{_file_digest(_checkpoint(spec))[:16]}"


def locate(spec: str, cache_dir: Path) -> ModelSource:
    """Find (downloading once if needed) the weights named by `spec`.

    A name from `clip.available_models()` is fetched into `cache_dir/clip`
    with clip's progress bar and SHA-256 check; anything else must be a file.
    """
    if spec not in clip.available_models():
        path = _checkpoint(spec)
        return ModelSource(path, model_id_for(spec), path.name)
    url = clip.clip._MODELS[spec]
    target_dir = cache_dir / "clip"
    target = target_dir / os.path.basename(url)
    if not target.is_file():
        log.info("downloading CLIP %s into %s", spec, target_dir)
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            clip.clip._download(url, str(target_dir))
        except (urllib.error.URLError, OSError, RuntimeError) as exc:
            raise ModelUnavailable(
                f"cannot download the CLIP {spec} weights ({exc}).\n"
                f"Download {url} on a machine with network access and place it at\n  {target}\n"
                f'or set model = "/path/to/checkpoint.pt" in the config.'
            ) from exc
    return ModelSource(target, model_id_for(spec), spec)


def _state_dict_from_file(path: Path) -> dict[str, torch.Tensor]:
    data = path.read_bytes()
    try:
        with warnings.catch_warnings():
            # OpenAI's checkpoints are TorchScript archives; torch's advice to move to torch.export is for
            # their authors, not for our users, who would see it on every start
            warnings.filterwarnings("ignore", "`torch.jit.load` is deprecated", FutureWarning)
            archive = torch.jit.load(io.BytesIO(data), map_location="cpu")
        return dict(archive.state_dict())
    except RuntimeError:
        pass  # not TorchScript: a plain state_dict, which clip.load cannot take from a path
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelUnavailable(f"{path} is neither a TorchScript archive nor a state_dict: {exc}") from exc
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise ModelUnavailable(f"{path} does not hold a state_dict")
    state = {str(k).removeprefix("module."): v for k, v in obj.items()}
    if "text_projection" not in state:
        raise ModelUnavailable(f"{path} does not hold CLIP weights (no text_projection tensor)")
    return state


class ClipModel:
    """A loaded CLIP model on one device, encoding images and texts into one space.

    Safe to call from several threads: inference changes no state, so a query's
    text encoding never waits for an indexing batch to finish; background
    (indexing) image batches even step aside while a query runs (priority.py).
    """

    def __init__(self, network: Network, source: ModelSource, choice: Choice) -> None:
        self.network = network
        self.choice = choice  # device, backend, precision, and why
        self.priority = Priority()
        self._text_lock = threading.Lock()
        for module in network.visual.modules():  # the checkpoints where indexing yields to queries
            if isinstance(module, (ResidualAttentionBlock, Bottleneck)):
                module.register_forward_pre_hook(self.priority.checkpoint)
        self.source = source
        self.device = choice.device
        self.dtype = network.dtype  # conv1's: clip keeps embeddings and norms fp32 in an fp16 or bf16 model
        self.input_resolution: int = int(network.visual.input_resolution)
        self.embed_dim: int = int(network.text_projection.shape[1])
        self.logit_scale: float = float(network.logit_scale.exp().item())

    @property
    def model_id(self) -> str:
        return self.source.model_id

    def encode_images(self, batch: np.ndarray | torch.Tensor, background: bool = False) -> np.ndarray:
        """Embed a (N, 3, R, R) float32 batch of preprocessed images (numpy, or a tensor on any device).

        `background` (indexing) work yields to queries between layers; on a CPU it is
        also encoded in chunks, which costs no throughput there (the cores are busy
        either way) and keeps each layer, and so a query's wait, short.
        """
        step = BACKGROUND_CHUNK.get(self.dtype, 8) if background and self.device == "cpu" else len(batch)
        parts = []
        images = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(batch)
        with self.priority.background() if background else contextlib.nullcontext():
            for start in range(0, len(images), max(step, 1)):
                x = images[start : start + step].to(self.device, self.dtype)
                with torch.inference_mode():
                    parts.append(self.network.encode_image(x).float())
        return _normalise(torch.cat(parts) if len(parts) > 1 else parts[0])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Embed texts (longer than CLIP's 77 tokens are truncated)."""
        tokens = clip.tokenize(texts, truncate=True).to(self.device)
        # one text encoding at a time: concurrent ones would each start an OpenMP team on the same
        # cores and gain nothing but oversubscription (see docs/performance.md)
        with self._text_lock, torch.inference_mode():
            feats = self._encode_tokens(tokens).float()
        return _normalise(feats)

    def _encode_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """clip's `encode_text`, on only as many positions as the longest text uses.

        CLIP's text transformer is causal (a position attends only to those before
        it) and its output is read at each text's end-of-text token, so the padding
        after the longest text's end cannot change the result. Cutting it off turns
        77 positions into about 10 for a typical query: several times less work for
        the same embedding (equal to clip's full pass up to float rounding; tested).
        """
        net = self.network
        ends = tokens.argmax(dim=-1)  # the end-of-text token has the highest id
        n = int(ends.max()) + 1
        x = net.token_embedding(tokens[:, :n]).type(self.dtype) + net.positional_embedding[:n].type(self.dtype)
        x = x.permute(1, 0, 2)  # (batch, position, width) -> (position, batch, width), as clip's blocks take it
        for block in net.transformer.resblocks:
            mask = block.attn_mask[:n, :n].to(dtype=x.dtype, device=x.device)
            h = block.ln_1(x)
            x = x + block.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
            x = x + block.mlp(block.ln_2(x))
        x = net.ln_final(x.permute(1, 0, 2)).type(self.dtype)
        return x[torch.arange(x.shape[0]), ends] @ net.text_projection


def _normalise(feats: torch.Tensor) -> np.ndarray:
    feats = feats / feats.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return feats.cpu().numpy().astype(np.float32, copy=False)


def load(spec: str, device_preference: str, cache_dir: Path, precision: str = "auto") -> ClipModel:
    """Load the model named by `spec` onto the configured device, in the configured precision
    (`auto`: the fastest this machine runs that matches fp32; see calibrate.py)."""
    source = locate(spec, cache_dir)
    device = resolve_device(device_preference)
    try:
        network = build_model(_state_dict_from_file(source.path))
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise ModelUnavailable(f"cannot build a CLIP model from {source.path}: {exc}") from exc
    network, choice = settle(network.to(device).eval(), source.model_id, device, precision, cache_dir)
    log.info("model %s (%s) on %s in %s: %s", source.display_name, source.model_id, device, choice.precision,
             choice.why)
    return ClipModel(network, source, choice)
