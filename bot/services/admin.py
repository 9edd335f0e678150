"""What the office's administrators do: overviews, deadlines, new tasks, groups, exports.

Every change is written to the audit log in the same transaction, and the reminder engine
re-plans inside it, so a deadline moved here is never reminded at its old date.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import OutgoingMessage
from bot.clock import Clock
from bot.domain.enums import (
    OPEN_STATUSES,
    AssignmentStatus,
    ChatPurpose,
    DeadlineKind,
    ReportKind,
    Review,
    Role,
)
from bot.domain.statuses import Event, Timeliness, TimelinessView, TransitionError, next_status
from bot.domain.textnorm import nfc
from bot.domain.titles import short_title
from bot.i18n import _
from bot.presentation import deadline_label, long_date, status_label
from bot.services.dto import OfficerView, TaskView, UnitView
from bot.services.errors import (
    InvalidValueError,
    NotAllowedError,
    UnknownTaskError,
    UnknownUnitError,
)
from bot.services.registry import RegistryService
from bot.services.reports import Actor, ReminderHooks, ReportService, task_view_light
from bot.services.tasks import ACTIVE, OPEN, TaskService
from bot.services.views import officer_view
from bot.services.wording import local_time, locale, timeliness_label
from storage.models import (
    Assignment,
    ChannelAccount,
    DeadlineChange,
    GroupChat,
    Officer,
)
from storage.repositories import audit
from storage.repositories import registry as registry_repo
from storage.repositories import work as work_repo

__all__ = ["AdminService", "GroupView", "StatusChangeView", "TaskLine"]

_CODE_PREFIX = "VIEC"
# Long enough for a real reason, short enough to fit every message it appears in.
_REASON_MAX = 500
# The audit actions of the admins' own status moves (TaskService reads the latest reason).
STATUS_ACTIONS = {
    Event.PAUSE: "assignment.pause",
    Event.RESUME: "assignment.resume",
    Event.CANCEL: "assignment.cancel",
}


@dataclass(frozen=True, slots=True)
class TaskLine:
    task: TaskView
    timeliness: TimelinessView


@dataclass(frozen=True, slots=True)
class GroupView:
    id: int
    channel: str
    chat_id: str
    title: str
    unit_code: str | None
    already_bound: bool


@dataclass(frozen=True, slots=True)
class DeadlineView:
    task: TaskView
    old_kind: str
    old_due_date: date | None
    reason: str


class NotConditionalError(InvalidValueError):
    pass


@dataclass(frozen=True, slots=True)
class StatusChangeView:
    """A task paused, resumed or cancelled; `told` is how many lead-unit officers were told."""

    task: TaskView
    old_status: str
    reason: str
    told: int


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowedError()


class AdminService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        reports: ReportService,
        tasks: TaskService,
        registry: RegistryService,
        reminders: ReminderHooks,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._reports = reports
        self._tasks = tasks
        self._registry = registry
        self._reminders = reminders

    # -- overviews ---------------------------------------------------------------------------

    async def task_lines(
        self, *, unit_code: str | None = None, status: str | None = ACTIVE
    ) -> list[TaskLine]:
        """By default the tasks a unit still has on its list: open and paused (not cancelled)."""
        tasks = await self._tasks.list_tasks(unit_code=unit_code, status=status, with_reports=False)
        return [TaskLine(task, self._reports.assess(task)) for task in tasks]

    async def overdue(self) -> list[TaskLine]:
        """Open tasks past their deadline, the longest late first."""
        lines = [
            line
            for line in await self.task_lines(status=OPEN)
            if line.timeliness.timeliness is Timeliness.OVERDUE
        ]
        return sorted(lines, key=lambda line: (-(line.timeliness.days or 0), line.task.code))

    async def due_within(self, days: int) -> list[TaskLine]:
        """Open tasks due from today to `days` calendar days ahead, soonest first."""
        if not 0 <= days <= 366:
            raise InvalidValueError(_("Give a number of days from 0 to 366."))
        today = self._reports.today()
        return [
            line
            for line in await self.task_lines(status=OPEN)
            if line.task.due_date is not None
            and line.timeliness.timeliness in (Timeliness.ON_TRACK, Timeliness.DUE_SOON)
            and 0 <= (line.task.due_date - today).days <= days
        ]

    async def units(self) -> list[UnitView]:
        return await self._registry.list_units()

    # -- deadlines ---------------------------------------------------------------------------

    async def set_date(self, actor: Actor, code: str, new_date: date) -> DeadlineView:
        """Give a conditional (or undated) task its date, once the condition has happened."""
        return await self._change_deadline(actor, code, new_date, "", conditional_only=True)

    async def extend(self, actor: Actor, code: str, new_date: date, reason: str) -> DeadlineView:
        """Move a task's deadline (an extension the office grants on its own)."""
        return await self._change_deadline(actor, code, new_date, reason, conditional_only=False)

    async def _change_deadline(
        self, actor: Actor, code: str, new_date: date, reason: str, *, conditional_only: bool
    ) -> DeadlineView:
        _require_admin(actor)
        if new_date < self._reports.today():
            raise InvalidValueError(
                _("{date} has already passed; give a date from today on.").format(
                    date=f"{new_date.day}/{new_date.month}/{new_date.year}"
                )
            )
        now = self._clock.now()
        async with self._reports.writing() as session:
            assignment = await work_repo.assignment_by_code(session, code.strip().upper())
            if assignment is None:
                raise UnknownTaskError(code)
            kind = DeadlineKind(assignment.deadline_kind)
            if conditional_only and kind not in (DeadlineKind.CONDITIONAL, DeadlineKind.NONE):
                raise NotConditionalError(
                    _(
                        "Task {code} already has a deadline ({deadline}); to move it use "
                        "/extend {code} DD/MM/YYYY reason."
                    ).format(
                        code=assignment.code,
                        deadline=deadline_label(
                            assignment.deadline_kind,
                            assignment.due_date,
                            assignment.deadline_text,
                            locale(),
                        ),
                    )
                )
            if AssignmentStatus(assignment.status) not in OPEN_STATUSES:
                raise InvalidValueError(
                    _("Task {code} is {status}; its deadline can no longer change.").format(
                        code=assignment.code, status=status_label(assignment.status)
                    )
                )
            old_kind, old_due = assignment.deadline_kind, assignment.due_date
            change = DeadlineChange(
                assignment_id=assignment.id,
                old_kind=old_kind,
                old_due_date=old_due,
                new_kind=DeadlineKind.DATE.value,
                new_due_date=new_date,
                reason=reason,
                changed_by_officer_id=actor.officer.id if actor.officer else None,
                changed_at=now,
            )
            session.add(change)
            assignment.deadline_kind = DeadlineKind.DATE.value
            assignment.due_date = new_date
            assignment.updated_at = now
            # A deadline the office set itself answers any extension request still open.
            for report in assignment.reports:
                if report.kind == ReportKind.EXTENSION and report.review_status == Review.PENDING:
                    report.review_status = Review.SUPERSEDED.value
            audit.record(
                session,
                at=now,
                actor=actor.audit_name,
                action="assignment.set_date" if conditional_only else "assignment.extend",
                entity="assignment",
                entity_id=assignment.code,
                before={"deadline_kind": old_kind, "due_date": _iso(old_due)},
                after={"deadline_kind": "date", "due_date": new_date.isoformat(), "reason": reason},
            )
            await session.flush()
            await self._reminders.on_assignment_changed(session, assignment.id)
            task = task_view_light(assignment)
            officers = await self._unit_officer_ids(session, assignment.lead_unit_id)
            await self._reports.notify(
                session,
                officers,
                f"deadline:{change.id}",
                lambda: _deadline_message(task, old_due, new_date, reason),
            )
        self._reminders.request_tick()
        return DeadlineView(task=task, old_kind=old_kind, old_due_date=old_due, reason=reason)

    # -- pause, resume, cancel ---------------------------------------------------------------

    async def pause(self, actor: Actor, code: str, reason: str = "") -> StatusChangeView:
        """Tạm dừng: no reminders or escalation until resumed; reports wait too."""
        return await self._change_status(actor, code, Event.PAUSE, reason)

    async def resume(self, actor: Actor, code: str) -> StatusChangeView:
        """Tiếp tục: the task is live again and its future reminders come back."""
        return await self._change_status(actor, code, Event.RESUME, "")

    async def cancel(self, actor: Actor, code: str, reason: str) -> StatusChangeView:
        """Hủy: the task is dropped for good; the reason is required (the unit must know why)."""
        return await self._change_status(actor, code, Event.CANCEL, reason)

    async def _change_status(
        self, actor: Actor, code: str, event: Event, reason: str
    ) -> StatusChangeView:
        _require_admin(actor)
        reason = nfc(" ".join(reason.split()))
        if event is Event.CANCEL and not reason:
            raise InvalidValueError(
                _(
                    "Please give the reason for cancelling, so the unit knows why: "
                    "/huy {code} reason."
                ).format(code=code.strip().upper() or "CODE")
            )
        if len(reason) > _REASON_MAX:
            raise InvalidValueError(
                _("The reason is too long; please keep it under {limit} characters.").format(
                    limit=_REASON_MAX
                )
            )
        now = self._clock.now()
        async with self._reports.writing() as session:
            assignment = await work_repo.assignment_by_code(session, code.strip().upper())
            if assignment is None:
                raise UnknownTaskError(code)
            old = AssignmentStatus(assignment.status)
            try:
                new = next_status(old, event)
            except TransitionError:
                raise _transition_refusal(assignment.code, old, event) from None
            pending = [r for r in assignment.reports if r.review_status == Review.PENDING]
            if event is Event.RESUME and any(r.kind == ReportKind.DONE for r in pending):
                # The result reported before the pause still awaits the office's review.
                new = AssignmentStatus.AWAITING_CONFIRMATION
            if event is Event.CANCEL:
                # Nothing is left to review on a cancelled task.
                for report in pending:
                    report.review_status = Review.SUPERSEDED.value
            assignment.status = new.value
            assignment.updated_at = now
            entry = audit.record(
                session,
                at=now,
                actor=actor.audit_name,
                action=STATUS_ACTIONS[event],
                entity="assignment",
                entity_id=assignment.code,
                before={"status": old.value},
                after={"status": new.value, "reason": reason or None},
            )
            await session.flush()
            # Paused and cancelled tasks lose their pending reminders; resumed ones regain them.
            await self._reminders.on_assignment_changed(session, assignment.id)
            task = task_view_light(assignment)
            officers: list[int] = []
            if old is not AssignmentStatus.DRAFT:  # a draft was never shown to the unit
                officers = await self._unit_officer_ids(session, assignment.lead_unit_id)
                await self._reports.notify(
                    session,
                    officers,
                    f"status:{entry.id}",
                    lambda: _status_message(task, event, reason),
                )
        self._reminders.request_tick()
        return StatusChangeView(task=task, old_status=old.value, reason=reason, told=len(officers))

    async def _unit_officer_ids(self, session: AsyncSession, unit_id: int) -> list[int]:
        rows = await work_repo.officers_of_unit(session, unit_id)
        return [o.id for o in rows if any(a.active for a in o.accounts)]

    # -- new tasks ---------------------------------------------------------------------------

    async def create_assignment(
        self, actor: Actor, *, unit_code: str, action: str, due_date: date | None
    ) -> TaskView:
        """/assign: a task the office hands out in chat, outside any notice."""
        _require_admin(actor)
        action = nfc(" ".join(action.split()))
        if len(action) < 5:
            raise InvalidValueError(_("Please describe the task in a few words."))
        if due_date is not None and due_date < self._reports.today():
            raise InvalidValueError(_("The deadline has already passed; give a later date."))
        now = self._clock.now()
        async with self._reports.writing() as session:
            unit = await registry_repo.unit_by_code(session, unit_code.strip().upper())
            if unit is None:
                raise UnknownUnitError(unit_code)
            code = await self._next_code(session)
            assignment = Assignment(
                code=code,
                notice_id=None,
                section="",
                title=short_title(action, 120),
                action=action,
                deliverable="",
                lead_unit_id=unit.id,
                deadline_kind=(DeadlineKind.DATE if due_date else DeadlineKind.NONE).value,
                due_date=due_date,
                deadline_text="",
                status=AssignmentStatus.NOT_STARTED.value,
                source_text="",
                created_at=now,
                updated_at=now,
            )
            assignment.cooperating_units = []
            session.add(assignment)
            await session.flush()
            audit.record(
                session,
                at=now,
                actor=actor.audit_name,
                action="assignment.create",
                entity="assignment",
                entity_id=code,
                after={"unit": unit.code, "action": action, "due_date": _iso(due_date)},
            )
            await self._reminders.on_assignment_changed(session, assignment.id)
            await session.refresh(assignment, ["lead_unit", "cooperating_units"])
            task = task_view_light(assignment)
        self._reminders.request_tick()
        return task

    async def _next_code(self, session: AsyncSession) -> str:
        year = self._reports.today().year % 100
        prefix = f"{_CODE_PREFIX}{year:02d}-"
        codes = await session.scalars(
            select(Assignment.code).where(Assignment.code.like(f"{prefix}%"))
        )
        numbers = [int(m.group(1)) for c in codes if (m := re.fullmatch(rf"{prefix}(\d+)", c))]
        return f"{prefix}{max(numbers, default=0) + 1:02d}"

    # -- groups and accounts -----------------------------------------------------------------

    async def bind_group(
        self, actor: Actor, *, channel: str, chat_id: str, title: str, unit_code: str | None
    ) -> GroupView:
        """/bindgroup: this group receives the digests (of one unit, or of the whole office)."""
        _require_admin(actor)
        now = self._clock.now()
        async with self._reports.writing() as session:
            unit = None
            if unit_code:
                unit = await registry_repo.unit_by_code(session, unit_code.strip().upper())
                if unit is None:
                    raise UnknownUnitError(unit_code)
            group = await registry_repo.group_by_chat(session, channel, chat_id)
            already = group is not None and group.active
            if group is None:
                group = GroupChat(channel=channel, chat_id=chat_id, settings={})
                session.add(group)
            group.title = nfc(title)[:255]
            group.purpose = ChatPurpose.DIGEST.value
            group.unit_id = unit.id if unit else None
            group.active = True
            group.bound_at = now
            await session.flush()
            audit.record(
                session,
                at=now,
                actor=actor.audit_name,
                action="group.bind",
                entity="group_chat",
                entity_id=group.id,
                after={"channel": channel, "chat_id": chat_id, "unit": unit.code if unit else None},
            )
            return GroupView(
                id=group.id,
                channel=channel,
                chat_id=chat_id,
                title=group.title,
                unit_code=unit.code if unit else None,
                already_bound=already,
            )

    async def officer_changed(self, session: AsyncSession, officer_id: int) -> None:
        """Inside the caller's transaction: bound, re-bound or language changed."""
        await self._reminders.on_officer_changed(session, officer_id)

    async def group_id(self, channel: str, chat_id: str) -> int | None:
        async with self._sessionmaker() as session:
            group = await registry_repo.group_by_chat(session, channel, chat_id)
            return group.id if group is not None and group.active else None

    async def ensure_settings_admin(
        self, *, channel: str, user_id: str, chat_id: str, display_name: str
    ) -> OfficerView:
        """An admin named in ADMIN_TELEGRAM_IDS/ADMIN_ZALO_IDS gets an officer record on first
        contact, so review requests reach them through the outbox like anyone else's."""
        now = self._clock.now()
        async with self._reports.writing() as session:
            account = await registry_repo.account_by_user(session, channel, user_id)
            if account is not None and account.active and account.officer.active:
                return officer_view(account.officer)
            officer = Officer(
                name=nfc(display_name)[:255] or f"Admin {user_id}",
                unit_id=None,
                role=Role.ADMIN.value,
                locale=None,
                last_channel=channel,
                active=True,
                created_at=now,
            )
            session.add(officer)
            await session.flush()
            if account is None:
                account = ChannelAccount(channel=channel, user_id=user_id, username=None)
                session.add(account)
            registry_repo.bind_account(
                account, officer.id, chat_id=chat_id, display_name=nfc(display_name)[:255], now=now
            )
            await session.flush()
            audit.record(
                session,
                at=now,
                actor=f"{channel}:{user_id}",
                action="account.settings_admin",
                entity="officer",
                entity_id=officer.id,
                after={"channel": channel, "role": Role.ADMIN.value},
            )
            await self._reminders.on_officer_changed(session, officer.id)
            fresh = await registry_repo.officer_by_id(session, officer.id)
            assert fresh is not None
            await session.refresh(fresh, ["accounts"])
            return officer_view(fresh)

    # -- export ------------------------------------------------------------------------------

    async def export_csv(self, actor: Actor) -> bytes:
        """Every task with its status, timeliness and latest report, for Excel (UTF-8 BOM)."""
        _require_admin(actor)
        tasks = await self._tasks.list_tasks(with_reports=True)
        tz = self._reports.timezone
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                _("Code"),
                _("Task"),
                _("Lead unit"),
                _("Cooperating units"),
                _("Deadline"),
                _("Due date"),
                _("Status"),
                _("Percent"),
                _("Timeliness"),
                _("Result reported at"),
                _("Confirmed at"),
                _("Reports"),
                _("Latest report"),
                _("Files"),
            ]
        )
        for task in tasks:
            latest = task.reports[-1] if task.reports else None
            files = sum(len(r.attachments) for r in task.reports)
            writer.writerow(
                [
                    task.code,
                    task.title,
                    task.lead_unit.name,
                    "; ".join(u.name for u in task.cooperating_units),
                    deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale()),
                    task.due_date.strftime("%d/%m/%Y") if task.due_date else "",
                    status_label(task.status),
                    "" if task.percent is None else task.percent,
                    timeliness_label(self._reports.assess(task)),
                    local_time(task.completed_at, tz) if task.completed_at else "",
                    local_time(task.confirmed_at, tz) if task.confirmed_at else "",
                    len(task.reports),
                    f"{local_time(latest.at, tz)} {latest.officer or ''}: {latest.text}"
                    if latest
                    else "",
                    files,
                ]
            )
        async with self._reports.writing() as session:
            # Who took the office's data out, and when.
            audit.record(
                session,
                at=self._clock.now(),
                actor=actor.audit_name,
                action="export.csv",
                entity="assignment",
                entity_id="*",
                after={"tasks": len(tasks)},
            )
        return buffer.getvalue().encode("utf-8-sig")


def _transition_refusal(code: str, status: AssignmentStatus, event: Event) -> InvalidValueError:
    """Why this move is impossible now, in the admin's words."""
    label = status_label(status)
    if event is Event.PAUSE and status is AssignmentStatus.PAUSED:
        text = _("Task {code} is already paused. Send /resume {code} to continue it.")
    elif event is Event.RESUME:
        text = _("Task {code} is not paused (it is {status}); there is nothing to resume.")
    elif event is Event.CANCEL and status is AssignmentStatus.CANCELLED:
        text = _("Task {code} is already cancelled.")
    else:
        text = _("Task {code} is {status}; it can no longer be paused or cancelled.")
    return InvalidValueError(text.format(code=code, status=label))


def _status_message(task: TaskView, event: Event, reason: str) -> OutgoingMessage:
    """What the lead unit's officers read when the office pauses, resumes or cancels."""
    lines = [f"{task.code} — {task.title}"]
    if event is Event.PAUSE:
        title = _("Task paused: {code}").format(code=task.code)
        lines.append(
            _(
                "The office has paused this task. Reminders stop until it resumes; "
                "you do not need to report on it for now."
            )
        )
    elif event is Event.RESUME:
        title = _("Task resumed: {code}").format(code=task.code)
        deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
        lines.append(_("The office has resumed this task. Please continue it."))
        lines.append(_("Deadline: {deadline}").format(deadline=deadline))
    else:
        title = _("Task cancelled: {code}").format(code=task.code)
        lines.append(
            _(
                "The office has cancelled this task. No more reports are needed and no more "
                "reminders will come."
            )
        )
    if reason:
        lines.append(_("Reason: {reason}").format(reason=reason))
    return OutgoingMessage(title=title, text="\n".join(lines))


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _deadline_message(task: TaskView, old: date | None, new: date, reason: str) -> OutgoingMessage:
    lines = [f"{task.code} — {task.title}"]
    if old is not None:
        lines.append(
            _("The deadline moved from {old} to {new}.").format(
                old=long_date(old, locale()), new=long_date(new, locale())
            )
        )
    else:
        lines.append(_("The deadline is now {new}.").format(new=long_date(new, locale())))
    if reason:
        lines.append(_("Reason: {reason}").format(reason=reason))
    return OutgoingMessage(
        title=_("New deadline: {code}").format(code=task.code), text="\n".join(lines)
    )
