"""The shipped default dataset: SmolLM2-135M-Instruct and the project's draft along the project's prompts."""

import numpy as np
import pytest

from spechub_theory import acceptance_rate, load_logged


@pytest.fixture(scope="module")
def data():
    return load_logged()


def test_shipped_dataset_describes_itself(data):
    meta = data.meta
    assert data.vocab_size == 49152
    assert len(meta["prompts"]) == 100 and len(set(meta["categories"])) == 8
    assert meta["models"]["target"].startswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert meta["models"]["draft"].startswith("early exit")
    assert len(data) == len(np.asarray(data.arrays["prompt_ids"])) >= 900
    assert set(np.unique(data.arrays["prompt_ids"])) == set(range(100))


def test_rows_are_distributions_of_two_different_models(data):
    p, q = data.p[:64], data.q[:64]
    np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(q.sum(-1), 1.0, atol=1e-9)
    alpha = acceptance_rate(p, q, "single", 1)
    assert 0.2 < alpha.mean() < 0.8  # a real, imperfect draft
    assert np.all(alpha < 1)


def test_lowering_the_temperature_lowers_the_entropy(data):
    # The entropy of softmax(z / T) increases with T, row by row.
    def entropy(rows):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.nansum(np.where(rows > 0, rows * np.log(rows), 0.0), axis=-1)

    warm, cold = data.p[:32], load_logged(temperature=0.6).p[:32]
    assert np.all(entropy(cold) < entropy(warm))


def test_every_row_supports_sixteen_distinct_drafts(data):
    counts = np.diff(np.asarray(data.arrays["offsets"]))
    assert counts.min() >= 16
