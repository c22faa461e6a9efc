"""Logged next-token distributions of a target and a draft model, on disk and back.

A dataset is a directory:

* ``meta.json`` -- ``format_version``, ``vocab_size``, ``n_positions``, the models and file hashes,
  the collection's sampling settings (``temperature``, ``top_p``, ``top_k``: 1.0, 1.0 and None unless
  the data was collected with others), ``max_tail_mass``, library versions;
* ``offsets.npy`` (``n + 1``, int64) and, per stored entry, ``tokens.npy`` (uint16 for
  vocabularies up to 65,535 tokens, else int32),
  ``target_logits.npy`` and ``draft_logits.npy`` (float32): for position ``i`` the entries
  ``offsets[i]:offsets[i+1]`` are the union of the two models' top tokens with both models' logits;
* ``prompt_ids.npy`` and ``steps.npy`` (int32, ``n``): which prompt, and how many generated tokens
  precede the position; ``context.npy`` (int32) with ``context_offsets.npy``: each prompt's token ids.

A dataset of draft trees (``meta["tree"]``: ``branching``, ``depth``, ``laws``) stores one position
per internal node of every tree, plus (:mod:`spechub_theory.tree_log`):

* ``tree_drafts.npy`` (int32, ``n x branching``): the tokens drafted as the node's children, in
  draft order, sampled from the stored (truncated) draft law at the tree's temperature;
* ``tree_children.npy`` (int32, ``n x branching``): the position of each child's node, -1 for a leaf;
* ``tree_roots.npy`` (int64), ``tree_law.npy`` (int32, index into ``meta["tree"]["laws"]``) and
  ``tree_temperature.npy`` (float64), one entry per tree. ``steps`` of a tree's nodes is its root's.

Every file is memory-mapped on load, so a million positions never sit in memory at once: only the
rows a slice asks for are read and densified. Each position keeps, for both models, the tokens
outside which the mass at the collection temperature ``T_c`` (``meta["temperature"]``, 1 unless the data
was collected at another) is at most ``max_tail_mass``; at a temperature ``T <= T_c`` the tail's share can
only shrink (the tail's logits are the smallest), and the distributions are renormalised over the kept
tokens. Each model keeps at least its 16 most likely tokens, so draft laws without replacement stay
defined for up to 16 drafts. Every number computed from a dataset is exact for these truncated
distributions, which differ from the models' by at most ``max_tail_mass`` in total variation.

Data collected with ``top_p < 1`` or a ``top_k`` holds each model's processed law at ``T_c``
(:func:`spechub_theory.synthetic.process`): the tokens that filter removes are stored with logit ``-inf``
(zero mass), nothing else is dropped, and the dataset is read at ``T_c`` only (the filter was applied
there; at another temperature it would keep another set).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .outputs import check_replaceable, swap_in_dir
from .synthetic import process

#: The version this code writes and reads.
FORMAT_VERSION = 1
_ARRAYS = ("offsets", "tokens", "target_logits", "draft_logits", "prompt_ids", "steps", "context", "context_offsets")
_TREE_ARRAYS = ("tree_drafts", "tree_children", "tree_roots", "tree_law", "tree_temperature")


def _names(meta: dict) -> tuple[str, ...]:
    """The array files of a dataset: the tree arrays too when ``meta`` describes trees."""
    return _ARRAYS + (_TREE_ARRAYS if "tree" in meta else ())


class LoggedDistributions:
    """Rows of one model's logged distributions: ``len()`` and slicing into dense ``(n, V)`` arrays."""

    def __init__(self, data: "LoggedData", logits: np.ndarray):
        self._data = data
        self._logits = logits

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, index) -> np.ndarray:
        rows = np.arange(len(self))[index]
        scalar = np.ndim(rows) == 0
        rows = np.atleast_1d(rows)
        out = np.zeros((rows.size, self._data.vocab_size))
        offsets, tokens = self._data.arrays["offsets"], self._data.arrays["tokens"]
        for i, row in enumerate(rows):
            lo, hi = int(offsets[row]), int(offsets[row + 1])
            stored_law(tokens[lo:hi], self._logits[lo:hi], self._data.temperature, out[i])
        return out[0] if scalar else out


def stored_law(tokens, logits, temperature: float, out: np.ndarray) -> np.ndarray:
    """Write into the zeroed ``out`` the law a dataset holds at ``tokens`` with stored ``logits``: the
    softmax of ``logits / temperature`` over those tokens (every reader of a law goes through here)."""
    z = (1.0 / temperature) * np.asarray(logits, dtype=np.float64)
    weights = np.exp(z - z.max())
    out[tokens] = weights / weights.sum()
    return out


@dataclass
class LoggedData:
    """A logged dataset at one temperature: ``p`` (target) and ``q`` (draft) rows, and metadata."""

    path: Path
    meta: dict
    arrays: dict
    temperature: float

    def __len__(self) -> int:
        return int(self.meta["n_positions"])

    @property
    def vocab_size(self) -> int:
        return int(self.meta["vocab_size"])

    @property
    def p(self) -> LoggedDistributions:
        return LoggedDistributions(self, self.arrays["target_logits"])

    @property
    def q(self) -> LoggedDistributions:
        return LoggedDistributions(self, self.arrays["draft_logits"])


def default_path() -> Path:
    """Where the shipped default dataset lives (inside the package)."""
    return Path(__file__).parent / "data" / "default"


def collection_settings(meta: dict) -> tuple[float, float, int | None]:
    """``(temperature, top_p, top_k)`` a dataset was collected at (1.0, 1.0, None for data that predates them)."""
    top_k = meta.get("top_k")
    return float(meta.get("temperature", 1.0)), float(meta.get("top_p", 1.0)), None if top_k is None else int(top_k)


def check_temperature(meta: dict, temperature) -> float:
    """``temperature`` as a float a dataset with ``meta`` can be read at, or a ``ValueError`` saying why not.

    Unfiltered data collected at ``T_c`` reads at any ``0 < T <= T_c``; data collected with a top-p or
    top-k filter reads at ``T_c`` only.
    """
    collected, top_p, top_k = collection_settings(meta)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)) \
            or not 0 < temperature < np.inf:
        raise ValueError(f"temperature: must be a positive number, got {temperature!r}")
    temperature = float(temperature)
    how = (f"`spechub-theory collect --temperature T` logs at T (and --top-p / --top-k filter there), with "
           f"--max-tail-mass setting the tail")
    if (top_p < 1 or top_k is not None) and temperature != collected:
        raise ValueError(
            f"temperature: this dataset was collected at T = {collected:g} with top_p = {top_p:g}, top_k = {top_k}, "
            f"so it holds the filtered laws at T = {collected:g} only (at another temperature the filter keeps "
            f"another set of tokens, which the stored ones cannot tell); got {temperature!r}. {how}")
    if temperature > collected:
        raise ValueError(
            f"temperature: this dataset supports 0 < temperature <= {collected:g}, got {temperature!r}. Each position "
            f"keeps only the tokens holding all but max_tail_mass of the mass at its collection temperature "
            f"T_c = {collected:g}: at T <= T_c the dropped tail's share can only shrink, so every law read is within "
            f"max_tail_mass of the model's, but above T_c it grows, to as much as "
            f"V^(1-T_c/T) max_tail_mass^(T_c/T) (0.37 at V = 49,152, T_c = 1, T = 1.5, max_tail_mass = 1e-3), "
            f"which the stored logits cannot tell. Collect data at the temperature you need: {how}")
    return temperature


#: Fingerprints of the datasets whose shapes this process has checked (``reuse_checks``), at most
#: :data:`_MAX_CHECKED` of them.
_CHECKED: set = set()
_MAX_CHECKED = 64


def _fingerprint(path: Path, names) -> tuple:
    """``(resolved path, (file, inode, size, mtime_ns) for meta.json and every array)``: what changes
    when any file of the dataset is replaced or rewritten."""
    stats = []
    for name in ("meta.json", *(f"{n}.npy" for n in names)):
        s = (path / name).stat()
        stats.append((name, s.st_ino, s.st_size, s.st_mtime_ns))
    return str(path.resolve()), tuple(stats)


def load_logged(path=None, temperature: float | None = None, *, reuse_checks: bool = False) -> LoggedData:
    """Open a logged dataset (the shipped default when ``path`` is None) at ``temperature``.

    ``temperature=None`` reads it at its collection temperature (``meta["temperature"]``, 1 for the
    shipped data); any ``0 < temperature <=`` that temperature is allowed for unfiltered data, only that
    temperature for data collected with a top-p or top-k filter (:func:`check_temperature` says why).
    Raises ``ValueError`` naming the file for a missing or corrupt file, another format version or
    inconsistent shapes.

    The shape checks read every offset and token id (at a million positions, hundreds of MB).
    ``reuse_checks=True`` skips them when this process has already checked the same files, unchanged
    since (same inode, size and modification time of every file): for a task that opens the
    dataset for each chunk it reads (:func:`spechub_theory.sweep.chunk_values`), which would otherwise
    scan the whole dataset once per chunk. A file rewritten in place within the file system's clock
    tick, to the same size, would go unnoticed; the default checks on every open.
    """
    path = default_path() if path is None else Path(path)
    meta_file = path / "meta.json"
    if not meta_file.is_file():
        raise ValueError(f"path: {meta_file} not found: not a logged dataset")
    try:
        meta = json.loads(meta_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"path: {meta_file} is not valid JSON ({err})") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"path: {meta_file} has format version {meta.get('format_version')!r}; this library reads {FORMAT_VERSION}"
        )
    temperature = check_temperature(meta, collection_settings(meta)[0] if temperature is None else temperature)
    arrays = {}
    for name in _names(meta):
        file = path / f"{name}.npy"
        try:
            arrays[name] = np.load(file, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise ValueError(f"path: {file} is missing or corrupt ({err})") from None
    fingerprint = _fingerprint(path, arrays) if reuse_checks else None
    if fingerprint is None or fingerprint not in _CHECKED:
        _check_shapes(path, meta, arrays)
        if fingerprint is not None:
            if len(_CHECKED) >= _MAX_CHECKED:
                _CHECKED.clear()
            _CHECKED.add(fingerprint)
    return LoggedData(path, meta, arrays, float(temperature))


def _check_shapes(path: Path, meta: dict, a: dict) -> None:
    n, v = int(meta["n_positions"]), int(meta["vocab_size"])
    nnz = a["tokens"].shape[0]

    def bad(name, why):
        raise ValueError(f"path: {path / (name + '.npy')} {why}")

    if a["offsets"].shape != (n + 1,):
        bad("offsets", f"has shape {a['offsets'].shape}, expected ({n + 1},) for {n} positions")
    if a["offsets"][0] != 0 or a["offsets"][-1] != nnz or np.any(np.diff(a["offsets"]) < 1):
        bad("offsets", f"is not an increasing index into {nnz} entries")
    for name in ("target_logits", "draft_logits"):
        if a[name].shape != (nnz,):
            bad(name, f"has shape {a[name].shape}, expected ({nnz},) like tokens.npy")
    for name in ("prompt_ids", "steps"):
        if a[name].shape != (n,):
            bad(name, f"has shape {a[name].shape}, expected ({n},)")
    if nnz and (a["tokens"].min() < 0 or a["tokens"].max() >= v):
        bad("tokens", f"holds token ids outside [0, {v})")
    if a["context_offsets"][-1] != a["context"].shape[0]:
        bad("context_offsets", "does not end at the length of context.npy")
    if "tree" in meta:
        k, laws = int(meta["tree"]["branching"]), meta["tree"]["laws"]
        for name, low, high in (("tree_drafts", 0, v - 1), ("tree_children", -1, n - 1)):
            if a[name].shape != (n, k):
                bad(name, f"has shape {a[name].shape}, expected ({n}, {k}) for {n} nodes of branching {k}")
            if n and (a[name].min() < low or a[name].max() > high):
                bad(name, f"holds entries outside [{low}, {high}]")
        r = a["tree_roots"].shape[0]
        for name in ("tree_law", "tree_temperature"):
            if a[name].shape != (r,):
                bad(name, f"has shape {a[name].shape}, expected ({r},) like tree_roots.npy")
        if r and (a["tree_roots"].min() < 0 or a["tree_roots"].max() >= n):
            bad("tree_roots", f"holds positions outside [0, {n})")
        if r and (a["tree_law"].min() < 0 or a["tree_law"].max() >= len(laws)):
            bad("tree_law", f"holds law indices outside [0, {len(laws)})")


def is_dataset(path) -> bool:
    """Whether ``path`` is a dataset directory this library wrote: a ``meta.json`` with its format
    fields, and no file but the dataset's own (so replacing it can lose nothing else)."""
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
        names = {f"{name}.npy" for name in _names(meta)} | {"meta.json"}
        return (path.is_dir() and not path.is_symlink() and isinstance(meta, dict)
                and {"format_version", "vocab_size", "n_positions"} <= meta.keys()
                and all(item.name in names and item.is_file() for item in path.iterdir()))
    except (OSError, ValueError, UnicodeDecodeError, TypeError, AttributeError):
        return False


def write_logged(path, meta: dict, entries, *, overwrite: bool = False, inputs=()) -> Path:
    """Write a dataset atomically: into a temporary directory beside ``path``, swapped in when complete.

    ``entries`` maps the array names of the module docstring to arrays. An existing ``path`` is
    only replaced with ``overwrite=True``, and only when it is a dataset of this library
    (:func:`is_dataset`); never the current directory, one of its parents, or a directory holding
    one of ``inputs`` (:func:`spechub_theory.outputs.check_replaceable`).
    """
    path = Path(path)
    check_replaceable(path, "path", overwrite, is_dataset, "a dataset of this library", inputs)
    meta = dict(meta, format_version=FORMAT_VERSION, n_positions=int(len(entries["offsets"]) - 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        dtypes = {"offsets": np.int64, "context_offsets": np.int64, "target_logits": np.float32, "draft_logits": np.float32,
                  "tree_roots": np.int64, "tree_temperature": np.float64}
        if int(meta["vocab_size"]) <= np.iinfo(np.uint16).max:
            dtypes["tokens"] = np.uint16  # token ids of vocabularies up to 65,535 fit in two bytes
        for name in _names(meta):
            np.save(tmp / f"{name}.npy", np.asarray(entries[name], dtype=dtypes.get(name, np.int32)))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        _check_shapes(tmp, meta, {name: np.load(tmp / f"{name}.npy", mmap_mode="r") for name in _names(meta)})
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        swap_in_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


#: Tokens each model keeps at least, so that up to this many distinct drafts can always be drawn.
MIN_TOKENS = 16


def _filtered(top_p: float, top_k: int | None) -> bool:
    return top_p < 1 or top_k is not None


def truncated_support(target_logits: np.ndarray, draft_logits: np.ndarray, max_tail_mass: float,
                      temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """The tokens to log at one position: for each model, its most likely tokens until the rest holds
    at most ``max_tail_mass`` at ``temperature`` (and at least :data:`MIN_TOKENS` of them, so that
    draws without replacement of up to that many drafts stay possible); the union, sorted.

    With a ``top_p < 1`` or ``top_k`` filter, each model's tokens are exactly those of positive mass
    under :func:`spechub_theory.synthetic.process` at ``temperature``: nothing of the filtered law is
    dropped, and no token the filter removed is added."""
    keep = []
    for z in (np.asarray(target_logits, np.float64), np.asarray(draft_logits, np.float64)):
        if _filtered(top_p, top_k):
            keep.append(np.flatnonzero(process(z, temperature, top_k=top_k, top_p=None if top_p >= 1 else top_p)))
            continue
        order = np.argsort(-z, kind="stable")
        mass = np.exp((z[order] - z.max()) / temperature)
        mass /= mass.sum()
        tail = mass[::-1].cumsum()[::-1]  # tail[i]: mass of order[i:]
        count = max(min(MIN_TOKENS, z.size), int(np.searchsorted(-tail, -max_tail_mass, side="right")))
        keep.append(order[:count])
    return np.union1d(*keep)


def entries_from_logits(target_logits, draft_logits, prompt_ids, steps, contexts, max_tail_mass: float,
                        temperature: float = 1.0, top_p: float = 1.0, top_k: int | None = None) -> dict:
    """The arrays of a dataset from full logits of shape ``(n, V)`` and each prompt's token ids.

    The positions' tokens are :func:`truncated_support` at the collection settings; with a top-p or
    top-k filter, a model's logit at a kept token its own filter removed is stored as ``-inf``."""
    target_logits, draft_logits = np.asarray(target_logits), np.asarray(draft_logits)
    rows = [truncated_support(zt, zd, max_tail_mass, temperature, top_p, top_k)
            for zt, zd in zip(target_logits, draft_logits)]
    offsets = np.concatenate([[0], np.cumsum([r.size for r in rows])])
    tokens = np.concatenate(rows) if rows else np.zeros(0, np.int32)
    at = np.repeat(np.arange(len(rows)), [r.size for r in rows])
    stored = [target_logits[at, tokens].astype(np.float64), draft_logits[at, tokens].astype(np.float64)]
    if _filtered(top_p, top_k):
        for kept, full in zip(stored, (target_logits, draft_logits)):
            mass = process(full, temperature, top_k=top_k, top_p=None if top_p >= 1 else top_p)
            kept[mass[at, tokens] == 0] = -np.inf
    return {
        "offsets": offsets,
        "tokens": tokens,
        "target_logits": stored[0],
        "draft_logits": stored[1],
        "prompt_ids": np.asarray(prompt_ids),
        "steps": np.asarray(steps),
        "context": np.concatenate(contexts) if len(contexts) else np.zeros(0, np.int32),
        "context_offsets": np.concatenate([[0], np.cumsum([len(c) for c in contexts])]),
    }
