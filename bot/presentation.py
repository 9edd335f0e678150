"""Words users see for our enums, dates, deadlines and file sizes, shared by every adapter
(Telegram, Zalo, CLI) so a status reads the same everywhere."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date

from bot.domain.enums import AssignmentStatus, DeadlineKind, Review, Role, UnitKind
from bot.i18n import _


def status_label(status: str) -> str:
    labels = {
        AssignmentStatus.DRAFT: _("draft"),
        AssignmentStatus.NOT_STARTED: _("not started"),
        AssignmentStatus.IN_PROGRESS: _("in progress"),
        AssignmentStatus.AWAITING_CONFIRMATION: _("awaiting confirmation"),
        AssignmentStatus.DONE: _("done"),
        AssignmentStatus.REOPENED: _("sent back, to redo"),
        AssignmentStatus.PAUSED: _("paused"),
        AssignmentStatus.CANCELLED: _("cancelled"),
    }
    try:
        return labels[AssignmentStatus(status)]
    except ValueError:
        return status


def review_label(decision: str) -> str:
    labels = {
        Review.PENDING: _("awaiting review"),
        Review.CONFIRMED: _("confirmed"),
        Review.SENT_BACK: _("sent back"),
        Review.APPROVED: _("approved"),
        Review.REFUSED: _("refused"),
        Review.SUPERSEDED: _("replaced by a newer request"),
        Review.WITHDRAWN: _("withdrawn"),
    }
    try:
        return labels[Review(decision)]
    except ValueError:
        return decision


def file_size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return _("{size} MB").format(size=f"{size / (1024 * 1024):.1f}")
    return _("{size} KB").format(size=max(1, round(size / 1024)))


def role_label(role: str) -> str:
    labels = {
        Role.OFFICER: _("officer"),
        Role.UNIT_HEAD: _("unit head"),
        Role.ADMIN: _("administrator"),
        Role.LEADER: _("leader"),
    }
    try:
        return labels[Role(role)]
    except ValueError:
        return role


def unit_kind_label(kind: str) -> str:
    labels = {
        UnitKind.PHONG_BAN: _("office/department"),
        UnitKind.TRUNG_TAM: _("centre"),
        UnitKind.TRUONG: _("school"),
        UnitKind.XA_THI_TRAN: _("commune/town"),
        UnitKind.DOANH_NGHIEP: _("enterprise"),
        UnitKind.KHAC: _("other"),
    }
    try:
        return labels[UnitKind(kind)]
    except ValueError:
        return kind


def short_date(value: date) -> str:
    """30/6/2023, the way officers write dates."""
    return f"{value.day}/{value.month}/{value.year}"


def long_date(value: date, locale: str) -> str:
    """30/6/2023 (thứ Sáu): the weekday matters when planning the week."""
    weekday = format_date(value, "EEEE", locale=locale)
    if locale == "vi":
        weekday = weekday[:1].lower() + weekday[1:]
    return f"{short_date(value)} ({weekday})"


def deadline_label(kind: str, due: date | None, text: str, locale: str) -> str:
    """The deadline as users think of it: a date, a month, a condition, or none."""
    try:
        deadline_kind = DeadlineKind(kind)
    except ValueError:
        return text or "—"
    if deadline_kind is DeadlineKind.DATE and due is not None:
        return long_date(due, locale)
    if deadline_kind is DeadlineKind.MONTH and due is not None:
        return _("within {month}/{year}").format(month=due.month, year=due.year)
    if deadline_kind is DeadlineKind.QUARTER and due is not None:
        return _("within quarter {quarter}/{year}").format(
            quarter=(due.month - 1) // 3 + 1, year=due.year
        )
    if deadline_kind is DeadlineKind.YEAR and due is not None:
        return _("within {year}").format(year=due.year)
    if deadline_kind is DeadlineKind.CONDITIONAL:
        return text or _("when a condition is met")
    if deadline_kind is DeadlineKind.RECURRING:
        return text or _("recurring")
    return _("no deadline")
