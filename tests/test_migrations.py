"""Migrations: from empty to head, a full round trip, and models that match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from storage import migrate
from storage.db import create_engine
from storage.models import Base

EXPECTED_TABLES = {
    "units",
    "officers",
    "channel_accounts",
    "invites",
    "group_chats",
    "notices",
    "assignments",
    "assignment_cooperators",
    "deadline_changes",
    "progress_reports",
    "attachments",
    "audit_log",
    "outbox",
    "sent_messages",
    "oauth_tokens",
}


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_upgrade_from_empty_creates_every_table(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(_tables)
        assert tables >= EXPECTED_TABLES
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_migrations_round_trip_down_and_up(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) >= EXPECTED_TABLES
    finally:
        await engine.dispose()


async def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await engine.dispose()


async def test_migrations_audit_log_guard_survives_round_trip(empty_db_url: str) -> None:
    engine = create_engine(empty_db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, entity, entity_id) "
                    "VALUES (CURRENT_TIMESTAMP, 'test', 'x', 'y', '1')"
                )
            )
        failed = False
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM audit_log"))
        except Exception as exc:  # the driver's own error type differs per backend
            failed = "append-only" in str(exc)
        assert failed
    finally:
        await engine.dispose()
