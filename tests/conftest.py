"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Migrations run once per session into a template (a file for SQLite, a template database
for PostgreSQL); each test gets its own copy, so tests never see each other's rows and
the append-only audit log needs no cleaning. PostgreSQL comes from TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test); when that variable is unset and the
server is unreachable, the PostgreSQL variants are skipped, when it is set they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.app import AppContext, build_context
from bot.clock import FrozenClock
from bot.config import Settings
from bot.i18n import I18n, build_i18n
from storage import migrate
from storage.db import create_engine

PG_ENV = "TEST_POSTGRES_URL"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
RUN_ID = uuid.uuid4().hex[:8]
BACKENDS = ["sqlite", "postgres"]


def _pg_admin_dsn() -> str:
    url = make_url(os.environ.get(PG_ENV, DEFAULT_PG))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url_for(database: str) -> str:
    url = make_url(os.environ.get(PG_ENV, DEFAULT_PG)).set(
        drivername="postgresql+asyncpg", database=database
    )
    return url.render_as_string(hide_password=False)


class _Templates:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sqlite_template: Path | None = None
        self.pg_template: str | None = None
        self.pg_error: str | None = None
        self._lock = asyncio.Lock()
        self._counter = 0

    async def sqlite(self) -> Path:
        async with self._lock:
            if self.sqlite_template is None:
                path = self.root / "template.db"
                engine = create_engine(f"sqlite+aiosqlite:///{path}")
                await migrate.upgrade(engine)
                await engine.dispose()
                self.sqlite_template = path
        return self.sqlite_template

    async def postgres(self) -> str:
        async with self._lock:
            if self.pg_error is not None:
                pytest.skip(self.pg_error)
            if self.pg_template is None:
                try:
                    conn = await asyncpg.connect(_pg_admin_dsn(), timeout=5)
                except (OSError, asyncpg.PostgresError) as exc:
                    self.pg_error = f"PostgreSQL unreachable: {exc}"
                    if PG_ENV in os.environ:
                        pytest.fail(self.pg_error)
                    pytest.skip(self.pg_error)
                name = f"nv_tpl_{RUN_ID}"
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await conn.close()
                engine = create_engine(_pg_url_for(name))
                await migrate.upgrade(engine)
                await engine.dispose()
                self.pg_template = name
        return self.pg_template

    async def new_postgres_db(self) -> str:
        template = await self.postgres()
        self._counter += 1
        name = f"nv_{RUN_ID}_{self._counter}"
        conn = await asyncpg.connect(_pg_admin_dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await conn.close()
        return name

    async def drop_postgres_db(self, name: str) -> None:
        conn = await asyncpg.connect(_pg_admin_dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def close(self) -> None:
        if self.pg_template is not None:
            await self.drop_postgres_db(self.pg_template)


@pytest.fixture(scope="session")
async def _templates(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("db-templates"))
    yield templates
    await templates.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db_url(backend: str, _templates: _Templates, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only."""
    if backend == "sqlite":
        template = await _templates.sqlite()
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = await _templates.new_postgres_db()
    try:
        yield _pg_url_for(name)
    finally:
        await _templates.drop_postgres_db(name)


@pytest.fixture
async def empty_db_url(backend: str, _templates: _Templates, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all, for migration tests."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    await _templates.postgres()
    name = f"nv_{RUN_ID}_empty_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield _pg_url_for(name)
    finally:
        await _templates.drop_postgres_db(name)


@pytest.fixture(scope="session")
def i18n() -> I18n:
    return build_i18n("vi")


@pytest.fixture
def clock() -> FrozenClock:
    # A Friday morning in Hà Nội, a week before the seed's first deadline (30/6/2023).
    return FrozenClock(datetime(2023, 6, 23, 1, 0, tzinfo=UTC))


def make_settings(db_url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings that never read the developer's .env or environment secrets."""
    values: dict[str, object] = {
        "database_url": db_url,
        "attachments_dir": tmp_path / "attachments",
        "telegram_bot_token": None,
        "zalo_bot_token": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def ctx(
    db_url: str, tmp_path: Path, clock: FrozenClock, i18n: I18n
) -> AsyncIterator[AppContext]:
    """The application's services over a fresh database, in Vietnamese."""
    context = build_context(make_settings(db_url, tmp_path), clock=clock, i18n=i18n)
    with i18n.context(), i18n.use_locale("vi"):
        yield context
    await context.aclose()


@pytest.fixture
def seed_path() -> Path:
    return Path(__file__).resolve().parents[1] / "seed" / "cam-thuy-vhxh-2023.yaml"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment without any Nhắc việc setting, for CLI subprocess tests."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "ZALO_", "BOT_", "ADMIN_", "DATABASE_", "WEB_")):
            monkeypatch.delenv(name, raising=False)
