"""Button payloads shared by every channel: what a tap (or a numbered reply on Zalo) means.

Payloads are short ASCII strings (Telegram allows 64 bytes of callback data):
`<verb>:<argument>`, e.g. `done:VHXH23-04`. Parsing is strict so a forged or stale payload
is refused instead of guessed: the import review's verbs accept only their own argument
shape, `<draft>`, `<draft>.<line>` or `<draft>.<line>.<unit>` (see `DraftRef`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

MAX_PAYLOAD_BYTES = 64
_ARGUMENT = re.compile(r"^[A-Za-z0-9_\-.]{1,48}$")


class Verb(StrEnum):
    # on a reminder or a task (argument: task code)
    DONE = "done"  # ✅ Đã hoàn thành
    PROGRESS = "prog"  # 🔄 Đang thực hiện
    EXTEND = "ext"  # ⏳ Xin gia hạn
    PICK = "pick"  # "which task?" answer
    # admin review (argument: progress report id)
    CONFIRM = "ok"  # Xác nhận
    SEND_BACK = "back"  # Trả lại
    APPROVE_EXTENSION = "xok"  # Đồng ý
    REFUSE_EXTENSION = "xno"  # Không đồng ý
    # review of an imported notice (argument: a DraftRef)
    IMPORT_CONFIRM = "imp_ok"  # ✅ Xác nhận (draft)
    IMPORT_CANCEL = "imp_x"  # ✖ Hủy (draft)
    IMPORT_BACK = "imp_back"  # ↩ back to the review's buttons (draft)
    IMPORT_UNIT = "imp_unit"  # ✏️ Sửa đơn vị: draft → pick a line; draft.line → pick a unit
    IMPORT_DEADLINE = "imp_due"  # 📅 Sửa thời hạn: draft → pick a line; draft.line → type it
    IMPORT_DROP = "imp_drop"  # 🗑 Bỏ dòng: draft → pick a line; draft.line → drop it
    IMPORT_SET_UNIT = "imp_set"  # a suggested lead unit (draft.line.unit)


@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    argument: str

    def payload(self) -> str:
        data = f"{self.verb.value}:{self.argument}"
        if len(data.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError("button payload longer than 64 bytes")
        return data


# The import review's arguments: draft id, line number, unit code (DraftRef).
_DRAFT = r"[1-9][0-9]{0,8}"
_LINE = r"[1-9][0-9]{0,3}"
_UNIT = r"[A-Za-z0-9_\-]{1,32}"
_IMPORT_SHAPES = {
    Verb.IMPORT_CONFIRM: re.compile(rf"^{_DRAFT}$"),
    Verb.IMPORT_CANCEL: re.compile(rf"^{_DRAFT}$"),
    Verb.IMPORT_BACK: re.compile(rf"^{_DRAFT}$"),
    Verb.IMPORT_UNIT: re.compile(rf"^{_DRAFT}(\.{_LINE})?$"),
    Verb.IMPORT_DEADLINE: re.compile(rf"^{_DRAFT}(\.{_LINE})?$"),
    Verb.IMPORT_DROP: re.compile(rf"^{_DRAFT}(\.{_LINE})?$"),
    Verb.IMPORT_SET_UNIT: re.compile(rf"^{_DRAFT}\.{_LINE}\.{_UNIT}$"),
}
_IMPORT_VERBS = frozenset(verb.value for verb in _IMPORT_SHAPES)


def parse_action(data: str | None) -> Action | None:
    """The action behind a payload, or None for anything we did not issue."""
    if not data or ":" not in data:
        return None
    verb_text, argument = data.split(":", 1)
    try:
        verb = Verb(verb_text)
    except ValueError:
        return None
    shape = _IMPORT_SHAPES.get(verb)
    if not _ARGUMENT.match(argument) or (shape is not None and not shape.match(argument)):
        return None
    return Action(verb, argument)


@dataclass(frozen=True, slots=True)
class DraftRef:
    """What an import-review button points at: a draft, maybe one of its lines, maybe a unit.

    Compact on purpose (`12.4.GDDT`): Telegram gives a button 64 bytes.
    """

    draft: int
    line: int | None = None
    unit: str | None = None

    def argument(self) -> str:
        parts = [str(self.draft)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.unit is not None:
                parts.append(self.unit)
        return ".".join(parts)

    def payload(self, verb: Verb) -> str:
        return Action(verb, self.argument()).payload()

    @classmethod
    def of(cls, action: Action) -> DraftRef:
        """The reference an import action carries (parse_action has checked its shape)."""
        draft, _sep, rest = action.argument.partition(".")
        line, _sep, unit = rest.partition(".")
        return cls(int(draft), int(line) if line else None, unit or None)


def is_import_payload(data: str | None) -> bool:
    """True for any payload that claims an import-review verb (valid or not)."""
    return (data or "").split(":", 1)[0] in _IMPORT_VERBS
