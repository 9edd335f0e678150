"""Storage behaviour that must hold on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage.db import create_engine, create_sessionmaker
from storage.models import AuditEntry, ChannelAccount, Officer, Unit
from storage.repositories import audit

NOW = datetime(2023, 6, 23, 1, 0, tzinfo=UTC)


async def _unit(session, code: str = "GDDT") -> Unit:  # type: ignore[no-untyped-def]
    unit = Unit(
        code=code,
        name="Phòng Giáo dục và Đào tạo",
        short_name="Phòng GD&ĐT",
        aliases=["phòng Giáo dục và đào tạo"],
        sectors=[],
        kind="phong_ban",
        active=True,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(unit)
    await session.flush()
    return unit


async def test_storage_datetimes_come_back_aware_in_utc(db_url: str) -> None:
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    hanoi = timezone(timedelta(hours=7))
    try:
        async with sessionmaker() as session, session.begin():
            unit = await _unit(session)
            unit.created_at = datetime(2023, 6, 30, 8, 0, tzinfo=hanoi)
        async with sessionmaker() as session:
            stored = await session.scalar(select(Unit))
            assert stored is not None
            assert stored.created_at.tzinfo is not None
            assert stored.created_at == datetime(2023, 6, 30, 1, 0, tzinfo=UTC)
            assert stored.aliases == ["phòng Giáo dục và đào tạo"]
    finally:
        await engine.dispose()


async def test_storage_refuses_naive_datetimes(db_url: str) -> None:
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            unit = await _unit(session)
            unit.updated_at = datetime(2023, 6, 30, 8, 0)  # noqa: DTZ001 - the point of the test
            with pytest.raises(Exception, match="naive datetime"):
                await session.flush()
    finally:
        await engine.dispose()


async def test_storage_one_chat_account_binds_once(db_url: str) -> None:
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            unit = await _unit(session)
            for name in ("A", "B"):
                session.add(
                    Officer(name=name, unit_id=unit.id, role="officer", active=True, created_at=NOW)
                )
        async with sessionmaker() as session:
            officers = (await session.scalars(select(Officer).order_by(Officer.name))).all()
            for officer in officers:
                session.add(
                    ChannelAccount(
                        officer_id=officer.id,
                        channel="telegram",
                        user_id="1001",
                        chat_id="1001",
                        bound_at=NOW,
                        active=True,
                    )
                )
            with pytest.raises(IntegrityError):
                await session.flush()
    finally:
        await engine.dispose()


async def test_storage_audit_log_is_append_only(db_url: str) -> None:
    engine = create_engine(db_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session, session.begin():
            audit.record(
                session,
                at=NOW,
                actor="cli",
                action="unit.add",
                entity="unit",
                entity_id="GDDT",
                after={"name": "Phòng GD&ĐT"},
            )
        for statement in (update(AuditEntry).values(actor="someone else"), delete(AuditEntry)):
            with pytest.raises(DBAPIError, match="append-only"):
                async with sessionmaker() as session, session.begin():
                    await session.execute(statement)
        async with sessionmaker() as session:
            entries = await audit.entries(session)
            assert [(e.actor, e.after) for e in entries] == [("cli", {"name": "Phòng GD&ĐT"})]
    finally:
        await engine.dispose()
