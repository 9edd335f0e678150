"""What the importer reads and what it hands back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar

from bot.domain.deadlines import Deadline

__all__ = [
    "Assignment",
    "EmptyNoticeError",
    "ImportResult",
    "Line",
    "NoTextLayerError",
    "NoticeImportError",
    "NoticeMeta",
    "NoticeTooLargeError",
    "ReviewFlag",
    "Table",
    "UnresolvedUnit",
    "UnsupportedFormatError",
]


class NoticeImportError(ValueError):
    """A notice that cannot be read.

    `code` is stable, for the chat and CLI layers to pick a translated message (the
    exception text is English, for logs).
    """

    code: ClassVar[str] = "unreadable"


class NoTextLayerError(NoticeImportError):
    """A PDF that is only page images (a scan): there is no text to read without OCR."""

    code: ClassVar[str] = "no_text_layer"


class UnsupportedFormatError(NoticeImportError):
    """A file that is neither text, .docx nor .pdf (binary data sent as .txt included)."""

    code: ClassVar[str] = "unsupported_format"


class EmptyNoticeError(NoticeImportError):
    """Nothing to read: zero bytes, only whitespace, or a document with no words in it."""

    code: ClassVar[str] = "empty"


class NoticeTooLargeError(NoticeImportError):
    """Far bigger than any notice: refused before it ties the importer up for minutes."""

    code: ClassVar[str] = "too_large"


class ReviewFlag(StrEnum):
    """Things a reviewer should know; stable codes the chat layer translates."""

    NO_NOTICE_DATE = "no_notice_date"  # yearless deadlines took their year from elsewhere
    DATE_FROM_MEETING = "date_from_meeting"  # the signing date is blank: the meeting's is used
    NO_ASSIGNMENTS = "no_assignments"
    UNRESOLVED_UNITS = "unresolved_units"  # some units are not in the registry


@dataclass(frozen=True)
class Line:
    """A line of text as a reader found it, before paragraphs are rebuilt."""

    text: str
    bold: bool = False
    italic: bool = False
    new_paragraph: bool = True  # the source itself starts a paragraph here
    continues: bool = False  # the source's layout shows this line wraps the previous one
    label: str | None = None  # a list label the source generated (Word numbering)


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class NoticeMeta:
    number: str | None = None
    date: date | None = None
    place: str | None = None
    title: str | None = None
    chaired_by: str | None = None
    signer: str | None = None
    recipients: tuple[str, ...] = ()
    issuer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "date": self.date.isoformat() if self.date else None,
            "place": self.place,
            "title": self.title,
            "chaired_by": self.chaired_by,
            "signer": self.signer,
            "recipients": list(self.recipients),
        }


@dataclass(frozen=True)
class UnresolvedUnit:
    text: str
    suggestions: tuple[str, ...] = ()  # registry codes, nearest first
    role: str = "lead"  # "lead" or "cooperating"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "suggestions": list(self.suggestions), "role": self.role}


@dataclass(frozen=True)
class Assignment:
    section: str
    action: str
    lead_units: tuple[str, ...]  # registry codes: one, or none when the lead is unresolved
    cooperating_units: tuple[str, ...]
    deliverable: str
    deadline: Deadline
    unresolved_units: tuple[UnresolvedUnit, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "action": self.action,
            "lead_units": list(self.lead_units),
            "cooperating_units": list(self.cooperating_units),
            "deliverable": self.deliverable,
            "deadline": {
                "kind": self.deadline.kind.value,
                "date": self.deadline.due.isoformat() if self.deadline.due else None,
                "text": self.deadline.text,
                "condition": self.deadline.condition,
                "recurrence": self.deadline.recurrence,
            },
            "unresolved_units": [unit.to_dict() for unit in self.unresolved_units],
            "source": self.source,
        }


@dataclass(frozen=True)
class ImportResult:
    notice: NoticeMeta
    assignments: tuple[Assignment, ...]
    encoding: str | None = None  # for text files: how the bytes were decoded
    warnings: tuple[ReviewFlag, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "notice": self.notice.to_dict(),
            "assignments": [assignment.to_dict() for assignment in self.assignments],
            "warnings": [warning.value for warning in self.warnings],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The review document the CLI prints (`nhacviec import-notice --json`)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
