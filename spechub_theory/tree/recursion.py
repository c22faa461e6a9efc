r"""The one exact recursion of node-wise tree verification.

With ``a_j(v)`` the probability that internal node ``v`` keeps its child ``j`` (for one drafted tree,
from the node's rejection chain; for i.i.d. nodes, its mean over the node's pool), the expected
number of tokens a step emits from ``v`` is

    T(v) = 1 + sum_j a_j(v) T(child_j(v)),   T(leaf) = 1,

and tokens per step is ``T(root)``. For a chain of depth ``D`` with acceptance ``alpha`` at every
node this is ``sum_{d=0}^{D} alpha^d``.
"""

from __future__ import annotations

import numpy as np


def step_value(tree, kept) -> float:
    """``T(root)``, with ``kept(v, children)`` the probabilities ``a_j(v)``, shape ``(len(children),)``,
    that internal node ``v`` keeps each child.

    Examples
    --------
    >>> from spechub_theory import Tree
    >>> step_value(Tree.chain(2), lambda v, kids: [0.5])  # 1 + 1/2 + 1/4
    1.75
    """
    expected = [1.0] * tree.n_nodes
    for v in range(tree.n_nodes - 1, -1, -1):  # children come after their parent
        kids = tree.children[v]
        if kids:
            expected[v] = 1.0 + float(np.dot(kept(v, kids), [expected[c] for c in kids]))
    return expected[0]
