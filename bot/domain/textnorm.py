"""Text folding so "da xong", "Đã xong" and "ĐÃ  XONG" compare equal.

Officers often type without diacritics; every matcher compares folded text.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone and vowel marks; đ/Đ become d/D (NFD does not split them)."""
    decomposed = unicodedata.normalize("NFD", text)
    without = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return without.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """Lower-case, diacritics removed, whitespace collapsed: the form matchers compare."""
    return _SPACES.sub(" ", strip_diacritics(unicodedata.normalize("NFC", text)).lower()).strip()


def nfc(text: str) -> str:
    """Composed form: Vietnamese text arrives both composed and decomposed."""
    return unicodedata.normalize("NFC", text)
