"""Group digests and the admins' daily overdue summary.

Both are outbox rows like any reminder, keyed by their period (the ISO week, the day), so
the cron job, the interval tick and a restart can all ask for them without doubling them.
Their content is read when they are sent, never when they are queued: a digest that waited
for office hours still shows the picture of the moment it arrives.

The weekly digest goes out on DIGEST_WEEKDAY (Monday) at DIGEST_TIME, or on the week's next
working day when that day is a holiday; a group bound to a unit sees that unit's tasks, a
group bound to no unit the whole office's. The summary goes to admins at
ADMIN_SUMMARY_TIME on working days, and only when something is overdue or awaits them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.calendar import WorkCalendar
from bot.domain.enums import AssignmentStatus, ChatPurpose, DeadlineKind, Role
from bot.domain.policy import REMINDABLE_STATUSES, ReminderKind, parse_weekday
from bot.domain.schedule import effective_deadline
from bot.services.messages import DigestData, TaskBrief
from storage.models import (
    Assignment,
    ChannelAccount,
    GroupChat,
    Officer,
    OutboxStatus,
    Unit,
    assignment_cooperators,
)
from storage.repositories import outbox as repo

log = logging.getLogger(__name__)

_DATED = (DeadlineKind.DATE, DeadlineKind.MONTH, DeadlineKind.QUARTER, DeadlineKind.YEAR)
_UNDATED = (DeadlineKind.CONDITIONAL, DeadlineKind.RECURRING, DeadlineKind.NONE)


def brief_query() -> Select[*tuple[Any, ...]]:  # the columns of `TaskBrief`, in order
    query: Select[*tuple[Any, ...]] = select(
        Assignment.id,
        Assignment.code,
        Assignment.title,
        Assignment.action,
        Assignment.deliverable,
        Assignment.deadline_kind,
        Assignment.due_date,
        Assignment.deadline_text,
        Assignment.deadline_condition,
        Assignment.status,
        Unit.code,
        Unit.name,
        Assignment.completed_at,
        Assignment.confirmed_at,
    ).join(Unit, Assignment.lead_unit_id == Unit.id)
    return query


async def load_briefs(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[TaskBrief]:
    rows = await session.execute(
        brief_query().where(*conditions).order_by(Assignment.due_date, Assignment.code)
    )
    return [TaskBrief(*row) for row in rows]


def unit_scope(unit_id: int) -> ColumnElement[bool]:
    """Tasks a unit leads or cooperates on."""
    cooperating = select(assignment_cooperators.c.assignment_id).where(
        assignment_cooperators.c.unit_id == unit_id
    )
    return or_(Assignment.lead_unit_id == unit_id, Assignment.id.in_(cooperating))


@dataclass(frozen=True, slots=True)
class Admin:
    officer_id: int
    channels: tuple[str, ...]


class DigestService:
    def __init__(self, settings: Settings, calendar: WorkCalendar) -> None:
        self._settings = settings
        self._calendar = calendar
        self._tz = settings.tz

    # -- when -----------------------------------------------------------------------------

    def digest_day(self, day: date) -> date | None:
        """This week's digest day: the configured weekday, or the next working day after it."""
        monday = day - timedelta(days=day.weekday())
        nominal = monday + timedelta(days=parse_weekday(self._settings.digest_weekday))
        for offset in range((monday + timedelta(days=7) - nominal).days):
            candidate = nominal + timedelta(days=offset)
            if self._calendar.is_working_day(candidate):
                return candidate
        return None

    def _at(self, day: date, moment: Any) -> datetime:
        return datetime.combine(day, moment, self._tz).astimezone(UTC)

    async def enqueue_due(
        self, session: AsyncSession, now: datetime, admins: Sequence[Admin]
    ) -> int:
        """Queue this period's digests and summaries if their time has come today."""
        local = now.astimezone(self._tz)
        today = local.date()
        created = 0
        if self.digest_day(today) == today and local.time() >= self._settings.digest_time:
            year, week, _ = today.isocalendar()
            created += await self._enqueue_groups(
                session,
                now,
                due_at=self._at(today, self._settings.digest_time),
                key=f"{year}-W{week:02d}",
                office_hours_only=True,
            )
        if (
            self._calendar.is_working_day(today)
            and local.time() >= self._settings.admin_summary_time
        ):
            due_at = self._at(today, self._settings.admin_summary_time)
            rows = [
                outbox_row(
                    key=f"{ReminderKind.ADMIN_SUMMARY}:o{admin.officer_id}:{today}:{channel}",
                    kind=ReminderKind.ADMIN_SUMMARY,
                    occurrence=today.isoformat(),
                    officer_id=admin.officer_id,
                    channel=channel,
                    due_at=due_at,
                    now=now,
                )
                for admin in admins
                for channel in admin.channels
            ]
            created += await repo.insert_new(session, rows)
        return created

    async def enqueue_now(
        self, session: AsyncSession, now: datetime, group_chat_id: int | None
    ) -> int:
        """/digest: every digest group (or one group) now, office hours or not."""
        stamp = now.astimezone(self._tz).strftime("%Y%m%dT%H%M")
        return await self._enqueue_groups(
            session,
            now,
            due_at=now,
            key=f"now-{stamp}",
            office_hours_only=False,
            only=group_chat_id,
        )

    async def _enqueue_groups(
        self,
        session: AsyncSession,
        now: datetime,
        *,
        due_at: datetime,
        key: str,
        office_hours_only: bool,
        only: int | None = None,
    ) -> int:
        query = select(GroupChat).where(GroupChat.active.is_(True))
        if only is None:
            query = query.where(GroupChat.purpose == ChatPurpose.DIGEST)
        else:
            query = query.where(GroupChat.id == only)
        groups = list(await session.scalars(query))
        rows = [
            outbox_row(
                key=f"{ReminderKind.DIGEST}:g{group.id}:{key}",
                kind=ReminderKind.DIGEST,
                occurrence=key,
                group_chat_id=group.id,
                channel=group.channel,
                chat_id=group.chat_id,
                due_at=due_at,
                now=now,
                office_hours_only=office_hours_only,
            )
            for group in groups
        ]
        return await repo.insert_new(session, rows)

    # -- what -----------------------------------------------------------------------------

    async def digest_data(
        self, session: AsyncSession, group: GroupChat, now: datetime
    ) -> DigestData:
        today = now.astimezone(self._tz).date()
        week_start = today - timedelta(days=today.weekday())
        week_end = week_start + timedelta(days=6)
        scope: list[ColumnElement[bool]] = []
        unit_name: str | None = None
        if group.unit_id is not None:
            scope.append(unit_scope(group.unit_id))
            unit = await session.get(Unit, group.unit_id)
            unit_name = unit.name if unit else None
        open_dated = await load_briefs(
            session,
            Assignment.status.in_(sorted(REMINDABLE_STATUSES)),
            Assignment.deadline_kind.in_(_DATED),
            Assignment.due_date.is_not(None),
            *scope,
        )
        due_week: list[TaskBrief] = []
        overdue: list[TaskBrief] = []
        for task in open_dated:
            deadline = effective_deadline(task.deadline_kind, task.due_date, self._calendar)
            if deadline is None:
                continue
            if deadline < today:
                overdue.append(task)
            elif deadline <= week_end:
                due_week.append(task)
        since = group.last_digest_at
        cutoff = since or (now - timedelta(days=7))
        done = await load_briefs(
            session,
            Assignment.status.in_([AssignmentStatus.DONE, AssignmentStatus.AWAITING_CONFIRMATION]),
            Assignment.completed_at.is_not(None),
            Assignment.completed_at > cutoff,
            *scope,
        )
        undated = await load_briefs(
            session,
            Assignment.status.in_(sorted(REMINDABLE_STATUSES)),
            Assignment.deadline_kind.in_(_UNDATED),
            *scope,
        )
        return DigestData(
            week_start=week_start,
            scope=unit_name,
            due_this_week=due_week,
            overdue=overdue,
            done_since=done,
            since=since.astimezone(self._tz).date() if since else None,
            undated=undated,
        )

    async def summary_data(
        self, session: AsyncSession, now: datetime
    ) -> tuple[list[TaskBrief], list[TaskBrief]]:
        """(overdue, awaiting confirmation), for the admins' daily summary."""
        today = now.astimezone(self._tz).date()
        open_dated = await load_briefs(
            session,
            Assignment.status.in_(sorted(REMINDABLE_STATUSES)),
            Assignment.deadline_kind.in_(_DATED),
            Assignment.due_date.is_not(None),
            Assignment.due_date < today + timedelta(days=1),
        )
        overdue = []
        for task in open_dated:
            deadline = effective_deadline(task.deadline_kind, task.due_date, self._calendar)
            if deadline is not None and deadline < today:
                overdue.append(task)
        awaiting = await load_briefs(
            session, Assignment.status == AssignmentStatus.AWAITING_CONFIRMATION
        )
        return overdue, awaiting


def admin_condition(settings: Settings, *, leaders: bool) -> ColumnElement[bool]:
    """Officers who are admins (role admin, or an ADMIN_*_IDS account), plus leaders if asked."""
    roles = [Role.ADMIN.value, Role.LEADER.value] if leaders else [Role.ADMIN.value]
    conditions: list[ColumnElement[bool]] = [Officer.role.in_(roles)]
    pairs: list[ColumnElement[bool]] = []
    if settings.admin_telegram_ids:
        pairs.append(
            and_(
                ChannelAccount.channel == "telegram",
                ChannelAccount.user_id.in_([str(i) for i in settings.admin_telegram_ids]),
            )
        )
    if settings.admin_zalo_ids:
        pairs.append(
            and_(
                ChannelAccount.channel.in_(["zalo", "zalo_oa"]),
                ChannelAccount.user_id.in_(list(settings.admin_zalo_ids)),
            )
        )
    if pairs:
        conditions.append(
            Officer.id.in_(
                select(ChannelAccount.officer_id).where(
                    ChannelAccount.active.is_(True), or_(*pairs)
                )
            )
        )
    return or_(*conditions)


def outbox_row(
    *,
    key: str,
    kind: str,
    occurrence: str,
    channel: str,
    due_at: datetime,
    now: datetime,
    officer_id: int | None = None,
    group_chat_id: int | None = None,
    assignment_id: int | None = None,
    chat_id: str | None = None,
    role: str | None = None,
    office_hours_only: bool = True,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An outbox row as the repository inserts it."""
    return {
        "dedupe_key": key,
        "kind": str(kind),
        "occurrence": occurrence[:64],
        "role": role,
        "assignment_id": assignment_id,
        "officer_id": officer_id,
        "group_chat_id": group_chat_id,
        "channel": channel,
        "chat_id": chat_id,
        "office_hours_only": office_hours_only,
        "due_at": due_at,
        "next_attempt_at": due_at,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "claim_token": None,
        "lease_until": None,
        "payload": payload,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
        "sent_at": None,
    }
