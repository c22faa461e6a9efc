"""The shape of a draft tree: which node is whose child.

Node 0 is the root (the context); every other node holds one drafted token, and children come
after their parent in the numbering. Tree sizes count the root, as in the SpecHub and Sequoia
papers: a full binary tree of 3 nodes is the root and two drafts.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from functools import cached_property


def _positive(value, name: str, *, zero: bool = False) -> int:
    """``value`` as an int, refused unless a (non-negative with ``zero``) positive integer."""
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{name}: expected a {kind} integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Tree:
    """A draft tree: ``children[v]`` lists the children of node ``v``; node 0 is the root.

    Nodes are numbered so that every child comes after its parent.

    Examples
    --------
    >>> Tree.full(2, 7).children
    ((1, 2), (3, 4), (5, 6), (), (), (), ())
    >>> Tree.chain(2).depths
    (0, 1, 2)
    """

    children: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        n = len(self.children)
        seen = [0] * n
        for v, kids in enumerate(self.children):
            for c in kids:
                if not (isinstance(c, int) and v < c < n):
                    raise ValueError(f"children: node {v} lists child {c!r}; children must be later node ids < {n}")
                seen[c] += 1
        if n == 0 or any(seen[c] != 1 for c in range(1, n)):
            raise ValueError("children: every node but the root must have exactly one parent")

    @classmethod
    def from_levels(cls, counts) -> "Tree":
        """Every node at depth ``d`` has ``counts[d]`` children (Sequoia-style per-level widths)."""
        children: list[tuple[int, ...]] = [()]
        level = [0]
        for width in counts:
            if isinstance(width, bool) or not isinstance(width, int) or width < 1:
                raise ValueError(f"counts: each level needs a positive integer number of children, got {width!r}")
            nxt = []
            for v in level:
                kids = tuple(range(len(children), len(children) + width))
                children[v] = kids
                children.extend(() for _ in kids)
                nxt.extend(kids)
            level = nxt
        return cls(tuple(children))

    @classmethod
    def full(cls, branching: int, nodes: int) -> "Tree":
        """The full ``branching``-ary tree with ``nodes`` nodes (root included), e.g. binary 3, 7, 15, 31."""
        branching = _positive(branching, "branching")
        nodes = _positive(nodes, "nodes")
        depth, total = 0, 1
        while total < nodes:
            depth += 1
            total += branching**depth
        if total != nodes:
            raise ValueError(f"nodes: no full {branching}-ary tree has {nodes} nodes")
        return cls.from_levels([branching] * depth)

    @classmethod
    def chain(cls, depth: int) -> "Tree":
        """A chain of ``depth`` drafts (``depth + 1`` nodes); ``depth = 0`` is the root alone."""
        return cls.from_levels([1] * _positive(depth, "depth", zero=True))

    @property
    def n_nodes(self) -> int:
        return len(self.children)

    @cached_property
    def depths(self) -> tuple[int, ...]:
        """The depth of every node (the root's is 0)."""
        depth = [0] * self.n_nodes
        for v, kids in enumerate(self.children):
            for c in kids:
                depth[c] = depth[v] + 1
        return tuple(depth)

    @cached_property
    def parents(self) -> tuple[int, ...]:
        """The parent of every node (-1 for the root)."""
        parent = [-1] * self.n_nodes
        for v, kids in enumerate(self.children):
            for c in kids:
                parent[c] = v
        return tuple(parent)

    @property
    def depth(self) -> int:
        """The number of draft levels (0 for the root alone)."""
        return max(self.depths)

    def path(self, v: int) -> tuple[int, ...]:
        """The nodes from the root's first child down to ``v`` (empty for the root)."""
        out = []
        while v > 0:
            out.append(v)
            v = self.parents[v]
        return tuple(reversed(out))
