"""What officers do with the bot on Zalo (the Bot Platform and the Official Account alike).

Thin, like the Telegram handlers: each turns a `ZaloMessage` into one `ctx.conversation`
call and sends back what it returns. What differs is only what Zalo cannot carry: there
are no buttons (a reminder's answers are numbers, see `answer_number`), no reply-to, and
the Bot Platform passes no documents (`explain_unsupported`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.app import AppContext
from bot.channels.base import ChannelKind, OutgoingMessage
from bot.channels.zalo_bot import DownloadError, DownloadTooLargeError, verb_for_number
from bot.domain import invites
from bot.i18n import _
from bot.services.conversation import Incoming, LinkApps, NotRegisteredError
from bot.services.errors import ServiceError
from bot.services.reports import Actor
from handlers.zalo.inbound import MessageKind, ZaloMessage, ZaloReplier


@dataclass(frozen=True, slots=True)
class Turn:
    """One message being answered: who sent it, in which language, and how to reply."""

    ctx: AppContext
    replier: ZaloReplier
    message: ZaloMessage
    actor: Actor
    locale: str

    async def answer(self, replies: Sequence[OutgoingMessage]) -> None:
        await self.replier.reply(self.message, replies)

    async def say(self, text: str) -> None:
        await self.answer([OutgoingMessage(text=text)])


class FileTooLargeError(ServiceError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(str(max_bytes))
        self.max_bytes = max_bytes

    def message(self) -> str:
        return _(
            "The file is larger than {size} MB, so nothing was recorded. Please send a "
            "smaller photo of the signed page."
        ).format(size=max(1, round(self.max_bytes / (1024 * 1024))))


class FileUnavailableError(ServiceError):
    def message(self) -> str:
        return _(
            "I could not download your file from Zalo, so nothing was recorded. Please send "
            "it again."
        )


def zalo_tips(channel: str, oa_enabled: bool) -> str:
    """How reporting works where Zalo differs from Telegram (appended to welcome and help)."""
    lines = [
        _(
            "On Zalo, answer a reminder with its number: 1 when the task is done, 2 if it "
            "is in progress, 3 to ask for an extension."
        )
    ]
    # How to send evidence on this app is in the help itself (`evidence_hint`).
    if channel == ChannelKind.ZALO and oa_enabled:
        lines.append(
            _(
                "To send the signed file itself (PDF, Word), send it to the office's Zalo "
                "Official Account."
            )
        )
    return "\n".join(lines)


def _with_tips(turn: Turn, replies: Sequence[OutgoingMessage]) -> list[OutgoingMessage]:
    if not replies:
        return []
    tips = zalo_tips(turn.message.channel, turn.ctx.settings.zalo_oa_enabled)
    last = replies[-1]
    return [*replies[:-1], replace(last, text=f"{last.text}\n\n{tips}")]


# -- onboarding and settings ----------------------------------------------------------------


async def start_bot(turn: Turn, args: str) -> None:
    """/start CODE (or the invite code sent alone): bind this Zalo account."""
    _bound, replies = await turn.ctx.conversation.start(turn.actor, args)
    await turn.answer(_with_tips(turn, replies) if args.strip() else replies)


async def show_help(turn: Turn) -> None:
    """/help: what officers can do, with Zalo's own ways."""
    replies = turn.ctx.conversation.help(turn.actor)
    registered = turn.actor.officer is not None or turn.actor.is_admin
    await turn.answer(_with_tips(turn, replies) if registered else replies)


async def choose_language(turn: Turn, args: str) -> None:
    """/lang vi|en: the officer's language from now on."""
    locale = await turn.ctx.conversation.set_locale(turn.actor, args)
    with turn.ctx.i18n.use_locale(locale):
        await turn.say(_("Language changed: I will write to you in English from now on."))


async def choose_channel(turn: Turn, args: str) -> None:
    """/kenh telegram|zalo|ca-hai: which app reminders go to."""
    await turn.answer(await turn.ctx.conversation.set_channel(turn.actor, args))


async def link_other_app(turn: Turn, _args: str) -> None:
    """/lienket (/link): a code that binds the officer's Telegram (or the other Zalo app)."""
    apps = LinkApps.from_settings(turn.ctx.settings)
    await turn.answer(await turn.ctx.conversation.link_code(turn.actor, apps))


async def welcome_follower(turn: Turn) -> None:
    """Someone followed the OA: thank them and say how to register (or that they are)."""
    if turn.actor.officer is not None:
        text = _(
            "Thank you for following the office's Official Account, {name}. Your reminders "
            "and reports work here too; send /help to see how."
        ).format(name=turn.actor.officer.name)
    else:
        text = _(
            "Thank you for following the office's Official Account. If you are an officer "
            "with an invite from the office, send the invite code here to register. If you "
            "already use Nhắc việc in another app, send /lienket there to get a code."
        )
    await turn.say(text)


# -- tasks ----------------------------------------------------------------------------------


async def list_tasks(turn: Turn) -> None:
    """/tasks: the unit's open tasks."""
    await turn.answer(await turn.ctx.conversation.list_tasks(turn.actor))


async def show_task(turn: Turn, args: str) -> None:
    """/task CODE: one task and its progress log.

    Numbers always answer the latest reminder, so the detail offers no numbers of its own
    (they would be ambiguous); it says how to report on this task instead.
    """
    code = args.split()[0] if args.split() else ""
    if not code:
        await turn.say(_("Usage: /task CODE"))
        return
    replies = await turn.ctx.conversation.show_task(turn.actor, code)
    out = []
    for reply in replies:
        if reply.buttons:
            hint = _("To report on this task, send: /report {code} followed by your report.")
            reply = replace(
                reply, buttons=(), text=f"{reply.text}\n\n" + hint.format(code=code.upper())
            )
        out.append(reply)
    await turn.answer(out)


async def start_report(turn: Turn, args: str) -> None:
    """/report CODE [text]: report on a named task, now or with the next message."""
    code, _sep, text = args.strip().partition(" ")
    if not code:
        await turn.say(_("Usage: /report CODE [your report]"))
        return
    await turn.answer(await turn.ctx.conversation.begin_report(turn.actor, code, text))


# -- progress -------------------------------------------------------------------------------


async def answer_number(turn: Turn, number: int) -> None:
    """A bare number: the open "which task?" question's Nth task, else the answer it
    stands for on the most recent reminder in this chat (1 done, 2 in progress, 3
    extension): Zalo has no reply-to, so the latest reminder is the one being answered."""
    replies = await turn.ctx.conversation.answer_number(
        turn.actor, number, verb=verb_for_number(number), message_id=turn.message.message_id
    )
    if replies is None:
        await turn.say(
            _(
                "A number answers a reminder: 1 when the task is done, 2 if it is in "
                "progress, 3 to ask for an extension. I have not sent you a reminder "
                "here yet; send /tasks to see your unit's tasks."
            )
        )
        return
    await turn.answer(replies)


async def receive_text(turn: Turn) -> None:
    """Free text: a progress report, understood as on Telegram (or an invite code alone)."""
    text = turn.message.text
    if turn.actor.officer is None:
        if invites.looks_like_code(text):
            await start_bot(turn, text)
            return
        raise NotRegisteredError()
    incoming = Incoming(text=text, message_id=turn.message.message_id)
    await turn.answer(await turn.ctx.conversation.report(turn.actor, incoming))


async def receive_file(turn: Turn) -> None:
    """A photo (either app) or a file (the OA): fetched, stored by sha256, reported."""
    message = turn.message
    if turn.actor.officer is None:
        raise NotRegisteredError()
    assert message.file_url is not None
    settings = turn.ctx.settings
    limit = (
        settings.zalo_photo_max_bytes
        if message.kind is MessageKind.PHOTO
        else turn.ctx.attachments.max_bytes
    )
    try:
        content, content_type, fetched_name = await turn.replier.download(message.file_url, limit)
    except DownloadTooLargeError as exc:
        raise FileTooLargeError(exc.max_bytes) from exc
    except DownloadError as exc:
        raise FileUnavailableError() from exc
    if message.kind is MessageKind.PHOTO:
        # Zalo's CDN names are random: name the photo after the message, as Telegram does.
        extension = fetched_name.rpartition(".")[2] if "." in fetched_name else "jpg"
        name = f"photo_{message.message_id or 'zalo'}.{extension}"
    else:
        name = message.file_name or fetched_name
    stored = await turn.ctx.attachments.save(
        content, file_name=name, mime_type=message.mime_type or content_type
    )
    incoming = Incoming(text=message.text, files=(stored,), message_id=message.message_id)
    await turn.answer(await turn.ctx.conversation.report(turn.actor, incoming))


async def explain_unsupported(turn: Turn) -> None:
    """A document on the Bot Platform arrives without its content: say how to send it."""
    if turn.actor.officer is None:
        raise NotRegisteredError()
    lines = [
        _(
            "Zalo does not pass documents (PDF, Word, Excel…) to bots, so I did not receive "
            "your file and nothing was recorded."
        ),
        _("Please send a photo of the signed page here instead."),
    ]
    if turn.ctx.settings.zalo_oa_enabled:
        lines.append(
            _(
                "Or send the file itself to the office's Zalo Official Account: it is "
                "recorded against your report there."
            )
        )
    await turn.say("\n".join(lines))


async def explain_unreadable(turn: Turn) -> None:
    """A sticker, voice message or bare link: say what I can read."""
    await turn.say(
        _(
            "Sorry, I can only read text and photos here. Write “xong” when the task is "
            "done, a percentage such as “60%”, or send a photo of the signed page."
        )
    )
