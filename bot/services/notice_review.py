"""How the review of an imported notice reads in chat, with its buttons; for every channel.

Plain text (channels escape it) in the active locale. The review is cut between its lines,
never inside one, into messages of at most `REVIEW_PART_LIMIT` UTF-16 units, so a chat
adapter can edit each part in place after a change; the buttons ride on the last part.
Nothing here reads or writes the database: the adapters get a `DraftView` from
`ctx.notices` and show it with these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.channels.base import Button, OutgoingMessage
from bot.domain.actions import DraftRef, Verb
from bot.domain.enums import DeadlineKind
from bot.domain.text import utf16_len
from bot.i18n import _, ngettext
from bot.presentation import deadline_label, short_date
from bot.services.dto import TaskView, UnitRefView
from bot.services.notice_import import (
    DraftLineView,
    DraftView,
    LineDeadline,
    NoticeMetaView,
    warning_label,
)
from bot.services.wording import locale

__all__ = [
    "REVIEW_PART_LIMIT",
    "cancelled_message",
    "confirmed_message",
    "deadline_prompt",
    "line_changed_text",
    "line_picker",
    "picker_hint",
    "review_buttons",
    "review_line",
    "review_messages",
    "unit_prompt",
]

# Below Telegram's 4096 so a part never needs a second cut; Zalo cuts its own (2000).
REVIEW_PART_LIMIT = 4000
_LINES_PER_ROW = 5
# Telegram shows at most 100 buttons on a message; one row is left for "back".
_MAX_LINE_BUTTONS = 95
_MAX_SUGGESTIONS = 6


# --- the review -------------------------------------------------------------------------------


def _heading(notice: NoticeMetaView) -> str:
    """Number, date and title, as far as the notice has them; a number left blank for the
    signer to fill in ("/TB-UBND") says nothing, so it is left out."""
    number = notice.number or ""
    parts = [
        number if any(ch.isdigit() for ch in number) else "",
        short_date(notice.issued_on) if notice.issued_on else "",
    ]
    head = ", ".join(p for p in parts if p)
    title = notice.title or ""
    return f"{head}: {title}" if head and title else head or title


def _unit_name(unit: UnitRefView) -> str:
    return unit.short_name or unit.name or unit.code


def _suggestion_list(units: Sequence[UnitRefView]) -> str:
    return ", ".join(f"{unit.code} ({_unit_name(unit)})" for unit in units)


def _deadline_text(deadline: LineDeadline) -> str:
    """The deadline as read; the words too when they do not show the date ("trước 15/7")."""
    label = deadline_label(deadline.kind, deadline.due_date, deadline.text, locale())
    written = deadline.text.strip()
    if (
        deadline.kind == DeadlineKind.DATE.value
        and deadline.due_date is not None
        and written
        and short_date(deadline.due_date) not in written
    ):
        return f"{label} («{written}»)"
    return label


def review_line(line: DraftLineView) -> str:
    """`1. [2.2] Phòng GD&ĐT — Tham mưu văn bản … — 30/6/2023 (thứ Sáu)`, then any flags."""
    head = f"{line.no}. [{line.section}]" if line.section else f"{line.no}."
    flags: list[str] = []
    if line.lead_unit is not None:
        unit = _unit_name(line.lead_unit)
    else:
        unresolved = line.unresolved_lead
        if unresolved is not None:
            unit = "⚠ " + _("unit not known: «{text}»").format(text=unresolved.text)
            if unresolved.suggestions:
                flags.append(
                    _("suggestions: {codes}").format(codes=_suggestion_list(unresolved.suggestions))
                )
        else:
            unit = "⚠ " + _("no lead unit")
    if line.cooperating_units:
        unit += " (" + _("with: {units}").format(
            units=", ".join(_unit_name(u) for u in line.cooperating_units)
        )
        unit += ")"
    for other in line.unresolved:
        if other.role != "lead":
            flags.append("⚠ " + _("cooperating unit not known: «{text}»").format(text=other.text))
    text = f"{head} {unit} — {line.title} — {_deadline_text(line.deadline)}"
    return "\n".join([text, *(f"    {flag}" for flag in flags)])


def _status(draft: DraftView) -> str:
    missing = draft.missing_leads
    if missing:
        return ngettext(
            "Line {lines} has no lead unit yet: choose one with ✏️, or drop the line with 🗑, "
            "then confirm.",
            "Lines {lines} have no lead unit yet: choose one for each with ✏️, or drop them "
            "with 🗑, then confirm.",
            len(missing),
        ).format(lines=", ".join(str(n) for n in missing))
    return _(
        "Nothing is handed out yet. Check each line, fix what is wrong with the buttons "
        "below, then press ✅ Confirm: the tasks go live and reminders start."
    )


def review_buttons(draft_id: int) -> tuple[tuple[Button, ...], ...]:
    """Confirm / edit a unit / edit a deadline / drop a line / cancel."""
    ref = DraftRef(draft_id)
    return (
        (Button(_("✅ Confirm"), ref.payload(Verb.IMPORT_CONFIRM)),),
        (
            Button(_("✏️ Edit unit"), ref.payload(Verb.IMPORT_UNIT)),
            Button(_("📅 Edit deadline"), ref.payload(Verb.IMPORT_DEADLINE)),
        ),
        (
            Button(_("🗑 Drop a line"), ref.payload(Verb.IMPORT_DROP)),
            Button(_("✖ Cancel"), ref.payload(Verb.IMPORT_CANCEL)),
        ),
    )


def review_messages(draft: DraftView, *, limit: int = REVIEW_PART_LIMIT) -> list[OutgoingMessage]:
    """The review in as many messages as it takes; buttons on the last."""
    title = _("Draft {id}: {count} assignments read from {file}").format(
        id=draft.id, count=len(draft.lines), file=draft.file_name
    )
    header = [_heading(draft.notice)] + ["⚠ " + warning_label(w) for w in draft.warnings]
    blocks = ["\n".join(h for h in header if h)]
    blocks += [review_line(line) for line in draft.lines]
    blocks.append(_status(draft))
    parts: list[list[str]] = [[]]
    used = utf16_len(title) + 2
    for block in (b for b in blocks if b):
        size = utf16_len(block) + 2
        if parts[-1] and used + size > limit:
            parts.append([])
            used = 0
        if size > limit:  # one line longer than a message: unheard of, but never lost
            block = block[: limit // 2] + "…"
            size = utf16_len(block) + 2
        parts[-1].append(block)
        used += size
    messages = [OutgoingMessage(text="\n\n".join(part)) for part in parts]
    messages[0] = OutgoingMessage(title=title, text=messages[0].text)
    messages[-1] = OutgoingMessage(
        title=messages[-1].title, text=messages[-1].text, buttons=review_buttons(draft.id)
    )
    return messages


# --- choosing a line, a unit, a deadline ------------------------------------------------------


def line_picker(draft: DraftView, verb: Verb) -> tuple[tuple[Button, ...], ...]:
    """One button per line (⚠ on those without a lead unit), then "back"."""
    buttons = [
        Button(
            f"{line.no} ⚠" if line.needs_lead else str(line.no),
            DraftRef(draft.id, line.no).payload(verb),
        )
        for line in draft.lines[:_MAX_LINE_BUTTONS]
    ]
    rows = [tuple(buttons[i : i + _LINES_PER_ROW]) for i in range(0, len(buttons), _LINES_PER_ROW)]
    rows.append((Button(_("↩ Back"), DraftRef(draft.id).payload(Verb.IMPORT_BACK)),))
    return tuple(rows)


def picker_hint(verb: Verb) -> str:
    """What the line buttons are for (a short notice on the phone, ≤ 200 characters)."""
    if verb is Verb.IMPORT_UNIT:
        return _("Which line's lead unit do you want to change?")
    if verb is Verb.IMPORT_DEADLINE:
        return _("Which line's deadline do you want to change?")
    return _("Which line should be left out?")


def _suggestions(line: DraftLineView) -> list[UnitRefView]:
    """Registry units offered for the line's lead: those suggested for it, nearest first."""
    seen: dict[str, UnitRefView] = {}
    ordered = sorted(line.unresolved, key=lambda u: u.role != "lead")
    for unresolved in ordered:
        for unit in unresolved.suggestions:
            seen.setdefault(unit.code, unit)
    return list(seen.values())[:_MAX_SUGGESTIONS]


def unit_prompt(draft: DraftView, line: DraftLineView) -> OutgoingMessage:
    """Ask for a line's lead unit: suggestion buttons, or a code typed in reply."""
    buttons: list[tuple[Button, ...]] = []
    for unit in _suggestions(line):
        try:
            data = DraftRef(draft.id, line.no, unit.code).payload(Verb.IMPORT_SET_UNIT)
        except ValueError:  # a code too long for a button: it can still be typed
            continue
        buttons.append((Button(f"{unit.code} · {_unit_name(unit)}"[:60], data),))
    ask = (
        _("Choose the lead unit below, or type its code.")
        if buttons
        else _("Type the code of the lead unit.")
    )
    return OutgoingMessage(
        title=_("Line {line}: lead unit").format(line=line.no),
        text="\n\n".join(
            [review_line(line), ask + " " + _("/units lists every unit; /cancel stops.")]
        ),
        buttons=tuple(buttons),
    )


def deadline_prompt(line: DraftLineView) -> OutgoingMessage:
    """Ask for a line's deadline, typed the way a notice writes it."""
    return OutgoingMessage(
        title=_("Line {line}: deadline").format(line=line.no),
        text="\n\n".join(
            [
                review_line(line),
                _(
                    "Type the deadline the way a notice writes it: 30/6/2023, “trong tháng "
                    "9/2023”, “quý III/2023”, “thường xuyên”, or “không” for none. "
                    "/cancel stops."
                ),
            ]
        ),
    )


def line_changed_text(draft: DraftView, line_no: int) -> str:
    """After an edit: the line as it reads now (the review itself is refreshed too)."""
    line = draft.line(line_no)
    if line is None:
        return _("Line {line} was left out.").format(line=line_no)
    return "\n".join([_("Line {line} now reads:").format(line=line_no), review_line(line)])


# --- the end of a review ----------------------------------------------------------------------


def confirmed_message(tasks: Sequence[TaskView]) -> OutgoingMessage:
    """The tasks a confirmation created, with their codes."""
    lines = [
        f"• {task.code} — {_unit_name(task.lead_unit)} — {task.title} — "
        + deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
        for task in tasks
    ]
    return OutgoingMessage(
        title=_("Notice confirmed: {count} tasks are live").format(count=len(tasks)),
        text="\n".join(lines)
        + "\n\n"
        + _("The lead units' officers will be reminded before each deadline."),
    )


def cancelled_message(draft_id: int) -> OutgoingMessage:
    return OutgoingMessage(
        text=_("Draft {id} was cancelled.").format(id=draft_id)
        + " "
        + _("Nothing was handed out; send the file again to start over.")
    )
