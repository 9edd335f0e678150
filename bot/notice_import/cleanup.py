"""Rebuilding paragraphs from lines and removing the debris conversions leave behind.

Copying a notice out of Word or a PDF breaks sentences across lines and page breaks, adds
page numbers, hyphenates words and leaves markdown marks ("**trước ngày 30/6/2023**").
An assignment split in two would lose its deadline, so lines are joined back whenever the
text says the sentence goes on: the next line starts in lower case, or the previous one
ends with a comma, a hyphenated syllable or a word that cannot end a sentence ("của",
"và", "trước"). A hard-wrapped file also joins lines that reach the wrap width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.notice_import.model import Line, Table
from bot.notice_import.structure import LABEL

__all__ = ["Paragraph", "build_paragraphs", "normalise_space"]


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False  # wholly bold or italic: a heading


_PAGE_NUMBER = re.compile(
    r"^(?:[-–]\s*)?\d{1,3}(?:\s*[-–])?$|^(?:trang|page)\s*\d{1,3}(?:\s*(?:/|of|trên)\s*\d{1,3})?$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^[-_=*~.]{3,}$")
_TERMINAL = (".", ";", ":", "!", "?", "./.", "”", '"')


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONNECTORS = _wordset(
    """
    của và các với cho tại theo về trong ngày số là được để từ đến hoặc những thuộc trên
    như khi sau trước do vì nhằm bằng qua tham mưu chủ trì phối hợp giao yêu cầu đề nghị
    """
)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f]+")


def normalise_space(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _strip_markdown(text: str) -> tuple[str, bool]:
    """Text without stray markdown emphasis, and whether all of it was emphasised."""
    stripped = text.strip()
    emphasised = _wholly_marked(stripped)
    bullet = ""
    if stripped.startswith("* ") and not stripped.endswith("*"):
        bullet, stripped = "* ", stripped[2:]
    elif stripped.startswith("#"):
        stripped, emphasised = stripped.lstrip("#").strip(), True
    cleaned = re.sub(r"\*+", "", stripped)
    cleaned = re.sub(r"(?<!\w)_{2}(\S.*?\S)_{2}(?!\w)", r"\1", cleaned)
    return normalise_space(bullet + cleaned), emphasised


def _wholly_marked(text: str) -> bool:
    """Is all of the text inside one pair of emphasis marks ("**Văn phòng Sở:**")?

    Converters also bold just a label ("**2.1.** Tổ Quản lý ... chủ trì ..."): that
    paragraph is a task, not a heading. Some leave odd pairs ("** Về y tế:*"), so the
    closing mark may be shorter than the opening one.
    """
    if text.startswith("**"):
        opening = 2
    elif text.startswith("*") and not text.startswith("* "):
        opening = 1
    else:
        return False
    body = text.rstrip(" :.").rstrip("*").rstrip(" :.")
    closing = text.rstrip(" :.")
    if not closing.endswith("*") or len(closing) <= opening:
        return False
    inner = body[opening:]
    return "**" not in inner and not (opening == 1 and "*" in inner)


def _starts_structure(text: str) -> bool:
    return LABEL.match(text) is not None


def _ends_open(text: str) -> bool:
    """Can't be the end of a sentence: a comma, a hyphenated syllable, a linking word."""
    if text.endswith((",", "-", "–")) and not text.endswith(("./.",)):
        return True
    last = text.rsplit(" ", 1)[-1].lower()
    return last in _CONNECTORS


def _continues(previous: str, line: str) -> bool:
    first = line.lstrip('*"“(')[:1]
    return first.islower() and not previous.rstrip("*").endswith(_TERMINAL)


def build_paragraphs(
    blocks: Sequence[Line | Table], *, wrap_width: int | None = None
) -> list[Paragraph | Table]:
    out: list[Paragraph | Table] = []
    current: list[str] = []  # raw line texts of the paragraph being built
    current_bold: list[bool] = []
    last_line = ""

    def flush() -> None:
        nonlocal current, current_bold
        if current:
            text, marked = _strip_markdown(" ".join(current))
            if text:
                emphasis = marked or (bool(current_bold) and all(current_bold))
                out.append(Paragraph(text, emphasis))
        current, current_bold = [], []

    for block in blocks:
        if isinstance(block, Table):
            flush()
            out.append(Table(tuple(tuple(normalise_space(c) for c in row) for row in block.rows)))
            last_line = ""
            continue
        text = normalise_space(block.text)
        if block.label:
            text = f"{block.label} {text}"
        if not text or _PAGE_NUMBER.match(text.strip("* ")):
            continue
        if _RULE.match(text):
            flush()
            continue
        emphasised = block.bold or block.italic
        if current and _should_join(current[-1], last_line, text, block, wrap_width):
            previous = current[-1]
            if re.search(r"[^\W\d_]-$", previous) and text[:1].islower():
                current[-1] = previous[:-1] + text  # a word hyphenated at the line end
            else:
                current.append(text)
            current_bold.append(emphasised)
        else:
            flush()
            current = [text]
            current_bold = [emphasised]
        last_line = text
    flush()
    return out


def _should_join(
    previous: str, last_line: str, text: str, block: Line, wrap_width: int | None
) -> bool:
    if block.label or _starts_structure(text.lstrip("*")):
        return False
    previous_clean = previous.rstrip("* ")
    if block.continues or _continues(previous_clean, text) or _ends_open(previous_clean):
        return True
    if block.new_paragraph:
        return False
    if previous_clean.endswith(_TERMINAL):
        return False
    if wrap_width is not None:
        return len(last_line) >= wrap_width * 0.75
    return not block.bold and not block.italic and not text.isupper()
