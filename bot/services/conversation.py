"""An officer's conversation with the bot, independent of the chat platform.

A channel adapter (Telegram's handlers, the Zalo adapter) turns a platform message into an
`Incoming` (text, files already stored, the task a reply or button points at), calls one
method here, and renders the `OutgoingMessage`s it gets back. Everything an officer can do —
bind with an invite, list tasks, read one, report progress in free text or with buttons,
choose the task when it is ambiguous, switch language — lives here once, so Telegram and
Zalo understand the same words and refuse the same things.

Short-lived conversation state (the task a "Xin gia hạn" tap asked a date for, a report
waiting for "which task?") is kept in memory per chat for 30 minutes: losing it on a restart
costs the officer one question, never a recorded report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import Button, OutgoingMessage
from bot.clock import Clock
from bot.config import Settings
from bot.domain import invites
from bot.domain.actions import Action, Verb
from bot.domain.enums import OPEN_STATUSES, ReportKind, Role
from bot.domain.policy import REMINDABLE_STATUSES, TASK_MESSAGE_KINDS
from bot.domain.replies import UnderstoodReply, understand_reply
from bot.domain.textnorm import fold
from bot.i18n import LOCALES, _, get_i18n, normalize_locale
from bot.presentation import role_label, short_date
from bot.services.admin import AdminService
from bot.services.attachments import StoredFile
from bot.services.dto import OfficerView
from bot.services.errors import CodeError, InviteNotFoundError, ServiceError
from bot.services.registry import RegistryService
from bot.services.reports import (
    Actor,
    NotYourTaskError,
    NoUnitError,
    ReportReceipt,
    ReportService,
)
from bot.services.tasks import TaskService
from bot.services.wording import receipt_text, shorten, task_detail, task_line
from storage.models import (
    Assignment,
    ChannelAccount,
    Officer,
    SentMessage,
    Unit,
    assignment_cooperators,
)

__all__ = [
    "ConversationService",
    "Incoming",
    "LinkApps",
    "LocatorHooks",
    "NotRegisteredError",
    "resolve_locale",
]

CONTEXT_TTL = timedelta(minutes=30)
# Who a chat account belongs to changes rarely (binding, /lang): remember it briefly instead
# of three queries per message. Our own changes forget it at once; others' (the CLI, an
# account the outbox switched off) show within this delay.
IDENTITY_TTL = timedelta(seconds=30)
MAX_TEXT = 4000  # longer messages are refused: nobody reports progress in a novel
_MAX_PICK_BUTTONS = 8
# Reminders this close to the latest one arrived "together" (one morning's tick, paced):
# a bare "1" could be about any of them.
REMINDED_TOGETHER = timedelta(minutes=30)


class LocatorHooks(Protocol):
    """The reminder engine's "which task was that message about?" (ReminderService)."""

    async def assignment_for_message(
        self, channel: str, chat_id: str, message_id: str
    ) -> str | None: ...

    async def latest_reminder_in_chat(self, channel: str, chat_id: str) -> str | None: ...


class NotRegisteredError(ServiceError):
    def message(self) -> str:
        return _(
            "You are not registered yet. Please ask the office's administrator for an "
            "invite, then open the invite link or send /start followed by the code."
        )


class TaskNotVisibleError(CodeError):
    def message(self) -> str:
        return _("Task {code} is not assigned to your unit.").format(code=self.code)


class TooLongError(ServiceError):
    def message(self) -> str:
        return _(
            "Your message is too long ({limit} characters at most). Nothing was recorded; "
            "please send a shorter report."
        ).format(limit=MAX_TEXT)


class ExpiredQuestionError(ServiceError):
    def message(self) -> str:
        return _("That question has expired. Please send your report again.")


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message from an officer. `files` are already stored (AttachmentStore.save);
    `task_code` is set when the platform itself says which task (a command argument);
    `reply_to_message_id`/`reply_to_text` describe the bot message being replied to."""

    text: str = ""
    files: tuple[StoredFile, ...] = ()
    message_id: str | None = None
    reply_to_message_id: str | None = None
    reply_to_text: str | None = None
    task_code: str | None = None


@dataclass(frozen=True, slots=True)
class LinkApps:
    """The apps this office runs, so /lienket explains only those (the adapter knows)."""

    telegram: bool = True
    zalo_bot: bool = True
    zalo_oa: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkApps:
        return cls(
            telegram=settings.telegram_bot_token is not None,
            zalo_bot=settings.zalo_bot_token is not None,
            zalo_oa=settings.zalo_oa_enabled,
        )


class NoOtherAppError(ServiceError):
    def message(self) -> str:
        return _(
            "The office does not use another chat app at the moment, so there is nothing "
            "to connect."
        )


@dataclass
class _ChatState:
    expires_at: datetime
    task_code: str | None = None
    expect: ReportKind | None = None
    document: bool = False  # we asked for the signed document of `task_code`
    draft: Incoming | None = None  # waiting for "which task?"
    choices: tuple[str, ...] = field(default_factory=tuple)
    verb: Verb | None = None  # a numbered answer (Zalo) waiting for "which task?"


def resolve_locale(officer: OfficerView | None, platform_language: str | None, default: str) -> str:
    """An officer's own /lang choice, else BOT_LOCALE; a stranger's phone language.

    The phone's language is no guide for officers: Telegram has no official Vietnamese
    interface, so most Vietnamese officers' apps say "en" while they read Vietnamese.
    """
    if officer is not None:
        return officer.locale if officer.locale in LOCALES else default
    if platform_language:
        return normalize_locale(platform_language, default)
    return default


def _unit_open_tasks_query() -> Select[str, str]:
    """Built once: composing the statement per free-text reply cost more than running it."""
    unit_id = select(Unit.id).where(Unit.code == bindparam("unit_code")).scalar_subquery()
    cooperating = select(assignment_cooperators.c.assignment_id).where(
        assignment_cooperators.c.unit_id == unit_id
    )
    return (
        select(Assignment.code, Assignment.title)
        .where(
            or_(Assignment.lead_unit_id == unit_id, Assignment.id.in_(cooperating)),
            Assignment.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Assignment.due_date.is_(None), Assignment.due_date, Assignment.code)
    )


_UNIT_OPEN_TASKS = _unit_open_tasks_query()


class ConversationService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        registry: RegistryService,
        tasks: TaskService,
        reports: ReportService,
        admin: AdminService,
        locator: LocatorHooks,
        admin_ids: dict[str, frozenset[str]],
        default_locale: str = "vi",
    ) -> None:
        self._sessionmaker = sessionmaker
        self._default_locale = default_locale
        self._clock = clock
        self._registry = registry
        self._tasks = tasks
        self._reports = reports
        self._admin = admin
        self._locator = locator
        self._admin_ids = admin_ids
        self._chats: dict[tuple[str, str], _ChatState] = {}
        self._identities: dict[tuple[str, str], tuple[datetime, OfficerView | None]] = {}
        self._apps: dict[int, str] = {}  # officer id → app family last recorded as used

    # -- who is talking ----------------------------------------------------------------------

    def is_settings_admin(self, channel: str, user_id: str) -> bool:
        return user_id in self._admin_ids.get(channel, frozenset())

    async def identify(
        self, channel: str, user_id: str, chat_id: str, display_name: str = ""
    ) -> Actor:
        """The officer behind a chat account; admins from the settings get a record on
        first contact so review requests can reach them."""
        key = (channel, user_id)
        now = self._clock.now()
        cached = self._identities.get(key)
        if cached is not None and cached[0] > now:
            officer = cached[1]
        else:
            officer = await self._registry.identify(channel, user_id)
            self._identities[key] = (now + IDENTITY_TTL, officer)
            if len(self._identities) > 50_000:
                self._identities.clear()
        if officer is not None:
            await self._note_app(channel, officer.id)
        settings_admin = self.is_settings_admin(channel, user_id)
        if officer is None and settings_admin and chat_id == user_id:
            officer = await self._admin.ensure_settings_admin(
                channel=channel, user_id=user_id, chat_id=chat_id, display_name=display_name
            )
            self._identities.pop(key, None)
        return Actor(
            channel=channel,
            user_id=user_id,
            chat_id=chat_id,
            officer=officer,
            is_admin=settings_admin or (officer is not None and officer.role == Role.ADMIN),
            display_name=display_name,
        )

    # -- onboarding and help -----------------------------------------------------------------

    async def start(
        self,
        actor: Actor,
        payload: str | None,
        *,
        username: str | None = None,
    ) -> tuple[Actor, list[OutgoingMessage]]:
        """/start [code]: bind with an invite, or explain how to get one."""
        payload = (payload or "").strip()
        if not payload:
            if actor.officer is not None:
                return actor, [self._welcome(actor, again=True)]
            return actor, [
                OutgoingMessage(
                    title=_("Welcome to Nhắc việc"),
                    text=_(
                        "Nhắc việc reminds officers of the deadlines in the office's conclusion "
                        "notices and records their progress reports.\n\n"
                        "To start, you need an invite from the office's administrator: open "
                        "the invite link they send you, or send /start followed by the code "
                        "(for example: /start ABCDE-FGHJK)."
                    ),
                )
            ]
        if not invites.looks_like_code(payload):
            raise InviteNotFoundError()
        result = await self._registry.redeem_invite(
            payload,
            channel=actor.channel,
            user_id=actor.user_id,
            chat_id=actor.chat_id,
            username=username,
            display_name=actor.display_name or None,
            # Not the phone's language: an officer's language is BOT_LOCALE until /lang.
            locale=None,
        )
        async with self._reports.writing() as session:
            await self._admin.officer_changed(session, result.officer.id)
        self._identities.pop((actor.channel, actor.user_id), None)
        bound = replace(
            actor,
            officer=result.officer,
            is_admin=actor.is_admin or result.officer.role == Role.ADMIN,
        )
        self._chats.pop((actor.channel, actor.chat_id), None)
        with get_i18n().use_locale(resolve_locale(result.officer, None, self._default_locale)):
            return bound, [self._welcome(bound, again=False)]

    def _welcome(self, actor: Actor, *, again: bool) -> OutgoingMessage:
        officer = actor.officer
        assert officer is not None
        unit = officer.unit_name or _("the office")
        lines = [
            (
                _("Hello {name}, you are registered as {role} of {unit}.")
                if again
                else _("Welcome, {name}! You are now registered as {role} of {unit}.")
            ).format(name=officer.name, role=role_label(officer.role), unit=unit),
            "",
            _(
                "Reminders of your unit's tasks will arrive here. Answer them directly: "
                "“xong” when done, a percentage such as “60%”, or “xin gia hạn đến 20/7 vì …” "
                "to ask for more time."
            )
            + " "
            + evidence_hint(actor.channel),
            "",
            self._command_help(actor),
        ]
        return OutgoingMessage(
            title=_("Registered") if not again else _("Nhắc việc"), text="\n".join(lines)
        )

    def _command_help(self, actor: Actor) -> str:
        lines = [
            _("/tasks — your unit's open tasks"),
            _("/task CODE — one task and its progress log"),
            _("/report CODE — report on a task"),
            _("/lang vi or /lang en — change the language"),
            _("/kenh telegram, /kenh zalo or /kenh ca-hai — where reminders reach you"),
            _("/lienket — a code to receive reminders on your other app (Telegram or Zalo) too"),
            _("/help — this help"),
        ]
        if actor.is_admin:
            lines += [
                "",
                _("For administrators:"),
                _("/overdue — overdue tasks"),
                _("/due [days] — tasks due within N days (default 7)"),
                _("/units — units and who is registered"),
                _("/approve CODE — confirm a result or approve an extension"),
                _("/reject CODE reason — send a result back or refuse an extension"),
                _("/extend CODE DD/MM/YYYY reason — move a deadline"),
                _("/setdate CODE DD/MM/YYYY — date a conditional task"),
                _("/pause CODE [reason] — pause a task (no reminders until resumed)"),
                _("/resume CODE — resume a paused task"),
                _("/huy CODE reason — cancel a task"),
                _("/assign — hand out a new task (guided)"),
                _("/remind CODE — send the reminder now"),
                _("/invite UNIT Full name — invite an officer"),
                _("/invite #ID — a code that binds another app to officer #ID"),
                _("/bindgroup — (in a group) send the digests to this group"),
                _("/digest — send the digest now"),
                _("/export — the progress report as a CSV file"),
            ]
        return "\n".join(lines)

    def help(self, actor: Actor) -> list[OutgoingMessage]:
        if actor.officer is None and not actor.is_admin:
            return [OutgoingMessage(title=_("Nhắc việc"), text=NotRegisteredError().message())]
        text = "\n".join(
            [
                _(
                    "Reply to a reminder, or just write to me: “xong” / “đã hoàn thành” when "
                    "the task is done, a percentage such as “được 60%”, “xin gia hạn đến "
                    "20/7 vì …” to ask for more time, or anything else as a note."
                )
                + " "
                + evidence_hint(actor.channel),
                "",
                self._command_help(actor),
            ]
        )
        return [OutgoingMessage(title=_("What I can do"), text=text)]

    async def set_locale(self, actor: Actor, code: str) -> str:
        """/lang vi|en: store the choice; returns the locale to answer in."""
        wanted = code.strip().lower()
        if wanted not in LOCALES:
            raise InvalidLocaleError()
        if actor.officer is None:
            raise NotRegisteredError()
        async with self._reports.writing() as session:
            await session.execute(
                update(Officer).where(Officer.id == actor.officer.id).values(locale=wanted)
            )
            await self._admin.officer_changed(session, actor.officer.id)
        self._identities.pop((actor.channel, actor.user_id), None)
        return wanted

    # -- lists -------------------------------------------------------------------------------

    async def list_tasks(self, actor: Actor) -> list[OutgoingMessage]:
        """/tasks: the unit's open tasks (every open task for an admin without a unit)."""
        officer = self._require_officer(actor)
        unit_code = officer.unit_code
        if unit_code is None and not actor.is_admin:
            return [OutgoingMessage(text=_("Your account is not attached to a unit."))]
        lines = await self._admin.task_lines(unit_code=unit_code)
        if not lines:
            return [OutgoingMessage(text=_("Your unit has no open tasks. Well done!"))]
        title = (
            _("Open tasks of {unit} ({count})").format(unit=officer.unit_name, count=len(lines))
            if unit_code
            else _("All open tasks ({count})").format(count=len(lines))
        )
        body = "\n\n".join(task_line(line.task, line.timeliness) for line in lines)
        hint = _("Send /task CODE for details, or reply to a reminder to report.")
        return [OutgoingMessage(title=title, text=f"{body}\n\n{hint}")]

    async def show_task(self, actor: Actor, code: str) -> list[OutgoingMessage]:
        """/task CODE: the detail and progress log of one of the unit's tasks."""
        officer = self._require_officer(actor)
        task = await self._tasks.get_task(code)
        member = self._reports.is_member(officer, task)
        if not member and not actor.is_admin:
            raise TaskNotVisibleError(task.code)
        text = task_detail(task, self._reports.assess(task), self._reports.timezone)
        buttons: tuple[tuple[Button, ...], ...] = ()
        if member and task.status in OPEN_STATUSES:
            buttons = report_buttons(task.code)
        return [OutgoingMessage(title=f"{task.code} — {task.title}", text=text, buttons=buttons)]

    def _require_officer(self, actor: Actor) -> OfficerView:
        if actor.officer is None:
            raise NotRegisteredError()
        return actor.officer

    # -- progress ----------------------------------------------------------------------------

    def _state(self, actor: Actor) -> _ChatState | None:
        key = (actor.channel, actor.chat_id)
        state = self._chats.get(key)
        if state is not None and state.expires_at <= self._clock.now():
            del self._chats[key]
            return None
        return state

    def _remember(self, actor: Actor, **values: object) -> None:
        state = _ChatState(expires_at=self._clock.now() + CONTEXT_TTL)
        for name, value in values.items():
            setattr(state, name, value)
        self._chats[(actor.channel, actor.chat_id)] = state
        if len(self._chats) > 10_000:  # forget the stalest when a flood fills memory
            now = self._clock.now()
            for key in [k for k, v in self._chats.items() if v.expires_at <= now]:
                del self._chats[key]

    def forget(self, actor: Actor) -> None:
        self._chats.pop((actor.channel, actor.chat_id), None)

    async def _unit_open_tasks(self, unit_code: str) -> list[tuple[str, str]]:
        """(code, title) of the unit's open tasks, soonest deadline first; one light query."""
        async with self._sessionmaker() as session:
            rows = await session.execute(_UNIT_OPEN_TASKS, {"unit_code": unit_code})
            return [(str(code), str(title)) for code, title in rows]

    @staticmethod
    def _mentioned(text: str | None, codes: Sequence[str]) -> str | None:
        if not text:
            return None
        upper = text.upper()
        found = [
            c for c in codes if re.search(rf"(?<![A-Z0-9-]){re.escape(c)}(?![A-Z0-9-])", upper)
        ]
        return found[0] if len(found) == 1 else None

    async def report(self, actor: Actor, incoming: Incoming) -> list[OutgoingMessage]:
        """A progress reply, wherever it came from; asks which task when it cannot tell."""
        officer = self._require_officer(actor)
        if len(incoming.text) > MAX_TEXT:
            raise TooLongError()
        state = self._state(actor)
        code = incoming.task_code
        expect: ReportKind | None = None
        if code is None and incoming.reply_to_message_id is not None:
            code = await self._locator.assignment_for_message(
                actor.channel, actor.chat_id, incoming.reply_to_message_id
            )
        candidates: list[tuple[str, str]] | None = None
        if code is None and incoming.reply_to_text and officer.unit_code:
            candidates = await self._unit_open_tasks(officer.unit_code)
            code = self._mentioned(incoming.reply_to_text, [c for c, _t in candidates])
        # A document we asked for goes to its task; other messages may be about another.
        if (
            code is None
            and state is not None
            and state.task_code is not None
            and (not state.document or incoming.files)
        ):
            code = state.task_code
            expect = state.expect
        if code is None:
            if officer.unit_code is None:
                raise NoUnitError()
            if candidates is None:
                candidates = await self._unit_open_tasks(officer.unit_code)
            code = self._mentioned(incoming.text, [c for c, _t in candidates])
            if code is None:
                if not candidates:
                    return [OutgoingMessage(text=_("Your unit has no open tasks to report on."))]
                if len(candidates) > 1:
                    return [self._ask_which(actor, incoming, candidates)]
                code = candidates[0][0]
        return await self._submit(actor, code, incoming, expect)

    async def _submit(
        self, actor: Actor, code: str, incoming: Incoming, expect: ReportKind | None
    ) -> list[OutgoingMessage]:
        reply = understand_reply(incoming.text, today=self._reports.today(), expect=expect)
        if not reply.text and not incoming.files:
            return [self._prompt_for(code, expect)]
        receipt = await self._reports.submit(
            actor, code, reply, incoming.files, source_message_id=incoming.message_id
        )
        if receipt.ask_for_document:
            self._remember(actor, task_code=receipt.task_code, document=True)
        else:
            self.forget(actor)
        return [self._receipt(receipt, incoming.message_id, actor.channel)]

    def _receipt(
        self, receipt: ReportReceipt, reply_to: str | None, channel: str
    ) -> OutgoingMessage:
        title = (
            _("Result recorded")
            if receipt.report.kind == ReportKind.DONE
            else _("Extension request recorded")
            if receipt.report.kind == ReportKind.EXTENSION
            else _("Report recorded")
        )
        return OutgoingMessage(
            title=title,
            text=receipt_text(
                receipt, self._reports.timezone, document_request=document_request(channel)
            ),
            reply_to=reply_to,
        )

    def _ask_which(
        self, actor: Actor, incoming: Incoming, candidates: Sequence[tuple[str, str]]
    ) -> OutgoingMessage:
        shown = list(candidates[:_MAX_PICK_BUTTONS])
        self._remember(actor, draft=incoming, choices=tuple(c for c, _t in shown))
        rows = tuple(
            (Button(shorten(f"{c} · {t}", 60), Action(Verb.PICK, c).payload()),) for c, t in shown
        )
        text = _("Your unit has several open tasks. Which one is this report about?")
        if len(candidates) > len(shown):
            text += "\n" + _("Not in the list? Send /report CODE followed by your report.")
        return OutgoingMessage(text=text, buttons=rows, reply_to=incoming.message_id)

    def _prompt_for(self, code: str, expect: ReportKind | None) -> OutgoingMessage:
        if expect is ReportKind.EXTENSION:
            text = _(
                "Please write the new date you ask for and the reason, for example: "
                "“20/7/2023 vì chờ số liệu của các xã”."
            )
        elif expect is ReportKind.PROGRESS:
            text = _("How far along is it? Reply with a percentage (for example 60%) or a note.")
        else:
            text = _(
                "What would you like to report? Write “xong” when done, a percentage such "
                "as “60%”, “xin gia hạn đến 20/7 vì …”, or a note; you can attach files."
            )
        return OutgoingMessage(title=_("Report on {code}").format(code=code), text=text)

    async def begin_report(self, actor: Actor, code: str, text: str = "") -> list[OutgoingMessage]:
        """/report CODE [text]: report now, or wait for the next message."""
        officer = self._require_officer(actor)
        if officer.unit_code is None:
            raise NoUnitError()
        task = await self._tasks.get_task(code)
        if not self._reports.is_member(officer, task):
            raise NotYourTaskError(task.code)
        if text.strip():
            return await self._submit(actor, task.code, Incoming(text=text), None)
        self._remember(actor, task_code=task.code)
        return [self._prompt_for(task.code, None)]

    async def press(
        self, actor: Actor, action: Action, *, message_id: str | None = None
    ) -> list[OutgoingMessage]:
        """An officer's button: ✅ done, 🔄 in progress, ⏳ extension, or a task choice."""
        officer = self._require_officer(actor)
        if action.verb is Verb.PICK:
            state = self._state(actor)
            if state is None or state.draft is None or action.argument not in state.choices:
                raise ExpiredQuestionError()
            if state.verb is not None:
                return await self.press(actor, Action(state.verb, action.argument))
            draft = state.draft
            return await self._submit(actor, action.argument, draft, None)
        task = await self._tasks.get_task(action.argument)
        if not self._reports.is_member(officer, task):
            raise NotYourTaskError(task.code)
        if action.verb is Verb.DONE:
            return await self._submit_reply(
                actor, task.code, UnderstoodReply(ReportKind.DONE, text=""), message_id
            )
        if action.verb is Verb.PROGRESS:
            messages = await self._submit_reply(
                actor, task.code, UnderstoodReply(ReportKind.PROGRESS, text=""), message_id
            )
            self._remember(actor, task_code=task.code, expect=ReportKind.PROGRESS)
            return [*messages, self._prompt_for(task.code, ReportKind.PROGRESS)]
        if action.verb is Verb.EXTEND:
            self._remember(actor, task_code=task.code, expect=ReportKind.EXTENSION)
            return [self._prompt_for(task.code, ReportKind.EXTENSION)]
        raise ExpiredQuestionError()

    async def _submit_reply(
        self, actor: Actor, code: str, reply: UnderstoodReply, message_id: str | None
    ) -> list[OutgoingMessage]:
        receipt = await self._reports.submit(actor, code, reply, source_message_id=message_id)
        if receipt.ask_for_document:
            self._remember(actor, task_code=receipt.task_code, document=True)
        return [self._receipt(receipt, None, actor.channel)]

    # -- one person, two apps (channel-neutral; Zalo and Telegram both call these) ----------

    async def _note_app(self, channel: str, officer_id: int) -> None:
        """Record the app an officer writes from: with no /kenh choice, reminders follow the
        app used last. One conditional UPDATE per officer and process, then only when they
        switch apps (Zalo's Bot and OA count as one app)."""
        family = _app_family(channel)
        if self._apps.get(officer_id) == family:
            return
        async with self._reports.writing() as session:
            result = await session.execute(
                update(Officer)
                .where(
                    Officer.id == officer_id,
                    or_(
                        Officer.last_channel.is_(None),
                        Officer.last_channel.not_in(_APP_MEMBERS[family]),
                    ),
                )
                .values(last_channel=channel)
            )
            if getattr(result, "rowcount", 0):
                await self._admin.officer_changed(session, officer_id)
        if len(self._apps) > 50_000:
            self._apps.clear()
        self._apps[officer_id] = family

    async def set_channel(self, actor: Actor, choice: str) -> list[OutgoingMessage]:
        """/kenh telegram|zalo|ca-hai (or mac-dinh): the apps reminders go to."""
        officer = self._require_officer(actor)
        key = fold(choice).replace(" ", "-")
        if not key:
            return [self._channel_status(officer.preferred_channel)]
        if key not in _CHANNEL_CHOICES:
            raise InvalidChannelError()
        wanted = _CHANNEL_CHOICES[key]
        async with self._reports.writing() as session:
            await session.execute(
                update(Officer).where(Officer.id == officer.id).values(preferred_channel=wanted)
            )
            bound = set(
                await session.scalars(
                    select(ChannelAccount.channel).where(
                        ChannelAccount.officer_id == officer.id, ChannelAccount.active.is_(True)
                    )
                )
            )
            await self._admin.officer_changed(session, officer.id)
        self._identities.pop((actor.channel, actor.user_id), None)
        lines = [self._channel_status(wanted).text]
        families = {_app_family(channel) for channel in bound}
        for family in ("telegram", "zalo") if wanted == "both" else (wanted,):
            if family is not None and family not in families:
                lines.append(
                    _(
                        "You are not registered on {app} yet, so reminders keep coming here. "
                        "To connect {app}, send /lienket and follow the instructions."
                    ).format(app=_APP_NAMES[family])
                )
        return [OutgoingMessage(title=_("Reminder app"), text="\n".join(lines))]

    async def link_code(self, actor: Actor, apps: LinkApps) -> list[OutgoingMessage]:
        """/lienket (/link): a fresh single-use code that binds one more app to this officer.

        Only a registered officer gets one, for their own record; it replaces their earlier
        unused code, so asking again never leaves several live codes."""
        officer = self._require_officer(actor)
        steps = self._link_steps(actor.channel, apps)
        if not steps:
            raise NoOtherAppError()
        invite = await self._registry.create_invite(officer_id=officer.id, actor=actor.audit_name)
        code = invite.code
        until = invite.expires_at.astimezone(self._reports.timezone)
        lines = [
            _("Your code to connect another app to your registration ({name}, {unit}):").format(
                name=officer.name, unit=officer.unit_name or _("the office")
            ),
            code,
            "",
        ]
        for step in steps:
            if step == "telegram":
                link = invite.telegram_link
                lines.append(
                    _("• Telegram: open {link} and press Start.").format(link=link)
                    if link
                    else _("• Telegram: send /start {code} to the office's Telegram bot.").format(
                        code=code
                    )
                )
            elif step == "zalo+oa":
                lines.append(
                    _(
                        "• Zalo: send the code {code} to the office's Zalo bot, or to its Zalo "
                        "Official Account."
                    ).format(code=code)
                )
            elif step == "zalo":
                lines.append(
                    _("• Zalo: send the code {code} to the office's Zalo bot.").format(code=code)
                )
            else:
                lines.append(
                    _("• Zalo: send the code {code} to the office's Zalo Official Account.").format(
                        code=code
                    )
                )
        lines += [
            "",
            _(
                "Then choose where reminders reach you: /kenh telegram, /kenh zalo or "
                "/kenh ca-hai (both)."
            ),
            _(
                "The code works once, until {when}; a new /lienket replaces it. Do not share "
                "it: whoever sends it is registered as you."
            ).format(when=f"{until:%H:%M} {short_date(until.date())}"),
        ]
        return [OutgoingMessage(title=_("Connect another app"), text="\n".join(lines))]

    @staticmethod
    def _link_steps(channel: str, apps: LinkApps) -> list[str]:
        """Where the code can be sent: every app of the office but the one asking."""
        steps = []
        if apps.telegram and channel != "telegram":
            steps.append("telegram")
        bot = apps.zalo_bot and channel != "zalo"
        oa = apps.zalo_oa and channel != "zalo_oa"
        if bot or oa:
            steps.append("zalo+oa" if bot and oa else "zalo" if bot else "zalo_oa")
        return steps

    @staticmethod
    def _channel_status(preferred: str | None) -> OutgoingMessage:
        if preferred == "both":
            where = _("Reminders reach you on both Telegram and Zalo.")
        elif preferred in _APP_NAMES:
            where = _("Reminders reach you on {app}.").format(app=_APP_NAMES[preferred])
        else:
            where = _("Reminders reach you on the app you used last.")
        usage = _(
            "To change: /kenh telegram, /kenh zalo or /kenh ca-hai (both); "
            "/kenh mac-dinh goes back to the app you used last."
        )
        return OutgoingMessage(text=f"{where}\n{usage}")

    async def answer_number(
        self, actor: Actor, number: int, *, verb: Verb | None, message_id: str | None = None
    ) -> list[OutgoingMessage] | None:
        """A bare number on an app without buttons or reply-to (Zalo): the Nth task of the
        open "which task?" question; else `verb` (what the number means on a reminder) on
        the most recent reminder in this chat. When several reminders arrived together it
        asks which task first. None when the number answers nothing."""
        self._require_officer(actor)
        state = self._state(actor)
        if state is not None and state.draft is not None and state.choices:
            if not 1 <= number <= len(state.choices):
                raise ChoiceOutOfRangeError(len(state.choices))
            pick = Action(Verb.PICK, state.choices[number - 1])
            return await self.press(actor, pick, message_id=message_id)
        if verb is None:
            return None
        together = await self._reminded_together(actor.channel, actor.chat_id)
        if len(together) > 1:
            question = self._ask_which(actor, Incoming(message_id=message_id), together)
            asked = self._state(actor)
            assert asked is not None
            asked.verb = verb
            text = _("Several reminders arrived together. Which task is your answer about?")
            return [replace(question, text=text)]
        code = (
            together[0][0]
            if together
            else await self._locator.latest_reminder_in_chat(actor.channel, actor.chat_id)
        )
        if code is None:
            return None
        return await self.press(actor, Action(verb, code), message_id=message_id)

    async def _reminded_together(self, channel: str, chat_id: str) -> list[tuple[str, str]]:
        """(code, title) of the tasks still to do whose reminders reached this chat together
        with the most recent one (within REMINDED_TOGETHER), most recent first."""
        where = (
            SentMessage.channel == channel,
            SentMessage.chat_id == chat_id,
            SentMessage.kind.in_(sorted(TASK_MESSAGE_KINDS)),
            SentMessage.assignment_id.is_not(None),
        )
        async with self._sessionmaker() as session:
            latest = await session.scalar(select(func.max(SentMessage.sent_at)).where(*where))
            if latest is None:
                return []
            rows = await session.execute(
                select(Assignment.code, Assignment.title)
                .join(SentMessage, SentMessage.assignment_id == Assignment.id)
                .where(
                    *where,
                    SentMessage.sent_at >= latest - REMINDED_TOGETHER,
                    Assignment.status.in_(sorted(REMINDABLE_STATUSES)),
                )
                .order_by(SentMessage.sent_at.desc(), SentMessage.id.desc())
            )
            found: dict[str, str] = {}
            for code, title in rows:
                found.setdefault(str(code), str(title))
            return list(found.items())


_APP_MEMBERS = {"telegram": ("telegram",), "zalo": ("zalo", "zalo_oa")}
_APP_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}
# What officers type after /kenh, folded (no diacritics, spaces as dashes).
_CHANNEL_CHOICES: dict[str, str | None] = {
    "telegram": "telegram",
    "tg": "telegram",
    "zalo": "zalo",
    "ca-hai": "both",
    "cahai": "both",
    "ca-2": "both",
    "both": "both",
    "mac-dinh": None,
    "macdinh": None,
    "default": None,
}


def evidence_hint(channel: str) -> str:
    """How to send the signed document on this app: Telegram and the Zalo OA take files,
    the Zalo Bot Platform only photos (documents reach bots without their content)."""
    if channel == "zalo":
        return _("As evidence, send a photo of the signed page: Zalo does not pass files to bots.")
    if channel == "zalo_oa":
        return _("Send the signed document as a file (PDF, Word) or a photo of it.")
    return _("Attach the signed document as a file or photo (several at once are fine).")


def document_request(channel: str) -> str:
    """The receipt's request for the signed document, after a "done" without one."""
    if channel == "zalo":
        return _("Please also send a photo of the signed document here.")
    if channel == "zalo_oa":
        return _("Please also send the signed document here (the file, or a photo of it).")
    return _(
        "Please also send the signed document (a file or a photo of it) as a reply to this message."
    )


def _app_family(channel: str) -> str:
    return "telegram" if channel == "telegram" else "zalo"


class InvalidChannelError(ServiceError):
    def message(self) -> str:
        return _(
            "Please choose telegram, zalo or ca-hai (both), for example: /kenh zalo. "
            "/kenh mac-dinh sends reminders to the app you used last."
        )


class ChoiceOutOfRangeError(ServiceError):
    def __init__(self, count: int) -> None:
        super().__init__(str(count))
        self.count = count

    def message(self) -> str:
        return _("Please answer with a number from 1 to {count}.").format(count=self.count)


class InvalidLocaleError(ServiceError):
    def message(self) -> str:
        return _("Please choose vi (Tiếng Việt) or en (English), for example: /lang vi")


def report_buttons(code: str) -> tuple[tuple[Button, ...], ...]:
    """The three answers to a reminder, also offered under /task CODE."""
    return (
        (
            Button(_("✅ Done"), Action(Verb.DONE, code).payload()),
            Button(_("🔄 In progress"), Action(Verb.PROGRESS, code).payload()),
            Button(_("⏳ Ask for extension"), Action(Verb.EXTEND, code).payload()),
        ),
    )
