"""/start (with an invite code or a deep link), /help, /lang, /kenh, /lienket, /cancel: open
to everyone (the services refuse what an unregistered user may not do)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.i18n import _
from bot.services.conversation import LinkApps
from bot.services.reports import Actor
from handlers.telegram.render import send


def build_common_router() -> Router:
    router = Router(name="common")
    router.message.register(start_bot, CommandStart(), F.chat.type == "private")
    router.message.register(show_help, Command("help"))
    router.message.register(choose_language, Command("lang"), F.chat.type == "private")
    router.message.register(choose_channel, Command("kenh"), F.chat.type == "private")
    router.message.register(link_other_app, Command("lienket", "link"), F.chat.type == "private")
    router.message.register(cancel_dialogue, Command("cancel"))
    return router


async def start_bot(
    message: Message,
    command: CommandObject,
    bot: Bot,
    ctx: AppContext,
    actor: Actor,
    locale: str,
) -> None:
    """/start [code] or the t.me/<bot>?start=<code> deep link: bind with an invite."""
    user = message.from_user
    bound, replies = await ctx.conversation.start(
        actor,
        command.args,
        username=user.username if user else None,
    )
    # An admin's private chat gets the admin menu (Telegram only shows what we set),
    # before the welcome so the menu is there when they read it.
    menus = ctx.extras.get("telegram_menus")
    if bound.is_admin and menus is not None:
        await menus.admin_bound(bot, message.chat.id)
    await send(bot, message.chat.id, replies)


async def show_help(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """/help: what officers (and admins) can do."""
    await send(bot, message.chat.id, ctx.conversation.help(actor))


async def choose_language(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/lang vi|en: the officer's language for every message from now on."""
    locale = await ctx.conversation.set_locale(actor, command.args or "")
    with ctx.i18n.use_locale(locale):
        text = _("Language changed: I will write to you in English from now on.")
        await send(bot, message.chat.id, [OutgoingMessage(text=text)])


async def choose_channel(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/kenh telegram|zalo|ca-hai: which app reminders go to (shared with Zalo)."""
    await send(bot, message.chat.id, await ctx.conversation.set_channel(actor, command.args or ""))


async def link_other_app(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """/lienket (/link): a code that binds the officer's Zalo (or another app) to them too."""
    apps = LinkApps.from_settings(ctx.settings)
    await send(bot, message.chat.id, await ctx.conversation.link_code(actor, apps))


async def cancel_dialogue(message: Message, bot: Bot, state: FSMContext) -> None:
    """/cancel: leave a guided dialogue (/assign, a review reason) without changing anything."""
    await state.clear()
    await send(bot, message.chat.id, [OutgoingMessage(text=_("Cancelled. Nothing was changed."))])
