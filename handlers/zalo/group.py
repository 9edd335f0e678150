"""A Zalo group chat: the bot reads only messages that @mention it, and answers only
the two commands that make sense in a group, so the unit's digests can be posted there."""

from __future__ import annotations

from bot.i18n import _
from handlers.zalo.officer import Turn


async def bind_group(turn: Turn, args: str) -> None:
    """/bindgroup [UNIT] (an admin, in the group): the group receives the digests."""
    if not turn.actor.is_admin:
        await turn.say(_("Sorry, this command is for the office's administrators."))
        return
    unit_code = args.split()[0] if args.split() else None
    title = _("Zalo group {id}").format(id=turn.message.chat_id[-6:])
    group = await turn.ctx.admin.bind_group(
        turn.actor,
        channel=turn.message.channel,
        chat_id=turn.message.chat_id,
        title=title,
        unit_code=unit_code,
    )
    text = (
        _("This group already receives the digests.")
        if group.already_bound
        else _("From now on this group receives the digests of what is due and overdue.")
    )
    await turn.say(text)


async def send_digest(turn: Turn) -> None:
    """/digest (an admin, in a bound group): this group's digest now."""
    if not turn.actor.is_admin:
        await turn.say(_("Sorry, this command is for the office's administrators."))
        return
    group_id = await turn.ctx.admin.group_id(turn.message.channel, turn.message.chat_id)
    if group_id is None:
        await turn.say(_("This group is not bound yet; send /bindgroup first."))
        return
    count = await turn.ctx.reminders.digest_now(actor=turn.actor.audit_name, group_chat_id=group_id)
    await turn.say(_("Digest sent to {count} group(s).").format(count=count))


async def explain_group(turn: Turn) -> None:
    """Anything else addressed to the bot in a group: reports are made in private."""
    await turn.say(
        _(
            "In a group I only post the digests. To report on a task, please write to me in "
            "a private chat."
        )
    )
