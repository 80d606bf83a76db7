"""The exporter's dependency graph: nodes are module names (and ``"<pkg.resource>"`` for
pickles) with attributes, edges mean "depends on". Same interface as torch.package's
``_digraph.DiGraph`` (networkx-like).

Difference from torch 1.13: the transitive closures start from the node given, not from the
characters of its name, so :meth:`all_paths` works for every node (1.13 raised
``ValueError: The node < is not in the digraph`` for any name longer than one character), and
:meth:`all_paths` always returns dot text (1.13 returned an empty ``DiGraph`` object when
``dst`` is unreachable).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Dict, Iterator, List, Set, Tuple

__all__ = ["DiGraph"]


class DiGraph:
    """A small directed graph that remembers the order in which nodes were added."""

    def __init__(self) -> None:
        self._node: Dict[Any, Dict[str, Any]] = {}
        self._succ: Dict[Any, Dict[Any, bool]] = {}
        self._pred: Dict[Any, Dict[Any, bool]] = {}
        self._node_order: Dict[Any, int] = {}
        self._insertion_idx = 0

    def add_node(self, n: Any, **kwargs: Any) -> None:
        """Adds ``n`` with the given attributes, or merges them into an existing node."""
        attrs = self._node.get(n)
        if attrs is not None:
            attrs.update(kwargs)
            return
        self._node[n] = dict(kwargs)
        self._succ[n] = {}
        self._pred[n] = {}
        self._node_order[n] = self._insertion_idx
        self._insertion_idx += 1

    def add_edge(self, u: Any, v: Any) -> None:
        """Adds the edge ``u -> v``, creating either node if needed."""
        self.add_node(u)
        self.add_node(v)
        self._succ[u][v] = True
        self._pred[v][u] = True

    def successors(self, n: Any) -> Iterator[Any]:
        if n not in self._succ:
            raise ValueError(f"The node {n} is not in the digraph.")
        return iter(self._succ[n])

    def predecessors(self, n: Any) -> Iterator[Any]:
        if n not in self._pred:
            raise ValueError(f"The node {n} is not in the digraph.")
        return iter(self._pred[n])

    @property
    def edges(self) -> Iterator[Tuple[Any, Any]]:
        for n, successors in self._succ.items():
            for s in successors:
                yield n, s

    @property
    def nodes(self) -> Dict[Any, Dict[str, Any]]:
        return self._node

    def __iter__(self) -> Iterator[Any]:
        return iter(self._node)

    def __contains__(self, n: Any) -> bool:
        try:
            return n in self._node
        except TypeError:  # unhashable
            return False

    def _closure(self, src: Any, forward: bool) -> Set[Any]:
        step = self.successors if forward else self.predecessors
        result = {src}
        step(src)  # ValueError for an unknown node
        pending = deque([src])
        while pending:
            for n in step(pending.popleft()):
                if n not in result:
                    result.add(n)
                    pending.append(n)
        return result

    def forward_transitive_closure(self, src: Any) -> Set[Any]:
        """``src`` and every node reachable from it."""
        return self._closure(src, True)

    def backward_transitive_closure(self, src: Any) -> Set[Any]:
        """``src`` and every node from which it is reachable."""
        return self._closure(src, False)

    def all_paths(self, src: Any, dst: Any) -> str:
        """Dot text of the subgraph made of every path from ``src`` to ``dst``."""
        result = DiGraph()
        reachable = self.forward_transitive_closure(src)
        if dst not in reachable:
            return result.to_dot()
        pending = deque([dst])
        seen = {dst}
        while pending:
            current = pending.popleft()
            for n in self.predecessors(current):
                if n in reachable:
                    result.add_edge(n, current)
                    if n not in seen:
                        seen.add(n)
                        pending.append(n)
        return result.to_dot()

    def first_path(self, dst: Any) -> List[Any]:
        """The path through which ``dst`` first entered the graph: at each step the predecessor
        that was added earliest, back to a node without predecessors."""
        path: List[Any] = []
        seen: Set[Any] = set()
        current = dst
        while current is not None and current not in seen:
            path.append(current)
            seen.add(current)
            preds = self._pred.get(current, {})
            current = min(preds, key=lambda p: self._node_order[p], default=None)
        path.reverse()
        return path

    def to_dot(self) -> str:
        """Graphviz text: ``digraph G { rankdir = LR; node [shape=box]; "a" -> "b"; ... }``."""
        edges = "\n".join(f'"{u}" -> "{v}";' for u, v in self.edges)
        return f"digraph G {{\nrankdir = LR;\nnode [shape=box];\n{edges}\n}}\n"
