"""All tables; importing this package registers them on `Base.metadata`."""

from storage.models.audit import AuditEntry
from storage.models.base import Base
from storage.models.oauth import OAuthToken
from storage.models.outbox import OutboxMessage, OutboxStatus, SentMessage
from storage.models.registry import ChannelAccount, GroupChat, Invite, Officer, Unit
from storage.models.work import (
    Assignment,
    Attachment,
    DeadlineChange,
    Notice,
    ProgressReport,
    assignment_cooperators,
)

__all__ = [
    "Assignment",
    "Attachment",
    "AuditEntry",
    "Base",
    "ChannelAccount",
    "DeadlineChange",
    "GroupChat",
    "Invite",
    "Notice",
    "OAuthToken",
    "Officer",
    "OutboxMessage",
    "OutboxStatus",
    "ProgressReport",
    "SentMessage",
    "Unit",
    "assignment_cooperators",
]
