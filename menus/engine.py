"""The menu engine: sans-I/O. The answers so far in; a screen, or an action to run, out.

The aggregator sends every answer of the session in each request, so the
engine keeps no state between requests: it replays the answers from the
start screen of the tree, applying this transition table, and shows where
they lead::

    screen   answer            leads to
    any      00                the start screen (answers forgotten)
    any      0                 the previous page, else the previous screen
    any      98                the next page, if there is one
    menu     1..n              option n's target
    input    valid for it      ``next`` (the cleaned answer kept under ``store``)
    confirm  1 / 2             ``next`` / ``cancel`` (default: the start screen)
    else     -                 the same screen with a short hint

Reaching an ``action`` screen asks the caller (the HTTP adapter) to run the
action: ``step`` returns a ``Pending`` and ``complete`` renders the outcome.
A written action's result comes back with ``Reply.save``; given back in
``Turn.results``, it is shown again on a resent request instead of acting
twice. It is kept under its answer path, or, when an answer of the path was
typed on a ``secret`` input (a PIN, an ID number), under ``seal(path)`` (a
keyed hash), so that a session row never holds a secret in clear. A screen
that does not fit is split into pages (``menus.paging``).

Every reply also gives the path walked as a session row may keep it
(``Reply.kept``): an answer typed on a secret input is sealed there
(``SealedAnswer``, the services' own seal of a PIN or an ID number). The
dialects that send only the latest answer append it to the kept path and
call ``step`` with the whole of it; a sealed answer is replayed as taken
(and reaches an action ``Sealed``, which the services accept), so no
secret needs to outlive the request it was typed in.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gateway.domain.errors import GatewayError, LineLost, NumberRecycled, UnknownSubscriber
from gateway.domain.secrets import Sealed
from gateway.domain.secrets import seal as seal_value
from menus.actions import ACTION_TABLE, Texts
from menus.loader import Menus
from menus.paging import BACK, HOME, MORE, ScreenLimits, paginate
from menus.replies import ReplyTexts
from menus.tree import ActionCall, Answer, MenuTree, Pending, Reply, Screen, ScreenKind, SealedAnswer, Turn

#: ``Reply.screen`` of the resume offer (``Engine.resume_offer``).
RESUME_SCREEN = "resume"
#: Its answers: the dialogue where it stopped, or the tree's start screen.
RESUME_CONTINUE, RESUME_RESTART = "1", "2"


@dataclass
class _Walk:
    """Where the replay stands (mutable, private to one ``step``)."""

    screen: Screen
    stack: list[Screen] = field(default_factory=list)
    values: dict[str, str | Sealed] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    page: int = 0
    hint: str | None = None


class Engine:
    def __init__(self, *, menus: Menus, texts: Texts, replies: ReplyTexts, limits: ScreenLimits,
                 seal: Callable[[str], str] | None = None,
                 seal_answer: Callable[[str, str], Sealed] | None = None) -> None:
        """``seal``: the key a path holding a secret answer is kept under (None: the path itself).
        ``seal_answer``: (validator name, cleaned answer) → the answer as a row may keep it, in the
        form the services take instead of the secret (``Services.seal_answer``)."""
        self.menus = menus
        self.seal = seal
        self.seal_answer = seal_answer
        self.texts = texts
        self.replies = replies
        self.limits = limits
        # Rendered pages of screens whose text takes no parameters: built once.
        self._pages: dict[tuple[str, str, str, str | None, bool], tuple[str, ...]] = {}
        self._dynamic: dict[tuple[str, str], bool] = {}

    def tree_for(self, service_code: str) -> str | None:
        return self.menus.by_code.get(service_code)

    # --- the walk --------------------------------------------------------------

    def step(self, turn: Turn) -> Reply | Pending:
        """Replay ``turn.answers`` and return the screen they lead to."""
        tree = self.menus.trees[turn.tree]
        lang = turn.caller.language
        answers = turn.answers
        walk = _Walk(self._enter(tree, tree.start, answers, 0))
        i = 0
        secret = False  # an answer so far was typed on a secret input
        kept: list[Answer] = []  # the answers walked, as a row may keep them
        while True:
            screen = walk.screen
            if turn.caller.refusal is not None and (screen.own_line or isinstance(turn.caller.refusal, LineLost)):
                # A lost SIM originates nothing (``domain.lost``): no menu is worth walking.
                return Reply(self.replies.error(turn.caller.refusal, lang), end=True,
                             screen=f"{tree.name}:{screen.id}", kept=tuple(kept))
            if screen.kind in (ScreenKind.ACTION, ScreenKind.END) or i >= len(answers):
                break
            raw = answers[i]
            i += 1
            if isinstance(raw, SealedAnswer):  # a secret typed in an earlier request
                secret = True
                kept.append(raw)
                self._answer(tree, walk, raw, answers, i)
                continue
            answer = raw.strip()
            if answer == HOME:
                kept.append(raw)
                walk = _Walk(self._enter(tree, tree.start, answers, i))
                continue
            pages = self._page_count(tree, walk, lang)
            if answer == MORE and walk.page + 1 < pages:
                kept.append(raw)
                walk.page += 1
            elif answer == BACK:
                kept.append(raw)
                if walk.page > 0:
                    walk.page -= 1
                elif walk.stack:
                    walk.screen, walk.page, walk.hint = walk.stack.pop(), 0, None
                else:
                    walk.hint = None
            elif screen.secret:
                # Kept sealed, refused or not: a mistyped PIN is still most of a PIN.
                secret = True
                cleaned = self._answer(tree, walk, answer, answers, i)
                kept.append(SealedAnswer(None) if cleaned is None or screen.validate is None
                            else self._seal_answer(screen.validate, cleaned))
            else:
                kept.append(raw)
                self._answer(tree, walk, answer, answers, i)

        screen = walk.screen
        if screen.kind is ScreenKind.ACTION:
            path = "*".join(a if isinstance(a, str) else a.token for a in kept)
            key = self.seal(path) if secret and self.seal is not None else path
            rest = tuple(answers[i:])
            whole = (*kept, *rest)
            if key in turn.results:
                return self._result(turn.results[key], rest, None, lang, f"{tree.name}:{screen.id}", whole,
                                    secret)
            assert screen.action is not None
            args = {name: (walk.values.get(v[1:], "") if v.startswith("$") else v) for name, v in screen.args}
            call = ActionCall(screen.action, turn.caller.msisdn, args,
                              f"ussd:{turn.session_id}:{path}", lang)
            return Pending(call, tree.name, screen.id, key, rest, params=dict(walk.shown), kept=whole,
                           secret=secret)
        if screen.kind is ScreenKind.END:
            return self._result(self._text(screen.text, lang, walk.shown), tuple(answers[i:]), None, lang,
                                f"{tree.name}:{screen.id}", (*kept, *answers[i:]), secret)
        if screen.show is not None:
            call = ActionCall(screen.show, turn.caller.msisdn, {}, "", lang)
            return Pending(call, tree.name, screen.id, "", (), walk.page, walk.hint,
                           {"__back__": "1" if walk.stack else "", **walk.shown}, kept=tuple(kept))
        shown_pages = self._screen_pages(tree, screen, lang, walk.hint, bool(walk.stack), walk.shown)
        return Reply(shown_pages[min(walk.page, len(shown_pages) - 1)], end=False, keep=True,
                     screen=f"{tree.name}:{screen.id}", secret=secret or screen.secret, kept=tuple(kept))

    def complete(self, pending: Pending, outcome: object) -> Reply:
        """The screen for an action's result (or refusal) asked for by ``step``."""
        call = pending.call
        spec = ACTION_TABLE[call.name]
        failed = isinstance(outcome, BaseException) and not isinstance(outcome, GatewayError)
        if isinstance(outcome, GatewayError):
            text = self.replies.error(_with_subject(outcome, call), call.language)
        elif failed:
            text = self.texts.text("ussd.unavailable", call.language)
        else:
            text = spec.render(self.replies, outcome, call.args, call.language)
        tree = self.menus.trees[pending.tree]
        screen = tree.screen(pending.screen)
        if screen.kind is ScreenKind.MENU:  # a menu showing a read above its options
            params = dict(pending.params)
            back = bool(params.pop("__back__", ""))
            lines = [text, *self._lines(screen, call.language, pending.hint, params)]
            pages = self._paginate(lines, call.language, back)
            return Reply(pages[min(pending.page, len(pages) - 1)], end=False, keep=True,
                         screen=f"{pending.tree}:{pending.screen}", kept=pending.kept)
        if screen.text:
            text += "\n" + self._text(screen.text, call.language, pending.params)
        save = (pending.path, text) if spec.writes and not failed else None
        return self._result(text, pending.rest, save, call.language, f"{pending.tree}:{pending.screen}",
                            pending.kept, pending.secret)

    # --- fixed screens ------------------------------------------------------------

    def resume_offer(self, language: str, *, hint: bool = False) -> Reply:
        """``1 Continue`` / ``2 Start again``: a dialogue cut off a moment ago, offered back.

        Not a screen of a tree (it comes before any): ``Reply.screen`` is ``RESUME_SCREEN``.
        """
        lines = [self.texts.text("ussd.hint_choice", language)] if hint else []
        lines += [self.texts.text("ussd.resume_title", language),
                  f"1 {self.texts.text('ussd.resume_continue', language)}",
                  f"2 {self.texts.text('ussd.resume_restart', language)}"]
        return Reply(self._paginate(lines, language, False)[0], end=False, keep=True, screen=RESUME_SCREEN)

    def expired(self, language: str, code: str) -> Reply:
        return Reply(self.texts.text("ussd.expired", language, code=code), end=True)

    def unknown_code(self, language: str, code: str) -> Reply:
        return Reply(self.texts.text("ussd.unknown_code", language, code=code), end=True)

    def unavailable(self, language: str) -> Reply:
        return Reply(self.texts.text("ussd.unavailable", language), end=True)

    # --- helpers -------------------------------------------------------------------

    def _enter(self, tree: MenuTree, sid: str, answers: tuple[Answer, ...], i: int) -> Screen:
        screen = tree.screen(sid)
        # An answer that can only be dialled with the code is skipped when none waits.
        while screen.dialled_only and i >= len(answers) and screen.next is not None:
            screen = tree.screen(screen.next)
        return screen

    def _answer(
        self, tree: MenuTree, walk: _Walk, answer: Answer, answers: tuple[Answer, ...], i: int,
    ) -> str | None:
        """Apply one answer to the screen it was typed on; the cleaned value an input took, if any."""
        screen = walk.screen
        target: str | None = None
        taken: str | None = None
        if isinstance(answer, SealedAnswer):
            # Replayed on the secret input it was typed on: taken as it was then (sealed), or refused.
            if screen.kind is ScreenKind.INPUT and answer.value is not None and screen.store is not None:
                walk.values[screen.store], walk.shown[screen.store] = answer.value, "*" * answer.value.length
                target = screen.next
            else:
                walk.hint = self.menus.validators[(tree.name, screen.id)].hint \
                    if screen.kind is ScreenKind.INPUT else "ussd.hint_choice"
        elif screen.kind is ScreenKind.MENU:
            if answer.isdigit() and 1 <= int(answer) <= len(screen.options):
                target = screen.options[int(answer) - 1].target
            else:
                walk.hint = "ussd.hint_choice"
        elif screen.kind is ScreenKind.CONFIRM:
            if answer == "1":
                target = screen.next
            elif answer == "2":
                walk.screen, walk.stack, walk.page, walk.hint = (
                    self._enter(tree, screen.cancel or tree.start, answers, i), [], 0, None)
                return None
            else:
                walk.hint = "ussd.hint_choice"
        elif screen.kind is ScreenKind.INPUT:
            validator = self.menus.validators[(tree.name, screen.id)]
            checked = validator.check(answer)
            if checked is None:
                walk.hint = validator.hint
            else:
                assert screen.store is not None
                taken, shown = checked
                # A secret is shown masked, as it is when replayed sealed.
                walk.values[screen.store] = taken
                walk.shown[screen.store] = "*" * len(taken) if screen.secret else shown
                target = screen.next
        if target is not None:
            walk.stack.append(screen)
            walk.screen, walk.page, walk.hint = self._enter(tree, target, answers, i), 0, None
        return taken

    def _seal_answer(self, validator: str, cleaned: str) -> SealedAnswer:
        if self.seal_answer is not None:
            return SealedAnswer(self.seal_answer(validator, cleaned))
        # An engine built without the operator's key (a test of the walk alone): still never in clear.
        return SealedAnswer(seal_value("", f"answer:{validator}", cleaned))

    def _text(self, key: str | None, language: str, params: Mapping[str, str]) -> str:
        if key is None:
            return ""
        return self.texts.text(key, language, **params) if params else self.texts.text(key, language)

    def _lines(self, screen: Screen, lang: str, hint: str | None, params: Mapping[str, str]) -> list[str]:
        return screen_lines(screen, self.texts, lang, hint, params if self._is_dynamic(screen, lang) else {})

    def _is_dynamic(self, screen: Screen, lang: str) -> bool:
        key = (screen.text or "", lang)
        if key not in self._dynamic:
            raw = self.texts.text(screen.text, lang) if screen.text else ""
            self._dynamic[key] = any(name for _, name, _, _ in string.Formatter().parse(raw))
        return self._dynamic[key]

    def _screen_pages(
        self, tree: MenuTree, screen: Screen, lang: str, hint: str | None, back: bool,
        params: Mapping[str, str],
    ) -> tuple[str, ...]:
        if self._is_dynamic(screen, lang):
            return self._paginate(self._lines(screen, lang, hint, params), lang, back)
        key = (tree.name, screen.id, lang, hint, back)
        pages = self._pages.get(key)
        if pages is None:
            pages = self._pages[key] = self._paginate(self._lines(screen, lang, hint, {}), lang, back)
        return pages

    def _page_count(self, tree: MenuTree, walk: _Walk, lang: str) -> int:
        if walk.screen.show is not None:
            return 1 << 16  # the shown read is not known while replaying; clamped when shown
        return len(self._screen_pages(tree, walk.screen, lang, walk.hint, bool(walk.stack), walk.shown))

    def _paginate(self, lines: list[str], lang: str, back: bool, *, final: bool = False) -> tuple[str, ...]:
        return page_screen(lines, self.texts, lang, self.limits, back, final=final)

    def _result(
        self, text: str, rest: tuple[Answer, ...], save: tuple[str, str] | None, lang: str, screen: str,
        kept: tuple[Answer, ...], secret: bool,
    ) -> Reply:
        """A result ends the session; a long one is paged first (``98`` / ``0``)."""
        pages = self._paginate([text], lang, False, final=True)
        page = 0
        for answer in rest:
            move = answer.strip() if isinstance(answer, str) else ""
            if move == MORE:
                page = min(page + 1, len(pages) - 1)
            elif move == BACK:
                page = max(page - 1, 0)
        return Reply(pages[page], end=page == len(pages) - 1, save=save, screen=screen, secret=secret, kept=kept)


def screen_lines(
    screen: Screen, texts: Texts, lang: str, hint: str | None, params: Mapping[str, str],
) -> list[str]:
    """The lines of a menu, input or confirmation screen before paging: the hint after a
    refused answer, the text (filled with ``params`` unless empty), the numbered options and
    a confirmation's answers. ``menus.lint`` measures screens with it too."""
    lines = [texts.text(hint, lang)] if hint else []
    if screen.text:
        lines.append(texts.text(screen.text, lang, **params) if params else texts.text(screen.text, lang))
    lines += [f"{n} {texts.text(o.label, lang)}" for n, o in enumerate(screen.options, 1)]
    if screen.kind is ScreenKind.CONFIRM:
        lines += [f"1 {texts.text('ussd.confirm_yes', lang)}", f"2 {texts.text('ussd.confirm_no', lang)}"]
    return lines


def page_screen(
    lines: list[str], texts: Texts, lang: str, limits: ScreenLimits, back: bool, *, final: bool = False,
) -> tuple[str, ...]:
    """``lines`` as the pages the handset shows, with ``98 More`` / ``0 Back`` in ``lang``.

    ``back``: the screen has a parent (its first page offers ``0 Back``);
    ``final``: a result that ends the dialogue (no ``0 Back`` on its last page).
    """
    return paginate(
        [part for line in lines for part in line.split("\n")], limits,
        more=texts.text("ussd.more", lang), back=texts.text("ussd.back", lang),
        back_on_first=back and not final, back_on_last=not final,
    )


def _with_subject(exc: GatewayError, call: ActionCall) -> GatewayError:
    """Name the number a refusal is about, when it is not the caller's own."""
    subject = call.args.get("target") or call.args.get("number")
    if (isinstance(subject, str) and subject and isinstance(exc, (UnknownSubscriber, NumberRecycled))
            and exc.msisdn is None):
        exc.msisdn = subject
    return exc
