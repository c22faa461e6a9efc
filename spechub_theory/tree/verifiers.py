r"""Tree verifiers: the procedure an engine runs on a drafted tree, defined once, and its exact outcome.

A tree verifier takes a drafted tree (:class:`~spechub_theory.tree.drafted.DraftedView`: the token at
every node, ``p`` and ``q`` at every node's context) and uniforms, and emits the tokens of an accepted
path ``root -> v`` followed by one corrected or bonus token ``Y``. Its exact *outcome* given the drafts
is the probability ``stop[v]`` that the accepted path ends at ``v`` and the law of ``Y`` there, so

    E[tokens per step | drafts] = sum_v stop[v] (depth(v) + 1).

Node-wise methods (every name of :data:`spechub_theory.VERIFIERS`, and ``topk``) decide at each node
among its children with the node's own rejection chain, which keeps child ``j`` with probability
``a_j(v)``; a kept child is verified next (:mod:`spechub_theory.tree.recursion`). A node with one
child runs the method itself when it is defined for one draft, and single-draft sampling otherwise
(SpecHub, which needs pairs).

* ``topk`` -- deterministic children, the ``b`` most likely tokens of ``q`` (EAGLE-2/3, SGLang),
  verified against the target alone: child ``c_j`` is kept with probability
  ``p(c_j) / (1 - sum_{i<j} p(c_i))``, and the residual is ``p`` off the children. Hence
  ``a_j = p(c_j)`` and tokens per step is the sum over nodes of the target probability of the node's
  path.

Sequence-level methods walk one rejection chain over the whole tree, each step a pair
``(accept, node, law)``: the first accepted step emits the path to ``node`` and ``Y ~ law``.

* ``block`` -- Block Verification of a chain ``x_1..x_g`` (Sun et al., ICLR 2025, arXiv 2403.10444):
  ``b_0 = 1``, ``b_i = min(1, b_{i-1} p_i(x_i) / q_i(x_i))``; ``R_i = sum_v (b_i p_{i+1}(v) - q_{i+1}(v))_+``;
  ``h_i = R_i / (R_i + 1 - b_i)`` for ``0 < i < g`` (1 where the denominator is 0), ``h_0 = 1``,
  ``h_g = b_g``. With independent ``eta_i ~ U(0, 1)`` it accepts ``x_1..x_tau``,
  ``tau = max{i : eta_i <= h_i}``, then emits ``Y ~ p_{g+1}`` if ``tau = g`` and
  ``Y ~ norm((b_tau p_{tau+1} - q_{tau+1})_+)`` otherwise: the chain of steps ``i = g, g-1, ..., 0``.
  Its expected accepted length over drafts is ``sum_l E_q[b_l]``.
* ``traversal``, ``traversal_wo`` -- Traversal Verification (Weng et al., NeurIPS 2025,
  arXiv 2505.12398, Alg. 3), siblings drawn i.i.d. from ``q`` or without replacement. Every node
  ``u`` holds ``M_b(.|u) = p(.|u)``, ``M_s(.|u) = q(.|u)`` and ``pi(u)``, with ``pi(root) = 1`` and
  ``pi(c) = min(1, pi(u) M_b(x_c|u) / M_s(x_c|u))``. Repeatedly: follow first remaining children
  from the root to a leaf ``l``; the root emits ``Y ~ M_b(.|root)``; otherwise accept ``root..l``
  with probability ``pi(l)`` and emit ``Y ~ M_b(.|l)``; on rejection delete ``l`` and, at its parent
  ``u``, ``S = sum_x (pi(u) M_b(x|u) - M_s(x|u))_+``, ``M_b(.|u) <- norm((pi(u) M_b - M_s)_+)``,
  ``M_s(.|u) <-`` ``M_s`` with ``x_l`` removed and renormalised (``traversal_wo`` only),
  ``pi(u) <- S / (S + 1 - pi(u))`` (1 where the denominator is 0), and ``pi`` of ``u``'s remaining
  subtree recomputed. On one level it is RRS (``traversal``) or RRS without replacement
  (``traversal_wo``); on a chain it is Block Verification.

Every method is lossless: the emitted tokens, extended by the target where fewer than
``depth + 1`` were emitted, follow the target's law (checked by enumeration in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..drafts import DRAFT_LAWS, DraftLaw, top_tokens
from ..simulate import walk
from ..verifiers import VERIFIERS, Verifier, method_names
from ..verifiers.single import normalized
from .recursion import step_value


class TopDraws(DraftLaw):
    """Deterministic children: the ``k`` most likely tokens of ``q`` in decreasing order (ties: lowest index)."""

    def min_support(self, k):
        return k

    def sample(self, q, k, rng, n):
        return np.tile(top_tokens(q, k), (n, 1))

    def enumerate(self, q, k):
        return top_tokens(q, k)[None].astype(np.int64), np.ones(1)


def _topk_procedure(drafts, p, q):
    left = 1.0  # the target mass not yet offered, 1 - sum_{i<j} p(c_i)
    for j, x in enumerate(drafts):
        yield (p[x] / left if left > 0.0 else 0.0), j
        left -= p[x]
    rest = p.copy()
    rest[np.asarray(drafts)] = 0.0
    yield 1.0, normalized(rest, p)


def _topk_positions(p, q, k):
    """``a_j = p(t_j)``, ``t_j`` the ``j``-th most likely token of ``q``; shape ``(n, k)``."""
    return np.stack([p[i, top_tokens(q[i], k)] for i in range(p.shape[0])])


#: The node verifier of deterministic top-k children.
TOPK = Verifier("topk", "top", _topk_procedure, _topk_positions)
#: The sibling law of ``topk``.
TOP = TopDraws("top")

#: Methods that verify node by node.
NODE_METHODS = method_names("topk")  # live: a registered verifier verifies trees too
#: Methods that verify the tree as one sequence-level chain, with the draft law of their siblings.
SEQUENCE_METHODS = {"block": "iid", "traversal": "iid", "traversal_wo": "wo"}
#: Every tree verifier by name.
TREE_METHODS = NODE_METHODS + tuple(SEQUENCE_METHODS)


def node_verifier(method: str, k: int) -> Verifier:
    """The verifier a node-wise ``method`` runs at a node with ``k`` children.

    The method itself when it is defined for ``k`` drafts; single-draft sampling at a one-child node
    of a method that needs more (SpecHub's pairs).
    """
    if method == "topk":
        return TOPK
    verifier = VERIFIERS[method]
    if verifier.supports(k):
        return verifier
    if k == 1:
        return VERIFIERS["single"]
    raise ValueError(f"tree: a node has {k} children but method {method!r} supports k = {verifier.k_values}")


def node_method(method: str, k: int) -> str:
    """The name of :func:`node_verifier`."""
    return node_verifier(method, k).name


def sibling_law(method: str, k: int) -> DraftLaw:
    """The law of the ``k`` children a node of a ``method`` tree drafts from ``q`` at its context."""
    if method in SEQUENCE_METHODS:
        return DRAFT_LAWS[SEQUENCE_METHODS[method]]
    name = node_verifier(method, k).law
    return TOP if name == "top" else DRAFT_LAWS[name]


def check_shape(tree, method: str) -> None:
    """Refuse a tree the method cannot verify (``block`` off chains, nodes wider than a method allows)."""
    for v, kids in enumerate(tree.children):
        if not kids:
            continue
        if method == "block" and len(kids) > 1:
            raise ValueError(f"tree: node {v} has {len(kids)} children; 'block' verifies chains (one child per node)")
        if method in NODE_METHODS:
            node_verifier(method, len(kids))


def check_drafts(view, method: str) -> None:
    """Refuse children that the method's sibling law could not have drafted at their parent's ``q``."""
    tree = view.tree
    for v, kids in enumerate(tree.children):
        if not kids:
            continue
        q = view.laws(v)[1]
        drafts = view.drafts(v)
        law = sibling_law(method, len(kids)).name
        if law == "top":
            if np.count_nonzero(q > 0) < len(kids):
                raise ValueError(f"tree: node {v} has {len(kids)} children but q at its context has only "
                                 f"{np.count_nonzero(q > 0)} tokens of positive mass ('topk')")
        else:
            for c, x in zip(kids, drafts):
                if q[x] <= 0.0:
                    raise ValueError(f"tokens: node {c} holds token {int(x)}, of zero draft mass at its parent's "
                                     f"context; method {method!r} samples its drafts from q")
        if law != "iid" and len(set(drafts.tolist())) < len(kids):
            raise ValueError(f"tokens: the children of node {v} repeat a token; {law!r} siblings are distinct")
        if law == "hub" and int(top_tokens(q, 1)[0]) not in drafts.tolist():
            raise ValueError(f"tokens: the children of node {v} miss the hub argmax q; 'hub' pairs hold it")
        if law == "greedy" and not np.array_equal(drafts[:-1], top_tokens(q, len(kids) - 1)):
            raise ValueError(f"tokens: the children of node {v} do not start with the top {len(kids) - 1} of q ('greedy')")


def _block_steps(view, laws: bool, average_last: bool = False):
    tree, tokens = view.tree, view.tokens
    chain = [0]
    while tree.children[chain[-1]]:
        chain.append(tree.children[chain[-1]][0])
    g = len(chain) - 1
    pq = [view.laws(chain[i]) for i in range(g)]  # the laws of x_{i+1}
    b = [1.0]
    for i in range(1, g + 1):
        p_i, q_i = pq[i - 1]
        x = tokens[chain[i]]
        if i == g and average_last:  # E over x_g ~ q_g of min(1, b_{g-1} p_g(x_g) / q_g(x_g))
            b.append(min(1.0, float(np.minimum(q_i, b[-1] * p_i).sum())))
        else:
            b.append(min(1.0, b[-1] * p_i[x] / q_i[x]))
    for i in range(g, -1, -1):
        if i == g:
            h = b[g]
            law = view.laws(chain[g])[0] if laws else None
        else:
            p_next, q_next = pq[i]
            rest = np.maximum(b[i] * p_next - q_next, 0.0)
            r = rest.sum()
            den = r + 1.0 - b[i]
            h = 1.0 if i == 0 or den <= 0.0 else r / den
            law = normalized(rest, p_next) if laws else None
        yield h, chain[i], law


def _traversal_steps(view, laws: bool, without_replacement: bool):
    tree, tokens = view.tree, view.tokens
    remaining = [list(kids) for kids in tree.children]
    m_b: dict[int, np.ndarray] = {}
    m_s: dict[int, np.ndarray] = {}
    pi = np.zeros(tree.n_nodes)
    pi[0] = 1.0

    def target(u):
        return m_b[u] if u in m_b else view.laws(u)[0]

    def draft(u):
        return m_s[u] if u in m_s else view.laws(u)[1]

    def refresh(u):  # pi of the remaining subtree of u
        stack = [u]
        while stack:
            w = stack.pop()
            if remaining[w]:
                mb, ms = target(w), draft(w)
                for c in remaining[w]:
                    x = tokens[c]
                    pi[c] = min(1.0, pi[w] * mb[x] / ms[x])
                    stack.append(c)

    refresh(0)
    while True:
        leaf = 0
        while remaining[leaf]:
            leaf = remaining[leaf][0]
        if leaf == 0:
            yield 1.0, 0, (target(0) if laws else None)
            return
        yield pi[leaf], leaf, (target(leaf) if laws else None)
        u = tree.parents[leaf]
        remaining[u].pop(0)
        mb, ms = target(u), draft(u)
        rest = np.maximum(pi[u] * mb - ms, 0.0)
        s = rest.sum()
        m_b[u] = normalized(rest, mb)
        if without_replacement:
            cut = ms.copy()
            cut[tokens[leaf]] = 0.0
            m_s[u] = normalized(cut, ms)
        den = s + 1.0 - pi[u]
        pi[u] = s / den if den > 0.0 else 1.0
        refresh(u)


def sequence_steps(view, method: str, laws: bool = False, average_last_level: bool = False):
    """The chain of ``(accept, node, law)`` a sequence-level method walks on ``view`` (module docstring),
    up to its first certain step; ``law`` is ``None`` unless ``laws``. ``average_last_level``
    (``block`` only): the last step's acceptance averaged over the last draft (:func:`expected_tokens`)."""
    steps = _block_steps(view, laws, average_last_level) if method == "block" else _traversal_steps(view, laws, method == "traversal_wo")
    for accept, node, law in steps:
        yield accept, node, law
        if accept >= 1.0:
            return


@dataclass(frozen=True)
class Outcome:
    """The exact outcome of one verification step given the drafts.

    ``stop[v]``, shape ``(n_nodes,)``: probability that the accepted path ends at node ``v`` (the step
    emits ``depth(v) + 1`` tokens); ``final[v]``, shape ``(n_nodes, V)`` when asked for: the
    probability of stopping at ``v`` and emitting each last token (row sums ``stop``).
    """

    stop: np.ndarray
    final: np.ndarray | None


def outcome(view, method: str, laws: bool = False, average_last_level: bool = False) -> Outcome:
    """The :class:`Outcome` of ``method`` on ``view``, exact (trusted arguments); ``average_last_level``
    as in :func:`expected_tokens` (``stop`` only)."""
    tree = view.tree
    n = tree.n_nodes
    stop = np.zeros(n)
    final = None
    if method in SEQUENCE_METHODS:
        reach = 1.0
        for accept, node, law in sequence_steps(view, method, laws, average_last_level):
            stop[node] += reach * accept
            if laws:
                final = np.zeros((n, law.size)) if final is None else final
                final[node] += reach * accept * law
            reach *= 1.0 - accept
        return Outcome(stop, final)
    reach = np.zeros(n)
    reach[0] = 1.0
    for v, kids in enumerate(tree.children):
        if kids:
            if average_last_level and not laws and all(not tree.children[c] for c in kids):
                law, kept = None, _mean_kept(view, v, method, len(kids))
            else:
                law, kept = view.node_outcome(v, node_verifier(method, len(kids)))
            reach[list(kids)] = reach[v] * kept
            stop[v] = reach[v] * max(0.0, 1.0 - kept.sum())
            if laws:
                off = law.copy()
                off[view.drafts(v)] = 0.0
        else:
            stop[v] = reach[v]
            if laws:
                off = view.laws(v)[0]
        if laws:
            final = np.zeros((n, off.size)) if final is None else final
            final[v] = reach[v] * off
    return Outcome(stop, final)


def expected_tokens(view, method: str, average_last_level: bool = False) -> float:
    """Exact expected tokens per step given the drafts of ``view`` (trusted arguments).

    Node-wise: ``T(root)`` of the recursion with ``a_j(v)`` from the node's chain; sequence-level:
    ``sum_v stop[v] (depth(v) + 1)``.

    ``average_last_level=True`` gives instead the value averaged exactly over the drafts of the
    last level (every node whose children are all leaves draws them afresh from its sibling law),
    given every other draft and every node's laws: a conditional expectation of the value above,
    so it has the same mean over trees and a smaller variance (Rao-Blackwell). Node-wise, such a
    node's ``a_j`` is replaced by its mean over the node's draft law
    (:func:`spechub_theory.acceptance_by_position`), which the recursion uses linearly since a leaf's
    value is 1. ``block``: only the last step ``h_g = b_g`` depends on the last draft ``x_g``, and the
    stopping probabilities are linear in it, so ``b_g`` is replaced by
    ``E_{x ~ q_g} min(1, b_{g-1} p_g(x) / q_g(x)) = sum_x min(q_g(x), b_{g-1} p_g(x))``.
    ``traversal`` and ``traversal_wo`` are refused: after a leaf's rejection the walk's next
    acceptances depend on that leaf's token (``traversal_wo`` removes it from ``q``), so the last
    level does not average node by node.
    """
    if average_last_level and method in ("traversal", "traversal_wo"):
        raise ValueError(f"average_last_level: not available for {method!r} (a rejected leaf's token changes "
                         "the later steps of the walk, so the last level does not average node by node)")
    if method in SEQUENCE_METHODS:
        stop = outcome(view, method, average_last_level=average_last_level).stop
        return float(stop @ (np.asarray(view.tree.depths) + 1.0))
    tree = view.tree

    def kept(v, kids):
        if average_last_level and all(not tree.children[c] for c in kids):
            return _mean_kept(view, v, method, len(kids))
        return view.node_kept(v, node_verifier(method, len(kids)))

    return step_value(tree, kept)


def controls(view, method: str, average_last_level: bool = False) -> np.ndarray:
    """Control variates of a drafted tree under a node-wise ``method``, shape ``(depth,)``, each of
    mean exactly 0 over the drafts (:meth:`spechub_theory.tree.LoggedTrees.controls` states the
    definition and why): ``Z_d = sum_{v at depth d} r(v) (A(v) - alpha(v))``."""
    if method not in NODE_METHODS:
        raise ValueError(f"method: control variates are of node-wise methods; {method!r} verifies the whole tree")
    from ..acceptance import acceptance_rate

    tree = view.tree
    reach = np.zeros(tree.n_nodes)
    reach[0] = 1.0
    z = np.zeros(max(tree.depths))
    for v, kids in enumerate(tree.children):
        if not kids:
            continue
        verifier = node_verifier(method, len(kids))
        kept = view.node_kept(v, verifier)
        reach[list(kids)] = reach[v] * kept
        if verifier is TOPK or (average_last_level and all(not tree.children[c] for c in kids)):
            continue  # deterministic drafts, or drafts averaged out: nothing random to control
        z[tree.depths[v]] += reach[v] * (kept.sum() - acceptance_rate(*view.laws(v), verifier.name, len(kids)))
    return z


def _mean_kept(view, v: int, method: str, k: int) -> np.ndarray:
    """The mean over node ``v``'s draft law of the probability that it keeps each of its ``k`` children."""
    from ..acceptance import acceptance_by_position

    verifier = node_verifier(method, k)
    if verifier is TOPK:  # deterministic children: nothing to average
        return view.node_kept(v, verifier)
    return acceptance_by_position(*view.laws(v), verifier.name, k)


def run(view, method: str, rng: np.random.Generator, final: bool = True) -> tuple[int, tuple[int, ...]]:
    """One verification of ``view`` with uniforms from ``rng``: ``(node, emitted tokens)``.

    The step accepts the path to ``node`` and emits its tokens and one more (drawn only with
    ``final``; without it the emitted tuple holds the path alone and leaves need no laws).
    """
    tree = view.tree
    if method in SEQUENCE_METHODS:
        for accept, node, law in sequence_steps(view, method, final):
            if accept >= 1.0 or rng.random() < accept:
                path = view.path_tokens(node)
                return node, path + ((int(rng.choice(law.size, p=law)),) if final else ())
    v, emitted = 0, []
    while tree.children[v]:
        kids = tree.children[v]
        tokens, chosen = walk(node_verifier(method, len(kids)), view.drafts(v), *view.laws(v), 1, rng)
        if chosen[0] < 0:
            return v, tuple(emitted) + ((int(tokens[0]),) if final else ())
        emitted.append(int(tokens[0]))
        v = kids[int(chosen[0])]
    if final:
        p = view.laws(v)[0]
        emitted.append(int(rng.choice(p.size, p=p)))
    return v, tuple(emitted)
