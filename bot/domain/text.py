"""Splitting long messages the way a person would, within a platform's length limit.

Telegram (4096) and Zalo (2000) both count UTF-16 code units, not Python characters: an
emoji such as ✅ is one unit but 📎 is two. A reminder cut in the middle of a word, a
surrogate pair or a Vietnamese letter and its combining tone mark reads as garbage on a
phone, so cuts go at the coarsest boundary that still fills a message reasonably.
"""

from __future__ import annotations

import re
import unicodedata

# Boundaries from coarsest to finest. Group `ws` is the whitespace the cut consumes: the
# part ends where it starts and the next part begins after it.
_PARAGRAPH = re.compile(r"(?P<ws>\n[^\S\n]*\n\s*)")
_LINE = re.compile(r"(?P<ws>[^\S\n]*\n\s*)")
# After . ! ? … ; and any closing quotes or brackets (Vietnamese lists end items with ";").
_SENTENCE = re.compile(r"[.!?…;][\"'”’»)\]]*(?P<ws>[ \t\u3000]+)")
# Any horizontal whitespace except no-break spaces, which authors put there on purpose.
_SPACE = re.compile(r"(?P<ws>[ \t\u3000\u2000-\u200a]+)")

_BOUNDARIES = (_PARAGRAPH, _LINE, _SENTENCE, _SPACE)

# A boundary that would close a part shorter than this share of the limit is skipped in
# favour of a finer one, so a stray early blank line does not produce a tiny message.
_MIN_FILL = 0.25

_LOOKAHEAD = 256
_ZWJ = "\u200d"


def utf16_len(text: str) -> int:
    """Length as Telegram and Zalo count it (astral characters such as most emoji are 2)."""
    return len(text.encode("utf-16-le")) // 2


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _fit(text: str, start: int, limit: int) -> int:
    """Index one past the longest slice from `start` that fits in `limit` units."""
    used = 0
    i = start
    n = len(text)
    while i < n:
        u = _units(text[i])
        if used + u > limit:
            break
        used += u
        i += 1
    return i


def _is_glued(text: str, i: int) -> bool:
    """True when a cut before index `i` would tear a visible character apart."""
    ch = text[i]
    if unicodedata.combining(ch) or ch == _ZWJ or "\ufe00" <= ch <= "\ufe0f":
        return True
    if "\U0001f3fb" <= ch <= "\U0001f3ff":  # emoji skin-tone modifier
        return True
    return text[i - 1] == _ZWJ


def _hard_cut(text: str, start: int, end: int) -> int:
    """Cut inside an over-long word, backing off so no grapheme is torn (if possible)."""
    cut = end
    while cut > start + 1 and _is_glued(text, cut):
        cut -= 1
    return cut


def _soft_cut(text: str, start: int, end: int, limit: int) -> tuple[int, int] | None:
    """(part end, next part start) at the coarsest acceptable boundary, or None."""
    min_units = max(1, int(limit * _MIN_FILL))
    # A boundary may begin exactly at `end` (the whitespace just past the window); look a
    # little further so a blank line straddling the window edge still counts as one.
    search_end = min(len(text), end + _LOOKAHEAD)
    fallback: tuple[int, int] | None = None
    for pattern in _BOUNDARIES:
        best: tuple[int, int] | None = None
        for match in pattern.finditer(text, start, search_end):
            cut_at = match.start("ws")
            if cut_at > end:
                break
            if cut_at > start:
                best = (cut_at, match.end("ws"))
        if best is None:
            continue
        if utf16_len(text[start : best[0]]) >= min_units:
            return best
        if fallback is None:
            fallback = best
    return fallback


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` UTF-16 units each.

    Prefers paragraph breaks, then line breaks, then sentence ends, then spaces; a word
    is cut only when it alone exceeds the limit. The whitespace at a cut is dropped, so
    no part starts or ends with the break that separated it. An empty text gives no parts.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 units (one astral character)")
    if not text:
        return []
    if utf16_len(text) <= limit:
        return [text]

    parts: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        end = _fit(text, start, limit)
        if end >= n:
            parts.append(text[start:])
            break
        soft = _soft_cut(text, start, end, limit)
        if soft is None:
            cut = _hard_cut(text, start, end)
            parts.append(text[start:cut])
            start = cut
            continue
        part_end, next_start = soft
        part = text[start:part_end].rstrip()
        if part:
            parts.append(part)
        start = next_start
        # Whitespace the look-ahead did not swallow belongs to the break, not the next part.
        while start < n and text[start].isspace():
            start += 1
    return parts
