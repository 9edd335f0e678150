"""Reading tasks (assignments) for lists, details and exports."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.enums import OPEN_STATUSES, AssignmentStatus
from bot.i18n import _
from bot.services.dto import TaskView
from bot.services.errors import InvalidValueError, UnknownTaskError
from bot.services.views import task_view
from storage.models import AuditEntry
from storage.repositories import work as repo

OPEN = "open"
ACTIVE = "active"  # open or paused: what a unit still sees on its list (not cancelled)


def parse_status_filter(value: str | None) -> list[str] | None:
    """`open` means every status still needing work, `active` adds paused tasks; otherwise
    one status value."""
    if value is None:
        return None
    value = value.strip().lower()
    if value == OPEN:
        return sorted(s.value for s in OPEN_STATUSES)
    if value == ACTIVE:
        return sorted({*(s.value for s in OPEN_STATUSES), AssignmentStatus.PAUSED.value})
    try:
        return [AssignmentStatus(value).value]
    except ValueError as exc:
        allowed = ", ".join([OPEN, ACTIVE, *(s.value for s in AssignmentStatus)])
        raise InvalidValueError(
            _("Unknown status {value}. Use one of: {allowed}.").format(value=value, allowed=allowed)
        ) from exc


class TaskService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def list_tasks(
        self,
        *,
        unit_code: str | None = None,
        status: str | None = None,
        due_before: date | None = None,
        with_reports: bool = True,
    ) -> list[TaskView]:
        statuses = parse_status_filter(status)
        async with self._sessionmaker() as session:
            rows = await repo.list_assignments(
                session,
                unit_code=unit_code.upper() if unit_code else None,
                statuses=statuses,
                due_before=due_before,
            )
            return [task_view(row, with_reports=with_reports) for row in rows]

    async def get_task(self, code: str) -> TaskView:
        async with self._sessionmaker() as session:
            row = await repo.assignment_by_code(session, code.strip().upper())
            if row is None:
                raise UnknownTaskError(code)
            view = task_view(row)
            if row.status in _HALTED:
                view = replace(view, status_reason=await _halt_reason(session, row.code))
            return view


_HALTED = frozenset({AssignmentStatus.PAUSED.value, AssignmentStatus.CANCELLED.value})


async def _halt_reason(session: AsyncSession, code: str) -> str | None:
    """The reason the office gave when it last paused or cancelled the task (audit log)."""
    after = await session.scalar(
        select(AuditEntry.after)
        .where(
            AuditEntry.entity == "assignment",
            AuditEntry.entity_id == code,
            AuditEntry.action.in_(["assignment.pause", "assignment.cancel"]),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    reason = after.get("reason") if isinstance(after, dict) else None
    return str(reason) if reason else None
