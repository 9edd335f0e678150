"""Reports that arrive together: on SQLite they share one transaction (group commit), on
PostgreSQL each has its own. Either way each report is checked, applied and answered as if
it were alone, in arrival order, and a refusal or a broken report spoils no other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AppContext
from bot.domain.enums import AssignmentStatus, ReportKind, Role
from bot.domain.replies import understand_reply
from bot.services.attachments import StoredFile
from bot.services.reports import (
    Actor,
    AlreadyReportedError,
    NotYourTaskError,
    ReportReceipt,
    Review,
)
from storage.models import Assignment, ProgressReport


async def _officers(ctx: AppContext, unit: str, count: int, first: int) -> list[Actor]:
    actors = []
    for index in range(first, first + count):
        invite = await ctx.registry.create_invite(
            unit_code=unit, officer_name=f"Cán bộ {index}", role=Role.OFFICER, actor="test"
        )
        await ctx.registry.redeem_invite(
            invite.code, channel="telegram", user_id=str(index), chat_id=str(index)
        )
        actors.append(await ctx.conversation.identify("telegram", str(index), str(index)))
    return actors


def _submit(ctx: AppContext, actor: Actor, code: str, text: str, **kwargs: Any) -> Any:
    reply = understand_reply(text, today=ctx.reports.today())
    return ctx.reports.submit(actor, code, reply, **kwargs)


async def _in_arrival_order(backend: str, *calls: Any) -> list[Any]:
    """Reports sent one right after another. On SQLite they are queued at once and share
    a batch, whose promise is arrival order; on PostgreSQL concurrent transactions commit
    in whatever order their row locks are granted, so order is shown by sending in turn."""
    if backend == "sqlite":
        return list(await asyncio.gather(*calls, return_exceptions=True))
    outcomes: list[Any] = []
    for call in calls:
        try:
            outcomes.append(await call)
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


async def _reports(ctx: AppContext, code: str) -> list[ProgressReport]:
    async with ctx.sessionmaker() as session:
        rows = await session.scalars(
            select(ProgressReport)
            .join(Assignment, Assignment.id == ProgressReport.assignment_id)
            .where(Assignment.code == code)
            .order_by(ProgressReport.id)
        )
        return list(rows)


async def test_replies_together_each_recorded_and_answered_as_sent(ctx: AppContext) -> None:
    await ctx.seed.load()
    gddt = await _officers(ctx, "GDDT", 12, 1000)
    ttyt = await _officers(ctx, "TTYT", 12, 2000)
    calls = []
    for index in range(12):
        calls.append(_submit(ctx, gddt[index], "VHXH23-04", f"được {10 + index}%"))
        calls.append(_submit(ctx, ttyt[index], "VHXH23-07", f"đạt {40 + index}%"))
    # An officer of GDDT on TTYT's task: refused, and the others still go through.
    calls.insert(7, _submit(ctx, gddt[0], "VHXH23-07", "được 99%"))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    refused = outcomes.pop(7)
    assert isinstance(refused, NotYourTaskError)
    receipts = [o for o in outcomes if isinstance(o, ReportReceipt)]
    assert len(receipts) == 24
    # Each receipt shows the task as its own report left it, not as the batch ended.
    assert [r.percent for r in receipts if r.task_code == "VHXH23-04"] == list(range(10, 22))
    assert [r.percent for r in receipts if r.task_code == "VHXH23-07"] == list(range(40, 52))
    assert all(r.status == AssignmentStatus.IN_PROGRESS for r in receipts)

    stored = await _reports(ctx, "VHXH23-04") + await _reports(ctx, "VHXH23-07")
    assert len(stored) == 24
    assert {r.id for r in stored} == {r.report.id for r in receipts}
    # The task keeps the percentage of the report written last (in arrival order on
    # SQLite; on PostgreSQL in the order the row lock was granted).
    task = await ctx.tasks.get_task("VHXH23-04")
    assert task.percent == (await _reports(ctx, "VHXH23-04"))[-1].percent


async def test_later_report_in_a_batch_sees_the_earlier(ctx: AppContext, backend: str) -> None:
    await ctx.seed.load()
    first, second, third = await _officers(ctx, "GDDT", 3, 3000)
    files = (
        StoredFile(
            file_name="bao-cao.pdf",
            size=2048,
            sha256="a" * 64,
            mime_type="application/pdf",
            storage_path="aa/" + "a" * 64,
        ),
    )
    outcomes = await _in_arrival_order(
        backend,
        _submit(ctx, first, "VHXH23-04", "được 60%"),
        _submit(ctx, second, "VHXH23-04", "đã hoàn thành"),
        # The result is already reported: "done" again without a file is refused...
        _submit(ctx, third, "VHXH23-04", "xong"),
        # ...and a file adds evidence to the pending result.
        _submit(ctx, third, "VHXH23-04", "bản ký", files=files),
    )
    progress, done, again, evidence = outcomes
    assert isinstance(progress, ReportReceipt)
    assert progress.status == AssignmentStatus.IN_PROGRESS and progress.percent == 60
    assert isinstance(done, ReportReceipt)
    assert done.status == AssignmentStatus.AWAITING_CONFIRMATION
    assert done.ask_for_document  # no file yet when the result was reported
    assert isinstance(again, AlreadyReportedError)
    assert isinstance(evidence, ReportReceipt) and evidence.adds_to_result

    stored = await _reports(ctx, "VHXH23-04")
    assert [r.kind for r in stored] == [ReportKind.PROGRESS, ReportKind.DONE, ReportKind.NOTE]
    assert stored[1].review_status == Review.PENDING


async def test_newer_extension_request_in_a_batch_replaces_the_older(
    ctx: AppContext, backend: str
) -> None:
    await ctx.seed.load()
    first, second = await _officers(ctx, "GDDT", 2, 4000)
    older, newer = await _in_arrival_order(
        backend,
        _submit(ctx, first, "VHXH23-04", "xin gia hạn đến 20/7/2023 vì chờ số liệu"),
        _submit(ctx, second, "VHXH23-04", "xin gia hạn đến 25/7/2023 vì chờ ý kiến Sở"),
    )
    assert older.report.review_status == Review.PENDING  # as it was when sent
    stored = await _reports(ctx, "VHXH23-04")
    assert [r.review_status for r in stored] == [Review.SUPERSEDED, Review.PENDING]
    assert stored[1].id == newer.report.id


async def test_a_broken_report_spoils_no_other(ctx: AppContext) -> None:
    await ctx.seed.load()
    officers = await _officers(ctx, "GDDT", 4, 5000)
    # A file record the database refuses (no size): its report fails, the rest are
    # recorded.
    broken = StoredFile(
        file_name="x.pdf",
        size=None,  # type: ignore[arg-type]
        sha256="b" * 64,
        mime_type="application/pdf",
        storage_path="bb/" + "b" * 64,
    )
    outcomes = await asyncio.gather(
        _submit(ctx, officers[0], "VHXH23-04", "được 10%"),
        _submit(ctx, officers[1], "VHXH23-04", "được 20%", files=(broken,)),
        _submit(ctx, officers[2], "VHXH23-04", "được 30%"),
        _submit(ctx, officers[3], "VHXH23-04", "được 40%"),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], Exception) and not isinstance(outcomes[1], ReportReceipt)
    assert [o.percent for o in outcomes if isinstance(o, ReportReceipt)] == [10, 30, 40]
    stored = await _reports(ctx, "VHXH23-04")
    # Sorted: on PostgreSQL concurrent reports are separate transactions, which may commit
    # in any order (arrival order is the SQLite batch's promise, pinned above).
    assert sorted(r.percent for r in stored) == [10, 30, 40]
    async with ctx.sessionmaker() as session:
        total = await session.scalar(select(func.count()).select_from(ProgressReport))
    assert total == 3


@pytest.mark.parametrize("count", [1, 70])
async def test_every_report_of_a_flood_is_stored_once(ctx: AppContext, count: int) -> None:
    await ctx.seed.load()
    (officer,) = await _officers(ctx, "NHCSXH", 1, 6000)
    code = "VHXH23-13"  # the unit's one task
    receipts = await asyncio.gather(
        *(
            _submit(ctx, officer, code, f"ghi chú {index}", source_message_id=str(index))
            for index in range(count)
        )
    )
    assert len({r.report.id for r in receipts}) == count
    stored = await _reports(ctx, code)
    assert sorted(r.source_message_id or "" for r in stored) == sorted(str(i) for i in range(count))
