"""What is asked and what is reported: notices, assignments, progress reports, files."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base
from storage.models.registry import Officer, Unit
from storage.types import UTCDateTime

assignment_cooperators = Table(
    "assignment_cooperators",
    Base.metadata,
    Column("assignment_id", ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="RESTRICT"), primary_key=True),
)


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    issuer: Mapped[str] = mapped_column(String(255), default="")
    chaired_by: Mapped[str] = mapped_column(String(255), default="")
    signer: Mapped[str] = mapped_column(String(255), default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    source_text: Mapped[str] = mapped_column(Text, default="")
    # The same signed notice is never stored twice (seed reloads, double imports).
    source_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # While the notice is a draft: the lines read from it, as reviewed so far
    # ({"lines": [...], "warnings": [...]}, see bot/services/notice_import.py). Assignment
    # rows need a lead unit, which an unreviewed line may lack, so they are created only on
    # confirmation; then this goes back to NULL.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    assignments: Mapped[list[Assignment]] = relationship(back_populates="notice")


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    notice_id: Mapped[int | None] = mapped_column(
        ForeignKey("notices.id", ondelete="RESTRICT"), index=True
    )
    section: Mapped[str] = mapped_column(String(16), default="")
    # Short enough for a phone list; the full wording is `action`.
    title: Mapped[str] = mapped_column(String(255), default="")
    action: Mapped[str] = mapped_column(Text)
    deliverable: Mapped[str] = mapped_column(Text, default="")
    lead_unit_id: Mapped[int] = mapped_column(
        ForeignKey("units.id", ondelete="RESTRICT"), index=True
    )
    deadline_kind: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    deadline_text: Mapped[str] = mapped_column(String(255), default="")
    deadline_condition: Mapped[str | None] = mapped_column(Text)
    # e.g. "monthly:25"; read by the reminder engine for recurring tasks
    recurrence: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), index=True)
    percent: Mapped[int | None] = mapped_column(Integer)
    # Per-assignment overrides of the reminder policy (offsets, hour, ...)
    reminder_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source_text: Mapped[str] = mapped_column(Text, default="")
    # When the result was reported (timeliness is judged on it) and when it was confirmed.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    notice: Mapped[Notice | None] = relationship(back_populates="assignments")
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    cooperating_units: Mapped[list[Unit]] = relationship(
        secondary=assignment_cooperators, order_by=Unit.code
    )
    reports: Mapped[list[ProgressReport]] = relationship(
        back_populates="assignment", order_by="ProgressReport.id"
    )


class DeadlineChange(Base):
    """History of a deadline: extensions and dates set on conditional tasks keep the old one."""

    __tablename__ = "deadline_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    old_kind: Mapped[str] = mapped_column(String(16))
    old_due_date: Mapped[date | None] = mapped_column(Date)
    new_kind: Mapped[str] = mapped_column(String(16))
    new_due_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgressReport(Base):
    """Anything an officer reports on a task: done, a percentage, an extension request, a note.

    Completion reports and extension requests wait for an admin's review (`review_status`).
    """

    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), index=True
    )
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    percent: Mapped[int | None] = mapped_column(Integer)
    proposed_due_date: Mapped[date | None] = mapped_column(Date)
    source_message_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    review_status: Mapped[str | None] = mapped_column(String(16))
    reviewed_by_officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(Text)

    assignment: Mapped[Assignment] = relationship(back_populates="reports")
    officer: Mapped[Officer | None] = relationship(foreign_keys=[officer_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="report", order_by="Attachment.id"
    )


class Attachment(Base):
    """A stored file (content-addressed by sha256 under ATTACHMENTS_DIR)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_reports.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    mime_type: Mapped[str] = mapped_column(String(127), default="application/octet-stream")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_path: Mapped[str] = mapped_column(String(512))
    channel: Mapped[str] = mapped_column(String(16))
    external_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    report: Mapped[ProgressReport | None] = relationship(back_populates="attachments")
