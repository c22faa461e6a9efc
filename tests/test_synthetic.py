"""Synthetic families are seeded distributions; logit processors do what engines do, in order."""

import numpy as np
import pytest

from spechub_theory.synthetic import dirichlet_pairs, llm_like_logits, process, zipf_pairs

LOGITS = np.log([0.5, 0.3, 0.2])


def test_temperature_raises_probabilities_to_a_power():
    # softmax(log p / T) is p^(1/T) normalised: at T = 1/2, (0.25, 0.09, 0.04) / 0.38.
    np.testing.assert_allclose(process(LOGITS, 0.5), np.array([0.25, 0.09, 0.04]) / 0.38, atol=1e-15)


def test_zero_temperature_is_argmax():
    np.testing.assert_allclose(process([1.0, 3.0, 3.0]), softmax_ref([1.0, 3.0, 3.0]), atol=1e-15)
    np.testing.assert_array_equal(process([1.0, 3.0, 3.0], 0.0), [0.0, 1.0, 0.0])


def softmax_ref(z):
    e = np.exp(np.asarray(z) - np.max(z))
    return e / e.sum()


def test_top_k_then_top_p():
    # top-2 keeps (0.5, 0.3) -> (0.625, 0.375); top_p = 0.6 keeps both (mass before token 1 is 0.5 < 0.6).
    np.testing.assert_allclose(process(LOGITS, top_k=2), [0.625, 0.375, 0.0], atol=1e-15)
    np.testing.assert_allclose(process(LOGITS, top_p=0.6), [0.625, 0.375, 0.0], atol=1e-15)
    # top_p = 0.5: the mass before token 1 is exactly 0.5, not below it, so only token 0 stays.
    np.testing.assert_allclose(process(LOGITS, top_p=0.5), [1.0, 0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("kwargs,match", [({"temperature": -1}, "^temperature"), ({"top_p": 0}, "^top_p"), ({"top_k": 0}, "^top_k")])
def test_processor_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        process(LOGITS, **kwargs)


@pytest.mark.parametrize("family", [llm_like_logits, dirichlet_pairs, zipf_pairs])
def test_families_are_reproducible_from_their_seed(family):
    a = family(3, 50, seed=1)
    b = family(3, 50, seed=1)
    c = family(3, 50, seed=2)
    for x, y, z in zip(a, b, c):
        assert x.shape == (3, 50)
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_zipf_pairs_share_the_profile():
    p, q = zipf_pairs(2, 100, seed=0, exponent=1.2, agreement=1.0)
    np.testing.assert_allclose(p, q)
    np.testing.assert_allclose(np.sort(p[0])[::-1], (1 + np.arange(100)) ** -1.2 / ((1 + np.arange(100)) ** -1.2).sum())


def test_zero_temperature_is_one_hot_in_linear_memory():
    import tracemalloc

    z = np.random.default_rng(0).normal(size=(3, 5000))
    tracemalloc.start()
    out = process(z, 0.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * out.nbytes  # a V x V identity would be 200 MB; the output is 120 kB
    np.testing.assert_array_equal(out, np.eye(5000)[np.argmax(z, axis=-1)])


@pytest.mark.parametrize("temperature", [0.0, 1.0])
@pytest.mark.parametrize("kwargs,match", [({"top_k": 0}, "^top_k"), ({"top_k": 2.5}, "^top_k: must be a positive integer, got 2.5"),
                                          ({"top_k": True}, "^top_k"), ({"top_p": 0}, "^top_p"), ({"top_p": 1.5}, "^top_p"),
                                          ({"top_p": True}, "^top_p")])
def test_filters_are_checked_at_every_temperature(temperature, kwargs, match):
    with pytest.raises(ValueError, match=match):
        process(LOGITS, temperature, **kwargs)


@pytest.mark.parametrize("temperature", [float("inf"), float("nan"), True, "1"])
def test_temperature_is_a_finite_number(temperature):
    with pytest.raises(ValueError, match="^temperature"):
        process(LOGITS, temperature)


def test_minus_infinity_is_a_masked_token():
    # log of a law with a zero: the masked token gets no mass at any temperature, after any filter.
    z = np.array([np.log(0.5), -np.inf, np.log(0.3), np.log(0.2)])
    np.testing.assert_allclose(process(z), [0.5, 0.0, 0.3, 0.2], atol=1e-15)
    np.testing.assert_allclose(process(z, 0.5), np.array([0.25, 0.0, 0.09, 0.04]) / 0.38, atol=1e-15)
    np.testing.assert_allclose(process(z, top_k=3), [0.5, 0.0, 0.3, 0.2], atol=1e-15)
    np.testing.assert_allclose(process(z, top_p=0.6), [0.625, 0.0, 0.375, 0.0], atol=1e-15)
    np.testing.assert_array_equal(process([[-np.inf, -1.0, -np.inf]], 0.0), [[0.0, 1.0, 0.0]])


def test_a_row_without_a_finite_logit_is_named():
    with pytest.raises(ValueError, match=r"^logits: row 1 is -inf everywhere"):
        process([[0.0, 1.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"^logits: row \(0, 1\) is -inf everywhere"):
        process(np.concatenate([np.zeros((1, 1, 3)), np.full((1, 1, 3), -np.inf)], axis=1))
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match=r"^logits: contains NaN or \+inf"):
            process([0.0, bad])
