"""Rows of q with fewer tokens of positive mass than drafts: the law drafts all of them (issue 12, item 3).

Every function follows one rule, owned by the draft law (``DraftLaw.drafted``): a law that needs
distinct tokens drafts all ``s < k`` tokens of such a row. The values below are derived by hand in
the comments, and every closed form is checked against the enumeration of the chain.
"""

import itertools

import numpy as np
import pytest

from spechub_theory import (NodePool, Tree, acceptance_by_position, acceptance_rate, cli,
                            enumerated_acceptance_by_position, optimal_acceptance_rate, optimal_cut, otm,
                            output_distribution, simulate, tokens_per_step)
from spechub_theory.drafts import DRAFT_LAWS
from spechub_theory.optimal.subset import enumerated_cut

P = np.array([0.5, 0.3, 0.2])
Q2 = np.array([0.25, 0.75, 0.0])  # two tokens of positive mass
ONE_HOT = np.array([0.0, 1.0, 0.0])


def test_hand_derived_values():
    # rrs_wo, k = 3, on Q2 drafts both tokens. First draft 0 (prob 1/4) is kept with
    # min(1, p/q) = 1; first draft 1 (3/4) with 0.3/0.75 = 2/5: P(first kept) = 1/4 + 3/10 = 0.55.
    # After rejecting 1 (prob 3/4 * 3/5 = 0.45) the residual is (p - q)_+ / 0.45 = (0.25, 0, 0.2) / 0.45
    # and the second draft is token 0 for certain, kept with 0.25 / 0.45: P(second kept) = 0.25.
    # A third draft does not exist: 0. The total 0.8 = p(supp q) (both tokens drafted).
    np.testing.assert_allclose(acceptance_by_position(P, Q2, "rrs_wo", 3), [0.55, 0.25, 0.0], atol=1e-15)
    np.testing.assert_allclose(acceptance_by_position(P, Q2, "rrs_wo", 2), [0.55, 0.25], atol=1e-15)
    # SpecHub on a one-hot q: single-draft sampling on the hub, kept with p(hub) = 0.3.
    np.testing.assert_allclose(acceptance_by_position(P, ONE_HOT, "spechub", 2), [0.3, 0.0], atol=1e-15)
    # greedy with s = 2 <= k - 1 drafts the whole support: alpha = p(supp q) = 0.8, at k = 3 and 4.
    for k in (3, 4):
        assert acceptance_rate(P, Q2, "greedy", k) == pytest.approx(0.8, abs=1e-15)
    # The optimum of every law that drafts the whole support is p(supp q): a lossless verifier emits a
    # draft only where p has mass on it, and emitting Y ~ p attains it (every token of q is drafted).
    for law, k in (("wo", 3), ("greedy", 3), ("greedy", 5), ("hub", 2)):
        q = ONE_HOT if law == "hub" else Q2
        assert optimal_acceptance_rate(P, q, law, k) == pytest.approx(P[q > 0].sum(), abs=1e-12)


def _short_rows(rng, v, count):
    """Random rows of q with 1 .. 3 tokens of positive mass, and random p (some zeros)."""
    for _ in range(count):
        s = int(rng.integers(1, min(3, v - 1) + 1))
        q = np.zeros(v)
        q[rng.choice(v, size=s, replace=False)] = rng.integers(1, 5, size=s)
        p = rng.integers(0, 4, size=v).astype(float)
        p[rng.integers(v)] += 1
        yield p / p.sum(), q / q.sum()


@pytest.mark.parametrize("method, ks", [("rrs_wo", (2, 3, 4)), ("spechub", (2,)), ("greedy", (2, 3, 4))])
def test_closed_forms_match_enumeration_and_stay_lossless(method, ks):
    rng = np.random.default_rng(12)
    for p, q in _short_rows(rng, 5, 25):
        for k in ks:
            kept = acceptance_by_position(p, q, method, k)
            np.testing.assert_allclose(kept, enumerated_acceptance_by_position(p, q, method, k), atol=1e-12)
            np.testing.assert_allclose(output_distribution(p, q, method, k), p, atol=1e-12)
            s = np.count_nonzero(q)
            drafted = DRAFT_LAWS[{"rrs_wo": "wo", "spechub": "hub", "greedy": "greedy"}[method]].drafted(s, k)
            assert np.all(kept[drafted:] == 0.0)
            if method == "rrs_wo" and s < k:  # rrs_wo with k drafts on an s-token row is rrs_wo with s
                np.testing.assert_allclose(kept[:s], acceptance_by_position(p, q, "rrs_wo", s) if s > 1
                                           else acceptance_by_position(p, q, "single", 1), atol=1e-14)


def test_batches_mix_short_and_full_rows():
    q = np.stack([ONE_HOT, Q2, [0.2, 0.3, 0.5]])
    got = acceptance_by_position(P, q, "spechub", 2)
    for row in range(3):
        np.testing.assert_array_equal(got[row], acceptance_by_position(P, q[row], "spechub", 2))
    np.testing.assert_allclose(got[0], [0.3, 0.0])


@pytest.mark.parametrize("law", ["iid", "wo", "hub", "greedy"])
def test_optimum_of_short_rows_against_brute_force_and_the_lp(law):
    rng = np.random.default_rng(3)
    for p, q in _short_rows(rng, 5, 12):
        for k in ((2,) if law == "hub" else (2, 3)):
            s = np.count_nonzero(q)
            count = DRAFT_LAWS[law].drafted(s, k)
            tuples, probs = DRAFT_LAWS[law].enumerate(q, count)
            value = optimal_acceptance_rate(p, q, law, k)
            # brute force: every subset H of the vocabulary, 1 + min_H [p(H) - P(all drafts in H)]
            brute = 1.0 + min(sum(p[list(h)]) - probs[np.isin(tuples, list(h)).all(axis=1)].sum()
                              for r in range(6) for h in itertools.combinations(range(5), r))
            assert value == pytest.approx(brute, abs=1e-12)
            assert value == pytest.approx(enumerated_cut(p, q, tuples, probs)[0], abs=1e-12)
            assert otm(p, q, law, k).value == pytest.approx(value, abs=1e-8)
            cut = optimal_cut(p, q, law, k).cut
            certified = 1.0 + p[cut].sum() - probs[np.isin(tuples, np.flatnonzero(cut)).all(axis=1)].sum()
            assert certified == pytest.approx(value, abs=1e-12)


def test_simulation_drafts_fewer():
    exact = acceptance_by_position(P, Q2, "rrs_wo", 3)
    sim = simulate(P, Q2, "rrs_wo", 3, n=40_000, seed=5)
    assert sim.kept[2] == 0
    se = np.sqrt(exact * (1 - exact) / sim.n)
    assert np.all(np.abs(sim.kept / sim.n - exact) <= 5 * se + 1e-12)
    sim = simulate(P, ONE_HOT, "spechub", 2, n=20_000, seed=6)
    assert sim.kept[1] == 0 and abs(sim.accepted / sim.n - 0.3) < 5 * np.sqrt(0.21 / sim.n)


def test_strict_restores_the_refusal_and_names_the_row():
    q = np.stack([[0.2, 0.3, 0.5], ONE_HOT])
    calls = [
        lambda: acceptance_rate(P, q, "spechub", 2, strict=True),
        lambda: acceptance_by_position(P, q, "rrs_wo", 2, strict=True),
        lambda: output_distribution(P, q, "greedy", 3, strict=True),
        lambda: simulate(P, ONE_HOT, "spechub", 2, n=10, seed=0, strict=True),
        lambda: optimal_acceptance_rate(P, q, "hub", 2, strict=True),
        lambda: optimal_cut(P, q, "wo", 2, strict=True),
        lambda: otm(P, ONE_HOT, "hub", 2, strict=True),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"^q: (row \(1,\) of q|q) has only 1 token\(s\) of positive mass"):
            call()
    with pytest.raises(ValueError, match="^strict: expected True or False"):
        acceptance_rate(P, q, "spechub", 2, strict="yes")


def test_trees_draft_fewer_at_short_nodes():
    # One pool row, q one-hot on the hub 1: a SpecHub root with two children drafts the hub alone and
    # keeps it with p(1) = 0.3; its children are leaves, so tokens per step = 1 + 0.3 = 1.3, the value
    # of a one-child chain (single-draft sampling).
    pool = NodePool(P[None], ONE_HOT[None])
    assert tokens_per_step(Tree.full(2, 3), "spechub", pool) == pytest.approx(1.3, abs=1e-15)
    assert tokens_per_step(Tree.chain(1), "spechub", pool) == pytest.approx(1.3, abs=1e-15)
    # rrs_wo with 2 children on Q2 keeps child 0 with 0.55 and child 1 with 0.25 (the hand derivation
    # above): a depth-2 full binary tree of 7 nodes over the same row gives
    # T(leaf) = 1, T(d1) = 1 + 0.55 + 0.25 = 1.8, T(root) = 1 + 0.8 * 1.8 = 2.44.
    assert tokens_per_step(Tree.full(2, 7), "rrs_wo", NodePool(P[None], Q2[None])) == pytest.approx(2.44, abs=1e-14)


def test_table_at_temperature_zero(capsys):
    # At T = 0 both laws are one-hot: every verifier and every optimum accepts exactly when the two
    # argmaxes agree, so every cell is the same fraction of positions.
    assert cli.main(["table", "--temperature", "0", "--vocab", "50", "--positions", "20", "--k", "1", "2", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    cells = {c for line in out[2:13] for c in line.split()[2:] if c not in ("·", "—")}
    assert len(cells) == 1


def test_simulated_trees_draft_fewer_too():
    from spechub_theory import simulate_tree

    pool = NodePool(np.stack([P, P]), np.stack([Q2, [0.2, 0.3, 0.5]]))
    exact = tokens_per_step(Tree.full(2, 7), "rrs_wo", pool)
    sim = simulate_tree(Tree.full(2, 7), "rrs_wo", pool, n=20_000, seed=8)
    assert abs(sim.tokens.mean() - exact) < 5 * sim.tokens.std(ddof=1) / np.sqrt(sim.tokens.size)
