"""The menu trees as a graph (``menus graph``): Mermaid or Graphviz DOT text.

A node per screen the profile can show, labelled with its id and its text in
the chosen language (an action screen without text: its action); an edge per
way out, labelled with the answer that takes it: an option's number, the
input a ``next`` wants (its validator), a confirmation's ``1`` / ``2`` (and
past a screen only a dialled answer reaches, when nothing more was dialled). One
subgraph per tree, titled with its service code. Screens only options the
profile does not offer lead to are left out, as the subscriber never sees them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from menus.actions import Texts
from menus.loader import Menus
from menus.tree import MenuTree, Screen, ScreenKind

FORMATS = ("mermaid", "dot")


@dataclass(frozen=True)
class Node:
    id: str
    label: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Cluster:
    """One tree: its nodes, under a title naming the tree and its code."""

    id: str
    title: str
    nodes: tuple[Node, ...]


@dataclass(frozen=True)
class Graph:
    clusters: tuple[Cluster, ...]
    edges: tuple[Edge, ...]


def build_graph(menus: Menus, texts: Texts, language: str, codes: Mapping[str, str]) -> Graph:
    """The graph of ``menus`` with labels in ``language`` (``codes``: tree name → code as dialled)."""
    clusters, edges = [], []
    for tree in menus.trees.values():
        shown = tree.reachable()
        nodes = tuple(Node(_node_id(tree, sid), _label(tree.screen(sid), texts, language))
                      for sid in tree.screens if sid in shown)
        clusters.append(Cluster(_ident(f"tree_{tree.name}"), f"{tree.name} ({codes.get(tree.name, tree.code)})",
                                nodes))
        for sid in tree.screens:
            if sid not in shown:
                continue
            for target, label in _ways(tree, tree.screen(sid)):
                edges.append(Edge(_node_id(tree, sid), _node_id(tree, target), label))
                # A screen only a dialled answer reaches is passed by when nothing more was dialled.
                skipped = tree.screens.get(target)
                while skipped is not None and skipped.dialled_only and skipped.next is not None:
                    edges.append(Edge(_node_id(tree, sid), _node_id(tree, skipped.next),
                                      f"{label} (nothing more dialled)"))
                    skipped = tree.screens.get(skipped.next)
    return Graph(tuple(clusters), tuple(edges))


def _ways(tree: MenuTree, screen: Screen) -> list[tuple[str, str]]:
    """(target, answer) of each way out of ``screen`` the profile offers."""
    if screen.kind is ScreenKind.MENU:
        return [(o.target, str(n)) for n, o in enumerate(screen.options, 1)]
    if screen.kind is ScreenKind.INPUT and screen.next is not None:
        return [(screen.next, screen.validate or "answer")]
    if screen.kind is ScreenKind.CONFIRM and screen.next is not None:
        return [(screen.next, "1"), (screen.cancel or tree.start, "2")]
    return []


def _label(screen: Screen, texts: Texts, language: str) -> str:
    if screen.text:
        text = texts.text(screen.text, language)
    else:
        text = screen.action or screen.kind.value
    if screen.show:
        text = f"[{screen.show}] {text}"
    if screen.dialled_only:
        text += " (only when dialled with the code)"
    return f"{screen.id}: " + " ".join(text.split())


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text, flags=re.ASCII)


def _node_id(tree: MenuTree, sid: str) -> str:
    return _ident(f"{tree.name}__{sid}")


def mermaid(graph: Graph) -> str:
    """A Mermaid ``flowchart``: one ``subgraph`` per tree."""
    lines = ["flowchart TD"]
    for cluster in graph.clusters:
        lines.append(f'  subgraph {cluster.id} ["{_mermaid_text(cluster.title)}"]')
        lines += [f'    {node.id}["{_mermaid_text(node.label)}"]' for node in cluster.nodes]
        lines.append("  end")
    lines += [f'  {e.source} -->|"{_mermaid_text(e.label)}"| {e.target}' for e in graph.edges]
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid reads entity codes (``#quot;``) in quoted text: a quote, and a hash that would
    # start one, are written as codes.
    return re.sub(r"#(?=\w+;)", "#35;", text).replace('"', "#quot;")


def dot(graph: Graph) -> str:
    """A Graphviz ``digraph``: one ``cluster_`` subgraph per tree."""
    lines = ["digraph menus {", "  rankdir=TB;", "  node [shape=box];"]
    for cluster in graph.clusters:
        lines.append(f"  subgraph {_dot_text('cluster_' + cluster.id)} {{")
        lines.append(f"    label={_dot_text(cluster.title)};")
        lines += [f"    {_dot_text(node.id)} [label={_dot_text(node.label)}];" for node in cluster.nodes]
        lines.append("  }")
    lines += [f"  {_dot_text(e.source)} -> {_dot_text(e.target)} [label={_dot_text(e.label)}];"
              for e in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(graph: Graph, fmt: str) -> str:
    """``graph`` in one of ``FORMATS``.

    Raises:
        ValueError: another format.
    """
    if fmt == "mermaid":
        return mermaid(graph)
    if fmt == "dot":
        return dot(graph)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
