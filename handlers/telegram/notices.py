"""/import: an admin hands the bot a conclusion notice, reviews what it read, and confirms.

Which documents are notices to import (private chats, admins only); every other document
stays progress evidence for the officers' router:
1. a document whose caption is /import;
2. a document sent after the /import command;
3. a .docx, .pdf or .txt from an admin without a unit of their own (ADMIN_TELEGRAM_IDS, or
   an admin invited without a unit): they have no tasks to report on, so the file can only
   be a notice. An admin who belongs to a unit may be sending the signed result of their
   unit's task, so for them only 1 and 2 import.
Albums are never imported (a notice is one file).

The file is read and stored as a draft by `ctx.notices`; the review shows one line per
assignment with ✅ Confirm / ✏️ Edit unit / 📅 Edit deadline / 🗑 Drop a line / ✖ Cancel.
Edit buttons first swap the review's keyboard for one button per line; the unit and the
deadline are then chosen from suggestions or typed (a short FSM dialogue). Every change goes
through the service, which writes the audit log; this module only remembers, per chat, which
messages show which draft's review so it can edit them in place after a change.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import PurePath
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, LinkPreviewOptions, Message

from bot.app import AppContext
from bot.channels.base import Button, OutgoingMessage
from bot.channels.telegram import keyboard, render_parts
from bot.domain.actions import DraftRef, Verb, is_import_payload, parse_action
from bot.i18n import _
from bot.notice_import import NoticeTooLargeError
from bot.services.errors import ServiceError, UnknownUnitError
from bot.services.notice_import import (
    MAX_NOTICE_BYTES,
    DraftView,
    NoticeAlreadyLiveError,
    NoticeUnreadableError,
    UnknownDraftError,
)
from bot.services.notice_review import (
    cancelled_message,
    confirmed_message,
    deadline_prompt,
    line_changed_text,
    line_picker,
    picker_hint,
    review_buttons,
    review_messages,
    unit_prompt,
)
from bot.services.reports import Actor
from handlers.telegram.admin import refuse_admin_command
from handlers.telegram.files import FileTooBigError, download
from handlers.telegram.filters import IsAdmin, IsNotAdmin
from handlers.telegram.render import send

log = logging.getLogger(__name__)

COMMAND = "import"
NOTICE_SUFFIXES = (".docx", ".pdf", ".txt")
# A file without a usable name still reads by its type.
_SUFFIX_BY_MIME = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/plain": ".txt",
}
# FSM data: {draft id: [[message id, digest of what it shows], ...]} and the line being edited.
_REVIEWS = "import_reviews"
_EDIT = "import_edit"


class _LostEdit(ServiceError):
    def message(self) -> str:
        return _("That question has expired. Please press the button on the review again.")


class ImportDialogue(StatesGroup):
    file = State()  # after /import: the next document is the notice
    unit = State()  # a line's lead unit, typed
    deadline = State()  # a line's deadline, typed


def _is_import_caption(message: Message) -> bool:
    words = (message.caption or "").split()
    return bool(words) and words[0].split("@", 1)[0].lower() == f"/{COMMAND}"


class IsNoticeFile(Filter):
    """An admin's document that is a notice to import (the rule is in the module docstring)."""

    async def __call__(
        self, message: Message, actor: Actor | None = None, raw_state: str | None = None
    ) -> bool:
        if actor is None or not actor.is_admin or message.document is None:
            return False
        if message.media_group_id is not None:
            return False
        if raw_state == ImportDialogue.file.state or _is_import_caption(message):
            return True
        has_unit = actor.officer is not None and actor.officer.unit_code is not None
        name = (message.document.file_name or "").lower()
        return not has_unit and name.endswith(NOTICE_SUFFIXES)


def build_notice_router() -> Router:
    router = Router(name="notices")
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.data.func(is_import_payload))
    # Before the command: aiogram's Command also matches a caption, and a file captioned
    # /import is the notice itself.
    router.message.register(receive_notice_file, IsNoticeFile())
    router.message.register(start_import, Command(COMMAND), IsAdmin())
    router.message.register(refuse_admin_command, Command(COMMAND), IsNotAdmin())
    # Commands (/cancel, /units…) are not answers: they fall through to their own handlers.
    answer = F.text & ~F.text.startswith("/")
    router.message.register(receive_line_unit, ImportDialogue.unit, IsAdmin(), answer)
    router.message.register(receive_line_deadline, ImportDialogue.deadline, IsAdmin(), answer)
    router.message.register(ask_for_file, ImportDialogue.file, IsAdmin(), ~F.text.startswith("/"))
    router.callback_query.register(press_import_button, IsAdmin())
    router.callback_query.register(refuse_import_button, IsNotAdmin())
    return router


# --- receiving the notice ---------------------------------------------------------------------


async def start_import(message: Message, bot: Bot, state: FSMContext) -> None:
    """/import: the next file the admin sends is a notice to read."""
    await state.set_state(ImportDialogue.file)
    await _say(
        bot,
        message.chat.id,
        _(
            "Send me the conclusion notice as a file: .docx, a .pdf saved from Word (not a "
            "scan), or .txt. I will read its assignments and show them to you; nothing is "
            "handed out until you confirm."
        )
        + "\n"
        + _("/cancel to stop."),
    )


async def ask_for_file(message: Message, bot: Bot) -> None:
    """Anything but a document after /import."""
    await _say(
        bot,
        message.chat.id,
        _("Please send the notice as a file (.docx, .pdf or .txt), not as text or a photo.")
        + "\n"
        + _("/cancel to stop."),
    )


def _file_name(message: Message) -> str:
    document = message.document
    assert document is not None
    name = document.file_name or f"thong-bao-{message.message_id}"
    suffix = _SUFFIX_BY_MIME.get(document.mime_type or "")
    if suffix and PurePath(name).suffix.lower() not in NOTICE_SUFFIXES:
        name += suffix
    return name


async def receive_notice_file(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """An admin's notice file: read it, keep it as a draft, and show the review."""
    await state.set_state(None)
    document = message.document
    assert document is not None
    name = _file_name(message)
    # Refused before getFile: Telegram hands bots nothing over 20 MB, and no notice is that big.
    if document.file_size is not None and document.file_size > MAX_NOTICE_BYTES:
        raise NoticeUnreadableError(NoticeTooLargeError.code, name)
    with contextlib.suppress(TelegramAPIError):  # only a courtesy while the file is read
        await bot.send_chat_action(message.chat.id, ChatAction.TYPING)
    try:
        got = await download(bot, message)
    except FileTooBigError as exc:
        raise NoticeUnreadableError(NoticeTooLargeError.code, name) from exc
    assert got is not None
    draft = await ctx.notices.commit(got.content, name, actor=actor.audit_name)
    if not draft.created:
        await _say(
            bot,
            message.chat.id,
            _("This file is already draft {id}; nothing new was stored.").format(id=draft.id)
            + " "
            + _("Here is its review as it stands."),
        )
    await _show_review(bot, message.chat.id, state, draft, fresh=True)


# --- the review's buttons ---------------------------------------------------------------------


async def press_import_button(
    query: CallbackQuery, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """Any button of an import review: confirm, cancel, edit, a line or a unit chosen."""
    action = parse_action(query.data)
    message = query.message
    if action is None or message is None:
        await query.answer(_("This button is no longer valid."), show_alert=True)
        return
    ref = DraftRef.of(action)
    chat_id = message.chat.id
    verb = action.verb
    if verb is Verb.IMPORT_CONFIRM:
        tasks = await ctx.notices.confirm(ref.draft, actor=actor.audit_name)
        await query.answer()
        await _close_review(bot, chat_id, state, ref.draft, message.message_id)
        await send(bot, chat_id, [confirmed_message(tasks)])
    elif verb is Verb.IMPORT_CANCEL:
        await ctx.notices.cancel(ref.draft, actor=actor.audit_name)
        await query.answer()
        await _close_review(bot, chat_id, state, ref.draft, message.message_id)
        await send(bot, chat_id, [cancelled_message(ref.draft)])
    elif verb is Verb.IMPORT_BACK:
        await ctx.notices.get_draft(ref.draft)  # still a draft?
        await query.answer()
        await _set_keyboard(bot, chat_id, message.message_id, review_buttons(ref.draft))
    elif ref.line is None:  # ✏️ / 📅 / 🗑: which line?
        draft = await ctx.notices.get_draft(ref.draft)
        await query.answer(picker_hint(verb))
        await _forget_digest(state, ref.draft, message.message_id)
        await _set_keyboard(bot, chat_id, message.message_id, line_picker(draft, verb))
    elif verb is Verb.IMPORT_DROP:
        draft = await ctx.notices.drop_line(ref.draft, ref.line, actor=actor.audit_name)
        await query.answer(_("Line {line} was left out.").format(line=ref.line))
        await _show_review(bot, chat_id, state, draft)
    elif verb is Verb.IMPORT_SET_UNIT:
        assert ref.unit is not None
        draft = await ctx.notices.set_line_unit(
            ref.draft, ref.line, ref.unit, actor=actor.audit_name
        )
        await query.answer()
        await _end_edit(state)
        await _show_review(bot, chat_id, state, draft)
        await _replace_text(bot, chat_id, message.message_id, line_changed_text(draft, ref.line))
    else:  # ✏️ or 📅 on a chosen line: ask for the unit or the deadline
        draft = await ctx.notices.get_draft(ref.draft)
        line = draft.line(ref.line)
        if line is None:
            await query.answer(_("Line {line} was left out.").format(line=ref.line))
            return
        await query.answer()
        await _set_keyboard(bot, chat_id, message.message_id, review_buttons(draft.id))
        prompt = unit_prompt(draft, line) if verb is Verb.IMPORT_UNIT else deadline_prompt(line)
        sent = await send(bot, chat_id, [prompt])
        await state.set_state(
            ImportDialogue.unit if verb is Verb.IMPORT_UNIT else ImportDialogue.deadline
        )
        await state.update_data(
            {_EDIT: {"draft": draft.id, "line": line.no, "prompt": sent[-1].message_id}}
        )


async def refuse_import_button(query: CallbackQuery) -> None:
    """An import button pressed by someone who is not (or no longer) an admin."""
    await query.answer(_("Sorry, this is for the office's administrators."), show_alert=True)


# --- typed answers ----------------------------------------------------------------------------


async def receive_line_unit(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """A unit code typed for the line chosen with ✏️."""
    edit = await _editing(state)
    code = (message.text or "").strip()
    try:
        draft = await ctx.notices.set_line_unit(
            edit["draft"], edit["line"], code, actor=actor.audit_name
        )
    except UnknownUnitError as error:
        await _say(
            bot,
            message.chat.id,
            error.message() + " " + _("Please type a unit code (/units lists them), or /cancel."),
        )
        return
    except (UnknownDraftError, NoticeAlreadyLiveError):
        await _end_edit(state)
        raise
    await _after_typed_edit(bot, message.chat.id, state, draft, edit)


async def receive_line_deadline(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """A deadline typed for the line chosen with 📅 ("30/6/2023", "trong tháng 9/2023")."""
    edit = await _editing(state)
    try:
        draft = await ctx.notices.set_line_deadline(
            edit["draft"], edit["line"], message.text or "", actor=actor.audit_name
        )
    except (UnknownDraftError, NoticeAlreadyLiveError):
        await _end_edit(state)
        raise
    await _after_typed_edit(bot, message.chat.id, state, draft, edit)


async def _editing(state: FSMContext) -> dict[str, int]:
    """The line an admin is answering for; a lost dialogue (restart) ends politely."""
    edit = (await state.get_data()).get(_EDIT)
    if not isinstance(edit, dict) or not {"draft", "line"} <= edit.keys():
        await state.set_state(None)
        raise _LostEdit()
    return {key: int(value) for key, value in edit.items()}


async def _end_edit(state: FSMContext) -> None:
    await state.set_state(None)
    await state.update_data({_EDIT: None})


async def _after_typed_edit(
    bot: Bot, chat_id: int, state: FSMContext, draft: DraftView, edit: dict[str, int]
) -> None:
    await _end_edit(state)
    if "prompt" in edit:
        await _set_keyboard(bot, chat_id, edit["prompt"], ())
    await _show_review(bot, chat_id, state, draft)
    await _say(bot, chat_id, line_changed_text(draft, edit["line"]))


# --- showing the review -----------------------------------------------------------------------


def _digest(message: OutgoingMessage) -> str:
    shown = repr((message.title, message.text, message.buttons))
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


async def _shown(state: FSMContext) -> dict[str, list[list[Any]]]:
    return dict((await state.get_data()).get(_REVIEWS) or {})


async def _show_review(
    bot: Bot, chat_id: int, state: FSMContext, draft: DraftView, *, fresh: bool = False
) -> None:
    """Edit the review's messages in place; send it anew when that cannot be done (a new
    import, a review that now needs more or fewer messages, or one sent before a restart)."""
    parts = review_messages(draft)
    reviews = await _shown(state)
    shown = reviews.get(str(draft.id)) or []
    if not fresh and len(shown) == len(parts) and await _edit_parts(bot, chat_id, shown, parts):
        reviews[str(draft.id)] = shown
        await state.update_data({_REVIEWS: reviews})
        return
    if shown:
        await _set_keyboard(bot, chat_id, int(shown[-1][0]), ())
    entries: list[list[Any]] = []
    for part in parts:
        sent = await send(bot, chat_id, [part])
        whole = len(sent) == 1
        entries += [[m.message_id, _digest(part) if whole else ""] for m in sent]
    reviews[str(draft.id)] = entries
    await state.update_data({_REVIEWS: reviews})


async def _edit_parts(
    bot: Bot, chat_id: int, shown: list[list[Any]], parts: list[OutgoingMessage]
) -> bool:
    """Edit the parts that changed; False when one cannot be edited (then resend)."""
    for entry, part in zip(shown, parts, strict=True):
        digest = _digest(part)
        if entry[1] == digest:
            continue
        texts = render_parts(part)
        if len(texts) != 1:
            return False
        try:
            await bot.edit_message_text(
                text=texts[0],
                chat_id=chat_id,
                message_id=int(entry[0]),
                reply_markup=keyboard(part),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.info("review message %s not editable: %s", entry[0], exc.message)
                return False
        entry[1] = digest
    return True


async def _forget_digest(state: FSMContext, draft_id: int, message_id: int) -> None:
    """The keyboard of this review message is about to change: edit it at the next refresh."""
    reviews = await _shown(state)
    for entry in reviews.get(str(draft_id)) or []:
        if int(entry[0]) == message_id:
            entry[1] = ""
    await state.update_data({_REVIEWS: reviews})


async def _close_review(
    bot: Bot, chat_id: int, state: FSMContext, draft_id: int, pressed: int
) -> None:
    """Confirmed or cancelled: no button of this review can do anything any more."""
    reviews = await _shown(state)
    shown = reviews.pop(str(draft_id), None) or []
    await state.update_data({_REVIEWS: reviews})
    data = await state.get_data()
    edit = data.get(_EDIT)
    if isinstance(edit, dict) and edit.get("draft") == draft_id:
        await _end_edit(state)
    last = {pressed, *(int(entry[0]) for entry in shown[-1:])}
    for message_id in last:
        await _set_keyboard(bot, chat_id, message_id, ())


async def _set_keyboard(
    bot: Bot, chat_id: int, message_id: int, rows: tuple[tuple[Button, ...], ...]
) -> None:
    markup = keyboard(OutgoingMessage(text="", buttons=rows))
    # Already so, deleted, or too old: the review itself still stands.
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=markup
        )


async def _replace_text(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    """Turn a question into its answer (and drop its buttons)."""
    try:
        await bot.edit_message_text(
            text=render_parts(OutgoingMessage(text=text))[0],
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=None,
        )
    except TelegramBadRequest:
        await _say(bot, chat_id, text)


async def _say(bot: Bot, chat_id: int, text: str) -> None:
    await send(bot, chat_id, [OutgoingMessage(text=text)])
