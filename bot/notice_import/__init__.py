"""Reading a conclusion notice (Thông báo kết luận) into assignments to review.

Public entry points: `import_notice`, `load_unit_refs`, `UnitRef`, `ImportResult`; errors
derive from `NoticeImportError`. Everything here is pure (bytes in, values out), so the CLI
and the Telegram review flow can share it.
"""

from bot.notice_import.api import import_notice, load_unit_refs
from bot.notice_import.model import (
    Assignment,
    EmptyNoticeError,
    ImportResult,
    NoTextLayerError,
    NoticeImportError,
    NoticeMeta,
    NoticeTooLargeError,
    ReviewFlag,
    UnresolvedUnit,
    UnsupportedFormatError,
)
from bot.notice_import.units import UnitRef

__all__ = [
    "Assignment",
    "EmptyNoticeError",
    "ImportResult",
    "NoTextLayerError",
    "NoticeImportError",
    "NoticeMeta",
    "NoticeTooLargeError",
    "ReviewFlag",
    "UnitRef",
    "UnresolvedUnit",
    "UnsupportedFormatError",
    "import_notice",
    "load_unit_refs",
]
