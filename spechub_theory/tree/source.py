"""The protocol every source of drafted trees follows.

A *source* says where the laws and drafts at the nodes of a tree come from. Three implement it:
:class:`~spechub_theory.NodePool` (every node's ``(p, q)`` drawn independently from a pool of
positions, drafts from the method's sibling law), :class:`~spechub_theory.LoggedTrees` (draft trees
logged along real text) and :class:`~spechub_theory.DraftedTree` (one drafted tree). The views of
:mod:`spechub_theory.tree.views` need only these five methods:

* ``check(tree, method)`` -- refuse a tree or method the source cannot serve (``ValueError``);
* ``exact(tree, method, **limits)`` -- the exact expected tokens per step over the source's law;
* ``draw(tree, method, rng)`` -- one drafted tree from the source's law
  (a :class:`~spechub_theory.tree.drafted.DraftedView`);
* ``start(tree, method, n, rng)`` and ``advance(tree, v, verifier, keys, rng)`` -- the node-wise
  walker's two questions: an int key per step for the root (which logged tree, or none), and, for
  the steps at node ``v`` with their keys, which child each keeps (-1: none) and the children's keys.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class TreeSource(Protocol):
    def check(self, tree, method: str) -> None: ...

    def exact(self, tree, method: str, **limits) -> float: ...

    def draw(self, tree, method: str, rng: np.random.Generator): ...

    def start(self, tree, method: str, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def advance(self, tree, v: int, verifier, keys: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]: ...
