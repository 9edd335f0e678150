"""/assign: a guided dialogue to hand out a new task — unit, action, deadline."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.domain.dates import DateParseError, parse_vn_date
from bot.domain.textnorm import fold
from bot.i18n import _
from bot.presentation import deadline_label
from bot.services.errors import UnknownUnitError
from bot.services.reports import Actor
from bot.services.wording import locale
from handlers.telegram.filters import IsAdmin
from handlers.telegram.render import send

_NO_DEADLINE = {"khong", "khong co", "khong han", "none", "no", "-", "0"}


class AssignDialogue(StatesGroup):
    unit = State()
    action = State()
    deadline = State()


def build_assign_router() -> Router:
    router = Router(name="assign")
    router.message.filter(IsAdmin(), F.chat.type == "private")
    router.message.register(start_assign, Command("assign"))
    # Commands (/cancel, /help…) are not answers: they fall through to their own handlers.
    answer = F.text & ~F.text.startswith("/")
    router.message.register(receive_assign_unit, AssignDialogue.unit, answer)
    router.message.register(receive_assign_action, AssignDialogue.action, answer)
    router.message.register(receive_assign_deadline, AssignDialogue.deadline, answer)
    return router


async def _say(bot: Bot, message: Message, text: str) -> None:
    await send(bot, message.chat.id, [OutgoingMessage(text=text)])


async def start_assign(message: Message, bot: Bot, ctx: AppContext, state: FSMContext) -> None:
    """/assign: ask which unit leads the new task."""
    units = await ctx.admin.units()
    codes = ", ".join(u.code for u in units)
    await state.set_state(AssignDialogue.unit)
    await _say(
        bot,
        message,
        _("New task (1/3). Which unit leads it? Send its code, one of: {codes}").format(codes=codes)
        + "\n"
        + _("/cancel to stop."),
    )


async def receive_assign_unit(
    message: Message, bot: Bot, ctx: AppContext, state: FSMContext
) -> None:
    """The unit code, in the /assign dialogue."""
    code = (message.text or "").strip().upper()
    try:
        unit = await ctx.registry.get_unit(code)
    except UnknownUnitError as error:
        await _say(bot, message, error.message() + " " + _("Please send a unit code."))
        return
    await state.update_data(unit=unit.code)
    await state.set_state(AssignDialogue.action)
    await _say(
        bot,
        message,
        _("New task (2/3) for {unit}. What must be done? Write the action as in a notice.").format(
            unit=unit.name
        ),
    )


async def receive_assign_action(message: Message, bot: Bot, state: FSMContext) -> None:
    """The action text, in the /assign dialogue."""
    text = (message.text or "").strip()
    if len(text) < 5 or len(text) > 2000:
        await _say(bot, message, _("Please describe the task in 5 to 2,000 characters."))
        return
    await state.update_data(action=text)
    await state.set_state(AssignDialogue.deadline)
    await _say(
        bot,
        message,
        _("New task (3/3). By when? Send a date such as 30/6/2023, or “không” for no deadline."),
    )


async def receive_assign_deadline(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, state: FSMContext
) -> None:
    """The deadline, in the /assign dialogue: creates the task."""
    text = (message.text or "").strip()
    due = None
    if fold(text) not in _NO_DEADLINE:
        try:
            due = parse_vn_date(text)
        except DateParseError:
            await _say(
                bot,
                message,
                _("Cannot read the date {value}. Write it as 30/6/2023.").format(value=text),
            )
            return
    data = await state.get_data()
    task = await ctx.admin.create_assignment(
        actor, unit_code=str(data["unit"]), action=str(data["action"]), due_date=due
    )
    await state.clear()
    deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
    await send(
        bot,
        message.chat.id,
        [
            OutgoingMessage(
                title=_("Task {code} created").format(code=task.code),
                text="\n".join(
                    [
                        task.action,
                        _("Lead unit: {unit}").format(unit=task.lead_unit.name),
                        _("Deadline: {deadline}").format(deadline=deadline),
                        _("The unit's officers will be reminded as the deadline approaches."),
                    ]
                ),
            )
        ],
    )
