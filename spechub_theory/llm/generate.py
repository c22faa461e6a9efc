"""Sampling continuations of chat prompts from the target, in batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


def read_prompts(path) -> list[dict]:
    """Prompts from a JSON-lines file of ``{"category": ..., "prompt": ...}`` objects.

    Raises ``ValueError`` naming the file and the line for a line that is not a JSON object with a
    non-empty string ``prompt``, and for a file that is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"prompts: {path} not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"prompts: {path} cannot be read as UTF-8 text ({err})") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"prompts: {path}, line {number}: not valid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise ValueError(f'prompts: {path}, line {number}: expected an object with a non-empty string "prompt"')
        rows.append(row)
    if not rows:
        raise ValueError(f"prompts: {path} holds no prompts")
    return rows


def chat_ids(tokenizer, prompt: str) -> list[int]:
    """The token ids of ``prompt`` as a user turn, ready for the assistant's reply."""
    ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
    return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)


def sample(model, tokenizer, prompts: list[str], max_new_tokens: int, seed: int, batch: int = 8, *,
           temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None, progress=None):
    """``[(prompt_ids, generated_ids)]``: one continuation per prompt, sampled at ``temperature`` with
    the ``top_p`` / ``top_k`` filters (1.0 and None: none), as transformers' ``generate`` applies them.
    ``progress(done, total)`` is called after every batch of prompts."""
    torch.manual_seed(seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out = []
    for start in range(0, len(prompts), batch):
        encoded = [chat_ids(tokenizer, p) for p in prompts[start : start + batch]]
        width = max(map(len, encoded))
        ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded], device=model.device)
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded], device=model.device)
        with torch.no_grad():
            result = model.generate(
                ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=True, temperature=float(temperature),
                top_p=float(top_p), top_k=0 if top_k is None else int(top_k), pad_token_id=pad,
            )
        for e, row in zip(encoded, result[:, width:].tolist()):
            if tokenizer.eos_token_id in row:
                row = row[: row.index(tokenizer.eos_token_id) + 1]
            out.append((np.array(e), np.array(row)))
        if progress is not None:
            progress(len(out), len(prompts))
    return out
