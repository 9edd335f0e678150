"""OAuth tokens the service must keep across restarts (the Zalo OA's rotating pair).

Zalo's OA refresh token is single-use: every refresh returns a new one and the old one dies
at once. Kept only in memory or in a file a redeploy wipes, it is lost on the next restart
and the OA is locked out until an admin consents again; in the database it survives.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class OAuthToken(Base):
    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Which account the pair belongs to, e.g. "zalo_oa:<app id>".
    provider: Mapped[str] = mapped_column(String(64), unique=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Saves so far: shows in the database how often the pair rotated.
    revision: Mapped[int] = mapped_column(Integer, default=0)
