"""What services hand back: plain frozen dataclasses, safe to use after the session closes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AccountView:
    channel: str
    user_id: str
    chat_id: str
    active: bool
    bound_at: datetime


@dataclass(frozen=True, slots=True)
class OfficerView:
    id: int
    name: str
    title: str | None
    role: str
    unit_code: str | None
    unit_name: str | None
    locale: str | None
    preferred_channel: str | None
    accounts: tuple[AccountView, ...] = ()

    @property
    def bound(self) -> bool:
        return any(account.active for account in self.accounts)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted({a.channel for a in self.accounts if a.active}))

    def to_json(self) -> dict[str, Any]:
        channels = self.channels
        return {
            "name": self.name,
            "role": self.role,
            "unit": self.unit_code,
            "channel": ",".join(channels) if channels else None,
            "channels": list(channels),
            "bound": self.bound,
        }


@dataclass(frozen=True, slots=True)
class UnitView:
    code: str
    name: str
    short_name: str
    kind: str
    aliases: tuple[str, ...]
    sectors: tuple[str, ...]
    active: bool
    officers: tuple[OfficerView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "short_name": self.short_name,
            "kind": self.kind,
            "aliases": list(self.aliases),
            "active": self.active,
            "officers": [officer.to_json() for officer in self.officers],
        }


@dataclass(frozen=True, slots=True)
class AttachmentView:
    file_name: str
    size: int
    sha256: str
    mime_type: str
    storage_path: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name,
            "size": self.size,
            "sha256": self.sha256,
            "mime_type": self.mime_type,
        }


@dataclass(frozen=True, slots=True)
class ReportView:
    id: int
    at: datetime
    officer: str | None
    channel: str
    kind: str
    text: str
    percent: int | None
    proposed_due_date: date | None
    review_status: str | None
    review_note: str | None
    attachments: tuple[AttachmentView, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "officer": self.officer,
            "channel": self.channel,
            "kind": self.kind,
            "text": self.text,
            "percent": self.percent,
            "proposed_due_date": (
                self.proposed_due_date.isoformat() if self.proposed_due_date else None
            ),
            "review_status": self.review_status,
            "attachments": [a.to_json() for a in self.attachments],
        }


@dataclass(frozen=True, slots=True)
class UnitRefView:
    code: str
    name: str
    short_name: str


@dataclass(frozen=True, slots=True)
class TaskView:
    id: int
    code: str
    title: str
    section: str
    action: str
    deliverable: str
    notice_number: str | None
    lead_unit: UnitRefView
    cooperating_units: tuple[UnitRefView, ...]
    deadline_kind: str
    due_date: date | None
    deadline_text: str
    deadline_condition: str | None
    status: str
    percent: int | None
    completed_at: datetime | None
    confirmed_at: datetime | None
    reports: tuple[ReportView, ...] = field(default_factory=tuple)
    # Why the office paused or cancelled the task (the audit log's latest reason).
    status_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "code": self.code,
            "title": self.title,
            "section": self.section,
            "action": self.action,
            "deliverable": self.deliverable,
            "lead_unit": self.lead_unit.code,
            "cooperating_units": [unit.code for unit in self.cooperating_units],
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "deadline_kind": self.deadline_kind,
            "deadline_text": self.deadline_text,
            "deadline_condition": self.deadline_condition,
            "status": self.status,
            "percent": self.percent,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "reports": [report.to_json() for report in self.reports],
        }
        if self.status_reason:
            data["status_reason"] = self.status_reason
        return data


@dataclass(frozen=True, slots=True)
class InviteView:
    code: str
    unit_code: str | None
    officer_name: str
    role: str
    expires_at: datetime
    telegram_link: str | None
    zalo_text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "unit": self.unit_code,
            "name": self.officer_name,
            "role": self.role,
            "expires_at": self.expires_at.isoformat(),
            "telegram_link": self.telegram_link,
            "zalo_text": self.zalo_text,
        }
