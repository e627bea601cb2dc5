"""The menu trees as values: screens, options and the engine's inputs and outputs.

Everything here is a frozen dataclass or an Enum built once by
``menus.loader``; the engine only reads them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.domain.errors import GatewayError
from gateway.domain.secrets import Sealed


class MenusError(Exception):
    """The menu trees or their texts cannot be used; the message names the file and the key path.

    A configuration error like any other: the command line refuses in one line.
    """


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a menu tree or a text: the file, the path inside it, what is wrong.

    Shown as one line, ``menus/trees/topup.toml: screens.pin.next: no screen 'x'``;
    the file is named relative to the working directory when it lies under it.
    """

    file: Path
    #: Key path in a tree (``screens.pin.next``) or text key (``selfcare.main_title``); "" for the whole file.
    where: str
    message: str

    def __str__(self) -> str:
        shown = self.file
        try:
            here = Path.cwd()
        except OSError:  # the working directory was removed
            here = Path("/")
        if shown.is_absolute() and here != Path("/") and shown.is_relative_to(here):
            shown = shown.relative_to(here)
        return f"{shown}: {self.where}: {self.message}" if self.where else f"{shown}: {self.message}"


class ScreenKind(enum.Enum):
    MENU = "menu"  # numbered options
    INPUT = "input"  # a validated answer, stored under a name
    CONFIRM = "confirm"  # 1 yes / 2 no
    ACTION = "action"  # calls a named service, shows its result, ends
    END = "end"  # a fixed text, ends


@dataclass(frozen=True)
class Option:
    label: str  # text key
    target: str  # screen id
    #: Its place among the options of the file (``options[2]``), whether offered or withheld.
    place: int = 0


@dataclass(frozen=True)
class Screen:
    id: str
    kind: ScreenKind
    #: Text key of the title, prompt or body (optional on action screens:
    #: then a line added after the result).
    text: str | None = None
    options: tuple[Option, ...] = ()
    #: Where an input or a confirmation leads.
    next: str | None = None
    #: Where "2" on a confirmation leads (default: the start screen).
    cancel: str | None = None
    #: Validator name and where the cleaned answer is kept.
    validate: str | None = None
    store: str | None = None
    #: Only when the answer was dialled with the code (``*123*PIN*NUMBER#``):
    #: skipped when no answer is waiting.
    dialled_only: bool = False
    #: Action name and its arguments (``"$name"``: a stored answer; else literal).
    action: str | None = None
    args: tuple[tuple[str, str], ...] = ()
    #: A read action whose result is shown above a menu's options.
    show: str | None = None
    #: Acts on the caller's own line: a lost, unknown or recycled line is refused.
    own_line: bool = False
    #: An input whose answer is a secret (a voucher PIN, an ID number): a path
    #: holding it is kept only as a keyed hash (``Engine(seal=...)``).
    secret: bool = False
    #: Options the file has but this profile does not offer (their ``when`` is
    #: not met): never shown, kept so that ``menus.lint`` sees the tree as written.
    withheld: tuple[Option, ...] = ()

    def links(self, *, withheld: bool = True) -> list[tuple[str, str]]:
        """(key path inside the screen, target) of every way out of it the file names.

        ``withheld``: with the options this profile does not offer.
        """
        options = [*self.options, *self.withheld] if withheld else list(self.options)
        found = [(f"options[{o.place}].target", o.target) for o in options]
        found += [(key, target) for key, target in (("next", self.next), ("cancel", self.cancel))
                  if target is not None]
        return found


@dataclass(frozen=True)
class MenuTree:
    name: str
    #: Attribute of ``OperatorProfile.codes`` this tree answers (``selfcare``).
    code: str
    start: str
    screens: Mapping[str, Screen]
    path: Path

    def screen(self, screen_id: str) -> Screen:
        return self.screens[screen_id]

    def reachable(self, *, withheld: bool = False) -> dict[str, bool]:
        """The screens a walk from ``start`` can reach, each with whether it can be reached from
        another screen (then it shows ``0 Back``): through an option or ``next``; a
        confirmation's ``cancel`` leads to its screen as a fresh start, without a parent.

        ``withheld``: through the options this profile does not offer too (the tree as written).
        """
        parent: dict[str, bool] = {self.start: False}
        queue = [self.start]
        while queue:
            screen = self.screens.get(queue.pop())
            if screen is None:  # a dangling link: the loader reports it
                continue
            ways = [(target, key != "cancel") for key, target in screen.links(withheld=withheld)]
            if screen.kind is ScreenKind.CONFIRM and screen.cancel is None:
                ways.append((self.start, False))
            for target, child in ways:
                if target not in parent:
                    queue.append(target)
                parent[target] = parent.get(target, False) or child
        return {sid: parent[sid] for sid in self.screens if sid in parent}


@dataclass(frozen=True)
class Caller:
    """Who is dialling, as read once at the start of a session."""

    msisdn: str
    language: str
    #: Why the caller's own line cannot be served (lost, unknown, recycled).
    refusal: GatewayError | None = None


@dataclass(frozen=True)
class SealedAnswer:
    """An answer typed on a ``secret`` input, as a session row may keep it.

    ``value``: the cleaned answer sealed (``Engine(seal_answer=...)``: the
    services' own seal of a PIN or an ID number, so an action can still be
    run with it), or None when the input refused it (only the hint follows).
    A path kept by the gateway for a dialect that sends the latest answer
    only holds these in place of the secrets; the engine replays them.
    """

    value: Sealed | None

    @property
    def token(self) -> str:
        """How the answer reads in a path key (``Pending.path``, the request key)."""
        return "#" + (self.value.digest if self.value is not None else "-")


#: One answer of a path: as typed, or sealed (a secret kept between requests).
Answer = str | SealedAnswer


@dataclass(frozen=True)
class Turn:
    """One request of a dialogue: every answer so far, replayed from the start."""

    tree: str
    answers: tuple[Answer, ...]
    caller: Caller
    session_id: str
    #: Rendered results of earlier actions of this session, by answer path.
    results: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A screen for the handset."""

    text: str
    end: bool
    #: The dialogue has state worth tracking (idle expiry): a menu, input or
    #: confirmation screen. Result pages can be replayed from the text alone.
    keep: bool = False
    #: (answer path, text) to keep with the session: a written action's result,
    #: so that a resent request gets it again without a second side effect.
    save: tuple[str, str] | None = None
    #: Where the dialogue stands, as ``tree:screen`` (``""``: no screen of a
    #: tree, e.g. an unknown code): what the journal and the funnel report name.
    screen: str = ""
    #: The screen waits for a secret answer (a PIN, an ID number) or the path
    #: already holds one: a dialogue stopped here is never offered back.
    secret: bool = False
    #: The answers that led here as a session row may keep them: each answer
    #: typed on a secret input sealed (``SealedAnswer``), the rest as typed.
    kept: tuple[Answer, ...] = ()


@dataclass(frozen=True)
class ActionCall:
    """A service the adapter must run (through ``DbRunner``) before the screen."""

    name: str
    msisdn: str
    #: A secret answer replayed from a kept path arrives ``Sealed`` (the services take either).
    args: Mapping[str, str | Sealed]
    request_key: str
    language: str


@dataclass(frozen=True)
class Pending:
    """The engine waits for an action's outcome; pass it to ``Engine.complete``."""

    call: ActionCall
    tree: str
    screen: str
    #: Answer path up to the action, as its result is saved under (sealed if it holds a secret).
    path: str
    #: Answers after the action: paging through its result.
    rest: tuple[Answer, ...] = ()
    #: For a menu's ``show``: the page and hint of the menu itself.
    page: int = 0
    hint: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: ``Reply.kept`` and ``Reply.secret`` of the screen ``complete`` renders.
    kept: tuple[Answer, ...] = ()
    secret: bool = False
