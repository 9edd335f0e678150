"""Understanding an officer's progress reply: done, a percentage, an extension request, a note.

Officers answer a reminder the way they talk: "xong", "đã hoàn thành", "da hoan thanh",
"được 60%", "60 phan tram", "xin gia hạn đến 20/7 vì chờ số liệu", "done", "extend to
20/7". Matching runs on folded text (no diacritics, lower case) so typing without marks
reads the same. A wrong "done" costs an admin a review and the officer a reminder gap, so
anything negated or hedged ("chưa xong", "sắp xong", "sẽ hoàn thành", "not done yet") is
not done, and anything we cannot read confidently is kept as a note, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.enums import ReportKind
from bot.domain.textnorm import fold, nfc

__all__ = ["UnderstoodReply", "understand_reply"]

# -- vocabulary (folded) --------------------------------------------------------------------

_DONE = re.compile(
    r"\b(?:xong|hoan thanh|hoan tat|da thuc hien|da nop|da ban hanh|done|finished|finish|"
    r"completed|complete)\b"
)
# Words that, shortly before a "done" word, mean it is not done (yet).
_NEGATION = re.compile(
    r"\b(?:chua|khong|chang|ko|k|not|no|never|yet|cannot|"
    r"(?:is|are|was|were|have|has|had|did|do|does|wo|ca)n['’]?t)\b"
)
# Hedges: the officer is working towards it, which is progress, not completion.
_HEDGE = re.compile(
    r"\b(?:sap|gan|se|du kien|chuan bi|co gang|phan dau|dang|almost|nearly|soon|will|"
    r"going to|expect|expected|plan|planned|about to|trying)\b"
)
_IN_PROGRESS = re.compile(
    r"\b(?:dang thuc hien|dang trien khai|dang lam|dang xay dung|dang hoan thien|"
    r"in progress|working on|on it|ongoing)\b"
)
_PERCENT = re.compile(r"(?<![\d.,])(\d{1,3})(?:[.,]\d+)?\s*(?:%|phan tram|percent|pct)(?!\w)")
_EXTENSION = re.compile(
    r"\b(?:gia han|lui han|keo dai (?:thoi )?han|them thoi gian|doi han|extend|extension|"
    r"postpone|more time|push back)\b"
)
# After the extension words: "đến", "tới", "to", "until", "till", "ngày" before the date.
_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?(?!\d)")
_REASON = re.compile(r"\b(?:vi|do|boi vi|ly do|li do|because|since|as|due to|reason)\b\s*:?\s*")
_QUESTION = re.compile(r"(?:\?\s*$|\b(?:chua|khong|ko)\s*\??\s*$)")
_BARE_NUMBER = re.compile(r"^\s*(?:duoc|dat|khoang|about|around)?\s*(\d{1,3})\s*$")

# How far before a "done" word a negation or hedge still applies (in folded characters):
# "chưa thực sự hoàn thành" yes, "không có vướng mắc, đã xong" no (a comma ends the clause).
_NEGATION_WINDOW = 24


@dataclass(frozen=True, slots=True)
class UnderstoodReply:
    """What a reply says. `text` is the reply as written (NFC); `reason` explains an
    extension request (the words after "vì"/"because", or the rest of the message)."""

    kind: ReportKind
    text: str
    percent: int | None = None
    proposed_date: date | None = None
    reason: str = ""


def _clause_before(folded: str, index: int) -> str:
    """The words just before `index`, within the same clause."""
    start = max(0, index - _NEGATION_WINDOW)
    window = folded[start:index]
    for stop in (",", ";", ".", "!", "\n", " nhung ", " but "):
        cut = window.rfind(stop)
        if cut != -1:
            window = window[cut + len(stop) :]
    return window


def _done_state(folded: str) -> str | None:
    """ "done", "hedged", "negated" or None for the first "done" word in the text."""
    for match in _DONE.finditer(folded):
        before = _clause_before(folded, match.start())
        after = folded[match.end() : match.end() + 12]
        if _NEGATION.search(before) or re.match(r"\s*(?:chua|yet)\b", after):
            return "negated"
        if _HEDGE.search(before):
            return "hedged"
        return "done"
    return None


def _resolve_year(day: int, month: int, year_text: str | None, today: date) -> date | None:
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    # No year: the next such date from today (a request in December for 5/1 means January).
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today - timedelta(days=1):
            return candidate
    return None


def _find_date(folded: str, start: int, today: date) -> tuple[date | None, tuple[int, int] | None]:
    """The first readable D/M[/Y] at or after `start`, else anywhere; with its span."""
    matches = list(_DATE.finditer(folded))
    ordered = [m for m in matches if m.start() >= start] + [m for m in matches if m.start() < start]
    for match in ordered:
        found = _resolve_year(int(match.group(1)), int(match.group(2)), match.group(3), today)
        if found is not None:
            return found, match.span()
    return None, None


def _reason(original: str, folded: str, date_span: tuple[int, int] | None) -> str:
    """The words after "vì"/"do"/"because"; else what follows the date; else nothing.

    Folding keeps character positions for Vietnamese (one letter folds to one letter), so
    spans found on the folded text cut the original text too.
    """
    search_from = date_span[1] if date_span else 0
    match = _REASON.search(folded, search_from) or _REASON.search(folded)
    if match is not None:
        reason = original[match.end() :]
    elif date_span is not None:
        reason = original[date_span[1] :]
    else:
        reason = ""
    return reason.strip(" ,.;:-–—\n\t")


def understand_reply(
    text: str, *, today: date, expect: ReportKind | None = None
) -> UnderstoodReply:
    """Read one reply. `today` (the officer's local date) completes dates written without a
    year; `expect` is what the bot just asked for (a percentage after "Đang thực hiện", a
    date after "Xin gia hạn"), which lets a bare "60" or "20/7" count."""
    original = nfc(text).strip()
    folded = fold(original)
    # fold() collapses whitespace; align the original the same way so spans match.
    original = re.sub(r"\s+", " ", original)
    # A character that folds to two (rare) misaligns spans: cut the folded text instead.
    original_for_spans = folded if len(folded) != len(original) else original
    if not folded:
        return UnderstoodReply(ReportKind.NOTE, text=original)

    extension = _EXTENSION.search(folded)
    if extension is not None or expect is ReportKind.EXTENSION:
        negated = extension is not None and _NEGATION.search(
            _clause_before(folded, extension.start())
        )
        if not negated:
            start = extension.end() if extension is not None else 0
            proposed, span = _find_date(folded, start, today)
            if extension is not None or proposed is not None:
                return UnderstoodReply(
                    ReportKind.EXTENSION,
                    text=original,
                    proposed_date=proposed,
                    reason=_reason(original_for_spans, folded, span),
                )

    state = _done_state(folded)
    percent_match = _PERCENT.search(folded)
    if percent_match is None and expect is ReportKind.PROGRESS:
        percent_match = _BARE_NUMBER.match(folded)
    if percent_match is not None:
        percent = int(percent_match.group(1))
        if 0 <= percent <= 100:
            if percent == 100 and state not in ("negated", "hedged"):
                return UnderstoodReply(ReportKind.DONE, text=original, percent=100)
            return UnderstoodReply(ReportKind.PROGRESS, text=original, percent=min(percent, 99))

    if state == "done" and not _QUESTION.search(folded):
        return UnderstoodReply(ReportKind.DONE, text=original)
    if state == "hedged" or _IN_PROGRESS.search(folded):
        return UnderstoodReply(ReportKind.PROGRESS, text=original)
    return UnderstoodReply(ReportKind.NOTE, text=original)
