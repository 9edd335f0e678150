"""Progress reports and their review: the heart of what officers and admins do in chat.

Channel-neutral: Telegram and Zalo adapters call `submit` with what they understood and the
files they stored, and `confirm`/`send_back`/`approve_extension`/`refuse_extension` when an
admin decides. Every change happens in one transaction together with the outbox messages it
causes (admins notified with files and review buttons, officers told the outcome) and the
reminder re-plan, so a crash never leaves a recorded report whose admins were not told.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload, selectinload

from bot.channels.base import Button, FileRef, OutgoingMessage
from bot.clock import Clock
from bot.domain.actions import Action, Verb
from bot.domain.enums import AssignmentStatus, DeadlineKind, ReportKind, Review, Role
from bot.domain.replies import UnderstoodReply
from bot.domain.statuses import (
    Event,
    TimelinessView,
    WorkingCalendar,
    accepts_reports,
    assess,
    next_status,
)
from bot.i18n import I18n, _
from bot.presentation import deadline_label, file_size_label, long_date, review_label
from bot.services.attachments import AttachmentStore, StoredFile
from bot.services.dto import AttachmentView, OfficerView, ReportView, TaskView
from bot.services.errors import (
    CodeError,
    InvalidValueError,
    NotAllowedError,
    ServiceError,
    UnknownTaskError,
)
from bot.services.views import attachment_view, task_view
from storage.models import Assignment, Attachment, DeadlineChange, Officer, ProgressReport
from storage.repositories import audit

log = logging.getLogger(__name__)

__all__ = [
    "Actor",
    "ReminderHooks",
    "ReportReceipt",
    "ReportService",
    "Review",
    "ReviewOutcome",
    "file_lines",
    "outcome_text",
    "review_label",
    "task_view_light",
]


class ReminderHooks(Protocol):
    """The part of the reminder engine reports need (ReminderService satisfies it)."""

    async def on_assignment_changed(self, session: AsyncSession, assignment_id: int) -> None: ...

    async def on_officer_changed(self, session: AsyncSession, officer_id: int) -> None: ...

    async def enqueue_message(
        self,
        session: AsyncSession,
        *,
        message: OutgoingMessage,
        dedupe_key: str,
        officer_id: int | None = None,
        group_chat_id: int | None = None,
        kind: str = "notice",
    ) -> None: ...

    def request_tick(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is talking to the bot on a channel: an officer (maybe), and whether an admin."""

    channel: str
    user_id: str
    chat_id: str
    officer: OfficerView | None
    is_admin: bool
    display_name: str = ""

    @property
    def audit_name(self) -> str:
        if self.officer is not None:
            return f"officer:{self.officer.id}"
        return f"{self.channel}:{self.user_id}"

    @property
    def name(self) -> str:
        return self.officer.name if self.officer is not None else self.display_name


@dataclass(frozen=True, slots=True)
class ReportReceipt:
    """What was recorded, for the officer's receipt."""

    report: ReportView
    task_code: str
    task_title: str
    status: str
    percent: int | None
    # "Done" with no file in this round: ask (once) for the signed document.
    ask_for_document: bool = False
    # Files sent while the result awaits confirmation: evidence for that result.
    adds_to_result: bool = False


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    report_id: int
    task_code: str
    task_title: str
    kind: str  # ReportKind.DONE or ReportKind.EXTENSION
    decision: Review
    officer_name: str | None
    reason: str = ""
    timeliness: TimelinessView | None = None  # for a confirmed result
    new_due_date: date | None = None  # for an approved extension
    old_due_date: date | None = None


# -- refusals ---------------------------------------------------------------------------------


class NotYourTaskError(CodeError):
    def message(self) -> str:
        return _(
            "Task {code} is not assigned to your unit (neither as lead nor as cooperating "
            "unit), so nothing was recorded."
        ).format(code=self.code)


class NoUnitError(ServiceError):
    def message(self) -> str:
        return _(
            "Only officers of a unit can report progress. Your account is not attached to "
            "a unit, so nothing was recorded."
        )


class TaskClosedError(ServiceError):
    def __init__(self, code: str, status: str) -> None:
        super().__init__(code)
        self.code = code
        self.status = status

    def message(self) -> str:
        from bot.presentation import status_label

        return _(
            "Task {code} is {status}: it takes no more reports, so nothing was recorded."
        ).format(code=self.code, status=status_label(self.status))


class AlreadyReportedError(CodeError):
    def message(self) -> str:
        return _(
            "The result of task {code} is already reported and awaits the office's "
            "confirmation. If you have the signed document, please send it as a file."
        ).format(code=self.code)


class ExtensionDateError(InvalidValueError):
    """The proposed date of an extension request cannot be accepted (already translated)."""


class NothingToReviewError(CodeError):
    def message(self) -> str:
        return _("Task {code} has no report awaiting review.").format(code=self.code)


class AlreadyReviewedError(ServiceError):
    def __init__(self, code: str, decision: str, by: str | None) -> None:
        super().__init__(code)
        self.code = code
        self.decision = decision
        self.by = by

    def message(self) -> str:
        decision = review_label(self.decision)
        if self.by:
            return _("This report on {code} was already reviewed ({decision}) by {name}.").format(
                code=self.code, decision=decision, name=self.by
            )
        return _("This report on {code} was already reviewed ({decision}).").format(
            code=self.code, decision=decision
        )


class TaskPausedError(CodeError):
    def message(self) -> str:
        return _(
            "Task {code} is paused; send /resume {code} first, then review its report."
        ).format(code=self.code)


class ReasonRequiredError(ServiceError):
    def message(self) -> str:
        return _("Please give a reason, so the officer knows what to change.")


class UnknownReportError(ServiceError):
    def message(self) -> str:
        return _("This report no longer exists. Nothing was changed.")


# -- the service ------------------------------------------------------------------------------

# Reports are read by targeted queries: a task may collect hundreds of them. The units
# come in the same statement (a task has a handful of cooperating units): one query per
# report instead of two, inside the write transaction that every reply queues for.
_DETAILS = (
    joinedload(Assignment.lead_unit, innerjoin=True),
    joinedload(Assignment.cooperating_units),
)


BuildMessage = Callable[[], OutgoingMessage]


@dataclass
class _Notice:
    """An outbox message to build once per recipient, in that recipient's language."""

    officer_ids: list[int] | None  # None: every bound administrator
    dedupe: str
    build: BuildMessage
    kind: str = "notice"


@dataclass
class _Work:
    notices: list[_Notice] = field(default_factory=list)


# Reports written in one transaction at most: a batch holds the writer for a few ms.
_MAX_BATCH = 64


@dataclass
class _Submission:
    """A report waiting for its transaction; `future` gets its receipt or refusal."""

    actor: Actor
    task_code: str
    reply: UnderstoodReply
    files: tuple[StoredFile, ...]
    source_message_id: str | None
    now: datetime
    context: contextvars.Context  # the sender's (language, logging) for its own steps
    future: asyncio.Future[ReportReceipt]


@dataclass
class _Staged:
    """A report applied to its task, awaiting the batch's INSERT."""

    item: _Submission
    assignment: Assignment
    report: ProgressReport
    kind: ReportKind
    changed: bool
    adds_to_result: bool
    pending_done: ProgressReport | None
    status: str
    percent: int | None
    review_status: str | None
    review_note: str | None
    task: TaskView | None


_T = TypeVar("_T")


async def _in_context(item: _Submission, step: Coroutine[Any, Any, _T]) -> _T:
    return await asyncio.create_task(step, context=item.context)


def _resolve(item: _Submission, outcome: ReportReceipt | BaseException) -> None:
    if item.future.done():  # the sender stopped waiting (its update was cancelled)
        return
    if isinstance(outcome, BaseException):
        item.future.set_exception(outcome)
    else:
        item.future.set_result(outcome)


def _code(task_code: str) -> str:
    return task_code.strip().upper()


class ReportService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        reminders: ReminderHooks,
        attachments: AttachmentStore,
        calendar: WorkingCalendar,
        i18n: I18n,
        timezone: ZoneInfo,
        default_locale: str,
        serialize_writes: bool = False,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._reminders = reminders
        self._attachments = attachments
        self._calendar = calendar
        self._i18n = i18n
        self._tz = timezone
        self._default_locale = default_locale
        # SQLite allows one writer; queueing our own writers in-process avoids the
        # "database is locked" a read-then-write transaction can hit under load.
        self._write_lock = asyncio.Lock() if serialize_writes else None
        # Reports waiting for the next group commit (SQLite), and the task writing them.
        self._queued: list[_Submission] = []
        self._committer: asyncio.Task[None] | None = None

    # -- helpers shared with the other services --------------------------------------------

    @property
    def calendar(self) -> WorkingCalendar:
        return self._calendar

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    def today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def local_time(self, at: datetime) -> str:
        local = at.astimezone(self._tz)
        return f"{local:%H:%M} {local.day}/{local.month}/{local.year}"

    def assess(self, task: TaskView) -> TimelinessView:
        reported = task.completed_at.astimezone(self._tz).date() if task.completed_at else None
        return assess(
            status=task.status,
            deadline_kind=task.deadline_kind,
            due_date=task.due_date,
            today=self.today(),
            reported_on=reported,
            calendar=self._calendar,
        )

    @contextlib.asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (serialised in-process on SQLite).

        The lock covers the transaction only: handing the connection back to the pool
        happens after the next writer may start.
        """
        lock = self._write_lock or contextlib.nullcontext()
        async with self._sessionmaker() as session, lock, session.begin():
            yield session

    @staticmethod
    async def _round_files(
        session: AsyncSession, assignment_id: int, up_to: int
    ) -> list[AttachmentView]:
        """Files reported since the result was last sent back, up to report `up_to`: the
        current attempt's evidence."""
        last_back = (
            select(func.coalesce(func.max(ProgressReport.id), 0))
            .where(
                ProgressReport.assignment_id == assignment_id,
                ProgressReport.review_status == Review.SENT_BACK.value,
            )
            .scalar_subquery()
        )
        rows = await session.scalars(
            select(Attachment)
            .join(ProgressReport, ProgressReport.id == Attachment.report_id)
            .where(
                ProgressReport.assignment_id == assignment_id,
                ProgressReport.id > last_back,
                ProgressReport.id <= up_to,
            )
            .order_by(Attachment.id)
        )
        return [attachment_view(a) for a in rows]

    @staticmethod
    async def _pending(
        session: AsyncSession, assignment_id: int, kind: ReportKind
    ) -> ProgressReport | None:
        return await session.scalar(
            select(ProgressReport)
            .where(
                ProgressReport.assignment_id == assignment_id,
                ProgressReport.kind == kind.value,
                ProgressReport.review_status == Review.PENDING.value,
            )
            .order_by(ProgressReport.id.desc())
            .limit(1)
        )

    @staticmethod
    def is_member(officer: OfficerView | Officer, assignment: Assignment | TaskView) -> bool:
        unit_code = officer.unit_code if isinstance(officer, OfficerView) else None
        if isinstance(officer, Officer):
            unit_code = officer.unit.code if officer.unit is not None else None
        if unit_code is None:
            return False
        if isinstance(assignment, TaskView):
            codes = {assignment.lead_unit.code, *(u.code for u in assignment.cooperating_units)}
        else:
            codes = {assignment.lead_unit.code, *(u.code for u in assignment.cooperating_units)}
        return unit_code in codes

    # -- officers report ---------------------------------------------------------------------

    async def submit(
        self,
        actor: Actor,
        task_code: str,
        reply: UnderstoodReply,
        files: Sequence[StoredFile] = (),
        *,
        source_message_id: str | None = None,
    ) -> ReportReceipt:
        """Record a report on a task of the officer's unit; refuse (recording nothing) else.

        On SQLite the report joins the next group commit (`_commit_queued`). Either way the
        receipt comes back only once the report's transaction has committed.
        """
        if actor.officer is None:
            raise NotAllowedError()
        if actor.officer.unit_code is None:
            raise NoUnitError()
        item = _Submission(
            actor=actor,
            task_code=task_code,
            reply=reply,
            files=tuple(files),
            source_message_id=source_message_id,
            now=self._clock.now(),
            context=contextvars.copy_context(),
            future=asyncio.get_running_loop().create_future(),
        )
        if self._write_lock is not None:
            self._queued.append(item)
            if self._committer is None:
                self._committer = asyncio.create_task(
                    self._commit_queued(), name="report-group-commit"
                )
            return await item.future
        # PostgreSQL: concurrent transactions, each locking its task's row.
        async with self.writing() as session:
            [outcome], tick = await self._write_reports(session, [item])
        if tick:
            self._reminders.request_tick()
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    async def _commit_queued(self) -> None:
        """Write the queued reports, one batch per transaction, until none is left.

        SQLite has one writer, and under load every reply waited for the one before it:
        its SELECT, INSERT, UPDATE and COMMIT, each a hand-off to the driver's thread and
        back through a busy event loop (measured: ~4 ms of lock per reply, a ceiling near
        200 replies/s). The reports that queue meanwhile now share the next transaction:
        one query loads their tasks, one INSERT writes them, one COMMIT makes them
        durable. Each is still checked, applied and answered as if it were alone, in
        arrival order (a report sees what an earlier one in the batch changed), and each
        receipt waits for the commit.
        """
        try:
            while self._queued:
                await self._commit_batch()
        finally:
            self._committer = None

    async def _commit_batch(self) -> None:
        assert self._write_lock is not None
        async with self._sessionmaker() as session, self._write_lock:
            # Taken once the lock is ours: whatever queued while waiting joins in.
            batch = [i for i in self._queued[:_MAX_BATCH] if not i.future.done()]
            del self._queued[:_MAX_BATCH]
            if not batch:
                return
            try:
                async with session.begin():
                    outcomes, tick = await self._write_reports(session, batch)
            except Exception as exc:
                if len(batch) == 1:
                    _resolve(batch[0], exc)
                    return
                # Nothing of the batch was committed; whatever broke must break only
                # its own report, so each is written again alone.
                log.exception("a batch of %d reports failed; retrying one by one", len(batch))
            else:
                for item, outcome in zip(batch, outcomes, strict=True):
                    _resolve(item, outcome)
                if tick:
                    self._reminders.request_tick()
                return
        for item in batch:
            try:
                async with self.writing() as session:
                    [outcome], tick = await self._write_reports(session, [item])
            except Exception as exc:
                _resolve(item, exc)
                continue
            _resolve(item, outcome)
            if tick:
                self._reminders.request_tick()

    async def _write_reports(
        self, session: AsyncSession, batch: Sequence[_Submission]
    ) -> tuple[list[ReportReceipt | ServiceError], bool]:
        """Record each report of `batch` in the caller's transaction, in order.

        A refusal (a `ServiceError`, raised before anything is changed) is that report's
        outcome; the others go on. Returns the outcomes and whether the reminder engine
        has work (outbox messages, a re-plan).
        """
        query = select(Assignment).options(*_DETAILS)
        query = query.where(Assignment.code.in_({_code(i.task_code) for i in batch}))
        if self._write_lock is None:  # PostgreSQL: lock the rows against a concurrent review
            query = query.with_for_update(of=Assignment)
        found = {a.code: a for a in (await session.scalars(query)).unique()}
        results: list[ReportReceipt | ServiceError | _Staged] = []
        for item in batch:
            try:
                # In the sender's context: a refusal is worded in their language.
                results.append(await _in_context(item, self._stage(session, item, found)))
            except ServiceError as refusal:
                results.append(refusal)
        await session.flush()  # the batch's reports in one INSERT
        tick = False
        outcomes: list[ReportReceipt | ServiceError] = []
        for result in results:
            if isinstance(result, _Staged):
                receipt, has_work = await _in_context(result.item, self._finish(session, result))
                outcomes.append(receipt)
                tick = tick or has_work
            else:
                outcomes.append(result)
        return outcomes, tick

    async def _stage(
        self, session: AsyncSession, item: _Submission, found: dict[str, Assignment]
    ) -> _Staged:
        """Check one report and apply it to its task; refusals come before any change."""
        actor, reply, files, now = item.actor, item.reply, item.files, item.now
        assert actor.officer is not None
        assignment = found.get(_code(item.task_code))
        if assignment is None:
            raise UnknownTaskError(item.task_code)
        if not self.is_member(actor.officer, assignment):
            raise NotYourTaskError(assignment.code)
        status = AssignmentStatus(assignment.status)
        if not accepts_reports(status):
            raise TaskClosedError(assignment.code, status)
        kind = reply.kind
        adds_to_result = False
        # Only a task awaiting confirmation has a pending result to add to or withdraw.
        pending_done = (
            await self._pending(session, assignment.id, ReportKind.DONE)
            if status is AssignmentStatus.AWAITING_CONFIRMATION
            else None
        )
        if status is AssignmentStatus.AWAITING_CONFIRMATION and kind in (
            ReportKind.DONE,
            ReportKind.NOTE,
        ):
            if kind is ReportKind.DONE and not files:
                raise AlreadyReportedError(assignment.code)
            kind = ReportKind.NOTE
            adds_to_result = bool(files)
        if kind is ReportKind.EXTENSION:
            self._check_extension(assignment, reply.proposed_date)

        report = ProgressReport(
            assignment_id=assignment.id,
            officer_id=actor.officer.id,
            channel=actor.channel,
            kind=kind.value,
            text=reply.text[:4000],
            percent=100 if kind is ReportKind.DONE else reply.percent,
            proposed_due_date=reply.proposed_date if kind is ReportKind.EXTENSION else None,
            source_message_id=item.source_message_id,
            created_at=now,
            review_status=(
                Review.PENDING.value if kind in (ReportKind.DONE, ReportKind.EXTENSION) else None
            ),
            review_note=reply.reason[:2000] if kind is ReportKind.EXTENSION else None,
            attachments=[
                Attachment(
                    file_name=stored.file_name,
                    size=stored.size,
                    mime_type=stored.mime_type,
                    sha256=stored.sha256,
                    storage_path=stored.storage_path,
                    channel=actor.channel,
                    external_file_id=stored.external_file_id,
                    created_at=now,
                )
                for stored in files
            ],
        )
        session.add(report)
        changed = self._apply(assignment, status, kind, reply, pending_done, now)
        assignment.updated_at = now
        # What the receipt and the admins' message show is the task as this report left
        # it, even if a later report of the same batch moves it on.
        notify = kind in (ReportKind.DONE, ReportKind.EXTENSION) or adds_to_result
        return _Staged(
            item=item,
            assignment=assignment,
            report=report,
            kind=kind,
            changed=changed,
            adds_to_result=adds_to_result,
            pending_done=pending_done,
            status=assignment.status,
            percent=assignment.percent,
            review_status=report.review_status,
            review_note=report.review_note,
            task=task_view_light(assignment) if notify else None,
        )

    async def _finish(self, session: AsyncSession, staged: _Staged) -> tuple[ReportReceipt, bool]:
        """After the batch's INSERT: what needs the report's id (outbox, re-plan, receipt)."""
        item, report, assignment = staged.item, staged.report, staged.assignment
        actor, kind = item.actor, staged.kind
        assert actor.officer is not None
        work = _Work()
        if kind is ReportKind.EXTENSION:
            # A newer request replaces the older ones still waiting.
            await session.execute(
                update(ProgressReport)
                .where(
                    ProgressReport.assignment_id == assignment.id,
                    ProgressReport.kind == ReportKind.EXTENSION.value,
                    ProgressReport.review_status == Review.PENDING.value,
                    ProgressReport.id < report.id,
                )
                .values(review_status=Review.SUPERSEDED.value)
            )
        if staged.changed:
            await self._reminders.on_assignment_changed(session, assignment.id)

        this_view = ReportView(
            id=report.id,
            at=item.now,
            officer=actor.officer.name,
            channel=actor.channel,
            kind=kind.value,
            text=report.text,
            percent=report.percent,
            proposed_due_date=report.proposed_due_date,
            review_status=staged.review_status,
            review_note=staged.review_note,
            attachments=tuple(attachment_view(f) for f in item.files),
        )
        ask = False
        task = staged.task
        if kind is ReportKind.DONE:
            assert task is not None
            round_files = await self._round_files(session, assignment.id, report.id)
            ask = not round_files
            self._notify_result(work, task, this_view, round_files, actor)
        elif kind is ReportKind.EXTENSION:
            assert task is not None
            self._notify_extension(work, task, this_view, actor)
        elif staged.adds_to_result and staged.pending_done is not None:
            assert task is not None
            self._notify_evidence(work, task, this_view, staged.pending_done.id, actor)
        await self._flush_notices(session, work)
        receipt = ReportReceipt(
            report=this_view,
            task_code=assignment.code,
            task_title=assignment.title,
            status=staged.status,
            percent=staged.percent,
            ask_for_document=ask,
            adds_to_result=staged.adds_to_result,
        )
        return receipt, bool(work.notices) or staged.changed

    def _check_extension(self, assignment: Assignment, proposed: date | None) -> None:
        example = _("for example: xin gia hạn đến 20/7/2023 vì chờ số liệu")
        if proposed is None:
            raise ExtensionDateError(
                _("Please write the new date you ask for ({example}).").format(example=example)
            )
        if proposed <= self.today():
            raise ExtensionDateError(
                _("The date you ask for, {date}, has already passed. Nothing was recorded.").format(
                    date=f"{proposed.day}/{proposed.month}/{proposed.year}"
                )
            )
        due = assignment.due_date
        if due is not None and proposed <= due:
            raise ExtensionDateError(
                _(
                    "The current deadline of {code} is already {due}; ask for a later date. "
                    "Nothing was recorded."
                ).format(code=assignment.code, due=f"{due.day}/{due.month}/{due.year}")
            )

    @staticmethod
    def _apply(
        assignment: Assignment,
        status: AssignmentStatus,
        kind: ReportKind,
        reply: UnderstoodReply,
        pending_done: ProgressReport | None,
        now: datetime,
    ) -> bool:
        """Move the task's completion status; True when it changed (reminders re-plan)."""
        if kind is ReportKind.DONE:
            assignment.status = next_status(status, Event.REPORT_DONE)
            assignment.completed_at = now
            assignment.percent = 100
            return True
        if kind is ReportKind.PROGRESS:
            new = next_status(status, Event.REPORT_PROGRESS)
            if status is AssignmentStatus.AWAITING_CONFIRMATION:
                if pending_done is not None:
                    pending_done.review_status = Review.WITHDRAWN.value
                assignment.completed_at = None
            if reply.percent is not None:
                assignment.percent = reply.percent
            assignment.status = new
            return new is not status
        return False

    # -- admins review -----------------------------------------------------------------------

    async def pending_report_id(self, task_code: str) -> int:
        """The latest report of a task awaiting review (a result or an extension request)."""
        async with self._sessionmaker() as session:
            row = await session.scalar(
                select(ProgressReport.id)
                .join(Assignment, Assignment.id == ProgressReport.assignment_id)
                .where(
                    Assignment.code == task_code.strip().upper(),
                    ProgressReport.review_status == Review.PENDING.value,
                )
                .order_by(ProgressReport.id.desc())
                .limit(1)
            )
            if row is None:
                exists = await session.scalar(
                    select(Assignment.id).where(Assignment.code == task_code.strip().upper())
                )
                if exists is None:
                    raise UnknownTaskError(task_code)
                raise NothingToReviewError(task_code.strip().upper())
            return int(row)

    async def approve(self, actor: Actor, task_code: str) -> ReviewOutcome:
        """/approve CODE: confirm the pending result, or approve the pending extension."""
        report_id = await self.pending_report_id(task_code)
        return await self.decide(actor, report_id, approve=True)

    async def reject(self, actor: Actor, task_code: str, reason: str) -> ReviewOutcome:
        """/reject CODE reason: send the pending result back, or refuse the extension."""
        report_id = await self.pending_report_id(task_code)
        return await self.decide(actor, report_id, approve=False, reason=reason)

    async def decide(
        self, actor: Actor, report_id: int, *, approve: bool, reason: str = ""
    ) -> ReviewOutcome:
        """Decide on one report, whatever its kind (the buttons carry the report id)."""
        if not actor.is_admin:
            raise NotAllowedError()
        reason = reason.strip()
        if not approve and not reason:
            raise ReasonRequiredError()
        now = self._clock.now()
        work = _Work()
        async with self.writing() as session:
            report = await session.scalar(
                select(ProgressReport)
                .options(selectinload(ProgressReport.officer))
                .where(ProgressReport.id == report_id)
            )
            if report is None:
                raise UnknownReportError()
            assignment = await self._assignment_by_id(session, report.assignment_id)
            if report.review_status != Review.PENDING:
                reviewer = (
                    await session.get(Officer, report.reviewed_by_officer_id)
                    if report.reviewed_by_officer_id
                    else None
                )
                raise AlreadyReviewedError(
                    assignment.code, report.review_status or "", reviewer.name if reviewer else None
                )
            if assignment.status == AssignmentStatus.PAUSED:
                # Reviewed after /resume (a cancelled task has nothing pending).
                raise TaskPausedError(assignment.code)
            kind = ReportKind(report.kind)
            report.reviewed_by_officer_id = actor.officer.id if actor.officer else None
            report.reviewed_at = now
            before = {"status": assignment.status, "due_date": _iso(assignment.due_date)}
            outcome: ReviewOutcome
            if kind is ReportKind.DONE:
                outcome = self._decide_result(assignment, report, approve, reason, now)
            elif kind is ReportKind.EXTENSION:
                outcome = self._decide_extension(session, assignment, report, approve, reason, now)
            else:
                raise NothingToReviewError(assignment.code)
            assignment.updated_at = now
            audit.record(
                session,
                at=now,
                actor=actor.audit_name,
                action=f"report.{outcome.decision.value}",
                entity="assignment",
                entity_id=assignment.code,
                before=before,
                after={
                    "report_id": report.id,
                    "status": assignment.status,
                    "due_date": _iso(assignment.due_date),
                    "reason": reason or None,
                },
            )
            await session.flush()
            if outcome.decision is not Review.REFUSED:
                await self._reminders.on_assignment_changed(session, assignment.id)
            if report.officer_id is not None:
                self._notify_outcome(work, report.officer_id, outcome, actor)
            await self._flush_notices(session, work)
        self._reminders.request_tick()
        return outcome

    async def _assignment_by_id(self, session: AsyncSession, assignment_id: int) -> Assignment:
        query = select(Assignment).options(*_DETAILS).where(Assignment.id == assignment_id)
        if self._write_lock is None:  # PostgreSQL: lock the row against a concurrent review
            query = query.with_for_update(of=Assignment)
        row = (await session.scalars(query)).unique().one_or_none()
        assert row is not None  # a report's assignment cannot vanish (foreign key)
        return row

    def _decide_result(
        self,
        assignment: Assignment,
        report: ProgressReport,
        approve: bool,
        reason: str,
        now: datetime,
    ) -> ReviewOutcome:
        status = AssignmentStatus(assignment.status)
        officer_name = report.officer.name if report.officer else None
        if approve:
            assignment.status = next_status(status, Event.CONFIRM)
            assignment.confirmed_at = now
            # Timeliness counts from when the result was reported, not confirmed.
            assignment.completed_at = report.created_at
            report.review_status = Review.CONFIRMED.value
            report.review_note = reason or None
            task = task_view_light(assignment)
            return ReviewOutcome(
                report_id=report.id,
                task_code=assignment.code,
                task_title=assignment.title,
                kind=ReportKind.DONE.value,
                decision=Review.CONFIRMED,
                officer_name=officer_name,
                reason=reason,
                timeliness=self.assess(task),
            )
        assignment.status = next_status(status, Event.SEND_BACK)
        assignment.completed_at = None
        assignment.percent = None
        report.review_status = Review.SENT_BACK.value
        report.review_note = reason
        return ReviewOutcome(
            report_id=report.id,
            task_code=assignment.code,
            task_title=assignment.title,
            kind=ReportKind.DONE.value,
            decision=Review.SENT_BACK,
            officer_name=officer_name,
            reason=reason,
        )

    def _decide_extension(
        self,
        session: AsyncSession,
        assignment: Assignment,
        report: ProgressReport,
        approve: bool,
        reason: str,
        now: datetime,
    ) -> ReviewOutcome:
        officer_name = report.officer.name if report.officer else None
        requested_reason = report.review_note or ""
        old_due = assignment.due_date
        if not approve:
            report.review_status = Review.REFUSED.value
            report.review_note = _join_reason(requested_reason, reason)
            return ReviewOutcome(
                report_id=report.id,
                task_code=assignment.code,
                task_title=assignment.title,
                kind=ReportKind.EXTENSION.value,
                decision=Review.REFUSED,
                officer_name=officer_name,
                reason=reason,
                old_due_date=old_due,
            )
        new_due = report.proposed_due_date
        assert new_due is not None  # requests without a date are refused on submit
        session.add(
            DeadlineChange(
                assignment_id=assignment.id,
                old_kind=assignment.deadline_kind,
                old_due_date=old_due,
                new_kind=DeadlineKind.DATE.value,
                new_due_date=new_due,
                reason=requested_reason or reason,
                changed_by_officer_id=report.reviewed_by_officer_id,
                changed_at=now,
            )
        )
        assignment.deadline_kind = DeadlineKind.DATE.value
        assignment.due_date = new_due
        report.review_status = Review.APPROVED.value
        return ReviewOutcome(
            report_id=report.id,
            task_code=assignment.code,
            task_title=assignment.title,
            kind=ReportKind.EXTENSION.value,
            decision=Review.APPROVED,
            officer_name=officer_name,
            reason=reason,
            new_due_date=new_due,
            old_due_date=old_due,
        )

    # -- outbox messages ---------------------------------------------------------------------

    async def admin_ids(self, session: AsyncSession) -> list[int]:
        """Officers who review: role admin, active, with at least one active chat account."""
        rows = await session.scalars(
            select(Officer)
            .options(selectinload(Officer.accounts))
            .where(Officer.role == Role.ADMIN.value, Officer.active.is_(True))
            .order_by(Officer.id)
        )
        return [o.id for o in rows if any(a.active for a in o.accounts)]

    async def _flush_notices(self, session: AsyncSession, work: _Work) -> None:
        for notice in work.notices:
            await self.notify(
                session, notice.officer_ids, notice.dedupe, notice.build, kind=notice.kind
            )

    async def notify(
        self,
        session: AsyncSession,
        officer_ids: Sequence[int] | None,
        dedupe: str,
        build: BuildMessage,
        *,
        kind: str = "notice",
    ) -> None:
        """Put a message in the outbox for each officer (None: the admins), built in each
        recipient's language, inside the caller's transaction."""
        ids = list(officer_ids) if officer_ids is not None else await self.admin_ids(session)
        if not ids and officer_ids is None:
            log.warning("no administrator is bound: %s reaches nobody", dedupe)
        for officer_id in ids:
            officer = await session.get(Officer, officer_id)
            locale = (officer.locale if officer else None) or self._default_locale
            with self._i18n.context(), self._i18n.use_locale(locale):
                message = build()
            await self._reminders.enqueue_message(
                session,
                message=message,
                dedupe_key=f"{dedupe}:to:{officer_id}",
                officer_id=officer_id,
                kind=kind,
            )

    def _files(self, files: Sequence[AttachmentView]) -> tuple[FileRef, ...]:
        return tuple(self._attachments.file_ref(a) for a in files)

    def _task_lines(self, task: TaskView, report: ReportView, actor: Actor) -> list[str]:
        locale = self._i18n.current_locale
        deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale)
        return [
            task.title,
            _("Unit: {unit}").format(unit=task.lead_unit.name),
            _("Reported by: {name} ({unit}), {time}").format(
                name=actor.name,
                unit=actor.officer.unit_code if actor.officer else "—",
                time=self.local_time(report.at),
            ),
            _("Deadline: {deadline}").format(deadline=deadline),
        ]

    def _notify_result(
        self,
        work: _Work,
        task: TaskView,
        report: ReportView,
        files: Sequence[AttachmentView],
        actor: Actor,
    ) -> None:
        def build() -> OutgoingMessage:
            lines = self._task_lines(task, report, actor)
            reported_on = report.at.astimezone(self._tz).date()
            if task.due_date is not None and task.deadline_kind != DeadlineKind.CONDITIONAL:
                late = (reported_on - task.due_date).days
                lines.append(
                    _("Reported {days} days after the deadline.").format(days=late)
                    if late > 0
                    else _("Reported on time.")
                )
            if report.text:
                lines.append(_("Report: {text}").format(text=report.text))
            lines.append(file_lines(files) if files else _("No file attached yet."))
            return OutgoingMessage(
                title=_("Result reported: {code}").format(code=task.code),
                text="\n".join(lines),
                buttons=(
                    (
                        Button(_("✅ Confirm"), Action(Verb.CONFIRM, str(report.id)).payload()),
                        Button(_("↩️ Send back"), Action(Verb.SEND_BACK, str(report.id)).payload()),
                    ),
                ),
                files=self._files(files),
            )

        work.notices.append(_Notice(None, f"report:{report.id}:result", build, "review"))

    def _notify_evidence(
        self, work: _Work, task: TaskView, report: ReportView, result_id: int, actor: Actor
    ) -> None:
        def build() -> OutgoingMessage:
            lines = self._task_lines(task, report, actor)
            if report.text:
                lines.append(_("Note: {text}").format(text=report.text))
            lines.append(file_lines(report.attachments))
            return OutgoingMessage(
                title=_("More files for the result of {code}").format(code=task.code),
                text="\n".join(lines),
                buttons=(
                    (
                        Button(_("✅ Confirm"), Action(Verb.CONFIRM, str(result_id)).payload()),
                        Button(_("↩️ Send back"), Action(Verb.SEND_BACK, str(result_id)).payload()),
                    ),
                ),
                files=self._files(report.attachments),
            )

        work.notices.append(_Notice(None, f"report:{report.id}:evidence", build, "review"))

    def _notify_extension(
        self, work: _Work, task: TaskView, report: ReportView, actor: Actor
    ) -> None:
        def build() -> OutgoingMessage:
            lines = self._task_lines(task, report, actor)
            assert report.proposed_due_date is not None
            lines.append(
                _("Asks for a new deadline: {date}").format(
                    date=long_date(report.proposed_due_date, self._i18n.current_locale)
                )
            )
            lines.append(_("Reason: {reason}").format(reason=report.review_note or "—"))
            return OutgoingMessage(
                title=_("Extension request: {code}").format(code=task.code),
                text="\n".join(lines),
                buttons=(
                    (
                        Button(
                            _("✅ Approve"),
                            Action(Verb.APPROVE_EXTENSION, str(report.id)).payload(),
                        ),
                        Button(
                            _("❌ Refuse"), Action(Verb.REFUSE_EXTENSION, str(report.id)).payload()
                        ),
                    ),
                ),
            )

        work.notices.append(_Notice(None, f"report:{report.id}:extension", build, "review"))

    def _notify_outcome(
        self, work: _Work, officer_id: int, outcome: ReviewOutcome, actor: Actor
    ) -> None:
        def build() -> OutgoingMessage:
            title, text = outcome_text(outcome, self._i18n.current_locale)
            return OutgoingMessage(title=title, text=text)

        work.notices.append(
            _Notice([officer_id], f"report:{outcome.report_id}:{outcome.decision.value}", build)
        )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _join_reason(requested: str, answer: str) -> str:
    return f"{requested}\n— {answer}" if requested and answer else requested or answer


def file_lines(files: Sequence[AttachmentView]) -> str:
    """ "Files: a.pdf (120 KB), b.jpg (2.1 MB)", in the active language."""
    return _("Files: {files}").format(
        files=", ".join(f"{a.file_name} ({file_size_label(a.size)})" for a in files)
    )


def outcome_text(outcome: ReviewOutcome, locale: str) -> tuple[str, str]:
    """What the reporting officer is told about an admin's decision: (title, text)."""
    from bot.domain.statuses import Timeliness

    lines = [f"{outcome.task_code} — {outcome.task_title}"]
    if outcome.decision is Review.CONFIRMED:
        title = _("Result confirmed: {code}").format(code=outcome.task_code)
        late = outcome.timeliness is not None and (
            outcome.timeliness.timeliness is Timeliness.DONE_LATE
        )
        lines.append(
            _("The task is closed as done late ({days} days after the deadline).").format(
                days=outcome.timeliness.days if outcome.timeliness else 0
            )
            if late
            else _("The task is closed as done on time. Thank you!")
        )
    elif outcome.decision is Review.SENT_BACK:
        title = _("Result sent back: {code}").format(code=outcome.task_code)
        lines.append(_("The office sent the result back; the task is open again."))
        lines.append(_("Reason: {reason}").format(reason=outcome.reason))
    elif outcome.decision is Review.APPROVED:
        title = _("Extension approved: {code}").format(code=outcome.task_code)
        assert outcome.new_due_date is not None
        lines.append(
            _("The new deadline is {date}.").format(date=long_date(outcome.new_due_date, locale))
        )
    else:
        title = _("Extension refused: {code}").format(code=outcome.task_code)
        if outcome.old_due_date is not None:
            lines.append(
                _("The deadline stays {date}.").format(date=long_date(outcome.old_due_date, locale))
            )
        if outcome.reason:
            lines.append(_("Reason: {reason}").format(reason=outcome.reason))
    return title, "\n".join(lines)


def task_view_light(assignment: Assignment) -> TaskView:
    """A task view from a row loaded with `_DETAILS` (no notice needed)."""
    return task_view(assignment, with_reports=False, with_notice=False)
