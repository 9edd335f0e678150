"""ORM rows → DTOs, in one place so every service shows the same picture."""

from __future__ import annotations

from bot.services.attachments import StoredFile
from bot.services.dto import (
    AccountView,
    AttachmentView,
    OfficerView,
    ReportView,
    TaskView,
    UnitRefView,
    UnitView,
)
from storage.models import Assignment, Attachment, ChannelAccount, Officer, ProgressReport, Unit


def account_view(account: ChannelAccount) -> AccountView:
    return AccountView(
        channel=account.channel,
        user_id=account.user_id,
        chat_id=account.chat_id,
        active=account.active,
        bound_at=account.bound_at,
    )


def officer_view(officer: Officer) -> OfficerView:
    return _officer_view(officer, officer.unit)


def _officer_view(officer: Officer, unit: Unit | None) -> OfficerView:
    # The unit is passed in: a unit's officers do not load their `unit` back.
    return OfficerView(
        id=officer.id,
        name=officer.name,
        title=officer.title,
        role=officer.role,
        unit_code=unit.code if unit else None,
        unit_name=unit.name if unit else None,
        locale=officer.locale,
        preferred_channel=officer.preferred_channel,
        accounts=tuple(account_view(a) for a in officer.accounts),
    )


def unit_view(unit: Unit, *, with_officers: bool = True) -> UnitView:
    officers: tuple[OfficerView, ...] = ()
    if with_officers:
        officers = tuple(
            _officer_view(o, unit) for o in sorted(unit.officers, key=lambda o: o.name) if o.active
        )
    return UnitView(
        code=unit.code,
        name=unit.name,
        short_name=unit.short_name,
        kind=unit.kind,
        aliases=tuple(unit.aliases),
        sectors=tuple(unit.sectors),
        active=unit.active,
        officers=officers,
    )


def unit_ref(unit: Unit) -> UnitRefView:
    return UnitRefView(code=unit.code, name=unit.name, short_name=unit.short_name)


def attachment_view(attachment: Attachment | StoredFile) -> AttachmentView:
    """A stored row or a file just saved (the receipt is built before the row is read back)."""
    return AttachmentView(
        file_name=attachment.file_name,
        size=attachment.size,
        sha256=attachment.sha256,
        mime_type=attachment.mime_type,
        storage_path=attachment.storage_path,
    )


def report_view(report: ProgressReport) -> ReportView:
    return ReportView(
        id=report.id,
        at=report.created_at,
        officer=report.officer.name if report.officer else None,
        channel=report.channel,
        kind=report.kind,
        text=report.text,
        percent=report.percent,
        proposed_due_date=report.proposed_due_date,
        review_status=report.review_status,
        review_note=report.review_note,
        attachments=tuple(attachment_view(a) for a in report.attachments),
    )


def task_view(
    assignment: Assignment, *, with_reports: bool = True, with_notice: bool = True
) -> TaskView:
    """`with_notice=False` for a row loaded without its notice (it would lazy-load)."""
    notice = assignment.notice if with_notice else None
    return TaskView(
        id=assignment.id,
        code=assignment.code,
        title=assignment.title,
        section=assignment.section,
        action=assignment.action,
        deliverable=assignment.deliverable,
        notice_number=notice.number if notice else None,
        lead_unit=unit_ref(assignment.lead_unit),
        cooperating_units=tuple(unit_ref(u) for u in assignment.cooperating_units),
        deadline_kind=assignment.deadline_kind,
        due_date=assignment.due_date,
        deadline_text=assignment.deadline_text,
        deadline_condition=assignment.deadline_condition,
        status=assignment.status,
        percent=assignment.percent,
        completed_at=assignment.completed_at,
        confirmed_at=assignment.confirmed_at,
        reports=tuple(report_view(r) for r in assignment.reports) if with_reports else (),
    )
