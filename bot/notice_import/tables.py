"""Task tables: "TT | Nội dung công việc | Đơn vị chủ trì | Đơn vị phối hợp | Thời gian"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.textnorm import fold

__all__ = ["TaskColumns", "is_task_table", "task_columns"]


@dataclass(frozen=True)
class TaskColumns:
    header_row: int
    action: int | None
    lead: int
    cooperating: int | None
    deadline: int | None


def task_columns(rows: Sequence[Sequence[str]]) -> TaskColumns | None:
    """The columns of a task table, read from its header row (one of the first three)."""
    for index, row in enumerate(rows[:3]):
        headers = [fold(cell) for cell in row]
        lead = cooperating = action = deadline = None
        for column, header in enumerate(headers):
            if "phoi hop" in header:
                cooperating = column
            elif (
                "chu tri" in header
                or ("thuc hien" in header and "don vi" in header)
                or "co quan thuc hien" in header
                or header in {"don vi", "don vi thuc hien"}
            ):
                lead = column
            elif any(w in header for w in ("thoi gian", "thoi han", "han hoan thanh", "tien do")):
                deadline = column
            elif any(w in header for w in ("noi dung", "nhiem vu", "cong viec")):
                action = column
        if lead is not None and (action is not None or deadline is not None):
            return TaskColumns(index, action, lead, cooperating, deadline)
    return None


def is_task_table(rows: Sequence[Sequence[str]]) -> bool:
    return task_columns(rows) is not None
