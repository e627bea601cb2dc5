"""``menus check`` and ``menus graph``: the profile's menu trees and texts, linted or drawn.

``check`` prints every problem ``menus.lint`` finds, one line each naming the
file and the path inside it, and exits 2 if there is any; ``serve`` refuses
to start on the same problems. ``graph`` prints the trees as Mermaid or DOT.
Both read the configuration only for the operator profile and the screen
limits; neither touches the database.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.cli import EXIT_REFUSED, CliError, add_config_option, command_group
from gateway.config import load_settings
from gateway.profile import OperatorProfile, load_profile
from menus.paging import ScreenLimits

CHECK_HELP = """\
Lint every menu tree and text of the operator profile: files that cannot be read,
unknown keys, actions or validators, options, next and cancel naming no screen,
screens no walk from the start reaches, texts missing in a language of the profile
or named by a tree and defined nowhere, texts of selfcare.toml no tree shows,
placeholders that differ between languages or that a screen cannot fill, and
screens over the length limit in any language ([http] screen_chars_gsm for GSM
7-bit text, screen_chars_ucs2 once any character needs UCS-2, as for Khmer or
Nepali). Long screens are paged, so "over the limit" means what paging cannot
mend: a question (an input or a confirmation) must fit on one page, as shown
(with its answers and 0 Back) and shown again after a refused answer (with the
hint above it); each line of a menu must fit on a page with 98 More and 0 Back.
Only screens the profile can show are measured; results of actions are paged
and not measured. One line per problem, naming the file and the path inside it;
exit 2 if there is any, else 0 and a one-line summary. serve refuses to start on
the same problems."""


def _profile_and_limits(args: argparse.Namespace) -> tuple[str, OperatorProfile, ScreenLimits]:
    """The profile as configured (its name, itself) and the screen limits."""
    settings = load_settings(args.config)
    limits = ScreenLimits(settings.http.screen_chars_gsm, settings.http.screen_chars_ucs2)
    return settings.operator.profile, load_profile(settings.operator.profile), limits


def cmd_check(args: argparse.Namespace) -> int:
    from menus.lint import lint

    name, profile, limits = _profile_and_limits(args)
    linted = lint(profile, limits)
    for problem in linted.problems:
        print(problem)
    if linted.problems:
        count = len(linted.problems)
        print(f"error: {count} problem{'s' if count > 1 else ''} in the menus of {name}", file=sys.stderr)
        return EXIT_REFUSED
    trees = linted.menus.trees
    screens = sum(len(tree.screens) for tree in trees.values())
    texts = len(linted.catalog.texts[profile.languages[0]])
    print(f"menus ok: {len(trees)} trees, {screens} screens, {texts} texts in "
          f"{', '.join(profile.languages)} ({name})")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from menus.graph import FORMATS, build_graph, render
    from menus.loader import load_menus
    from menus.texts import Catalog

    if args.format not in FORMATS:
        raise CliError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}")
    _, profile, _ = _profile_and_limits(args)
    catalog = Catalog.for_profile(profile)
    menus = load_menus(catalog, profile)
    language = "en" if "en" in profile.languages else profile.languages[0]
    codes = {tree.name: getattr(profile.codes, tree.code) for tree in menus.trees.values()}
    sys.stdout.write(render(build_graph(menus, catalog, language, codes), args.format))
    return 0


def register(sub: Any) -> None:
    menus = command_group(sub, "menus", "lint or draw the menu trees of the profile")
    check: argparse.ArgumentParser = menus.add_parser(
        "check", help="lint every menu tree and text of the profile; one line per problem, exit 2 if any",
        description=CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_option(check)
    check.set_defaults(run=cmd_check)
    graph: argparse.ArgumentParser = menus.add_parser(
        "graph", help="the menu trees as a graph on stdout (Mermaid or DOT)",
        description="The profile's menu trees as a graph: a node per screen it can show (its id and "
                    "English text), an edge per option, next or cancel labelled with the answer.")
    graph.add_argument("--format", default="mermaid", metavar="mermaid|dot",
                       help="mermaid (default) or dot (Graphviz)")
    add_config_option(graph)
    graph.set_defaults(run=cmd_graph)
