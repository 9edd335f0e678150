"""Admins' review buttons: ✅ Xác nhận / ↩️ Trả lại under a reported result, ✅ Đồng ý /
❌ Không đồng ý under an extension request. Sending back or refusing asks for a reason
first (a short FSM dialogue), because the officer must learn what to change."""

from __future__ import annotations

import contextlib

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.domain.actions import Verb, parse_action
from bot.i18n import _
from bot.services.reports import Actor
from handlers.telegram.admin import review_reply
from handlers.telegram.filters import IsAdmin, IsNotAdmin
from handlers.telegram.render import send

_REVIEW_VERBS = {
    Verb.CONFIRM.value,
    Verb.SEND_BACK.value,
    Verb.APPROVE_EXTENSION.value,
    Verb.REFUSE_EXTENSION.value,
}


class ReviewReason(StatesGroup):
    waiting = State()


def _is_review(data: str | None) -> bool:
    return bool(data) and str(data).split(":", 1)[0] in _REVIEW_VERBS


def build_review_router() -> Router:
    router = Router(name="review")
    router.callback_query.register(press_review_button, IsAdmin(), F.data.func(_is_review))
    router.callback_query.register(refuse_review_button, IsNotAdmin(), F.data.func(_is_review))
    router.message.register(
        receive_review_reason, ReviewReason.waiting, IsAdmin(), F.text & ~F.text.startswith("/")
    )
    return router


async def press_review_button(
    query: CallbackQuery, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """An admin taps Confirm/Send back/Approve/Refuse under a review request."""
    action = parse_action(query.data)
    await query.answer()
    if action is None or query.message is None or not action.argument.isdigit():
        return
    report_id = int(action.argument)
    chat_id = query.message.chat.id
    if action.verb in (Verb.CONFIRM, Verb.APPROVE_EXTENSION):
        outcome = await ctx.reports.decide(actor, report_id, approve=True)
        await _drop_buttons(bot, query)
        await send(bot, chat_id, [review_reply(outcome)])
        return
    await state.set_state(ReviewReason.waiting)
    await state.update_data(report_id=report_id, message_id=query.message.message_id)
    prompt = (
        _("Please write the reason for sending the result back (the officer will read it).")
        if action.verb is Verb.SEND_BACK
        else _("Please write the reason for refusing the extension (the officer will read it).")
    )
    await send(bot, chat_id, [OutgoingMessage(text=prompt + "\n" + _("/cancel to stop."))])


async def receive_review_reason(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """The reason an admin types after Send back / Refuse."""
    data = await state.get_data()
    await state.clear()
    outcome = await ctx.reports.decide(
        actor, int(data["report_id"]), approve=False, reason=message.text or ""
    )
    await send(bot, message.chat.id, [review_reply(outcome)])


async def refuse_review_button(query: CallbackQuery, bot: Bot) -> None:
    """A review button pressed by someone who is no longer an admin."""
    await query.answer(_("Sorry, this is for the office's administrators."), show_alert=True)


async def _drop_buttons(bot: Bot, query: CallbackQuery) -> None:
    """Remove the decided request's buttons so nobody taps them again by mistake."""
    message = query.message
    if message is None:
        return
    # Already edited, or too old to edit: the decision stands either way.
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(
            chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
        )
