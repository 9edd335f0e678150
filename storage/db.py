"""Engine and session factory. Nothing here runs at import time: the composition root
calls `create_engine` once and passes the sessionmaker down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolResetState

# Connections kept open on SQLite (each is one aiosqlite thread).
SQLITE_POOL_SIZE = 24


def normalize_url(raw: str) -> URL:
    """Accept the URLs admins paste (postgresql://, sqlite://) and pick the async drivers."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend == "postgresql" and url.drivername != "postgresql+asyncpg":
        url = url.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and url.drivername != "sqlite+aiosqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    return url


def _ensure_sqlite_folder(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the dashboard read while the
    # dispatcher writes; the busy timeout waits for a writer instead of failing at once.
    # synchronous=NORMAL is durable in WAL mode (a power cut may lose the last commit,
    # never corrupt the file) and saves an fsync per commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _rollback_if_open(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    # SQLAlchemy's Connection already ends its transaction (commit, or rollback on close)
    # before handing the connection back; the pool's own "rollback on return" would then
    # be a second, empty ROLLBACK — on aiosqlite one more thread hand-off per session.
    # The driver knows whether a transaction is really still open: roll back only then.
    if (
        state.asyncio_safe
        and not state.terminate_only
        and getattr(dbapi_connection.driver_connection, "in_transaction", True)
    ):
        dbapi_connection.rollback()


def create_engine(raw_url: str, *, echo: bool = False) -> AsyncEngine:
    url = normalize_url(raw_url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        # A pooled connection is kept open: reopening one costs a thread, the pragmas
        # and, on close, a WAL checkpoint (about 15 ms a write). The pool is as large as
        # the bot's concurrent handlers plus the scheduler and web server, so a busy
        # minute does not open and close overflow connections for every update.
        _ensure_sqlite_folder(url)
        kwargs["pool_reset_on_return"] = None
        if not _sqlite_in_memory(url):  # an in-memory database has one static connection
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine.pool, "reset", _rollback_if_open)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: services return DTOs built after commit.
    return async_sessionmaker(engine, expire_on_commit=False)


async def check_database(engine: AsyncEngine) -> None:
    """Fail fast at start-up with the driver's own message when the database is unreachable."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
