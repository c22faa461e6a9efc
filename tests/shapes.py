"""Every ordered tree of a size, for brute force over tree shapes (shared by the tree-choosing tests)."""

from functools import lru_cache

from spechub_theory import Tree


def forests(n: int, width: int, depth: int) -> tuple:
    """Every ordered forest of ``n`` nodes in at most ``width`` trees of at most ``width`` children
    per node, each tree of depth < ``depth`` (nested tuples: a tree is the tuple of its children's trees)."""
    return _forests(n, width, depth, width)


@lru_cache(maxsize=None)
def _forests(n: int, slots: int, depth: int, width: int) -> tuple:
    if n == 0:
        return ((),)
    if slots == 0 or depth == 0:
        return ()
    out = []
    for first in range(1, n + 1):
        for kids in _forests(first - 1, width, depth - 1, width):
            for rest in _forests(n - first, slots - 1, depth, width):
                out.append((kids,) + rest)
    return tuple(out)


def as_tree(kids) -> Tree:
    """The :class:`Tree` of a nested tuple of children (nodes numbered depth first)."""
    children = []

    def grow(k):
        v = len(children)
        children.append(())
        children[v] = tuple(grow(c) for c in k)
        return v

    grow(kids)
    return Tree(tuple(children))


def ordered_trees(n: int, width: int, depth: int | None = None) -> list:
    """Every ordered tree of ``n`` nodes, at most ``width`` children per node and depth at most ``depth``."""
    return [as_tree(k) for k in forests(n - 1, width, n - 1 if depth is None else depth)]
