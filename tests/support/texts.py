"""A stand-in for ``menus.replies.Replies``: plain texts that show what was answered."""

from __future__ import annotations

from typing import Any


class FakeTexts:
    def balance(self, view: Any, lang: str) -> str:
        return f"[{lang}] Balance {view.main.display()}"

    def topup(self, result: Any, lang: str) -> str:
        return f"[{lang}] Topped up {result.credited.display()}"

    def lost(self, result: Any, msisdn: str, lang: str) -> str:
        return f"[{lang}] Lost report {result.reference}"

    def consent(self, view: Any, lang: str) -> str:
        return f"[{lang}] Marketing {'on' if view.opt_in else 'off'}"

    def consent_changed(self, view: Any, lang: str) -> str:
        return f"[{lang}] Marketing now {'on' if view.opt_in else 'off'}"

    def language_set(self, lang: str) -> str:
        return f"[{lang}] Language set"

    def error(self, exc: Any, lang: str) -> str:
        return f"[{lang}] Sorry: {type(exc).__name__}"

    def help(self, lang: str) -> str:
        return f"[{lang}] Help: BAL, TOP PIN, LOST MSISDN ID, LANG EN|KM"

    def unavailable(self, lang: str) -> str:
        return f"[{lang}] Sorry: unavailable"

    def incomplete(self, lang: str) -> str:
        return f"[{lang}] Sorry: your message arrived incomplete"
