"""Button payloads shared by every channel: what a tap (or a numbered reply on Zalo) means.

Payloads are short ASCII strings (Telegram allows 64 bytes of callback data):
`<verb>:<argument>`, e.g. `done:VHXH23-04`. Parsing is strict so a forged or stale payload
is refused instead of guessed.
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


@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    argument: str

    def payload(self) -> str:
        data = f"{self.verb.value}:{self.argument}"
        if len(data.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError("button payload longer than 64 bytes")
        return data


def parse_action(data: str | None) -> Action | None:
    """The action behind a payload, or None for anything we did not issue."""
    if not data or ":" not in data:
        return None
    verb_text, argument = data.split(":", 1)
    try:
        verb = Verb(verb_text)
    except ValueError:
        return None
    if not _ARGUMENT.match(argument):
        return None
    return Action(verb, argument)
