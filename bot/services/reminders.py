"""The reminder engine: plan reminders into the outbox, deliver them, map replies back.

Planning turns assignments and the people bound to them into outbox rows with unique keys
(`bot.domain.schedule`); it runs as a sweep once a day (and whenever the registry or the
tasks changed), and at once for one assignment or one officer when another service says
something changed. Delivery (`bot.services.delivery`) claims due rows and sends them at the
platform's pace. `tick(now)` does both, plus the digests, for everything due at `now`: the
scheduler calls it every minute and `nhacviec tick --now ...` once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.channels.base import (
    Button,
    ChannelKind,
    FileRef,
    OutgoingMessage,
    Recipient,
)
from bot.channels.ratelimit import Timer
from bot.channels.router import ChannelRouter
from bot.clock import Clock
from bot.config import Settings
from bot.domain.calendar import WorkCalendar
from bot.domain.enums import OPEN_STATUSES, DeadlineKind, Role
from bot.domain.policy import (
    PLANNED_KINDS,
    REMINDABLE_STATUSES,
    TASK_MESSAGE_KINDS,
    ReminderKind,
    delivery_channels,
)
from bot.domain.schedule import (
    LEAD,
    Audience,
    Person,
    Planned,
    Planner,
    TaskFacts,
    effective_deadline,
)
from bot.i18n import I18n, _
from bot.services import messages
from bot.services.delivery import (
    DispatchConfig,
    Dispatcher,
    DispatchStats,
    Job,
    Outcome,
)
from bot.services.digests import (
    Admin,
    DigestService,
    admin_condition,
    load_briefs,
    outbox_row,
    unit_scope,
)
from bot.services.errors import CodeError, UnknownTaskError
from storage.models import (
    Assignment,
    ChannelAccount,
    GroupChat,
    Officer,
    OutboxMessage,
    OutboxStatus,
    Unit,
    assignment_cooperators,
)
from storage.repositories import audit
from storage.repositories import outbox as repo
from storage.repositories import registry as registry_repo

log = logging.getLogger(__name__)

_SWEEP_CHUNK = 2000
# Rows a catch-up message folds: everything planned, and manual reminders too.
_COALESCIBLE = PLANNED_KINDS | {ReminderKind.MANUAL}
# Digests and summaries too old to be news are dropped rather than sent late.
_PERIODIC = (ReminderKind.DIGEST, ReminderKind.ADMIN_SUMMARY)


class TaskClosedError(CodeError):
    def message(self) -> str:
        return _("Task {code} is closed: there is nothing to remind.").format(code=self.code)


@dataclass(frozen=True, slots=True)
class TickSummary:
    """What one tick did, for the CLI and the logs."""

    at: datetime
    planned: int = 0
    cancelled: int = 0
    coalesced: int = 0
    digests: int = 0
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    deactivated: int = 0
    waiting: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


@dataclass(frozen=True, slots=True)
class PlanItemView:
    """One outbox row as `nhacviec reminders list` shows it."""

    task: str | None
    kind: str
    role: str | None
    recipient: str
    unit: str | None
    channel: str
    due_at: datetime
    status: str
    attempts: int
    sent_at: datetime | None
    occurrence: str
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "kind": self.kind,
            "role": self.role,
            "recipient": self.recipient,
            "unit": self.unit,
            "channel": self.channel,
            "due_at": self.due_at.isoformat(),
            "status": self.status,
            "attempts": self.attempts,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "occurrence": self.occurrence,
            "error": self.error,
        }


def encode_message(message: OutgoingMessage) -> dict[str, Any]:
    """An `OutgoingMessage` as JSON for the outbox (files by path, never bytes)."""
    return {
        "text": message.text,
        "title": message.title,
        "buttons": [[[b.label, b.data] for b in row] for row in message.buttons],
        "reply_to": message.reply_to,
        "files": [[f.file_name, f.path, f.mime_type] for f in message.files],
    }


def decode_message(data: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(
        text=str(data.get("text") or ""),
        title=data.get("title"),
        buttons=tuple(
            tuple(Button(str(label), str(payload)) for label, payload in row)
            for row in data.get("buttons") or []
        ),
        reply_to=data.get("reply_to"),
        files=tuple(FileRef(str(n), str(p), str(m)) for n, p, m in data.get("files") or []),
    )


def _bounded_key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) <= 255:
        return key
    return f"{parts[0]}:sha1-{hashlib.sha1(key.encode()).hexdigest()}"


class ReminderService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        channels: ChannelRouter,
        i18n: I18n,
        *,
        timer: Timer | None = None,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._settings = settings
        self._channels = channels
        self._i18n = i18n
        self._tz = settings.tz
        self._office = settings.office
        self.calendar = calendar or WorkCalendar(settings.extra_days_off, settings.makeup_workdays)
        self.planner = Planner(self.calendar, self._tz, settings.reminder_policy())
        self.digests = DigestService(settings, self.calendar)
        self._grace = timedelta(hours=settings.reminder_stale_after_hours)
        self._horizon = timedelta(days=settings.reminder_plan_days)
        self.dispatcher = Dispatcher(
            sessionmaker,
            channels,
            prepare=self._prepare,
            after_settle=self._after_settle,
            config=DispatchConfig(
                lease=timedelta(seconds=settings.outbox_lease_seconds),
                max_attempts=settings.outbox_max_attempts,
                backoff=timedelta(seconds=settings.outbox_backoff_seconds),
                backoff_max=timedelta(seconds=settings.outbox_backoff_max_seconds),
                margin=settings.rate_limit_margin,
            ),
            timer=timer,
        )
        self._lock = asyncio.Lock()
        self._swept_on: date | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._kick: asyncio.Task[None] | None = None
        self._kick_again = False

    # -- time -------------------------------------------------------------------------------

    def office_open(self, moment: datetime) -> bool:
        """Scheduled messages go out only on working days, within office hours."""
        local = moment.astimezone(self._tz)
        return self.calendar.is_working_day(local.date()) and self._office.contains(local.time())

    def _today(self, moment: datetime) -> date:
        return moment.astimezone(self._tz).date()

    # -- the contract with the chat adapters ------------------------------------------------

    async def on_assignment_changed(self, session: AsyncSession, assignment_id: int) -> None:
        """Inside the caller's transaction: re-plan this assignment's future reminders after
        any change (deadline moved by an extension or /setdate, status changed,
        completed/confirmed/cancelled → pending rows cancelled, lead/cooperating units
        changed). Idempotent."""
        await self._replan(session, [assignment_id], self._clock.now())

    async def on_officer_changed(self, session: AsyncSession, officer_id: int) -> None:
        """After an officer binds, unbinds, changes unit or preferred channel: plan the
        future reminders they should get (and cancel those they should not)."""
        now = self._clock.now()
        ids = set(await repo.assignment_ids_for_officer(session, officer_id))
        officer = await session.get(Officer, officer_id)
        if officer is not None and officer.active:
            remindable = Assignment.status.in_(sorted(REMINDABLE_STATUSES))
            if officer.unit_id is not None:
                ids.update(
                    await session.scalars(
                        select(Assignment.id).where(remindable, unit_scope(officer.unit_id))
                    )
                )
            if officer.role in {Role.ADMIN, Role.LEADER}:
                # Escalations reach admins and leaders on every dated task.
                ids.update(
                    await session.scalars(
                        select(Assignment.id).where(remindable, Assignment.due_date.is_not(None))
                    )
                )
        await self._replan(session, sorted(ids), now)

    async def enqueue_message(
        self,
        session: AsyncSession,
        *,
        message: OutgoingMessage,
        dedupe_key: str,
        officer_id: int | None = None,
        group_chat_id: int | None = None,
        kind: str = "notice",
    ) -> None:
        """A durable ad-hoc message (e.g. a completion report sent to each admin with
        Xác nhận/Trả lại buttons and the files) delivered through the outbox with rate
        limits and retries; the same dedupe_key never sends twice.

        It answers something a person just did, so it is sent at once, office hours or not.
        An officer gets it on each app their preference names (see `delivery_channels`).
        """
        if (officer_id is None) == (group_chat_id is None):
            raise ValueError("give exactly one of officer_id and group_chat_id")
        if not kind or len(kind) > 24:
            raise ValueError("kind is a short word (at most 24 characters)")
        now = self._clock.now()
        payload = {"message": encode_message(message)}
        rows: list[dict[str, Any]] = []
        if group_chat_id is not None:
            group = await session.get(GroupChat, group_chat_id)
            if group is None or not group.active:
                log.warning("not queuing %s for inactive group %s", kind, group_chat_id)
                return
            rows.append(
                outbox_row(
                    key=_bounded_key(kind, dedupe_key, f"g{group.id}"),
                    kind=kind,
                    occurrence=dedupe_key,
                    group_chat_id=group.id,
                    channel=group.channel,
                    chat_id=group.chat_id,
                    due_at=now,
                    now=now,
                    office_hours_only=False,
                    payload=payload,
                )
            )
        else:
            assert officer_id is not None
            channels = await self._officer_channels(session, officer_id)
            if not channels:
                log.warning(
                    "officer %s has no active chat account; %s not queued", officer_id, kind
                )
                return
            rows.extend(
                outbox_row(
                    key=_bounded_key(kind, dedupe_key, f"o{officer_id}", channel),
                    kind=kind,
                    occurrence=dedupe_key,
                    officer_id=officer_id,
                    channel=channel,
                    due_at=now,
                    now=now,
                    office_hours_only=False,
                    payload=payload,
                )
                for channel in channels
            )
        await repo.insert_new(session, rows)

    async def tick(self, now: datetime | None = None) -> TickSummary:
        """Do once everything due at `now`: plan, queue digests, fold stale rows, send."""
        async with self._lock:
            moment = now or self._clock.now()
            planned = cancelled = 0
            if await self._needs_sweep(moment):
                planned, cancelled = await self.sweep(moment)
            async with self._sessionmaker() as session, session.begin():
                admins = await self._admins(session, leaders=False)
                digests = await self.digests.enqueue_due(session, moment, admins)
            coalesced = await self._coalesce(moment)
            stats = await self._dispatch(now)
            async with self._sessionmaker() as session:
                waiting = await repo.count_waiting(session, now=now or self._clock.now())
        summary = TickSummary(
            at=moment,
            planned=planned,
            cancelled=cancelled + stats.cancelled,
            coalesced=coalesced,
            digests=digests,
            sent=stats.sent,
            retried=stats.retried,
            rate_limited=stats.rate_limited,
            failed=stats.failed,
            deactivated=stats.deactivated,
            waiting=waiting,
        )
        log.info("tick %s", summary.to_json())
        return summary

    async def remind_now(self, assignment_code: str, *, actor: str) -> int:
        """/remind CODE: send a reminder now to the lead unit's officers; returns how many
        recipients."""
        now = self._clock.now()
        code = assignment_code.strip().upper()
        async with self._sessionmaker() as session, session.begin():
            task = await session.scalar(select(Assignment).where(Assignment.code == code))
            if task is None:
                raise UnknownTaskError(assignment_code)
            if task.status not in OPEN_STATUSES:
                raise TaskClosedError(task.code)
            audience = await self._audience(session, {task.lead_unit_id})
            people = audience.unit(task.lead_unit_id)
            stamp = now.astimezone(self._tz).strftime("%Y%m%dT%H%M")
            rows = [
                outbox_row(
                    key=_bounded_key(
                        ReminderKind.MANUAL, f"a{task.id}", f"o{person.officer_id}", stamp, channel
                    ),
                    kind=ReminderKind.MANUAL,
                    occurrence=stamp,
                    role=LEAD,
                    assignment_id=task.id,
                    officer_id=person.officer_id,
                    channel=channel,
                    due_at=now,
                    now=now,
                    office_hours_only=False,
                )
                for person in people
                for channel in person.channels
            ]
            await repo.insert_new(session, rows)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="reminder.send_now",
                entity="assignment",
                entity_id=task.code,
                after={"recipients": len(people)},
            )
        self.request_tick()
        return len(people)

    async def digest_now(self, *, actor: str, group_chat_id: int | None = None) -> int:
        """/digest: the group digest now (every digest group, or the one given)."""
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            count = await self.digests.enqueue_now(session, now, group_chat_id)
            audit.record(
                session,
                at=now,
                actor=actor,
                action="digest.send_now",
                entity="group_chat",
                entity_id=group_chat_id if group_chat_id is not None else "all",
                after={"groups": count},
            )
        self.request_tick()
        return count

    async def assignment_for_message(
        self, channel: str, chat_id: str, message_id: str
    ) -> str | None:
        """The task code of the reminder we sent as that platform message (a Telegram reply
        to a reminder maps back to its task)."""
        async with self._sessionmaker() as session:
            assignment_id = await repo.task_for_message(session, channel, chat_id, message_id)
            return await self._code(session, assignment_id)

    async def latest_reminder_in_chat(self, channel: str, chat_id: str) -> str | None:
        """The task code of the most recent reminder sent into that chat (Zalo has no
        reply-to)."""
        async with self._sessionmaker() as session:
            assignment_id = await repo.latest_task_in_chat(
                session, channel, chat_id, TASK_MESSAGE_KINDS
            )
            return await self._code(session, assignment_id)

    def request_tick(self) -> None:
        """Wake the dispatcher soon (used after enqueue_message so admin notices go out in
        seconds, not at the next interval). A no-op outside a running event loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._kick_again = True
        if self._kick is None or self._kick.done():
            self._kick = loop.create_task(self._kicked())

    async def wait_idle(self) -> None:
        """Until a dispatch asked for with `request_tick` has finished (tests, shutdown)."""
        while self._kick is not None and not self._kick.done():
            await asyncio.shield(self._kick)

    async def drain(self) -> None:
        """Until the tick or dispatch in progress (if any) has finished."""
        await self.wait_idle()
        async with self._lock:
            pass

    async def aclose(self) -> None:
        if self._kick is not None and not self._kick.done():
            self._kick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._kick

    async def _kicked(self) -> None:
        while self._kick_again:
            self._kick_again = False
            try:
                async with self._lock:
                    await self._dispatch(None)
            except Exception:  # the interval tick will try again
                log.exception("dispatch after request_tick failed")

    # -- planning ---------------------------------------------------------------------------

    async def sweep(self, now: datetime | None = None) -> tuple[int, int]:
        """Re-plan every assignment: (rows added, rows cancelled). Safe to repeat."""
        moment = now or self._clock.now()
        planned = cancelled = 0
        async with self._sessionmaker() as session, session.begin():
            audience = await self._audience(session, None)
            # Rows of tasks no longer open, in one statement (the loop only visits open ones).
            closed = select(Assignment.id).where(
                Assignment.status.not_in(sorted(REMINDABLE_STATUSES))
            )
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.kind.in_(sorted(PLANNED_KINDS)),
                    OutboxMessage.assignment_id.in_(closed),
                )
                .values(status=OutboxStatus.CANCELLED, last_error="task closed", updated_at=moment)
                .execution_options(synchronize_session=False)
            )
            cancelled += int(getattr(result, "rowcount", 0) or 0)
            # Only tasks with something to send within the window (or rows waiting in it):
            # a deadline months away is planned by a later day's sweep. The date test is
            # done by the database; tasks with their own policy are judged one by one.
            window = self._today(moment) + self._horizon
            policy = self.planner.policy
            longest = max((*policy.offsets, *policy.cooperating_offsets), default=0)
            latest = window + timedelta(days=longest + 16)
            connection = await session.connection()
            remindable = Assignment.status.in_(sorted(REMINDABLE_STATUSES))
            wanted = set(
                (
                    await connection.execute(
                        select(Assignment.id).where(
                            remindable,
                            or_(
                                Assignment.deadline_kind.in_(
                                    [DeadlineKind.CONDITIONAL, DeadlineKind.RECURRING]
                                ),
                                Assignment.due_date <= latest,
                            ),
                        )
                    )
                ).scalars()
            )
            own_policy = await connection.execute(
                select(
                    Assignment.id,
                    Assignment.deadline_kind,
                    Assignment.due_date,
                    Assignment.reminder_policy,
                ).where(
                    remindable,
                    Assignment.due_date > latest,
                    Assignment.reminder_policy.is_not(None),
                    cast(Assignment.reminder_policy, Text) != "null",
                )
            )
            wanted.update(
                aid
                for aid, kind, due, overrides in own_policy
                if self.planner.may_send_by(
                    TaskFacts(aid, kind, due, "", 0, policy=overrides), window
                )
            )
            wanted.update(
                await repo.assignments_with_pending(
                    session, sorted(PLANNED_KINDS), before=self._end_of(window)
                )
            )
            open_ids = sorted(wanted)
            for start in range(0, len(open_ids), _SWEEP_CHUNK):
                chunk = open_ids[start : start + _SWEEP_CHUNK]
                added, dropped = await self._reconcile(
                    session, await self._tasks(session, chunk), audience, moment, window=window
                )
                planned += added
                cancelled += dropped
            self._fingerprint = await self._current_fingerprint(session)
        self._swept_on = self._today(moment)
        log.info("planned %s reminders, cancelled %s", planned, cancelled)
        return planned, cancelled

    async def _replan(self, session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
        if not ids:
            return
        tasks = await self._tasks(session, ids)
        units = {t.lead_unit_id for t in tasks} | {u for t in tasks for u in t.cooperating_unit_ids}
        audience = await self._audience(session, units)
        missing = set(ids) - {t.id for t in tasks}
        # Tasks that vanished still have their ids on pending rows: plan nothing for them.
        tasks += [TaskFacts(i, DeadlineKind.NONE, None, "", 0) for i in sorted(missing)]
        await self._reconcile(session, tasks, audience, now)

    def _end_of(self, day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), datetime.min.time(), self._tz)

    async def _reconcile(
        self,
        session: AsyncSession,
        tasks: Sequence[TaskFacts],
        audience: Audience,
        now: datetime,
        *,
        window: date | None = None,
    ) -> tuple[int, int]:
        """Make the pending rows of `tasks` what the planner wants now: add, cancel.

        With a `window`, only rows up to that day are planned and compared (the sweep);
        without one, everything ahead (one task, one officer).
        """
        pending = await repo.pending_planned(
            session, sorted(PLANNED_KINDS), assignment_ids=[t.id for t in tasks]
        )
        floor = now - self._grace
        oldest: dict[int, datetime] = {}
        for row in pending:
            if row.assignment_id is not None:
                current = oldest.get(row.assignment_id)
                oldest[row.assignment_id] = (
                    row.due_at if current is None else min(current, row.due_at)
                )
        until = self._today(now) + self._horizon
        desired: dict[str, Planned] = {}
        for task in tasks:
            # Plan back to the oldest row still pending, so rows held up by downtime stay
            # (to be folded into a catch-up) instead of being cancelled as unknown.
            since = min(floor, oldest.get(task.id, floor))
            for item in self.planner.plan(
                task, audience, since=since, until=until, finite_until=window
            ):
                desired[item.key] = item
        fresh = [item for item in desired.values() if item.due_at >= floor]
        rows: list[dict[str, Any]] = [
            {
                # Only the columns a planned row needs: fewer binds for a big sweep.
                "dedupe_key": item.key,
                "kind": item.kind.value,
                "occurrence": item.occurrence,
                "role": item.role,
                "assignment_id": item.assignment_id,
                "officer_id": item.officer_id,
                "channel": item.channel,
                "office_hours_only": True,
                "due_at": item.due_at,
                "next_attempt_at": item.due_at,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for item in fresh
        ]
        added = await repo.insert_new(session, rows)
        if len(rows) > added:
            # Some wanted rows exist already; those a change had cancelled come back.
            cancelled = await repo.cancelled_planned(
                session, sorted(PLANNED_KINDS), assignment_ids=[t.id for t in tasks], since=floor
            )
            wanted = [cancelled[item.key] for item in fresh if item.key in cancelled]
            added += await repo.revive(session, wanted, now=now)
        horizon_end = self._end_of(window) if window is not None else None
        obsolete = [
            row.id
            for row in pending
            if row.dedupe_key not in desired and (horizon_end is None or row.due_at < horizon_end)
        ]
        dropped = await repo.cancel(session, obsolete, now=now, reason="re-planned")
        return added, dropped

    async def _tasks(self, session: AsyncSession, ids: Sequence[int]) -> list[TaskFacts]:
        # Core, not ORM: a sweep reads tens of thousands of these.
        connection = await session.connection()
        rows = await connection.execute(
            select(
                Assignment.id,
                Assignment.deadline_kind,
                Assignment.due_date,
                Assignment.status,
                Assignment.lead_unit_id,
                Assignment.deadline_text,
                Assignment.recurrence,
                Assignment.reminder_policy,
            ).where(Assignment.id.in_(list(ids)))
        )
        cooperating: dict[int, list[int]] = defaultdict(list)
        for assignment_id, unit_id in await connection.execute(
            select(assignment_cooperators.c.assignment_id, assignment_cooperators.c.unit_id).where(
                assignment_cooperators.c.assignment_id.in_(list(ids))
            )
        ):
            cooperating[assignment_id].append(unit_id)
        tasks = []
        for aid, kind, due, status, lead, text, recurrence, policy in rows:
            if policy:
                problems = self.planner.policy.with_overrides(policy)[1]
                if problems:
                    log.warning("assignment %s: reminder_policy ignored: %s", aid, problems)
            tasks.append(
                TaskFacts(
                    id=aid,
                    deadline_kind=kind,
                    due_date=due,
                    status=status,
                    lead_unit_id=lead,
                    cooperating_unit_ids=tuple(sorted(cooperating.get(aid, ()))),
                    deadline_text=text or "",
                    recurrence=recurrence,
                    policy=policy,
                )
            )
        return tasks

    async def _audience(self, session: AsyncSession, unit_ids: Collection[int] | None) -> Audience:
        """Active officers with an active account: by unit, and the escalation set."""
        escalation_ids = set(
            await session.scalars(
                select(Officer.id).where(
                    Officer.active.is_(True), admin_condition(self._settings, leaders=True)
                )
            )
        )
        query = select(
            Officer.id,
            Officer.unit_id,
            Officer.role,
            Officer.preferred_channel,
            Officer.last_channel,
        ).where(Officer.active.is_(True))
        if unit_ids is not None:
            query = query.where(
                or_(Officer.unit_id.in_(list(unit_ids)), Officer.id.in_(list(escalation_ids)))
            )
        officers = (await session.execute(query)).all()
        accounts: dict[int, set[str]] = defaultdict(set)
        account_query = select(ChannelAccount.officer_id, ChannelAccount.channel).where(
            ChannelAccount.active.is_(True)
        )
        if unit_ids is not None:
            account_query = account_query.where(
                ChannelAccount.officer_id.in_([row[0] for row in officers])
            )
        for officer_id, channel in await session.execute(account_query):
            accounts[officer_id].add(channel)
        by_unit: dict[int, list[Person]] = defaultdict(list)
        escalation: list[Person] = []
        for officer_id, unit_id, role, preferred, last in officers:
            channels = delivery_channels(preferred, last, accounts.get(officer_id, ()))
            if not channels:
                continue
            person = Person(officer_id, unit_id, role, channels)
            if unit_id is not None:
                by_unit[unit_id].append(person)
            if officer_id in escalation_ids:
                escalation.append(person)
        return Audience(by_unit=dict(by_unit), escalation=escalation)

    async def _admins(self, session: AsyncSession, *, leaders: bool) -> list[Admin]:
        officers = list(
            await session.scalars(
                select(Officer)
                .options(selectinload(Officer.accounts))
                .where(Officer.active.is_(True), admin_condition(self._settings, leaders=leaders))
                .order_by(Officer.id)
            )
        )
        admins = []
        for officer in officers:
            channels = delivery_channels(
                officer.preferred_channel,
                officer.last_channel,
                [a.channel for a in officer.accounts if a.active],
            )
            if channels:
                admins.append(Admin(officer.id, channels))
        return admins

    async def _officer_channels(self, session: AsyncSession, officer_id: int) -> tuple[str, ...]:
        officer = await session.scalar(
            select(Officer).options(selectinload(Officer.accounts)).where(Officer.id == officer_id)
        )
        if officer is None or not officer.active:
            return ()
        return delivery_channels(
            officer.preferred_channel,
            officer.last_channel,
            [a.channel for a in officer.accounts if a.active],
        )

    async def _current_fingerprint(self, session: AsyncSession) -> tuple[Any, ...]:
        """Cheap signs that tasks or the registry changed behind our back."""
        tasks = (await session.execute(select(func.count(), func.max(Assignment.updated_at)))).one()
        accounts = (
            await session.execute(
                select(
                    func.count(),
                    func.max(ChannelAccount.bound_at),
                    func.max(ChannelAccount.deactivated_at),
                ).where(ChannelAccount.active.is_(True))
            )
        ).one()
        officers = (
            await session.execute(
                select(func.count(), func.max(Officer.id)).where(Officer.active.is_(True))
            )
        ).one()
        return (*tasks, *accounts, *officers)

    async def _needs_sweep(self, now: datetime) -> bool:
        if self._swept_on != self._today(now):
            return True
        async with self._sessionmaker() as session:
            return await self._current_fingerprint(session) != self._fingerprint

    # -- downtime -----------------------------------------------------------------------------

    async def _coalesce(self, now: datetime) -> int:
        """Fold reminders more than a few hours stale into one catch-up per person."""
        if not self.office_open(now):
            return 0
        before = now - self._grace
        async with self._sessionmaker() as session, session.begin():
            await repo.expire_stale(session, before=before, now=now, kinds=_PERIODIC)
            stale = await repo.stale_rows(session, before=before, now=now, kinds=_COALESCIBLE)
            if not stale:
                return 0
            groups: dict[tuple[int, str], list[repo.StaleRow]] = defaultdict(list)
            for row in stale:
                groups[(row.officer_id, row.channel)].append(row)
            folded = await repo.mark_coalesced(session, [row.id for row in stale], now=now)
            today = self._today(now).isoformat()
            await repo.insert_new(
                session,
                [
                    outbox_row(
                        key=f"{ReminderKind.CATCHUP}:o{officer_id}:{today}:{channel}",
                        kind=ReminderKind.CATCHUP,
                        occurrence=today,
                        officer_id=officer_id,
                        channel=channel,
                        due_at=now,
                        now=now,
                        payload={
                            "held": len(rows),
                            "assignments": sorted(
                                {r.assignment_id for r in rows if r.assignment_id is not None}
                            ),
                        },
                    )
                    for (officer_id, channel), rows in groups.items()
                ],
            )
        log.info("folded %s stale reminders into %s catch-up messages", folded, len(groups))
        return folded

    # -- delivery -----------------------------------------------------------------------------

    async def _dispatch(self, now: datetime | None) -> DispatchStats:
        def moment() -> datetime:
            return now or self._clock.now()

        return await self.dispatcher.run(moment, office_open=self.office_open)

    async def _prepare(
        self, session: AsyncSession, rows: Sequence[OutboxMessage], now: datetime
    ) -> tuple[list[Job], list[Outcome]]:
        """Claimed rows → jobs: find the chat, check the task still wants it, render."""
        today = self._today(now)
        task_ids = {r.assignment_id for r in rows if r.assignment_id is not None}
        for row in rows:
            if row.kind == ReminderKind.CATCHUP and row.payload:
                task_ids.update(int(i) for i in row.payload.get("assignments") or [])
        briefs = (
            {b.id: b for b in await load_briefs(session, Assignment.id.in_(sorted(task_ids)))}
            if task_ids
            else {}
        )
        officer_ids = {r.officer_id for r in rows if r.officer_id is not None}
        officers = (
            {
                o.id: o
                for o in await session.scalars(
                    select(Officer)
                    .options(selectinload(Officer.accounts), selectinload(Officer.unit))
                    .where(Officer.id.in_(sorted(officer_ids)))
                )
            }
            if officer_ids
            else {}
        )
        group_ids = {r.group_chat_id for r in rows if r.group_chat_id is not None}
        groups = (
            {
                g.id: g
                for g in await session.scalars(
                    select(GroupChat).where(GroupChat.id.in_(sorted(group_ids)))
                )
            }
            if group_ids
            else {}
        )

        jobs: list[Job] = []
        skipped: list[Outcome] = []
        for row in rows:
            token = row.claim_token or ""

            def skip(reason: str, row: OutboxMessage = row, token: str = token) -> None:
                skipped.append(Outcome(None, row.id, token, OutboxStatus.CANCELLED, error=reason))

            recipient: Recipient | None = None
            locale: str = self._settings.bot_locale
            if row.officer_id is not None:
                officer = officers.get(row.officer_id)
                if officer is None or not officer.active:
                    skip("officer inactive")
                    continue
                account = next(
                    (a for a in officer.accounts if a.active and a.channel == row.channel), None
                )
                if account is None:
                    skip(f"no active {row.channel} account")
                    continue
                recipient = Recipient(ChannelKind(row.channel), account.chat_id)
                locale = officer.locale or locale
            elif row.group_chat_id is not None:
                group = groups.get(row.group_chat_id)
                if group is None or not group.active:
                    skip("group inactive")
                    continue
                recipient = Recipient(ChannelKind(group.channel), group.chat_id, is_group=True)
                locale = str(group.settings.get("locale") or locale) if group.settings else locale
            elif row.chat_id:
                recipient = Recipient(ChannelKind(row.channel), row.chat_id)
            if recipient is None:
                skip("no recipient")
                continue
            try:
                with self._i18n.context(), self._i18n.use_locale(locale):
                    message = await self._render(session, row, briefs, officers, groups, now, today)
            except Exception:  # one bad row must not stop the others
                log.exception("could not render outbox row %s", row.id)
                skipped.append(
                    Outcome(None, row.id, token, OutboxStatus.FAILED, error="render error")
                )
                continue
            if isinstance(message, str):
                skip(message)
                continue
            jobs.append(
                Job(
                    row_id=row.id,
                    token=token,
                    kind=row.kind,
                    channel=row.channel,
                    recipient=recipient,
                    message=message,
                    attempts=row.attempts,
                    officer_id=row.officer_id,
                    group_chat_id=row.group_chat_id,
                    assignment_id=row.assignment_id,
                )
            )
        return jobs, skipped

    async def _render(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        briefs: dict[int, messages.TaskBrief],
        officers: dict[int, Officer],
        groups: dict[int, GroupChat],
        now: datetime,
        today: date,
    ) -> OutgoingMessage | str:
        """The message for a row, or the reason it should not be sent."""
        kind = row.kind
        if kind in PLANNED_KINDS or kind == ReminderKind.MANUAL:
            task = briefs.get(row.assignment_id or 0)
            if task is None:
                return "task gone"
            allowed = OPEN_STATUSES if kind == ReminderKind.MANUAL else REMINDABLE_STATUSES
            if task.status not in allowed:
                return "task closed"
            return messages.task_message(kind, row.role, task, today=today, calendar=self.calendar)
        if kind == ReminderKind.CATCHUP:
            payload = row.payload or {}
            ids = [int(i) for i in payload.get("assignments") or []]
            tasks = {i: briefs[i] for i in ids if i in briefs}
            officer = officers.get(row.officer_id or 0)
            if officer is not None and officer.unit_id is not None:
                for task in await load_briefs(
                    session,
                    unit_scope(officer.unit_id),
                    Assignment.status.in_(sorted(REMINDABLE_STATUSES)),
                    Assignment.due_date.is_not(None),
                    Assignment.due_date <= today + timedelta(days=7),
                ):
                    tasks.setdefault(task.id, task)
            listed = sorted(
                (t for t in tasks.values() if t.status in REMINDABLE_STATUSES),
                key=lambda t: (
                    effective_deadline(t.deadline_kind, t.due_date, self.calendar) or date.max,
                    t.code,
                ),
            )
            if not listed:
                return "nothing left to remind"
            return messages.catchup_message(
                listed, held=int(payload.get("held") or 0), today=today, calendar=self.calendar
            )
        if kind == ReminderKind.DIGEST:
            group = groups.get(row.group_chat_id or 0)
            if group is None:
                return "group gone"
            data = await self.digests.digest_data(session, group, now)
            return messages.digest_message(data, today=today, calendar=self.calendar)
        if kind == ReminderKind.ADMIN_SUMMARY:
            overdue, awaiting = await self.digests.summary_data(session, now)
            if not overdue and not awaiting:
                return "nothing to report"
            return messages.admin_summary_message(
                overdue, awaiting, today=today, calendar=self.calendar
            )
        if kind == ReminderKind.ALERT:
            payload = row.payload or {}
            reason = messages.unreachable_reason(str(payload.get("error") or ""))
            if payload.get("group"):
                return messages.group_unreachable_alert(
                    title=str(payload.get("title") or ""),
                    channel=str(payload.get("channel") or ""),
                    reason=reason,
                )
            return messages.unreachable_alert(
                officer=str(payload.get("name") or ""),
                unit=payload.get("unit"),
                channel=str(payload.get("channel") or ""),
                reason=reason,
            )
        payload = row.payload or {}
        if "message" not in payload:
            return "empty message"
        return decode_message(payload["message"])

    async def _after_settle(
        self, session: AsyncSession, outcomes: Sequence[Outcome], now: datetime
    ) -> None:
        """Consequences of results, in the same transaction as the results themselves."""
        for outcome in outcomes:
            job = outcome.job
            if job is None:
                continue
            if outcome.status == OutboxStatus.SENT and job.kind == ReminderKind.DIGEST:
                await session.execute(
                    update(GroupChat)
                    .where(GroupChat.id == job.group_chat_id)
                    .values(last_digest_at=now)
                )
            if outcome.unreachable:
                if job.officer_id is not None:
                    await self._officer_unreachable(session, job, outcome.error or "", now)
                elif job.group_chat_id is not None:
                    await self._group_unreachable(session, job, outcome.error or "", now)

    async def _officer_unreachable(
        self, session: AsyncSession, job: Job, error: str, now: datetime
    ) -> None:
        assert job.officer_id is not None
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.officer_id == job.officer_id,
                ChannelAccount.channel == job.channel,
                ChannelAccount.chat_id == job.recipient.chat_id,
                ChannelAccount.active.is_(True),
            )
        )
        if account is None:
            return  # already switched off by an earlier failure in this batch
        registry_repo.switch_account_off(
            session,
            account,
            now=now,
            actor="system",
            action="account.deactivate",
            reason=error[:255],
        )
        officer = await session.scalar(
            select(Officer).options(selectinload(Officer.unit)).where(Officer.id == job.officer_id)
        )
        await session.flush()
        await self._alert_admins(
            session,
            key=f"unreachable:acc{account.id}:{self._today(now)}",
            payload={
                "name": officer.name if officer else "",
                "unit": officer.unit.name if officer and officer.unit else None,
                "channel": job.channel,
                "error": error,
            },
            now=now,
            exclude=job.officer_id,
        )
        # Their other app, if any, takes over the reminders still ahead.
        await self.on_officer_changed(session, job.officer_id)

    async def _group_unreachable(
        self, session: AsyncSession, job: Job, error: str, now: datetime
    ) -> None:
        group = await session.get(GroupChat, job.group_chat_id)
        if group is None or not group.active:
            return
        group.active = False
        audit.record(
            session,
            at=now,
            actor="system",
            action="group.deactivate",
            entity="group_chat",
            entity_id=group.id,
            before={"active": True},
            after={"active": False, "reason": error[:255]},
        )
        await self._alert_admins(
            session,
            key=f"group:{group.id}:{self._today(now)}",
            payload={"group": True, "title": group.title, "channel": group.channel, "error": error},
            now=now,
        )

    async def _alert_admins(
        self,
        session: AsyncSession,
        *,
        key: str,
        payload: dict[str, Any],
        now: datetime,
        exclude: int | None = None,
    ) -> None:
        admins = [a for a in await self._admins(session, leaders=False) if a.officer_id != exclude]
        rows = [
            outbox_row(
                key=_bounded_key(ReminderKind.ALERT, key, f"o{admin.officer_id}", channel),
                kind=ReminderKind.ALERT,
                occurrence=key,
                officer_id=admin.officer_id,
                channel=channel,
                due_at=now,
                now=now,
                office_hours_only=False,
                payload=payload,
            )
            for admin in admins
            for channel in admin.channels
        ]
        if not rows:
            log.warning("no admin to tell: %s", key)
        await repo.insert_new(session, rows)

    # -- reading ------------------------------------------------------------------------------

    async def _code(self, session: AsyncSession, assignment_id: int | None) -> str | None:
        if assignment_id is None:
            return None
        return await session.scalar(select(Assignment.code).where(Assignment.id == assignment_id))

    async def plan(
        self,
        *,
        task_code: str | None = None,
        now: datetime | None = None,
        include_closed: bool = False,
    ) -> list[PlanItemView]:
        """The outbox as planned now (re-planned first, so it is current)."""
        moment = now or self._clock.now()
        assignment_id: int | None = None
        if task_code is not None:
            async with self._sessionmaker() as session, session.begin():
                assignment_id = await session.scalar(
                    select(Assignment.id).where(Assignment.code == task_code.strip().upper())
                )
                if assignment_id is None:
                    raise UnknownTaskError(task_code)
                await self._replan(session, [assignment_id], moment)
        else:
            await self.sweep(moment)
        statuses: Iterable[str] | None = None
        if not include_closed:
            statuses = [
                OutboxStatus.PENDING,
                OutboxStatus.SENDING,
                OutboxStatus.SENT,
                OutboxStatus.FAILED,
            ]
        async with self._sessionmaker() as session:
            rows = await repo.list_rows(
                session, assignment_id=assignment_id, statuses=statuses, limit=100_000
            )
            codes: dict[int, str] = dict(
                (await session.execute(select(Assignment.id, Assignment.code))).all()
            )
            people = {
                officer_id: (name, unit)
                for officer_id, name, unit in await session.execute(
                    select(Officer.id, Officer.name, Unit.code).outerjoin(
                        Unit, Officer.unit_id == Unit.id
                    )
                )
            }
            group_titles: dict[int, str] = dict(
                (await session.execute(select(GroupChat.id, GroupChat.title))).all()
            )
        out = []
        for row in rows:
            if row.officer_id is not None:
                name, unit = people.get(row.officer_id, ("?", None))
            else:
                name, unit = group_titles.get(row.group_chat_id or 0, row.chat_id or "?"), None
            out.append(
                PlanItemView(
                    task=codes.get(row.assignment_id) if row.assignment_id else None,
                    kind=row.kind,
                    role=row.role,
                    recipient=name,
                    unit=unit,
                    channel=row.channel,
                    due_at=row.due_at.astimezone(self._tz),
                    status=row.status,
                    attempts=row.attempts,
                    sent_at=row.sent_at.astimezone(self._tz) if row.sent_at else None,
                    occurrence=row.occurrence,
                    error=row.last_error,
                )
            )
        return out
