"""The stored OAuth token pairs (one row per provider account)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OAuthToken


async def get(session: AsyncSession, provider: str) -> OAuthToken | None:
    return await session.scalar(select(OAuthToken).where(OAuthToken.provider == provider))


async def put(
    session: AsyncSession,
    provider: str,
    *,
    access_token: str,
    refresh_token: str,
    expires_at: datetime,
    now: datetime,
) -> OAuthToken:
    """Insert or replace the pair inside the caller's transaction."""
    row = await get(session, provider)
    if row is None:
        row = OAuthToken(provider=provider, revision=0)
        session.add(row)
    row.access_token = access_token
    row.refresh_token = refresh_token
    row.expires_at = expires_at
    row.updated_at = now
    row.revision = (row.revision or 0) + 1
    await session.flush()
    return row
