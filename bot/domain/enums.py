"""Vocabulary shared by storage, services and channels.

Values are stable strings: they are stored in the database and appear in JSON output,
so renaming a member is a migration, not a refactor.
"""

from __future__ import annotations

from enum import StrEnum


class UnitKind(StrEnum):
    PHONG_BAN = "phong_ban"  # phòng, ban, văn phòng
    TRUNG_TAM = "trung_tam"  # trung tâm, bệnh viện, and similar service units
    TRUONG = "truong"  # trường
    XA_THI_TRAN = "xa_thi_tran"  # UBND xã / thị trấn
    DOANH_NGHIEP = "doanh_nghiep"  # Viettel, VNPT, banks acting as units
    KHAC = "khac"  # collectives ("các đơn vị có liên quan") and anything else


class Role(StrEnum):
    OFFICER = "officer"
    UNIT_HEAD = "unit_head"
    ADMIN = "admin"
    LEADER = "leader"


class DeadlineKind(StrEnum):
    """How a notice words a deadline.

    `month`, `quarter` and `year` are periods: the due date stored is the period's last
    calendar day and reminders aim at its last working day.
    """

    DATE = "date"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CONDITIONAL = "conditional"
    RECURRING = "recurring"
    NONE = "none"


class AssignmentStatus(StrEnum):
    """Completion status, as Vietnamese task-tracking rules count it (timeliness is separate)."""

    DRAFT = "draft"  # imported, not yet confirmed: no reminders
    NOT_STARTED = "not_started"  # chưa thực hiện
    IN_PROGRESS = "in_progress"  # đang thực hiện
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # chờ xác nhận
    DONE = "done"  # đã hoàn thành (confirmed)
    REOPENED = "reopened"  # từ chối xác nhận → thực hiện lại
    PAUSED = "paused"  # tạm dừng
    CANCELLED = "cancelled"  # hủy


OPEN_STATUSES: frozenset[AssignmentStatus] = frozenset(
    {
        AssignmentStatus.NOT_STARTED,
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.AWAITING_CONFIRMATION,
        AssignmentStatus.REOPENED,
    }
)


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"


class ChatPurpose(StrEnum):
    DIGEST = "digest"  # receives the weekly digest
    ADMIN = "admin"  # the office's admin group


class ReportKind(StrEnum):
    DONE = "done"
    PROGRESS = "progress"
    EXTENSION = "extension"
    NOTE = "note"


class Review(StrEnum):
    """`progress_reports.review_status` values."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    SENT_BACK = "sent_back"
    APPROVED = "approved"
    REFUSED = "refused"
    SUPERSEDED = "superseded"  # a newer extension request replaced it
    WITHDRAWN = "withdrawn"  # the officer reported progress after "done"
