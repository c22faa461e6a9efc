"""Example verifiers written as a user would write them: correct rules, and lossy rules found in released code.

Each takes ``(drafts, p, q, rng)`` -- the ``k`` draft tokens, the target and draft laws of one
position (read-only ``(V,)`` arrays) and a ``numpy.random.Generator`` -- and returns the emitted
token, the form :func:`spechub_theory.testing.check_verifier` calls (``rrs_batched`` takes drafts of
shape ``(n, k)`` and returns ``(n,)``). They are written here from the rules' descriptions, not
derived from :mod:`spechub_theory.verifiers`, so that the harness is tested on independent code.

Correct (the emitted token has law ``p``):

* :func:`single` -- one draft, ``iid`` law, ``k = 1`` (Leviathan et al., 2023);
* :func:`rrs` and :func:`rrs_batched` -- recursive rejection sampling, ``iid`` drafts (SpecInfer);
* :func:`rrs_wo` -- recursive rejection sampling on drafts without replacement (``wo``), with the
  draft law masked and renormalised after each rejection.

Lossy:

* :func:`rrs_skip_duplicates` -- RRS on ``iid`` drafts that skips a token drafted twice without
  updating the residual (a bug read in released engine code), lossy at ``k >= 2`` in general,
  worst at ``k >= 3``;
* :func:`rrs_wo_unmasked` -- RRS on ``wo`` drafts that keeps testing against the original ``q``
  instead of masking the drafted tokens and renormalising, lossy at ``k >= 2``.

:data:`EXAMPLES` lists each with its draft law, a ``k`` it is meant for and whether it is lossless.
"""

from __future__ import annotations

import numpy as np


def _draw(r: np.ndarray, rng: np.random.Generator) -> int:
    """One token from the law ``r`` by inverse CDF (never a token of zero mass)."""
    cdf = np.cumsum(r)
    token = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(token, int(np.flatnonzero(r > 0)[-1]))


def _residual(r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(r - q)_+`` normalised (``r`` itself when no mass is left, which a rejection never reaches)."""
    rest = np.maximum(r - q, 0.0)
    total = rest.sum()
    return rest / total if total > 0 else r


def single(drafts, p, q, rng) -> int:
    """Speculative sampling with one draft: keep ``x`` with probability ``min(1, p(x)/q(x))``, else
    draw from ``(p - q)_+`` normalised. Lossless, ``law="iid"``, ``k = 1``."""
    (x,) = drafts
    if rng.random() * q[x] < p[x]:
        return int(x)
    return _draw(_residual(p, q), rng)


def rrs(drafts, p, q, rng) -> int:
    """Recursive rejection sampling: draft ``j`` is kept with probability ``min(1, r(x)/q(x))``
    against the residual ``r`` (first ``p``), which every rejection replaces by ``(r - q)_+``
    normalised; after ``k`` rejections the token is drawn from ``r``. Lossless, ``law="iid"``."""
    r = p
    for x in drafts:
        if rng.random() * q[x] < r[x]:
            return int(x)
        r = _residual(r, q)
    return _draw(r, rng)


def rrs_batched(drafts, p, q, rng) -> np.ndarray:
    """:func:`rrs` for ``n`` positions at once: drafts of shape ``(n, k)``, tokens of shape ``(n,)``.

    With i.i.d. drafts the residual after ``j`` rejections does not depend on which tokens were
    rejected, so the ``k + 1`` residuals are computed once."""
    n, k = drafts.shape
    residuals = [p]
    for _ in range(k):
        residuals.append(_residual(residuals[-1], q))
    keep = rng.random((n, k)) * q[drafts] < np.stack([residuals[j][drafts[:, j]] for j in range(k)], axis=1)
    first = np.where(keep.any(axis=1), keep.argmax(axis=1), k)
    out = np.empty(n, dtype=np.int64)
    kept = first < k
    out[kept] = drafts[kept, first[kept]]
    cdf = np.cumsum(residuals[k])
    last = int(np.flatnonzero(residuals[k] > 0)[-1])
    out[~kept] = np.minimum(np.searchsorted(cdf, rng.random(int((~kept).sum())) * cdf[-1], side="right"), last)
    return out


def rrs_wo(drafts, p, q, rng) -> int:
    """Recursive rejection sampling on drafts without replacement: as :func:`rrs`, but draft ``j`` was
    drawn from ``q`` with the earlier drafts masked out and renormalised, and is tested against that
    law. Lossless, ``law="wo"``."""
    r, q_j = p, q
    for j, x in enumerate(drafts):
        if rng.random() * q_j[x] < r[x]:
            return int(x)
        r = _residual(r, q_j)
        if j + 1 < len(drafts):  # the next draft's law: q without the tokens drafted so far
            q_j = q_j.copy()
            q_j[x] = 0.0
            q_j = q_j / q_j.sum()
    return _draw(r, rng)


def rrs_skip_duplicates(drafts, p, q, rng) -> int:
    """RRS that skips a draft token it has already rejected, without updating the residual. Lossy.

    In RRS a repeated token is rejected for certain (the residual is zero there after its first
    rejection) but the residual is still updated; skipping the step leaves the chain one update short
    whenever the drafts repeat, so the emitted law drifts from ``p``. ``law="iid"``, ``k >= 2``
    (worst at ``k >= 3``)."""
    r = p
    rejected = set()
    for x in drafts:
        x = int(x)
        if x in rejected:
            continue  # the bug: a correct chain would still set r = (r - q)_+ here
        if rng.random() * q[x] < r[x]:
            return x
        rejected.add(x)
        r = _residual(r, q)
    return _draw(r, rng)


def rrs_wo_unmasked(drafts, p, q, rng) -> int:
    """RRS on drafts without replacement that forgets to mask and renormalise ``q``. Lossy.

    Draft ``j`` was drawn from ``q`` restricted to the undrafted tokens, but this rule tests it and
    forms the residual against the original ``q``, as if the drafts were i.i.d. ``law="wo"``, ``k >= 2``."""
    r = p
    for x in drafts:
        if rng.random() * q[x] < r[x]:
            return int(x)
        r = _residual(r, q)  # the bug: q should lose x and be renormalised before the next draft
    return _draw(r, rng)


#: name -> (verifier, draft law, a k it is meant for, lossless, batched)
EXAMPLES = {
    "single": (single, "iid", 1, True, False),
    "rrs": (rrs, "iid", 3, True, False),
    "rrs_batched": (rrs_batched, "iid", 3, True, True),
    "rrs_wo": (rrs_wo, "wo", 3, True, False),
    "rrs_skip_duplicates": (rrs_skip_duplicates, "iid", 3, False, False),
    "rrs_wo_unmasked": (rrs_wo_unmasked, "wo", 3, False, False),
}


# --- tree verifiers: verify(tree, tokens, p, q, rng) -> the emitted tokens ----------------------------
#
# The form :func:`spechub_theory.testing.check_tree_verifier` calls: ``tree`` a
# :class:`spechub_theory.Tree`, ``tokens`` the drafted token at every node (shape ``(n_nodes,)``, the
# root's entry unused), ``p`` and ``q`` the target and draft laws at every node's context (read-only,
# shape ``(n_nodes, V)``); the result lists the accepted path's tokens and one corrected or bonus
# token. Written here from the published pseudocode (Block Verification, Sun et al., ICLR 2025,
# arXiv 2403.10444, Alg. 2; Traversal Verification, Weng et al., NeurIPS 2025, arXiv 2505.12398,
# Alg. 3), not from :mod:`spechub_theory.tree.verifiers`.


def _chain_nodes(tree) -> list[int]:
    """The nodes of a chain from the root down; a node with more than one child is refused."""
    nodes = [0]
    while tree.children[nodes[-1]]:
        kids = tree.children[nodes[-1]]
        if len(kids) != 1:
            raise ValueError(f"tree: node {nodes[-1]} has {len(kids)} children; block verification needs a chain")
        nodes.append(kids[0])
    return nodes


def _block(tree, tokens, p, q, rng, capped: bool) -> list[int]:
    nodes = _chain_nodes(tree)
    g = len(nodes) - 1
    b = [1.0]
    for i in range(1, g + 1):  # x_i is drafted at nodes[i], from the laws at its parent nodes[i - 1]
        ratio = b[-1] * p[nodes[i - 1]][tokens[nodes[i]]] / q[nodes[i - 1]][tokens[nodes[i]]]
        b.append(min(1.0, ratio) if capped else ratio)
    for i in range(g, -1, -1):  # tau = the largest i with eta_i <= h_i, found from the top
        if i == g:
            h = b[g]
        else:
            rest = np.maximum(b[i] * p[nodes[i]] - q[nodes[i]], 0.0)
            den = rest.sum() + 1.0 - b[i]
            h = 1.0 if i == 0 or den <= 0 else rest.sum() / den
        if rng.random() <= h:
            accepted = [int(tokens[u]) for u in nodes[1 : i + 1]]
            if i == g:
                return accepted + [_draw(p[nodes[g]], rng)]
            rest = np.maximum(b[i] * p[nodes[i]] - q[nodes[i]], 0.0)
            return accepted + [_draw(rest if rest.sum() > 0 else p[nodes[i]], rng)]
    raise AssertionError("unreachable: h_0 = 1")


def block(tree, tokens, p, q, rng) -> list[int]:
    """Block Verification of a chain ``x_1..x_g`` drawn from ``q`` (``law="iid"``, one child per node).

    ``b_0 = 1``, ``b_i = min(1, b_{i-1} p_i(x_i) / q_i(x_i))``; ``R_i = sum_v (b_i p_{i+1}(v) - q_{i+1}(v))_+``;
    ``h_i = R_i / (R_i + 1 - b_i)`` (1 where the denominator is 0; ``h_0 = 1``), ``h_g = b_g``. With
    independent ``eta_i ~ U(0, 1)``, accept ``x_1..x_tau``, ``tau = max{i : eta_i <= h_i}``, and emit
    ``Y ~ p_{g+1}`` if ``tau = g``, else ``Y ~ norm((b_tau p_{tau+1} - q_{tau+1})_+)``. Lossless.
    """
    return _block(tree, tokens, p, q, rng, capped=True)


def block_uncapped(tree, tokens, p, q, rng) -> list[int]:
    """:func:`block` with the joint ratio ``b_i = prod_{j<=i} p_j(x_j) / q_j(x_j)`` left uncapped. Lossy.

    A released block-style verifier tests the uncapped product; once a ratio above 1 is carried on,
    later positions are accepted too often and the residuals ``(b_i p - q)_+`` are too heavy. On the
    Block Verification paper's toy case (``p = (1/3, 2/3)``, ``q = (2/3, 1/3)`` at every position, a
    chain of two drafts) the emitted law is 1/9 from the target's in total variation.
    """
    return _block(tree, tokens, p, q, rng, capped=False)


def _traversal(tree, tokens, p, q, rng, without_replacement: bool) -> list[int]:
    remaining = [list(kids) for kids in tree.children]
    parent = tree.parents
    m_b = list(p)  # rows, replaced (never written in place) as the walk goes
    m_s = list(q)
    pi = np.ones(tree.n_nodes)

    def refresh(u):
        stack = [u]
        while stack:
            w = stack.pop()
            for c in remaining[w]:
                x = tokens[c]
                pi[c] = min(1.0, pi[w] * m_b[w][x] / m_s[w][x])
                stack.append(c)

    refresh(0)
    while True:
        leaf = 0
        while remaining[leaf]:
            leaf = remaining[leaf][0]
        if leaf == 0:
            return [_draw(m_b[0], rng)]
        if rng.random() < pi[leaf]:
            return [int(tokens[u]) for u in tree.path(leaf)] + [_draw(m_b[leaf], rng)]
        u = parent[leaf]
        remaining[u].pop(0)
        rest = np.maximum(pi[u] * m_b[u] - m_s[u], 0.0)
        s = rest.sum()
        if s > 0:
            m_b[u] = rest / s
        if without_replacement:
            cut = m_s[u].copy()
            cut[tokens[leaf]] = 0.0
            if cut.sum() > 0:
                m_s[u] = cut / cut.sum()
        den = s + 1.0 - pi[u]
        pi[u] = s / den if den > 0 else 1.0
        refresh(u)


def traversal(tree, tokens, p, q, rng) -> list[int]:
    """Traversal Verification of a tree whose siblings were drawn i.i.d. from ``q`` (``law="iid"``).

    Every node ``u`` holds ``M_b(.|u) = p(.|u)``, ``M_s(.|u) = q(.|u)`` and ``pi(u)``: ``pi(root) = 1``,
    ``pi(c) = min(1, pi(u) M_b(x_c|u) / M_s(x_c|u))``. Repeatedly follow the first remaining children
    to a leaf ``l``; at the root emit ``Y ~ M_b(.|root)``; else accept ``root..l`` with probability
    ``pi(l)`` and emit ``Y ~ M_b(.|l)``; on rejection delete ``l``, set at its parent ``u``
    ``S = sum (pi(u) M_b - M_s)_+``, ``M_b <- norm((pi(u) M_b - M_s)_+)``,
    ``pi(u) <- S / (S + 1 - pi(u))`` (1 where the denominator is 0) and recompute ``pi`` below ``u``.
    Lossless.
    """
    return _traversal(tree, tokens, p, q, rng, without_replacement=False)


def traversal_wo(tree, tokens, p, q, rng) -> list[int]:
    """:func:`traversal` on siblings drawn without replacement (``law="wo"``): a rejected leaf's token
    is also removed from its parent's ``M_s``, which is renormalised. Lossless."""
    return _traversal(tree, tokens, p, q, rng, without_replacement=True)


#: name -> (tree verifier, sibling law, lossless, whether it verifies chains only)
TREE_EXAMPLES = {
    "block": (block, "iid", True, True),
    "block_uncapped": (block_uncapped, "iid", False, True),
    "traversal": (traversal, "iid", True, False),
    "traversal_wo": (traversal_wo, "wo", True, False),
}
