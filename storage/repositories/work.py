"""Notices, assignments and their reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Assignment,
    Notice,
    Officer,
    ProgressReport,
    Unit,
    assignment_cooperators,
)

# Everything a task view shows, loaded up front: async sessions cannot lazy-load.
TASK_DETAILS = (
    selectinload(Assignment.lead_unit),
    selectinload(Assignment.cooperating_units),
    selectinload(Assignment.notice),
    selectinload(Assignment.reports).selectinload(ProgressReport.attachments),
    selectinload(Assignment.reports).selectinload(ProgressReport.officer),
)


async def assignment_by_code(session: AsyncSession, code: str) -> Assignment | None:
    return await session.scalar(
        select(Assignment).options(*TASK_DETAILS).where(Assignment.code == code)
    )


async def list_assignments(
    session: AsyncSession,
    *,
    unit_code: str | None = None,
    statuses: Sequence[str] | None = None,
    due_before: date | None = None,
    include_cooperating: bool = True,
) -> Sequence[Assignment]:
    """Tasks ordered by due date (undated last), then code.

    With `unit_code`, a unit's tasks are those it leads and, unless told otherwise,
    those it cooperates on.
    """
    query = select(Assignment).options(*TASK_DETAILS)
    if unit_code is not None:
        unit_id = select(Unit.id).where(Unit.code == unit_code).scalar_subquery()
        condition = Assignment.lead_unit_id == unit_id
        if include_cooperating:
            cooperating = select(assignment_cooperators.c.assignment_id).where(
                assignment_cooperators.c.unit_id == unit_id
            )
            condition = or_(condition, Assignment.id.in_(cooperating))
        query = query.where(condition)
    if statuses:
        query = query.where(Assignment.status.in_(list(statuses)))
    if due_before is not None:
        query = query.where(Assignment.due_date.is_not(None), Assignment.due_date < due_before)
    query = query.order_by(Assignment.due_date.is_(None), Assignment.due_date, Assignment.code)
    return (await session.scalars(query)).all()


async def notice_by_sha(session: AsyncSession, sha256: str) -> Notice | None:
    return await session.scalar(select(Notice).where(Notice.source_sha256 == sha256))


async def officers_of_unit(session: AsyncSession, unit_id: int) -> Sequence[Officer]:
    return (
        await session.scalars(
            select(Officer)
            .options(selectinload(Officer.accounts))
            .where(Officer.unit_id == unit_id, Officer.active.is_(True))
        )
    ).all()
