"""Short titles for lists on a phone screen, cut from the assignment's action text."""

from __future__ import annotations

import re

_CUT = re.compile(r"[;:.]\s|,\s(?=căn cứ|trên cơ sở|theo)", re.IGNORECASE)


def short_title(action: str, limit: int = 90) -> str:
    """The first clause of the action, cut at a word boundary with an ellipsis if needed."""
    text = " ".join(action.split())
    match = _CUT.search(text)
    if match and match.start() >= 20:
        text = text[: match.start()]
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-– ")
    return f"{cut}…"
