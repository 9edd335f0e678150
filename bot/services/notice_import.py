"""Importing a conclusion notice: read it, keep it as a draft for review, then make it live.

Channel-neutral: the CLI (`nhacviec import-notice`, `nhacviec notices ...`) and the Telegram
review flow call the same methods and show the same DTOs.

The life of a notice:
- `preview` reads a file against the registry and stores nothing;
- `commit` stores the notice (status draft) with the lines it read in `notices.draft`;
  the same file twice gives back the same draft (matched by the bytes' sha256);
- `set_line_unit`, `set_line_cooperating`, `set_line_deadline` and `drop_line` fix what
  the reading got wrong or could not resolve;
- `confirm` turns the lines into assignments with task codes and starts their reminders;
  `cancel` throws the draft away.

Why the lines live in JSON rather than as assignment rows with status "draft": an
assignment needs a lead unit (NOT NULL, it is who gets reminded) and an unreviewed line may
not have one yet. Line numbers are given once, at import, and never reused, so a button or a
command that names line 4 means the same line after line 3 was dropped.

Every call is one transaction; a refusal is raised before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain.deadlines import NO_DEADLINE, Deadline, parse_deadline
from bot.domain.enums import AssignmentStatus, DeadlineKind, NoticeStatus, UnitKind
from bot.domain.textnorm import fold, nfc
from bot.domain.titles import short_title
from bot.i18n import _, ngettext
from bot.notice_import import (
    EmptyNoticeError,
    ImportResult,
    NoTextLayerError,
    NoticeImportError,
    NoticeTooLargeError,
    ReviewFlag,
    UnitRef,
    UnsupportedFormatError,
    import_notice,
)
from bot.presentation import short_date
from bot.services.dto import TaskView, UnitRefView
from bot.services.errors import InvalidValueError, ServiceError, UnknownUnitError
from bot.services.views import task_view, unit_ref
from storage.models import Assignment, Notice, Unit
from storage.repositories import audit
from storage.repositories import registry as registry_repo
from storage.repositories import work as work_repo

__all__ = [
    "MAX_NOTICE_BYTES",
    "DraftLineView",
    "DraftSummary",
    "DraftView",
    "ImportPreview",
    "LineDeadline",
    "MissingLeadError",
    "NoAssignmentsError",
    "NoticeAlreadyLiveError",
    "NoticeImportService",
    "NoticeMetaView",
    "NoticeUnreadableError",
    "UnknownDraftError",
    "UnresolvedView",
    "code_prefix",
    "warning_label",
]

# A signed notice is a few pages; anything far larger is not one (and would tie up a worker).
MAX_NOTICE_BYTES = 20 * 1024 * 1024

_DRAFT_VERSION = 1
# Column widths of `assignments` (storage/models/work.py).
_SECTION_MAX = 16
_DEADLINE_TEXT_MAX = 255
_CODE_MAX = 32
# Words an admin types to clear a line's deadline (folded).
_NO_DEADLINE_WORDS = {"-", "khong", "khong co", "khong thoi han", "khong han", "none", "no"}
_NUMBER = re.compile(r"(?<![\d/])0*(\d{1,6})\s*/\s*([A-Za-zĐđ]{1,6})")


# --- refusals ---------------------------------------------------------------------------------


class NoticeUnreadableError(ServiceError):
    """The importer could not read the file; `code` is the importer's stable error code."""

    def __init__(self, code: str, file_name: str) -> None:
        super().__init__(code, file_name)
        self.code = code
        self.file_name = file_name

    def message(self) -> str:
        if self.code == NoTextLayerError.code:
            return _(
                "{file} has no text layer (it looks like a scanned PDF), so it cannot be "
                "read. Please send the notice as .docx, or as a PDF saved from Word."
            ).format(file=self.file_name)
        if self.code == UnsupportedFormatError.code:
            return _(
                "{file} is not a file type that can be read. Please send the notice as "
                ".docx, .pdf or .txt."
            ).format(file=self.file_name)
        if self.code == EmptyNoticeError.code:
            return _(
                "{file} is empty: there is no text in it. Please check the file and send it again."
            ).format(file=self.file_name)
        if self.code == NoticeTooLargeError.code:
            return _(
                "{file} is far too large to be a notice. Please send the notice itself as "
                ".docx, .pdf or .txt."
            ).format(file=self.file_name)
        return _(
            "{file} could not be read as a notice (the file may be damaged). Please check "
            "it and send it again as .docx, .pdf or .txt."
        ).format(file=self.file_name)


class NoAssignmentsError(ServiceError):
    def __init__(self, file_name: str) -> None:
        super().__init__(file_name)
        self.file_name = file_name

    def message(self) -> str:
        return _(
            "No assignments were found in {file}, so nothing was stored. Is it a conclusion notice?"
        ).format(file=self.file_name)


class UnknownDraftError(ServiceError):
    def __init__(self, draft_id: int) -> None:
        super().__init__(draft_id)
        self.draft_id = draft_id

    def message(self) -> str:
        return _("There is no draft notice number {id}.").format(id=self.draft_id)


class NoticeAlreadyLiveError(ServiceError):
    """The notice was confirmed before: its tasks are live and the draft is gone."""

    def __init__(self, notice_id: int, label: str) -> None:
        super().__init__(notice_id, label)
        self.notice_id = notice_id
        self.label = label

    def message(self) -> str:
        return _(
            "Notice {notice} has already been confirmed and its tasks are live. "
            "Nothing was changed."
        ).format(notice=self.label)


class MissingLeadError(ServiceError):
    """Confirmation refused: these lines have no lead unit yet."""

    def __init__(self, draft_id: int, lines: Sequence[int]) -> None:
        super().__init__(draft_id, tuple(lines))
        self.draft_id = draft_id
        self.lines = tuple(lines)

    def message(self) -> str:
        return ngettext(
            "Not confirmed yet: line {lines} has no lead unit. Choose a unit for it, or "
            "drop the line, then confirm again.",
            "Not confirmed yet: lines {lines} have no lead unit. Choose a unit for each, or "
            "drop those lines, then confirm again.",
            len(self.lines),
        ).format(lines=", ".join(str(n) for n in self.lines))


class ConcurrentChangeError(ServiceError):
    def message(self) -> str:
        return _("Someone else changed this notice at the same moment. Please try again.")


# --- what the service hands back --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeMetaView:
    """The notice's heading; None where the notice does not say."""

    number: str | None
    issued_on: date | None
    place: str | None
    title: str | None
    chaired_by: str | None
    signer: str | None
    issuer: str | None
    recipients: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How to name the notice in a sentence: its number, else its title, else its date."""
        if self.number and any(ch.isdigit() for ch in self.number):
            return self.number
        if self.title:
            return short_title(self.title, 80)
        return short_date(self.issued_on) if self.issued_on else "—"

    def to_json(self) -> dict[str, Any]:
        """The importer's `notice` object (`nhacviec import-notice --json`)."""
        return {
            "number": self.number,
            "date": self.issued_on.isoformat() if self.issued_on else None,
            "place": self.place,
            "title": self.title,
            "chaired_by": self.chaired_by,
            "signer": self.signer,
            "recipients": list(self.recipients),
        }


@dataclass(frozen=True, slots=True)
class LineDeadline:
    kind: str  # a DeadlineKind value
    due_date: date | None
    text: str  # as written
    condition: str | None = None
    recurrence: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "date": self.due_date.isoformat() if self.due_date else None,
            "text": self.text,
            "condition": self.condition,
            "recurrence": self.recurrence,
        }


@dataclass(frozen=True, slots=True)
class UnresolvedView:
    """A unit the notice names that the registry does not know, nearest matches first."""

    text: str
    role: str  # "lead" or "cooperating"
    suggestions: tuple[UnitRefView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "suggestions": [unit.code for unit in self.suggestions],
            "role": self.role,
        }


@dataclass(frozen=True, slots=True)
class DraftLineView:
    """One assignment as read (and as reviewed so far)."""

    no: int
    section: str
    title: str
    action: str
    deliverable: str
    lead_unit: UnitRefView | None
    cooperating_units: tuple[UnitRefView, ...]
    deadline: LineDeadline
    unresolved: tuple[UnresolvedView, ...]
    source: str

    @property
    def needs_lead(self) -> bool:
        return self.lead_unit is None

    @property
    def unresolved_lead(self) -> UnresolvedView | None:
        return next((u for u in self.unresolved if u.role == "lead"), None)

    def to_import_json(self) -> dict[str, Any]:
        """The importer's assignment object, field for field."""
        return {
            "section": self.section,
            "action": self.action,
            "lead_units": [self.lead_unit.code] if self.lead_unit else [],
            "cooperating_units": [unit.code for unit in self.cooperating_units],
            "deliverable": self.deliverable,
            "deadline": self.deadline.to_json(),
            "unresolved_units": [unit.to_json() for unit in self.unresolved],
            "source": self.source,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "no": self.no,
            "section": self.section,
            "title": self.title,
            "action": self.action,
            "deliverable": self.deliverable,
            "lead_unit": self.lead_unit.code if self.lead_unit else None,
            "cooperating_units": [unit.code for unit in self.cooperating_units],
            "deadline": self.deadline.to_json(),
            "unresolved_units": [unit.to_json() for unit in self.unresolved],
            "source": self.source,
        }


def _import_document(
    notice: NoticeMetaView, lines: Sequence[DraftLineView], warnings: Sequence[str]
) -> dict[str, Any]:
    return {
        "notice": notice.to_json(),
        "assignments": [line.to_import_json() for line in lines],
        "warnings": list(warnings),
    }


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What a file says, read against the registry; nothing stored."""

    file_name: str
    sha256: str
    notice: NoticeMetaView
    lines: tuple[DraftLineView, ...]
    warnings: tuple[str, ...]  # ReviewFlag values
    encoding: str | None  # text files: the encoding the bytes were in

    @property
    def missing_leads(self) -> tuple[int, ...]:
        return tuple(line.no for line in self.lines if line.needs_lead)

    def to_json(self) -> dict[str, Any]:
        """The importer's review document: `notice`, `assignments`, `warnings`."""
        return _import_document(self.notice, self.lines, self.warnings)


@dataclass(frozen=True, slots=True)
class DraftView:
    """A stored draft notice and its lines."""

    id: int
    status: str
    file_name: str
    sha256: str
    created_at: datetime
    notice: NoticeMetaView
    lines: tuple[DraftLineView, ...]
    warnings: tuple[str, ...]
    # True when this call stored the draft; False when the same file was already a draft.
    created: bool = False

    @property
    def missing_leads(self) -> tuple[int, ...]:
        return tuple(line.no for line in self.lines if line.needs_lead)

    def line(self, no: int) -> DraftLineView | None:
        return next((line for line in self.lines if line.no == no), None)

    def to_import_json(self) -> dict[str, Any]:
        """The importer's review document for what is stored, plus `draft_id`."""
        return {**_import_document(self.notice, self.lines, self.warnings), "draft_id": self.id}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "file_name": self.file_name,
            "created_at": self.created_at.isoformat(),
            "notice": self.notice.to_json(),
            "warnings": list(self.warnings),
            "missing_leads": list(self.missing_leads),
            "lines": [line.to_json() for line in self.lines],
        }


@dataclass(frozen=True, slots=True)
class DraftSummary:
    id: int
    file_name: str
    created_at: datetime
    notice: NoticeMetaView
    line_count: int
    missing_leads: tuple[int, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file_name": self.file_name,
            "created_at": self.created_at.isoformat(),
            "notice": self.notice.to_json(),
            "lines": self.line_count,
            "missing_leads": list(self.missing_leads),
        }


def warning_label(code: str) -> str:
    """A reviewer's reading of an import warning (ReviewFlag value)."""
    labels = {
        ReviewFlag.NO_NOTICE_DATE.value: _(
            "The notice carries no date: check the year of deadlines written without one."
        ),
        ReviewFlag.DATE_FROM_MEETING.value: _(
            "The signing date is blank, so the meeting date stands in for the notice's date."
        ),
        ReviewFlag.NO_ASSIGNMENTS.value: _("No assignments were found in this notice."),
        ReviewFlag.UNRESOLVED_UNITS.value: _(
            "Some units are not in the registry: choose a unit for each flagged line."
        ),
    }
    return labels.get(code, code)


# --- the stored line --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unresolved:
    text: str
    suggestions: tuple[str, ...]
    role: str


@dataclass(frozen=True, slots=True)
class _Line:
    """A draft line as kept in `notices.draft["lines"]`."""

    no: int
    section: str
    title: str
    action: str
    deliverable: str
    lead: str | None
    cooperating: tuple[str, ...]
    unresolved: tuple[_Unresolved, ...]
    deadline: LineDeadline
    source: str

    def units_in_use(self) -> set[str]:
        """The units the assignment will name: its lead and its cooperating units."""
        return {*self.cooperating, *([self.lead] if self.lead else [])}

    def codes(self) -> set[str]:
        """Every registry code the line shows, suggestions included."""
        return self.units_in_use() | {s for u in self.unresolved for s in u.suggestions}

    def to_json(self) -> dict[str, Any]:
        return {
            "no": self.no,
            "section": self.section,
            "title": self.title,
            "action": self.action,
            "deliverable": self.deliverable,
            "lead": self.lead,
            "cooperating": list(self.cooperating),
            "unresolved": [
                {"text": u.text, "suggestions": list(u.suggestions), "role": u.role}
                for u in self.unresolved
            ],
            "deadline": self.deadline.to_json(),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _Line:
        deadline = raw.get("deadline") or {}
        due = deadline.get("date")
        return cls(
            no=int(raw["no"]),
            section=str(raw.get("section") or ""),
            title=str(raw.get("title") or ""),
            action=str(raw.get("action") or ""),
            deliverable=str(raw.get("deliverable") or ""),
            lead=raw.get("lead") or None,
            cooperating=tuple(raw.get("cooperating") or ()),
            unresolved=tuple(
                _Unresolved(
                    str(u.get("text") or ""),
                    tuple(u.get("suggestions") or ()),
                    str(u.get("role") or "lead"),
                )
                for u in raw.get("unresolved") or ()
            ),
            deadline=LineDeadline(
                kind=str(deadline.get("kind") or DeadlineKind.NONE.value),
                due_date=date.fromisoformat(due) if due else None,
                text=str(deadline.get("text") or ""),
                condition=deadline.get("condition"),
                recurrence=deadline.get("recurrence"),
            ),
            source=str(raw.get("source") or ""),
        )


def _line_deadline(deadline: Deadline) -> LineDeadline:
    return LineDeadline(
        kind=deadline.kind.value,
        due_date=deadline.due,
        text=deadline.text,
        condition=deadline.condition,
        recurrence=deadline.recurrence,
    )


def _lines_from(result: ImportResult) -> list[_Line]:
    lines = []
    for no, item in enumerate(result.assignments, start=1):
        lead = item.lead_units[0] if item.lead_units else None
        lines.append(
            _Line(
                no=no,
                section=item.section,
                title=short_title(item.action),
                action=item.action,
                deliverable=item.deliverable,
                lead=lead,
                cooperating=tuple(c for c in item.cooperating_units if c != lead),
                unresolved=tuple(
                    _Unresolved(u.text, tuple(u.suggestions), u.role) for u in item.unresolved_units
                ),
                deadline=_line_deadline(item.deadline),
                source=item.source,
            )
        )
    return lines


def _meta_from(result: ImportResult) -> NoticeMetaView:
    meta = result.notice
    return NoticeMetaView(
        number=meta.number,
        issued_on=meta.date,
        place=meta.place,
        title=meta.title,
        chaired_by=meta.chaired_by,
        signer=meta.signer,
        issuer=meta.issuer,
        recipients=tuple(meta.recipients),
    )


def _meta_of(notice: Notice) -> NoticeMetaView:
    return NoticeMetaView(
        number=notice.number or None,
        issued_on=notice.issued_on,
        place=notice.place or None,
        title=notice.title or None,
        chaired_by=notice.chaired_by or None,
        signer=notice.signer or None,
        issuer=notice.issuer or None,
        recipients=tuple(notice.recipients or ()),
    )


def _warnings(stored: Iterable[str], lines: Sequence[_Line]) -> tuple[str, ...]:
    """The importer's notice-level warnings, with the per-line ones as they stand now."""
    dynamic = {ReviewFlag.NO_ASSIGNMENTS.value, ReviewFlag.UNRESOLVED_UNITS.value}
    found = [w for w in stored if w not in dynamic]
    if not lines:
        found.append(ReviewFlag.NO_ASSIGNMENTS.value)
    if any(line.unresolved or line.lead is None for line in lines):
        found.append(ReviewFlag.UNRESOLVED_UNITS.value)
    return tuple(found)


def _ref_view(code: str, units: Mapping[str, UnitRefView]) -> UnitRefView:
    # A code no longer in the registry still shows, as itself; confirmation will refuse it.
    return units.get(code) or UnitRefView(code=code, name=code, short_name=code)


def _line_view(line: _Line, units: Mapping[str, UnitRefView]) -> DraftLineView:
    return DraftLineView(
        no=line.no,
        section=line.section,
        title=line.title,
        action=line.action,
        deliverable=line.deliverable,
        lead_unit=_ref_view(line.lead, units) if line.lead else None,
        cooperating_units=tuple(_ref_view(c, units) for c in line.cooperating),
        deadline=line.deadline,
        unresolved=tuple(
            UnresolvedView(
                text=u.text,
                role=u.role,
                suggestions=tuple(_ref_view(s, units) for s in u.suggestions),
            )
            for u in line.unresolved
        ),
        source=line.source,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def code_prefix(number: str | None, issued_on: date | None, today: date) -> str:
    """The short stem of a notice's task codes: "123/TB-UBND" → "TB123"; a notice without a
    number goes by its month: "TB0623" (June 2023)."""
    match = _NUMBER.search(number or "")
    if match:
        kind = fold(match.group(2)).upper()
        return f"{kind}{int(match.group(1))}"
    day = issued_on or today
    return f"TB{day.month:02d}{day.year % 100:02d}"


def _source_text(data: bytes, file_name: str, result: ImportResult) -> str:
    """The notice's words, kept with it for the record.

    The importer does not hand back its text, so this reads it again the plain way; what it
    cannot decode (legacy TCVN3/VNI bytes) falls back to the sentences the lines came from.
    """
    suffix = Path(file_name).suffix.lower()
    text = ""
    with contextlib.suppress(Exception):  # an archive copy is best effort, never a refusal
        if result.encoding is not None:
            text = data.decode(result.encoding)
        elif suffix == ".docx":
            import docx

            document = docx.Document(io.BytesIO(data))
            parts = [p.text for p in document.paragraphs]
            for grid in document.tables:
                parts.extend(" | ".join(cell.text for cell in row.cells) for row in grid.rows)
            text = "\n".join(parts)
        elif suffix == ".pdf":
            import pdfplumber

            with pdfplumber.open(io.BytesIO(data)) as pdf:
                text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    if not text.strip():
        text = "\n\n".join(item.source for item in result.assignments)
    return nfc(text)


class ReminderHooks(Protocol):
    """The part of the reminder engine a confirmation needs (ReminderService has it)."""

    async def on_assignment_changed(self, session: AsyncSession, assignment_id: int) -> None: ...

    def request_tick(self) -> None: ...


Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]


# --- the service ------------------------------------------------------------------------------


class NoticeImportService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        reminders: ReminderHooks,
        timezone: tzinfo,
        transaction: Transaction | None = None,
    ) -> None:
        """`transaction` opens a write transaction; pass the one the other services share
        (ReportService.writing) so SQLite writers queue in-process instead of failing."""
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._reminders = reminders
        self._tz = timezone
        self._transaction = transaction or self._begin

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncSession]:
        async with self._sessionmaker() as session, session.begin():
            yield session

    def _today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    # -- reading -------------------------------------------------------------------------------

    async def preview(self, data: bytes, file_name: str) -> ImportPreview:
        """Read a notice against the registry's units; nothing is stored."""
        async with self._sessionmaker() as session:
            refs = await self._unit_refs(session)
        result = await self._read(data, file_name, refs)
        views = {ref.code: UnitRefView(ref.code, ref.name, ref.short_name) for ref in refs}
        lines = _lines_from(result)
        return ImportPreview(
            file_name=file_name,
            sha256=hashlib.sha256(data).hexdigest(),
            notice=_meta_from(result),
            lines=tuple(_line_view(line, views) for line in lines),
            warnings=_warnings((w.value for w in result.warnings), lines),
            encoding=result.encoding,
        )

    async def _read(self, data: bytes, file_name: str, refs: Sequence[UnitRef]) -> ImportResult:
        if len(data) > MAX_NOTICE_BYTES:
            raise NoticeUnreadableError(NoticeTooLargeError.code, file_name)
        try:
            # Reading a PDF takes a while: keep the event loop (the chat bot) responsive.
            return await asyncio.to_thread(
                import_notice, data, file_name, refs, reference_date=self._today()
            )
        except NoticeImportError as exc:
            raise NoticeUnreadableError(exc.code, file_name) from exc

    @staticmethod
    async def _unit_refs(session: AsyncSession) -> list[UnitRef]:
        # Active units only: a unit that no longer exists must not be read into a notice.
        units = await session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.code))
        refs = []
        for unit in units:
            try:
                kind = UnitKind(unit.kind)
            except ValueError:
                kind = UnitKind.KHAC
            refs.append(
                UnitRef(
                    code=unit.code,
                    name=unit.name,
                    short_name=unit.short_name,
                    aliases=tuple(unit.aliases or ()),
                    kind=kind,
                    sectors=tuple(unit.sectors or ()),
                )
            )
        return refs

    async def list_drafts(self) -> list[DraftSummary]:
        """Drafts waiting for review, oldest first."""
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(Notice).where(Notice.status == NoticeStatus.DRAFT.value).order_by(Notice.id)
            )
            summaries = []
            for notice in rows:
                lines = _stored_lines(notice)
                summaries.append(
                    DraftSummary(
                        id=notice.id,
                        file_name=notice.source_name,
                        created_at=notice.created_at,
                        notice=_meta_of(notice),
                        line_count=len(lines),
                        missing_leads=tuple(line.no for line in lines if line.lead is None),
                    )
                )
            return summaries

    async def get_draft(self, draft_id: int) -> DraftView:
        async with self._sessionmaker() as session:
            notice = await self._draft(session, draft_id, lock=False)
            return await self._view(session, notice)

    # -- storing -------------------------------------------------------------------------------

    async def commit(self, data: bytes, file_name: str, *, actor: str) -> DraftView:
        """Store the notice and its lines as a draft; the same file again returns that draft."""
        sha = hashlib.sha256(data).hexdigest()
        async with self._sessionmaker() as session:
            existing = await work_repo.notice_by_sha(session, sha)
            if existing is not None:
                return await self._existing(session, existing)
            refs = await self._unit_refs(session)
        result = await self._read(data, file_name, refs)
        if not result.assignments:
            raise NoAssignmentsError(file_name)
        lines = _lines_from(result)
        meta = result.notice
        # Parsed again for the archive copy: outside the transaction and off the event loop.
        source_text = await asyncio.to_thread(_source_text, data, file_name, result)
        now = self._clock.now()
        try:
            async with self._transaction() as session:
                if (again := await work_repo.notice_by_sha(session, sha)) is not None:
                    return await self._existing(session, again)
                notice = Notice(
                    number=_clip(meta.number or "", 64),
                    issued_on=meta.date,
                    place=_clip(meta.place or "", 128),
                    title=meta.title or "",
                    issuer=_clip(meta.issuer or "", 255),
                    chaired_by=_clip(meta.chaired_by or "", 255),
                    signer=_clip(meta.signer or "", 255),
                    recipients=list(meta.recipients),
                    source_name=_clip(file_name, 255),
                    source_text=source_text,
                    source_sha256=sha,
                    status=NoticeStatus.DRAFT.value,
                    created_at=now,
                    draft=_draft_json([w.value for w in result.warnings], lines),
                )
                session.add(notice)
                await session.flush()
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="notice.import",
                    entity="notice",
                    entity_id=notice.id,
                    after={
                        "file": file_name,
                        "sha256": sha,
                        "number": notice.number,
                        "lines": len(lines),
                        "missing_leads": [line.no for line in lines if line.lead is None],
                    },
                )
                view = await self._view(session, notice, created=True)
        except IntegrityError:
            # The same file committed at the same moment by someone else: theirs is the draft.
            async with self._sessionmaker() as session:
                existing = await work_repo.notice_by_sha(session, sha)
                if existing is None:
                    raise
                return await self._existing(session, existing)
        return view

    async def _existing(self, session: AsyncSession, notice: Notice) -> DraftView:
        if notice.status != NoticeStatus.DRAFT.value:
            raise NoticeAlreadyLiveError(notice.id, _meta_of(notice).label)
        return await self._view(session, notice)

    # -- review --------------------------------------------------------------------------------

    async def set_line_unit(
        self, draft_id: int, line_no: int, unit_code: str, *, actor: str
    ) -> DraftView:
        """Choose the lead unit of a line (what the notice names, or a correction)."""
        async with self._transaction() as session:
            notice = await self._draft(session, draft_id)
            lines = _stored_lines(notice)
            line = _find(lines, draft_id, line_no)
            unit = await self._active_unit(session, unit_code)
            updated = replace(
                line,
                lead=unit.code,
                cooperating=tuple(c for c in line.cooperating if c != unit.code),
                unresolved=tuple(u for u in line.unresolved if u.role != "lead"),
            )
            self._save(
                session,
                notice,
                lines,
                updated,
                actor=actor,
                action="notice.set_unit",
                before={"lead": line.lead},
                after={"lead": unit.code},
            )
            return await self._view(session, notice)

    async def set_line_cooperating(
        self, draft_id: int, line_no: int, unit_codes: Sequence[str], *, actor: str
    ) -> DraftView:
        """Replace a line's cooperating units (an empty list clears them)."""
        async with self._transaction() as session:
            notice = await self._draft(session, draft_id)
            lines = _stored_lines(notice)
            line = _find(lines, draft_id, line_no)
            codes: list[str] = []
            for raw in unit_codes:
                unit = await self._active_unit(session, raw)
                if unit.code != line.lead and unit.code not in codes:
                    codes.append(unit.code)
            updated = replace(
                line,
                cooperating=tuple(codes),
                unresolved=tuple(u for u in line.unresolved if u.role != "cooperating"),
            )
            self._save(
                session,
                notice,
                lines,
                updated,
                actor=actor,
                action="notice.set_cooperating",
                before={"cooperating": list(line.cooperating)},
                after={"cooperating": codes},
            )
            return await self._view(session, notice)

    async def set_line_deadline(
        self, draft_id: int, line_no: int, text_or_date: str | date, *, actor: str
    ) -> DraftView:
        """Set a line's deadline as an admin writes it: "30/6/2023", "trước 15/7", "trong
        tháng 9/2023", "quý III/2023", "thường xuyên"; "không" clears it. A year left out
        comes from the notice's date."""
        async with self._transaction() as session:
            notice = await self._draft(session, draft_id)
            lines = _stored_lines(notice)
            line = _find(lines, draft_id, line_no)
            deadline = _read_deadline(text_or_date, notice.issued_on or self._today())
            updated = replace(line, deadline=_line_deadline(deadline))
            self._save(
                session,
                notice,
                lines,
                updated,
                actor=actor,
                action="notice.set_deadline",
                before=line.deadline.to_json(),
                after=updated.deadline.to_json(),
            )
            return await self._view(session, notice)

    async def drop_line(self, draft_id: int, line_no: int, *, actor: str) -> DraftView:
        """Leave a line out (not an assignment, or one to hand out some other way)."""
        async with self._transaction() as session:
            notice = await self._draft(session, draft_id)
            lines = _stored_lines(notice)
            line = _find(lines, draft_id, line_no)
            notice.draft = _draft_json(
                _stored_warnings(notice), [item for item in lines if item.no != line_no]
            )
            audit.record(
                session,
                at=self._clock.now(),
                actor=actor,
                action="notice.drop_line",
                entity="notice",
                entity_id=notice.id,
                before=line.to_json(),
            )
            await session.flush()
            return await self._view(session, notice)

    # -- deciding ------------------------------------------------------------------------------

    async def confirm(self, draft_id: int, *, actor: str) -> list[TaskView]:
        """Make the draft live: one assignment per line, with task codes, reminders planned."""
        now = self._clock.now()
        try:
            async with self._transaction() as session:
                notice = await self._draft(session, draft_id)
                lines = _stored_lines(notice)
                missing = [line.no for line in lines if line.lead is None]
                if missing:
                    raise MissingLeadError(draft_id, missing)
                if not lines:
                    raise NoAssignmentsError(notice.source_name)
                wanted = sorted({code for line in lines for code in line.units_in_use()})
                units = await registry_repo.units_by_codes(session, wanted)
                for code in wanted:
                    if code not in units or not units[code].active:
                        raise UnknownUnitError(code)
                stem = await self._free_stem(session, notice)
                rows = []
                for index, line in enumerate(lines, start=1):
                    row = Assignment(
                        code=f"{stem}-{index:02d}",
                        section=_clip(line.section, _SECTION_MAX),
                        title=line.title,
                        action=line.action,
                        deliverable=line.deliverable,
                        deadline_kind=line.deadline.kind,
                        due_date=line.deadline.due_date,
                        deadline_text=_clip(line.deadline.text, _DEADLINE_TEXT_MAX),
                        deadline_condition=line.deadline.condition,
                        recurrence=line.deadline.recurrence,
                        status=AssignmentStatus.NOT_STARTED.value,
                        source_text=line.source,
                        created_at=now,
                        updated_at=now,
                    )
                    row.notice = notice
                    row.lead_unit = units[line.lead or ""]
                    row.cooperating_units = [units[c] for c in line.cooperating]
                    session.add(row)
                    rows.append(row)
                notice.status = NoticeStatus.LIVE.value
                notice.draft = None
                await session.flush()
                for row, line in zip(rows, lines, strict=True):
                    audit.record(
                        session,
                        at=now,
                        actor=actor,
                        action="assignment.create",
                        entity="assignment",
                        entity_id=row.code,
                        after={
                            "notice": notice.id,
                            "line": line.no,
                            "unit": line.lead,
                            "cooperating": list(line.cooperating),
                            # Named in the notice, never matched to a unit: kept on record.
                            "unresolved": [u.text for u in line.unresolved],
                            "deadline_kind": row.deadline_kind,
                            "due_date": row.due_date.isoformat() if row.due_date else None,
                        },
                    )
                    await self._reminders.on_assignment_changed(session, row.id)
                audit.record(
                    session,
                    at=now,
                    actor=actor,
                    action="notice.confirm",
                    entity="notice",
                    entity_id=notice.id,
                    after={"tasks": [row.code for row in rows]},
                )
                tasks = [task_view(row, with_reports=False) for row in rows]
        except IntegrityError as exc:
            raise ConcurrentChangeError() from exc
        self._reminders.request_tick()
        return tasks

    async def cancel(self, draft_id: int, *, actor: str) -> None:
        """Throw a draft away; the same file can be imported again afterwards."""
        async with self._transaction() as session:
            notice = await self._draft(session, draft_id)
            audit.record(
                session,
                at=self._clock.now(),
                actor=actor,
                action="notice.cancel",
                entity="notice",
                entity_id=notice.id,
                before={
                    "file": notice.source_name,
                    "sha256": notice.source_sha256,
                    "number": notice.number,
                    "title": notice.title,
                    "lines": [line.to_json() for line in _stored_lines(notice)],
                },
            )
            # A Core DELETE: the ORM would first load the (empty) assignments collection.
            await session.execute(delete(Notice).where(Notice.id == notice.id))

    # -- helpers -------------------------------------------------------------------------------

    async def _draft(self, session: AsyncSession, draft_id: int, *, lock: bool = True) -> Notice:
        query = select(Notice).where(Notice.id == draft_id)
        if lock and session.get_bind().dialect.name == "postgresql":
            # Two admins reviewing the same draft: the second waits and sees the first's edit.
            query = query.with_for_update()
        notice = await session.scalar(query)
        if notice is None:
            raise UnknownDraftError(draft_id)
        if notice.status != NoticeStatus.DRAFT.value:
            raise NoticeAlreadyLiveError(notice.id, _meta_of(notice).label)
        return notice

    @staticmethod
    async def _active_unit(session: AsyncSession, code: str) -> Unit:
        unit = await registry_repo.unit_by_code(session, code.strip().upper())
        if unit is None or not unit.active:
            raise UnknownUnitError(code.strip())
        return unit

    def _save(
        self,
        session: AsyncSession,
        notice: Notice,
        lines: Sequence[_Line],
        updated: _Line,
        *,
        actor: str,
        action: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        # A new object, not an edit in place: the JSON column only notices reassignment.
        notice.draft = _draft_json(
            _stored_warnings(notice),
            [updated if line.no == updated.no else line for line in lines],
        )
        audit.record(
            session,
            at=self._clock.now(),
            actor=actor,
            action=action,
            entity="notice",
            entity_id=notice.id,
            before={"line": updated.no, **before},
            after={"line": updated.no, **after},
        )

    async def _view(
        self, session: AsyncSession, notice: Notice, *, created: bool = False
    ) -> DraftView:
        lines = _stored_lines(notice)
        codes = sorted({code for line in lines for code in line.codes()})
        units = {
            code: unit_ref(unit)
            for code, unit in (await registry_repo.units_by_codes(session, codes)).items()
        }
        return DraftView(
            id=notice.id,
            status=notice.status,
            file_name=notice.source_name,
            sha256=notice.source_sha256,
            created_at=notice.created_at,
            notice=_meta_of(notice),
            lines=tuple(_line_view(line, units) for line in lines),
            warnings=_warnings(_stored_warnings(notice), lines),
            created=created,
        )

    async def _free_stem(self, session: AsyncSession, notice: Notice) -> str:
        """The notice's code stem, with B, C, ... added when another notice already has it."""
        base = code_prefix(notice.number, notice.issued_on, self._today())
        for suffix in ["", *"BCDEFGHJKLMNPQRSTUVWXYZ", f"N{notice.id}"]:
            stem = f"{base}{suffix}"[: _CODE_MAX - 4]
            taken = await session.scalar(
                select(Assignment.id).where(Assignment.code.like(f"{stem}-%")).limit(1)
            )
            if taken is None:
                return stem
        raise ConcurrentChangeError()  # pragma: no cover - the notice id is unique


def _stored_lines(notice: Notice) -> list[_Line]:
    draft = notice.draft or {}
    return [_Line.from_json(raw) for raw in draft.get("lines") or ()]


def _stored_warnings(notice: Notice) -> list[str]:
    draft = notice.draft or {}
    return [str(w) for w in draft.get("warnings") or ()]


def _draft_json(warnings: Sequence[str], lines: Sequence[_Line]) -> dict[str, Any]:
    return {
        "version": _DRAFT_VERSION,
        "warnings": list(warnings),
        "lines": [line.to_json() for line in lines],
    }


def _find(lines: Sequence[_Line], draft_id: int, line_no: int) -> _Line:
    for line in lines:
        if line.no == line_no:
            return line
    raise InvalidValueError(_("Draft {id} has no line {line}.").format(id=draft_id, line=line_no))


def _read_deadline(value: str | date, reference: date) -> Deadline:
    if isinstance(value, date):
        return Deadline(DeadlineKind.DATE, value, short_date(value))
    text = nfc(" ".join(value.split()))
    if fold(text) in _NO_DEADLINE_WORDS:
        return NO_DEADLINE
    deadline = parse_deadline(text, reference)
    if deadline.kind is DeadlineKind.NONE:
        raise InvalidValueError(
            _(
                'Cannot read the deadline {text}. Write it as 30/6/2023, "trong tháng '
                '9/2023", "quý III/2023" or "thường xuyên", or "không" for none.'
            ).format(text=text)
        )
    return deadline
