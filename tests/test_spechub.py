"""SpecHub's guarantees (Sun et al., EMNLP 2024): never below one draft, and above RRS at the hub condition."""

import numpy as np
import pytest
from hypothesis import assume, given
from strategies import draft_pairs

from spechub_theory import acceptance_rate


@given(pq=draft_pairs(min_support=2))
def test_spechub_never_below_single_draft(pq):
    # Its value p(a) + sum min(p, q / (1 - q(a))) dominates sum min(p, q) term by term.
    p, q = pq
    assert acceptance_rate(p, q, "spechub", 2) >= np.minimum(p, q).sum() - 1e-12


@given(pq=draft_pairs(min_support=2))
def test_spechub_beats_rrs_when_the_hub_holds_half_the_mass(pq):
    p, q = pq
    assume(q.max() >= 0.5)
    assert acceptance_rate(p, q, "spechub", 2) >= acceptance_rate(p, q, "rrs", 2) - 1e-12


def test_spechub_can_lose_to_rrs_without_the_hub_condition():
    # A flat q (no hub): q = uniform over 4, p = (0, 1/2, 1/2, 0). The hub is token 0, which p never
    # wants: SpecHub gives 0 + min(1/2, 1/3) * 2 = 2/3, while RRS (k = 2) gives 1 - Z2 with
    # Z1 = 2 * (1/2 - 1/4) = 1/2, c2 = 3/2, Z2 = 2 * (1/2 - 3/8) = 1/4: 3/4 > 2/3.
    p, q = np.array([0.0, 0.5, 0.5, 0.0]), np.full(4, 0.25)
    assert acceptance_rate(p, q, "spechub", 2) == pytest.approx(2 / 3, abs=1e-15)
    assert acceptance_rate(p, q, "rrs", 2) == pytest.approx(0.75, abs=1e-15)
