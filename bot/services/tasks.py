"""Reading tasks (assignments) for lists, details and exports."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.enums import OPEN_STATUSES, AssignmentStatus
from bot.i18n import _
from bot.services.dto import TaskView
from bot.services.errors import InvalidValueError, UnknownTaskError
from bot.services.views import task_view
from storage.repositories import work as repo

OPEN = "open"


def parse_status_filter(value: str | None) -> list[str] | None:
    """`open` means every status still needing work; otherwise one status value."""
    if value is None:
        return None
    value = value.strip().lower()
    if value == OPEN:
        return sorted(s.value for s in OPEN_STATUSES)
    try:
        return [AssignmentStatus(value).value]
    except ValueError as exc:
        allowed = ", ".join([OPEN, *(s.value for s in AssignmentStatus)])
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
            return task_view(row)
