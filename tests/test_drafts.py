"""Draft laws: sampled tuples follow the law each one enumerates exactly."""

import numpy as np
import pytest
from scipy import stats

from spechub_theory import DRAFT_LAWS
from spechub_theory.drafts import top_tokens

Q = np.array([0.05, 0.0, 0.4, 0.25, 0.0, 0.2, 0.1])  # zero-mass tokens interleaved


def tuple_frequencies_pvalue(samples: np.ndarray, tuples: np.ndarray, probs: np.ndarray) -> float:
    index = {tuple(t): i for i, t in enumerate(tuples)}
    counts = np.bincount([index[tuple(s)] for s in samples], minlength=len(tuples))
    return float(stats.chisquare(counts, probs * len(samples) / probs.sum()).pvalue)


@pytest.mark.parametrize("law,k", [("iid", 1), ("iid", 2), ("wo", 1), ("wo", 2), ("wo", 3), ("wo", 5), ("hub", 2),
                                   ("greedy", 2), ("greedy", 3)])
def test_sampled_tuples_follow_the_enumerated_law(law, k):
    tuples, probs = DRAFT_LAWS[law].enumerate(Q, k)
    samples = DRAFT_LAWS[law].sample(Q, k, np.random.default_rng([k, len(law)]), 40_000)
    assert samples.shape == (40_000, k)
    assert np.all(Q[samples] > 0)  # every sampled tuple has positive probability...
    assert tuple_frequencies_pvalue(samples, tuples, probs) > 1e-4  # ...and their frequencies match it


def test_without_replacement_never_repeats_a_token_even_under_a_peaked_law():
    # q(0) = 1 - 1e-9: the first draft is token 0 almost surely; the second must come from the rest,
    # in proportion 1 : 2 : 3 : 4 to tokens 1..4.
    q = np.array([1 - 1e-9, 1e-10, 2e-10, 3e-10, 4e-10])
    samples = DRAFT_LAWS["wo"].sample(q, 2, np.random.default_rng(0), 50_000)
    assert np.all(samples[:, 0] != samples[:, 1])
    second = samples[samples[:, 0] == 0, 1]
    counts = np.bincount(second, minlength=5)[1:]
    assert stats.chisquare(counts, np.array([1, 2, 3, 4]) * second.size / 10).pvalue > 1e-4


def test_without_replacement_samples_a_qwen_sized_vocabulary_in_bulk():
    # 10^5 tuples over V = 152,064 need O(n k + V) memory (a Gumbel matrix would take 120 GB).
    q = np.random.default_rng(1).dirichlet(np.full(152_064, 0.05))
    samples = DRAFT_LAWS["wo"].sample(q, 4, np.random.default_rng(2), 100_000)
    ordered = np.sort(samples, axis=1)
    assert samples.shape == (100_000, 4) and np.all(ordered[:, 1:] != ordered[:, :-1])
    assert np.all(q[samples] > 0)


@pytest.mark.parametrize("m", [0, 1, 2, 3, 6, 7, 10])
def test_top_tokens_is_a_stable_sort_by_decreasing_mass(m):
    q = np.array([0.1, 0.3, 0.1, 0.0, 0.3, 0.1, 0.1])  # ties at 0.3 and at 0.1: lowest index first
    expected = [1, 4, 0, 2, 5, 6, 3][:m]
    assert top_tokens(q, m).tolist() == expected
    big = np.random.default_rng(m).integers(0, 5, 10_000).astype(float)  # many ties
    assert top_tokens(big, m).tolist() == np.argsort(-big, kind="stable")[:m].tolist()


@pytest.mark.parametrize("law,k", [("iid", 1), ("iid", 3), ("wo", 1), ("wo", 2), ("wo", 5), ("hub", 2), ("greedy", 2),
                                   ("greedy", 5)])
def test_each_law_counts_its_enumeration_without_enumerating(law, k):
    # Q has 5 tokens of positive mass among 7: the count depends on the support, not on V.
    count = DRAFT_LAWS[law].tuple_count(5, k)
    assert count == len(DRAFT_LAWS[law].enumerate(Q, k)[0])
    assert count == {"iid": 5**k, "wo": [5, 20, 60, 120, 120][k - 1], "hub": 8, "greedy": 6 - k}[law]
    assert DRAFT_LAWS[law].tuple_count_rule(5, k) == {"iid": f"5^{k}", "wo": f"5!/{5 - k}!", "hub": "2 x (5 - 1)",
                                                      "greedy": f"5 - {k - 1}"}[law]


def test_top_tokens_is_the_stable_sort_of_minus_q_on_ties_zeros_and_short_rows():
    from spechub_theory.drafts import top_tokens

    rng = np.random.default_rng(5)
    for _ in range(300):
        v = int(rng.integers(1, 12))
        q = rng.choice([0.0, 0.1, 0.2, 0.3], size=v)  # many ties and zeros on purpose
        for m in range(0, v + 2):
            # the definition: the first m tokens of the stable sort of -q (ties: lowest index)
            np.testing.assert_array_equal(top_tokens(q, m), np.argsort(-q, kind="stable")[:m])
