"""The logged-data format: round trip, truncation, temperature, and clear errors for bad files."""

import json

import numpy as np
import pytest

from spechub_theory import acceptance_rate
from spechub_theory.logged import FORMAT_VERSION, entries_from_logits, load_logged, truncated_support, write_logged
from spechub_theory.synthetic import llm_like_logits


@pytest.fixture
def dataset(tmp_path):
    target, draft = llm_like_logits(20, 300, seed=1)
    entries = entries_from_logits(target, draft, np.repeat([0, 1], 10), np.tile(np.arange(10), 2), [[5, 6, 7], [8]], 1e-6)
    meta = {"vocab_size": 300, "max_tail_mass": 1e-6, "models": {"target": "synthetic", "draft": "synthetic"}}
    return write_logged(tmp_path / "data", meta, entries), target, draft


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_truncated_support_keeps_all_but_the_tail(monkeypatch):
    import spechub_theory.logged as logged

    monkeypatch.setattr(logged, "MIN_TOKENS", 1)
    z = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    # Dropping 0.05 leaves a tail of 0.05 <= 0.06; dropping 0.15 too would leave 0.2.
    assert list(truncated_support(z, z, 0.06)) == [0, 1, 2]
    assert list(truncated_support(z, z[::-1], 0.06)) == [0, 1, 2, 3]
    monkeypatch.setattr(logged, "MIN_TOKENS", 2)
    one_hot = np.log(np.array([1.0 - 2e-9, 1e-9, 1e-9]))
    assert list(truncated_support(one_hot, one_hot, 0.06)) == [0, 1]


def test_round_trip_densifies_the_truncated_softmax(dataset):
    path, target, draft = dataset
    data = load_logged(path)
    assert len(data) == 20 and len(data.p) == 20
    p, q = data.p[:5], data.q[:5]
    assert p.shape == (5, 300)
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-12)
    # Within the kept support the rows are the models' softmax renormalised; the total variation
    # to the full softmax is at most the declared tail mass (twice, one tail per model at most).
    assert np.abs(p - _softmax(target[:5])).sum(-1).max() <= 2 * 2e-6
    assert np.abs(q - _softmax(draft[:5])).sum(-1).max() <= 2 * 2e-6
    assert isinstance(data.arrays["tokens"], np.memmap)
    np.testing.assert_allclose(data.p[3], p[3])
    assert abs(acceptance_rate(p, q, "spechub").mean() - acceptance_rate(_softmax(target[:5]), _softmax(draft[:5]), "spechub").mean()) < 1e-5


def test_temperature_sharpens(dataset):
    path, target, _ = dataset
    cold = load_logged(path, temperature=0.5).p[0]
    support = cold > 0
    stored = target[0].astype(np.float32).astype(np.float64)  # logits are stored in float32
    expected = _softmax(2 * stored[support])
    np.testing.assert_allclose(cold[support], expected, atol=1e-12)


def test_bad_datasets_name_the_file(dataset, tmp_path):
    path, _, _ = dataset
    with pytest.raises(ValueError, match="temperature"):
        load_logged(path, temperature=1.5)
    with pytest.raises(ValueError, match="not a logged dataset"):
        load_logged(tmp_path / "nowhere")
    meta = json.loads((path / "meta.json").read_text())
    (path / "meta.json").write_text(json.dumps(dict(meta, format_version=FORMAT_VERSION + 1)))
    with pytest.raises(ValueError, match=r"meta.json has format version 2; this library reads 1"):
        load_logged(path)
    (path / "meta.json").write_text(json.dumps(meta))
    raw = (path / "tokens.npy").read_bytes()
    (path / "tokens.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"tokens.npy is missing or corrupt"):
        load_logged(path)
    (path / "tokens.npy").write_bytes(raw)
    np.save(path / "steps.npy", np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"steps.npy has shape \(3,\), expected \(20,\)"):
        load_logged(path)


def test_nothing_is_overwritten_without_asking(dataset):
    path, target, draft = dataset
    entries = entries_from_logits(target[:2], draft[:2], [0, 0], [0, 1], [[1]], 1e-6)
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        write_logged(path, {"vocab_size": 300}, entries)
    write_logged(path, {"vocab_size": 300}, entries, overwrite=True)
    assert len(load_logged(path)) == 2


def test_a_tiled_copy_repeats_the_positions(tmp_path):
    from spechub_theory.bench import tiled

    data = load_logged()
    copy = load_logged(tiled(data, len(data) + 5, tmp_path / "tiled"))
    assert len(copy) == len(data) + 5
    assert np.array_equal(copy.p[len(data) + 3], data.p[3]) and np.array_equal(copy.q[len(data)], data.q[0])


def _collected(tmp_path, temperature, top_p=1.0, top_k=None, tail=1e-4, name="hot"):
    target, draft = llm_like_logits(12, 200, seed=3)
    entries = entries_from_logits(target, draft, np.zeros(12), np.arange(12), [[1, 2]], tail, temperature, top_p, top_k)
    meta = {"vocab_size": 200, "max_tail_mass": tail, "models": {"target": "synthetic", "draft": "synthetic"},
            "temperature": temperature, "top_p": top_p, "top_k": top_k}
    return write_logged(tmp_path / name, meta, entries), target, draft


def test_data_collected_above_one_reads_up_to_its_temperature(tmp_path):
    path, target, draft = _collected(tmp_path, 1.5)
    data = load_logged(path)  # its own collection temperature by default
    assert data.temperature == 1.5
    for z, rows in ((target, data.p[:]), (draft, data.q[:])):
        hot = _softmax(z.astype(np.float32).astype(np.float64) / 1.5)  # logits are stored in float32
        kept = rows > 0
        # The tail each model drops is measured at T = 1.5, where the data is read, not at T = 1
        # (where it would be much smaller): every row's dropped mass is at most the declared tail.
        assert (hot * ~kept).sum(-1).max() <= 1e-4
        np.testing.assert_allclose(rows[kept], (hot * kept / (hot * kept).sum(-1, keepdims=True))[kept], atol=1e-12)
    assert load_logged(path, temperature=1.2).temperature == 1.2  # colder reads are within the tail too
    with pytest.raises(ValueError, match=r"temperature: this dataset supports 0 < temperature <= 1.5, got 1.6"):
        load_logged(path, temperature=1.6)


def test_filtered_collection_holds_the_filtered_law_and_reads_at_its_temperature_only(tmp_path):
    path, target, draft = _collected(tmp_path, 0.8, top_p=0.9)
    data = load_logged(path, temperature=0.8)
    for z, rows in ((target, data.p[:]), (draft, data.q[:])):
        stored = z.astype(np.float32).astype(np.float64) / 0.8
        for row, law in zip(stored, rows):
            # The nucleus by hand: the most likely tokens until their mass reaches 0.9, the one that
            # crosses it included; the law is the softmax renormalised on it, zero elsewhere.
            full = _softmax(row)
            order = np.argsort(-full, kind="stable")
            count = int(np.searchsorted(np.cumsum(full[order]), 0.9)) + 1
            expected = np.zeros_like(full)
            expected[order[:count]] = full[order[:count]] / full[order[:count]].sum()
            np.testing.assert_allclose(law, expected, atol=1e-12)
    assert data.meta["top_p"] == 0.9 and data.meta["top_k"] is None
    with pytest.raises(ValueError, match=r"collected at T = 0.8 with top_p = 0.9.*only"):
        load_logged(path, temperature=0.7)
    one_hot, _, _ = _collected(tmp_path, 1.0, top_k=1, name="greedy")
    law = load_logged(one_hot).p[:]
    assert set(np.unique(law)) == {0.0, 1.0}  # top-k = 1: the argmax only


def test_reused_checks_scan_once_and_again_when_a_file_changes(dataset, monkeypatch):
    """``reuse_checks`` skips the shape checks (a scan of every token id) only for files this process
    has checked and that are unchanged; a replaced file is checked again, and its fault found."""
    import os

    from spechub_theory import logged

    path, _, _ = dataset
    scans = []
    real = logged._check_shapes
    monkeypatch.setattr(logged, "_check_shapes", lambda *a: (scans.append(1), real(*a)))
    monkeypatch.setattr(logged, "_CHECKED", set())
    load_logged(path, reuse_checks=True)
    load_logged(path, reuse_checks=True)
    assert len(scans) == 1
    load_logged(path)  # the default checks on every open
    assert len(scans) == 2
    tokens = np.load(path / "tokens.npy")
    tokens[3] = 300  # outside the vocabulary of 300
    np.save(path / "new.npy", tokens)
    os.replace(path / "new.npy", path / "tokens.npy")  # a new file (inode) of the same size
    with pytest.raises(ValueError, match=r"tokens.npy holds token ids outside \[0, 300\)"):
        load_logged(path, reuse_checks=True)
    assert len(scans) == 3
