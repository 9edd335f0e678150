"""The outbox: every message the service means to send, as a row, before it is sent.

A row is planned (or enqueued) with a unique key, claimed by one dispatcher with a lease,
sent, and marked sent with the platform's message ids; a crash anywhere leaves a row that
another tick picks up. `sent_messages` maps each platform message back to its row, so a
reply to a reminder finds its task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime


class OutboxStatus:
    PENDING = "pending"
    SENDING = "sending"  # claimed; `lease_until` says when another dispatcher may retry it
    SENT = "sent"
    FAILED = "failed"  # given up (permanent error, bad message, too many attempts)
    CANCELLED = "cancelled"  # no longer wanted (task done, deadline moved, officer left)
    COALESCED = "coalesced"  # stale after downtime: folded into one catch-up message


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # The claim query: due rows by status and time.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # (kind, assignment, recipient, occurrence, channel) for planned rows; the caller's key
    # for ad-hoc ones. Planning or enqueuing twice inserts nothing the second time.
    dedupe_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(24))
    occurrence: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str | None] = mapped_column(String(16))
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"), index=True
    )
    group_chat_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_chats.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    # Set for group rows when planned; for officers when sent (their account may change).
    chat_id: Mapped[str | None] = mapped_column(String(64))
    # Scheduled messages wait for office hours; answers to a person's action do not.
    office_hours_only: Mapped[bool] = mapped_column(Boolean, default=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Ad-hoc messages carry their content; planned ones are rendered at send time.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SentMessage(Base):
    """One platform message we sent (a long text split in parts gives several)."""

    __tablename__ = "sent_messages"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    # Copied from the row so "which task was this?" is one indexed lookup.
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(24))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
