"""Screen length: how much fits on one USSD screen, and splitting into pages.

A USSD screen holds 182 characters of GSM 7-bit text, far fewer when any
character needs UCS-2 (Khmer): the limit is chosen per page from its
characters. Pages after the first show ``0 Back``; pages before the last
show ``98 More``. GSM extension characters (``€ [ ] { } ~ ^ | \\``) cost two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MORE = "98"
BACK = "0"
HOME = "00"

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def gsm_length(text: str) -> int | None:
    """Septets ``text`` needs in GSM 7-bit, or None if it needs UCS-2."""
    if _GSM_BASIC.issuperset(text):  # the usual case, one septet each: no loop in Python
        return len(text)
    total = 0
    for ch in text:
        if ch in _GSM_BASIC:
            total += 1
        elif ch in _GSM_EXTENSION:
            total += 2
        else:
            return None
    return total


def screen_size(text: str) -> tuple[int, str]:
    """How long ``text`` is on a screen, and in which alphabet: (septets, ``"GSM"``) or
    (UTF-16 code units, ``"UCS-2"``)."""
    septets = gsm_length(text)
    if septets is not None:
        return septets, "GSM"
    return len(text.encode("utf-16-le")) // 2, "UCS-2"


@dataclass(frozen=True)
class ScreenLimits:
    gsm: int = 182
    ucs2: int = 80

    def fits(self, text: str) -> bool:
        septets = gsm_length(text)
        if septets is not None:
            return septets <= self.gsm
        return len(text.encode("utf-16-le")) // 2 <= self.ucs2

    def limit(self, alphabet: str) -> int:
        """The characters one screen holds in ``alphabet`` (as ``screen_size`` names it)."""
        return self.gsm if alphabet == "GSM" else self.ucs2


def paginate(
    lines: Sequence[str], limits: ScreenLimits, *, more: str, back: str, back_on_first: bool,
    back_on_last: bool = True,
) -> tuple[str, ...]:
    """Split ``lines`` into screens that fit, each with its navigation lines.

    Args:
        more, back: the labels (``More``, ``Back``) in the screen's language.
        back_on_first: the first page offers ``0 Back`` (a screen with a parent).
        back_on_last: the last page of several offers ``0 Back`` (not on an END).
    """
    more_line, back_line = f"{MORE} {more}", f"{BACK} {back}"
    queue = [line for line in lines]
    pages: list[str] = []
    while queue:
        first = not pages
        backs = [back_line] if (back_on_first if first else back_on_last) else []
        whole = "\n".join([*queue, *backs])
        if limits.fits(whole):
            pages.append(whole)
            break
        footer = [more_line, back_line] if (back_on_first or not first) else [more_line]
        taken: list[str] = []
        while queue and limits.fits("\n".join([*taken, queue[0], *footer])):
            taken.append(queue.pop(0))
        if not taken:
            head, tail = _split_line(queue.pop(0), limits, footer)
            taken.append(head)
            if tail:
                queue.insert(0, tail)
        pages.append("\n".join([*taken, *footer]))
    return tuple(pages) or ("",)


def _split_line(line: str, limits: ScreenLimits, footer: list[str]) -> tuple[str, str]:
    """The longest head of an overlong line that fits, cut at a space if possible."""
    cut = 1
    while cut < len(line) and limits.fits("\n".join([line[: cut + 1], *footer])):
        cut += 1
    space = line.rfind(" ", 0, cut + 1)
    if cut < len(line) and space > cut // 2:
        cut = space
    return line[:cut].rstrip(), line[cut:].lstrip()
