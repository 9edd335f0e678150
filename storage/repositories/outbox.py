"""Outbox queries: insert-if-new, claim with a lease, settle, cancel, coalesce.

Claiming on PostgreSQL selects due rows `FOR UPDATE SKIP LOCKED` and updates them by id, so
dispatchers running at once each get different rows and none waits for another; SQLite
has one writer at a time, so one UPDATE over a sub-select of due rows is atomic there.
A claimed row carries a token and a lease: settling checks the token, and a row whose
lease ran out (its dispatcher died) is due again.
"""

from __future__ import annotations

import typing
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import OutboxMessage, OutboxStatus, SentMessage

S = OutboxStatus
_INSERT_CHUNK = 2000


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows whose `dedupe_key` is new; returns how many were new.

    Rows must all have the same keys. A planning sweep inserts hundreds of thousands, so
    on SQLite the statement goes to the driver directly with values converted once per
    distinct value (most rows share a handful of timestamps); PostgreSQL gets a plain
    `INSERT ... ON CONFLICT DO NOTHING RETURNING id` in batches.
    """
    if not rows:
        return 0
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        return await _insert_new_sqlite(connection, rows)
    table = typing.cast(Table, OutboxMessage.__table__)
    inserted = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        stmt = (
            postgresql.insert(table)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(table.c.id)
        )
        result = await connection.execute(stmt, list(chunk))
        inserted += len(result.all())
    return inserted


async def _insert_new_sqlite(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> int:
    table = OutboxMessage.__table__
    dialect = connection.dialect
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(dialect) for name in columns]
    cached: dict[tuple[int, Any], Any] = {}

    def convert(index: int, value: Any) -> Any:
        processor = processors[index]
        if processor is None or value is None:
            return value
        key = (index, value)
        try:
            return cached[key]
        except KeyError:
            converted = cached[key] = processor(value)
            return converted
        except TypeError:  # unhashable (JSON)
            return processor(value)

    sql = (
        f"INSERT INTO {OutboxMessage.__tablename__} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (dedupe_key) DO NOTHING"
    )
    inserted = 0
    for start in range(0, len(rows), 20 * _INSERT_CHUNK):
        chunk = rows[start : start + 20 * _INSERT_CHUNK]
        params = [tuple(convert(i, row[name]) for i, name in enumerate(columns)) for row in chunk]
        result = await connection.exec_driver_sql(sql, params)
        inserted += max(0, _rowcount(result))
    return inserted


@dataclass(frozen=True, slots=True)
class PendingRow:
    id: int
    dedupe_key: str
    assignment_id: int | None
    officer_id: int | None
    due_at: datetime


async def pending_planned(
    session: AsyncSession,
    kinds: Iterable[str],
    *,
    assignment_ids: Sequence[int] | None = None,
    officer_id: int | None = None,
) -> list[PendingRow]:
    """Planned rows not yet sent, for the planner to compare with what it wants now."""
    query = select(
        OutboxMessage.id,
        OutboxMessage.dedupe_key,
        OutboxMessage.assignment_id,
        OutboxMessage.officer_id,
        OutboxMessage.due_at,
    ).where(OutboxMessage.status == S.PENDING, OutboxMessage.kind.in_(list(kinds)))
    if assignment_ids is not None:
        query = query.where(OutboxMessage.assignment_id.in_(list(assignment_ids)))
    if officer_id is not None:
        query = query.where(OutboxMessage.officer_id == officer_id)
    connection = await session.connection()  # Core: a sweep reads many of these
    rows = await connection.execute(query)
    return [PendingRow(*row) for row in rows]


async def cancelled_planned(
    session: AsyncSession,
    kinds: Iterable[str],
    *,
    assignment_ids: Sequence[int],
    since: datetime,
) -> dict[str, int]:
    """Cancelled rows still ahead (key → id): a re-plan may want them back."""
    rows = await session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.id).where(
            OutboxMessage.status == S.CANCELLED,
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.assignment_id.in_(list(assignment_ids)),
            OutboxMessage.due_at >= since,
        )
    )
    return {str(key): int(row_id) for key, row_id in rows}


async def revive(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> int:
    """Cancelled rows wanted again (a task sent back, a deadline moved back): pending."""
    if not ids:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == S.CANCELLED)
        .values(
            status=S.PENDING,
            next_attempt_at=OutboxMessage.due_at,
            attempts=0,
            last_error=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def assignments_with_pending(
    session: AsyncSession, kinds: Iterable[str], *, before: datetime
) -> list[int]:
    """Tasks with planned rows waiting before `before` (the sweep re-checks them)."""
    rows = await session.scalars(
        select(OutboxMessage.assignment_id)
        .where(
            OutboxMessage.status == S.PENDING,
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.assignment_id.is_not(None),
            OutboxMessage.due_at < before,
        )
        .distinct()
    )
    return [row for row in rows if row is not None]


async def assignment_ids_for_officer(session: AsyncSession, officer_id: int) -> list[int]:
    rows = await session.scalars(
        select(OutboxMessage.assignment_id)
        .where(
            OutboxMessage.officer_id == officer_id,
            OutboxMessage.status == S.PENDING,
            OutboxMessage.assignment_id.is_not(None),
        )
        .distinct()
    )
    return [row for row in rows if row is not None]


async def cancel(session: AsyncSession, ids: Sequence[int], *, now: datetime, reason: str) -> int:
    """Cancel rows still pending (a row already claimed is left to its dispatcher)."""
    count = 0
    for start in range(0, len(ids), _INSERT_CHUNK):
        chunk = list(ids[start : start + _INSERT_CHUNK])
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk), OutboxMessage.status == S.PENDING)
            .values(status=S.CANCELLED, last_error=reason[:255], updated_at=now)
            .execution_options(synchronize_session=False)
        )
        count += _rowcount(result)
    return count


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _due(now: datetime, channels: Iterable[str], office_open: bool) -> ColumnElement[bool]:
    condition = and_(
        OutboxMessage.channel.in_(list(channels)),
        or_(
            and_(OutboxMessage.status == S.PENDING, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == S.SENDING, OutboxMessage.lease_until <= now),
        ),
    )
    if not office_open:
        condition = and_(condition, OutboxMessage.office_hours_only.is_(False))
    return condition


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    channels: Iterable[str],
    office_open: bool,
    limit: int,
    lease_until: datetime,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this dispatcher; commit right after."""
    channels = list(channels)
    if not channels or limit <= 0:
        return []
    token = uuid.uuid4().hex
    due = _due(now, channels, office_open)
    chosen = (
        select(OutboxMessage.id)
        .where(due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    claim_values = {
        "status": S.SENDING,
        "claim_token": token,
        "lease_until": lease_until,
        "attempts": OutboxMessage.attempts + 1,
        "updated_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        # Lock first, then update by id. Inside `UPDATE ... WHERE id IN (SELECT ... LIMIT
        # n FOR UPDATE SKIP LOCKED)` PostgreSQL may run the sub-select again per row and,
        # skipping the rows it has just locked itself, claim far more than n.
        ids = list(await session.scalars(chosen.with_for_update(skip_locked=True)))
        if not ids:
            return []
        target: ColumnElement[bool] = OutboxMessage.id.in_(ids)
    else:
        # One statement: SQLite runs one writer at a time, so it cannot race itself.
        target = and_(OutboxMessage.id.in_(chosen.scalar_subquery()), due)
    await session.execute(
        update(OutboxMessage)
        .where(target)
        .values(**claim_values)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.claim_token == token)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    )
    return list(rows)


async def has_due(
    session: AsyncSession, *, now: datetime, channels: Iterable[str], office_open: bool
) -> bool:
    channels = list(channels)
    if not channels:
        return False
    found = await session.scalar(
        select(OutboxMessage.id).where(_due(now, channels, office_open)).limit(1)
    )
    return found is not None


def _claimed(row_id: int, token: str) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.id == row_id,
        OutboxMessage.claim_token == token,
        OutboxMessage.status == S.SENDING,
    )


async def mark_sent(
    session: AsyncSession,
    *,
    row_id: int,
    token: str,
    now: datetime,
    channel: str,
    chat_id: str,
    message_ids: Sequence[str],
    assignment_id: int | None,
    kind: str,
) -> bool:
    """Settle a sent row and remember its platform message ids; False if we lost the lease."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(row_id, token))
        .values(
            status=S.SENT,
            sent_at=now,
            chat_id=chat_id,
            claim_token=None,
            lease_until=None,
            last_error=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if message_ids:
        insert = _insert(session)
        await session.execute(
            insert(SentMessage.__table__).on_conflict_do_nothing(
                index_elements=["channel", "chat_id", "message_id"]
            ),
            [
                {
                    "outbox_id": row_id,
                    "channel": channel,
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "assignment_id": assignment_id,
                    "kind": kind,
                    "sent_at": now,
                }
                for message_id in message_ids
            ],
        )
    return _rowcount(result) == 1


async def settle(
    session: AsyncSession,
    *,
    row_id: int,
    token: str,
    now: datetime,
    status: str,
    next_attempt_at: datetime | None = None,
    error: str | None = None,
    refund_attempt: bool = False,
) -> bool:
    """Put a claimed row back to pending (with a retry time) or end it (failed/cancelled)."""
    values: dict[str, Any] = {
        "status": status,
        "claim_token": None,
        "lease_until": None,
        "updated_at": now,
        "last_error": error[:255] if error else None,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if refund_attempt:
        # Released unsent (the dispatcher stopped early): this was not a real attempt.
        values["attempts"] = OutboxMessage.attempts - 1
    result = await session.execute(
        update(OutboxMessage)
        .where(_claimed(row_id, token))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


@dataclass(frozen=True, slots=True)
class StaleRow:
    id: int
    officer_id: int
    channel: str
    assignment_id: int | None


async def stale_rows(
    session: AsyncSession, *, before: datetime, now: datetime, kinds: Iterable[str]
) -> list[StaleRow]:
    """Officers' messages that should have gone out before `before` and still have not."""
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.officer_id,
            OutboxMessage.channel,
            OutboxMessage.assignment_id,
        )
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.officer_id.is_not(None),
            OutboxMessage.office_hours_only.is_(True),
            OutboxMessage.due_at < before,
            or_(
                OutboxMessage.status == S.PENDING,
                and_(OutboxMessage.status == S.SENDING, OutboxMessage.lease_until <= now),
            ),
        )
        .order_by(OutboxMessage.id)
    )
    return [StaleRow(int(i), int(o or 0), str(c), a) for i, o, c, a in rows]


async def mark_coalesced(session: AsyncSession, ids: Sequence[int], *, now: datetime) -> int:
    count = 0
    for start in range(0, len(ids), _INSERT_CHUNK):
        chunk = list(ids[start : start + _INSERT_CHUNK])
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(chunk),
                or_(
                    OutboxMessage.status == S.PENDING,
                    and_(OutboxMessage.status == S.SENDING, OutboxMessage.lease_until <= now),
                ),
            )
            .values(
                status=S.COALESCED,
                claim_token=None,
                lease_until=None,
                updated_at=now,
                last_error="stale after downtime",
            )
            .execution_options(synchronize_session=False)
        )
        count += _rowcount(result)
    return count


async def count_waiting(session: AsyncSession, *, now: datetime) -> int:
    """Rows due but not sent: outside office hours, or no sender for their channel."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == S.PENDING, OutboxMessage.next_attempt_at <= now)
        )
        or 0
    )


async def expire_stale(
    session: AsyncSession, *, before: datetime, now: datetime, kinds: Iterable[str]
) -> int:
    """Group digests and summaries too old to be news: cancel rather than send late."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.kind.in_(list(kinds)),
            OutboxMessage.due_at < before,
            OutboxMessage.status == S.PENDING,
        )
        .values(status=S.CANCELLED, updated_at=now, last_error="stale after downtime")
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def task_for_message(
    session: AsyncSession, channel: str, chat_id: str, message_id: str
) -> int | None:
    return await session.scalar(
        select(SentMessage.assignment_id).where(
            SentMessage.channel == channel,
            SentMessage.chat_id == chat_id,
            SentMessage.message_id == message_id,
        )
    )


async def latest_task_in_chat(
    session: AsyncSession, channel: str, chat_id: str, kinds: Iterable[str]
) -> int | None:
    return await session.scalar(
        select(SentMessage.assignment_id)
        .where(
            SentMessage.channel == channel,
            SentMessage.chat_id == chat_id,
            SentMessage.assignment_id.is_not(None),
            SentMessage.kind.in_(list(kinds)),
        )
        .order_by(SentMessage.sent_at.desc(), SentMessage.id.desc())
        .limit(1)
    )


async def list_rows(
    session: AsyncSession,
    *,
    assignment_id: int | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
    limit: int = 1000,
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id).limit(limit)
    if assignment_id is not None:
        query = query.where(OutboxMessage.assignment_id == assignment_id)
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(list(kinds)))
    if statuses is not None:
        query = query.where(OutboxMessage.status.in_(list(statuses)))
    return list(await session.scalars(query))
