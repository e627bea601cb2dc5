"""``menus.graph``: texts that would break Mermaid or DOT are written so that both still read them."""

from __future__ import annotations

from pathlib import Path

from gateway.profile import load_profile
from menus.graph import build_graph, dot, mermaid
from menus.lint import lint
from tests.support.menus import Menus


def _graph(tmp_path: Path, title: str) -> tuple[str, str]:
    small = Menus(tmp_path, load_profile("smart-kh"))
    small.set_text("en", "title", title)
    linted = lint(small.profile, trees=small.trees, locales=small.locales)
    assert linted.problems == ()
    graph = build_graph(linted.menus, linted.catalog, "en", {"selfcare": "*100#"})
    return mermaid(graph), dot(graph)


def test_quotes_backslashes_and_entity_like_text_are_escaped(tmp_path: Path) -> None:
    """A title with a quote, a backslash and ``#1;``: Mermaid gets entity codes, DOT backslash escapes."""
    as_mermaid, as_dot = _graph(tmp_path, 'Say "hi" \\ #1; *100#')

    assert '    selfcare__main["main: Say #quot;hi#quot; \\ #35;1; *100#"]' in as_mermaid.splitlines()
    assert '    "selfcare__main" [label="main: Say \\"hi\\" \\\\ #1; *100#"];' in as_dot.splitlines()


def test_only_the_options_the_profile_offers_are_drawn(tmp_path: Path) -> None:
    """smart-kh offers no statement: neither its screens nor an edge to them are in the graph."""
    as_mermaid, as_dot = _graph(tmp_path, "Self-care")

    assert "statement" not in as_mermaid and "statement" not in as_dot
    assert '  selfcare__main -->|"2"| selfcare__stop' in as_mermaid.splitlines()
    assert '  "selfcare__sure" -> "selfcare__main" [label="2"];' in as_dot.splitlines()
