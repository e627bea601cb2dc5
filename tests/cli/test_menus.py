"""``menus check`` and ``menus graph`` as real subprocesses: exit codes, lines, and graphs that parse."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.profile import load_profile
from menus.loader import offers
from tests.support.cli import ROOT, Gateway

#: Khmer needs UCS-2; each of these characters is one UTF-16 unit, so ``len`` counts what the limit counts.
LONG_KM = "តវ៉ាវិក្កយបត្រចុងក្រោយ? ចំនួនទឹកប្រាក់ត្រូវរក្សាទុកជាប្រាក់កក់រហូតដល់វិវាទត្រូវបានដោះស្រាយ។"


def _set(path: Path, key: str, value: str) -> None:
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{key} = ") + 1
    end = text.index("\n", start)
    path.write_text(text[:start] + f'{key} = "{value}"' + text[end:], encoding="utf-8")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def shown_screens(profile_name: str) -> set[tuple[str, str]]:
    """(tree, screen) of every screen a subscriber of the profile can reach, read from the shipped
    files directly: options whose ``when`` the profile lacks lead nowhere."""
    profile = load_profile(profile_name)
    found = set()
    for path in sorted((ROOT / "menus" / "trees").glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        queue, seen = [raw["start"]], {raw["start"]}
        while queue:
            spec = raw["screens"][queue.pop()]
            targets = [o["target"] for o in spec.get("options", ()) if "when" not in o or offers(profile, o["when"])]
            targets += [spec[key] for key in ("next", "cancel") if key in spec]
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        found |= {(path.stem, sid) for sid in seen}
    return found


class TestCheck:
    @pytest.mark.parametrize("profile", ["smart-kh", "smart-np"])
    def test_shipped_profile_passes_without_a_database(self, gateway: Gateway, profile: str) -> None:
        """Exit 0 and one summary line; the check needs no database and creates none."""
        none = gateway.tmp / "none.db"

        proc = gateway("menus", "check", env={"GATEWAY_OPERATOR_PROFILE": profile,
                                              "GATEWAY_DATABASE_PATH": str(none)})

        assert proc.stdout.splitlines() == [proc.stdout.strip()]
        assert proc.stdout.startswith("menus ok: 4 trees, ") and f"({profile})" in proc.stdout
        assert proc.stderr == "" and not none.exists()

    def test_every_problem_one_line_naming_file_and_path_exit_2(self, gateway: Gateway) -> None:
        """A dangling option and a Khmer prompt over the limit: every problem of the run on stdout,
        relative to the working directory, and a count on stderr."""
        menus = gateway.own_menus()
        _edit(menus / "trees" / "selfcare.toml", 'target = "marketing"', 'target = "marketting"')
        _set(menus / "locales" / "km" / "selfcare.toml", "lost_id_prompt", LONG_KM)

        proc = gateway("menus", "check", check=False)

        lines = proc.stdout.splitlines()
        assert proc.returncode == 2
        assert lines == [
            "menus/trees/selfcare.toml: screens.main.options[3].target: no screen 'marketting'",
            "menus/trees/selfcare.toml: screens.marketing: unreachable: no way leads here from start 'main'",
            "menus/trees/selfcare.toml: screens.marketing_stop: unreachable: no way leads here from start 'main'",
            "menus/trees/selfcare.toml: screens.marketing_start: unreachable: no way leads here from start 'main'",
            f"menus/locales/km/selfcare.toml: selfcare.lost_id_prompt: {len(LONG_KM) + len(chr(10) + '0 ត្រឡប់')} "
            "UCS-2 characters, over 80: question selfcare:lost_id, with 0 Back, must fit on one page",
        ]
        assert proc.stderr == "error: 5 problems in the menus of smart-kh\n"

    def test_the_configured_screen_limit_is_checked(self, gateway: Gateway) -> None:
        """[http] screen_chars_ucs2 of --config is the limit: 200 lets the long Khmer prompt pass."""
        menus = gateway.own_menus()
        _set(menus / "locales" / "km" / "selfcare.toml", "lost_id_prompt", LONG_KM)
        config = gateway.csv("wide.toml", "[http]\nscreen_chars_ucs2 = 200\n")

        assert gateway("menus", "check", check=False).returncode == 2
        assert gateway("menus", "check", "--config", str(config)).stdout.startswith("menus ok: ")


NODE = re.compile(r'^    (\w+)\["([^"]*)"\]$')
EDGE = re.compile(r'^  (\w+) -->\|"([^"]*)"\| (\w+)$')
DOT_NODE = re.compile(r'^    "([^"]+)" \[label="((?:[^"\\]|\\.)*)"\];$')
DOT_EDGE = re.compile(r'^  "([^"]+)" -> "([^"]+)" \[label="((?:[^"\\]|\\.)*)"\];$')


class TestGraph:
    def test_mermaid_every_screen_a_node_every_edge_between_nodes(self, gateway: Gateway) -> None:
        """smart-kh's graph: a node per screen it shows (labelled with its id and English text), none
        for the screens of options it does not offer, and edges labelled with the answers."""
        proc = gateway("menus", "graph")

        lines = proc.stdout.splitlines()
        assert lines[0] == "flowchart TD"
        nodes: dict[str, str] = {}
        edges = []
        for line in lines[1:]:
            if node := NODE.match(line):
                nodes[node[1]] = node[2]
            elif edge := EDGE.match(line):
                edges.append((edge[1], edge[2], edge[3]))
            else:
                assert re.fullmatch(r'  subgraph tree_\w+ \["\w+ \(\*[\d*]+#\)"\]|  end', line), line
        assert set(nodes) == {f"{tree}__{sid}" for tree, sid in shown_screens("smart-kh")}
        assert all(nodes[f"{tree}__{sid}"].startswith(f"{sid}: ") for tree, sid in shown_screens("smart-kh"))
        assert "selfcare__statement" not in nodes  # smart-kh offers no detailed statement
        assert nodes["selfcare__main"] == "main: Smart self-care"
        assert all(source in nodes and target in nodes for source, _, target in edges)
        assert ("selfcare__main", "3", "selfcare__lost_number") in edges
        assert ("selfcare__lost_confirm", "2", "selfcare__main") in edges
        assert ("topup__pin", "pin (nothing more dialled)", "topup__topup") in edges

    def test_dot_every_screen_a_node_every_edge_between_nodes(self, gateway: Gateway) -> None:
        """smart-np's graph as DOT: one digraph, a cluster per tree, its screens and answers."""
        proc = gateway("menus", "graph", "--format", "dot", env={"GATEWAY_OPERATOR_PROFILE": "smart-np"})

        lines = proc.stdout.splitlines()
        assert lines[0] == "digraph menus {" and lines[-1] == "}"
        assert proc.stdout.count("{") == proc.stdout.count("}")
        nodes = {m[1]: m[2] for line in lines if (m := DOT_NODE.match(line))}
        edges = [(m[1], m[3], m[2]) for line in lines if (m := DOT_EDGE.match(line))]
        assert set(nodes) == {f"{tree}__{sid}" for tree, sid in shown_screens("smart-np")}
        assert "selfcare__statement" in nodes and "selfcare__language_km" not in nodes
        assert all(source in nodes and target in nodes for source, _, target in edges)
        assert ("selfcare__statement", "1", "selfcare__statement_ask") in edges
        assert sum(line.startswith('  subgraph "cluster_tree_') for line in lines) == 4

    def test_unknown_format_is_refused_in_one_line(self, gateway: Gateway) -> None:
        """--format svg: exit 2, one line naming the formats; nothing on stdout."""
        message = gateway.refused("menus", "graph", "--format", "svg")

        assert message == "error: --format: 'svg' is not one of mermaid, dot"

    def test_broken_tree_is_refused_in_one_line(self, gateway: Gateway) -> None:
        """A graph of a tree that does not load: its first problem, one line, exit 2."""
        _edit(gateway.own_menus() / "trees" / "topup.toml", 'next = "target"', 'next = "tagret"')

        message = gateway.refused("menus", "graph")

        assert message == "error: menus/trees/topup.toml: screens.pin.next: no screen 'tagret'"
