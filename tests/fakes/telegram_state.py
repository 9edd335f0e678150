"""What the fake Telegram server remembers: users, chats, messages, files, updates, recordings.

Kept apart from the HTTP layer so the method implementations read like Telegram's rules and
the rules can be shared by the HTTP handler and by webhook replies.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import mimetypes
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from tests.fakes.telegram_models import (
    ApiCall,
    ApiError,
    CallbackAnswer,
    ChatState,
    FakeStats,
    Feed,
    FileIds,
    SentMessage,
    StoredFile,
    UploadedFile,
    UserState,
    WebhookDelivery,
    bad_request,
)
from tests.fakes.telegram_ratelimit import RateLimiter, RateLimits
from tests.fakes.telegram_spec import DEFAULT_SPEC_PATH, BotApiSpec, load_spec
from tests.fakes.telegram_text import EntityParseError, parse_html, utf16_len

JSONDict = dict[str, Any]
CommandScopeKey = tuple[str, int | None, int | None, str]  # (scope type, chat, user, language)

__all__ = ["ClockLike", "CommandScopeKey", "JSONDict", "TelegramState"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files
UPLOAD_LIMIT = 50 * 1024 * 1024
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
# Telegram sends these only to bots that ask for them in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_URL_SCHEMES = ("http://", "https://", "tg://")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class _HasNow(Protocol):
    def now(self) -> datetime: ...


ClockLike = Callable[[], float] | _HasNow


def _image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, so PhotoSize dimensions match the bytes."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if not content.startswith(b"\xff\xd8"):
        return None
    i = 2
    while i + 9 < len(content):
        if content[i] != 0xFF:
            return None
        marker = content[i + 1]
        length = int.from_bytes(content[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(content[i + 5 : i + 7], "big")
            width = int.from_bytes(content[i + 7 : i + 9], "big")
            return width, height
        i += 2 + length
    return None


class TelegramState:
    """State and shared rules of the fake; the server and the method table build on it."""

    def __init__(
        self,
        token: str,
        *,
        bot_username: str,
        bot_first_name: str,
        clock: ClockLike,
        monotonic: Callable[[], float],
        rate_limits: RateLimits,
        spec_path: Path | None,
        first_update_id: int,
    ) -> None:
        bot_id, sep, secret = token.partition(":")
        if not (sep and bot_id.isdigit() and secret):
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.spec: BotApiSpec = load_spec(spec_path or DEFAULT_SPEC_PATH)
        self._clock = clock
        self._monotonic = monotonic
        self._limiter = RateLimiter(rate_limits, monotonic)
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._next_update_id = first_update_id  # never reset: a running bot keeps its offset
        self._changed = asyncio.Event()
        self._poll_waiting = asyncio.Event()  # set while a getUpdates long poll is parked
        self._closing = False
        self._reset_state()

    def _reset_state(self) -> None:
        """Forget users, chats, messages, files, updates and recordings (not the config)."""
        self._limiter = RateLimiter(self._limiter.limits, self._monotonic)
        self._users: dict[int, UserState] = {}
        self._chats: dict[int, ChatState] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_ids = FileIds()
        self._file_paths = 0
        self._callback_queries: dict[str, JSONDict] = {}
        self._next_callback = 4_611_686_018_427_387_000 + self.bot_user["id"] % 1000
        self._next_media_group = 13_580_000_000_000_000
        self._seen_contents: set[tuple[int, str, str, str]] = set()
        self._unacknowledged: set[tuple[int, str, str, str]] = set()  # accepted, reply lost

        # Updates not yet confirmed (getUpdates offset) or delivered (webhook), oldest first.
        self._pending: list[JSONDict] = []
        self._allowed_updates: frozenset[str] | None = None  # None: all but the opt-in ones

        # Recordings for assertions.
        self.stats = FakeStats()
        self._calls: Feed[ApiCall] = Feed(lambda c: f"{c.method} -> {c.status}")
        self._sent: Feed[SentMessage] = Feed(
            lambda s: f"{s.method} to {s.chat_id}: {(s.text or '')[:40]!r}"
        )
        self._deliveries: Feed[WebhookDelivery] = Feed(
            lambda d: f"update {d.update_id} attempt {d.attempt} -> {d.status}"
        )
        self.edits: list[SentMessage] = []
        self.deleted: list[tuple[int, int]] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[CommandScopeKey, list[JSONDict]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.bot_profile: dict[tuple[str, str], str] = {}  # (name|description|..., language)
        self.unexpected_calls: list[ApiCall] = []
        self.updates: list[JSONDict] = []  # every update ever queued, in order

    # -- time --------------------------------------------------------------------------------

    def now(self) -> int:
        """Unix seconds from the injected clock; Telegram dates are whole seconds."""
        clock = self._clock
        if callable(clock):
            return int(clock())
        return int(clock.now().timestamp())

    # -- wake-ups ----------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake every long poll and the webhook sender; each waits on the event it captured."""
        changed = self._changed
        self._changed = asyncio.Event()
        changed.set()

    # -- users and chats ---------------------------------------------------------------------

    def _user(self, user_id: int) -> UserState:
        user = self._users.get(user_id)
        if user is None:
            user = UserState(id=user_id, first_name=f"User {user_id}", language_code="vi")
            self._users[user_id] = user
            self._chats[user_id] = ChatState(id=user_id, type="private", user=user)
        return user

    def _lookup_chat(self, chat_id: int | str) -> ChatState | None:
        if isinstance(chat_id, str):
            # @username works for groups and channels; users cannot be addressed that way.
            name = chat_id.removeprefix("@").lower()
            return next(
                (
                    c
                    for c in self._chats.values()
                    if c.is_group and (c.username or "").lower() == name
                ),
                None,
            )
        return self._chats.get(chat_id)

    def _visible_chat(self, chat_id: int | str) -> ChatState:
        """The chat as the bot may see it: a private chat exists only once the user wrote."""
        chat = self._lookup_chat(chat_id)
        if chat is None or (chat.user is not None and not chat.user.started):
            raise bad_request("chat not found")
        return chat

    def _chat_for_send(self, chat_id: int | str) -> ChatState:
        chat = self._visible_chat(chat_id)
        if chat.user is not None:
            if chat.user.is_bot:
                raise ApiError(403, "Forbidden: bot can't send messages to bots")
            if chat.user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        elif chat.bot_status == "kicked":
            kind = "supergroup" if chat.type == "supergroup" else "group"
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        elif chat.bot_status == "left":
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        return chat

    # -- text, markup, replies ---------------------------------------------------------------

    def _format(
        self, text: str | None, parse_mode: str | None, entities: Any, *, caption: bool
    ) -> tuple[str | None, list[JSONDict]]:
        """Plain text and entities as Telegram stores them, with its length limits."""
        if text is None:
            if caption:
                return None, []
            raise bad_request("message text is empty")
        plain, found = text, list[JSONDict]()
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, found = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("markdown", "markdownv2"):
            found = []  # not parsed by the fake: counted as sent
        elif mode:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        elif isinstance(entities, list):
            for entity in entities:
                if not (
                    isinstance(entity, dict)
                    and isinstance(entity.get("type"), str)
                    and isinstance(entity.get("offset"), int)
                    and isinstance(entity.get("length"), int)
                ):
                    raise bad_request("can't parse entities JSON object")
            found = list(entities)
        if not plain.strip():
            if caption:
                return None, []
            raise bad_request("message text is empty")
        limit = CAPTION_LIMIT if caption else TEXT_LIMIT
        if utf16_len(plain) > limit:
            raise bad_request("message caption is too long" if caption else "message is too long")
        return plain, found

    def _check_markup(self, markup: Any) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "inline_keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
            return markup
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" must be an Array of Arrays')
            for row in rows:
                for button in row:
                    label = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(label, str) or not label:
                        raise bad_request("keyboard button text is empty")
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str) or not button["text"]:
            raise bad_request("inline keyboard button text is empty")
        actions = [name for name in _BUTTON_ACTIONS if name in button]
        if len(actions) != 1:
            raise bad_request(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url.startswith(_URL_SCHEMES) or len(url) < 10:
                raise bad_request("BUTTON_URL_INVALID")

    def _reply_target(self, chat: ChatState, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if reply is not None:
            message_id = reply.get("message_id")
            if not isinstance(message_id, int) or isinstance(message_id, bool):
                raise bad_request("can't parse reply parameters JSON object")
            allow_missing = bool(reply.get("allow_sending_without_reply"))
            target_chat: ChatState | None = chat
            if reply.get("chat_id") not in (None, chat.id):
                target_chat = self._lookup_chat(reply["chat_id"])
        elif params.get("reply_to_message_id"):  # pre-7.0 clients
            try:
                message_id = int(params["reply_to_message_id"])
            except ValueError:
                raise bad_request("message to be replied not found") from None
            allow_missing = str(params.get("allow_sending_without_reply")).lower() == "true"
            target_chat = chat
        else:
            return None
        target = target_chat.messages.get(message_id) if target_chat else None
        if target is None and not allow_missing:
            raise bad_request("message to be replied not found")
        return target

    # -- files -------------------------------------------------------------------------------

    def _store_file(
        self,
        kind: str,
        content: bytes,
        *,
        size: int | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        file_id, unique_id = self._file_ids.new(kind)
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            content=content,
            size=len(content) if size is None else size,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[file_id] = stored
        return stored

    def _assign_path(self, stored: StoredFile) -> str:
        if stored.file_path is None:
            self._file_paths += 1
            suffix = Path(stored.file_name or "").suffix
            if not suffix:
                suffix = {"photo": ".jpg", "sticker": ".webp"}.get(stored.kind, "")
            stored.file_path = f"{stored.kind}s/file_{self._file_paths}{suffix.lower()}"
            self._files_by_path[stored.file_path] = stored
        return stored.file_path

    @staticmethod
    def _guess_mime(file_name: str, declared: str | None) -> str:
        guessed, _ = mimetypes.guess_type(file_name)
        if guessed:
            return guessed
        if declared and declared != "application/octet-stream":
            return declared
        return "application/octet-stream"

    def _document_from_upload(self, upload: UploadedFile) -> StoredFile:
        if len(upload.content) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        if not upload.content:
            raise bad_request("file must be non-empty")
        return self._store_file(
            "document",
            upload.content,
            file_name=upload.filename,
            mime_type=self._guess_mime(upload.filename, upload.content_type),
        )

    def _existing_file(self, value: str, kinds: tuple[str, ...]) -> StoredFile:
        stored = self._files.get(value)
        if stored is None:
            if value.startswith(("http://", "https://")):
                raise bad_request("failed to get HTTP URL content")
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind not in kinds:
            raise bad_request("type of file mismatch")
        return stored

    @staticmethod
    def _document_json(stored: StoredFile) -> JSONDict:
        document: JSONDict = {}
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        document.update(
            file_id=stored.file_id, file_unique_id=stored.file_unique_id, file_size=stored.size
        )
        return document

    def _photo_sizes(
        self,
        content: bytes,
        *,
        size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> list[JSONDict]:
        """A PhotoSize array like Telegram's thumbnails: 90, 320, 800, 1280 px, then original."""
        sniffed = _image_size(content)
        full_w, full_h = (width, height) if width and height else sniffed or (1280, 960)
        total = len(content) if size is None else size
        longest = max(full_w, full_h)
        sides = [s for s in (90, 320, 800, 1280) if s < longest] + [min(longest, 2560)]
        sizes: list[JSONDict] = []
        for side in sides:
            scale = side / longest
            w, h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
            stored = self._store_file(
                "photo", content, size=max(1, round(total * scale * scale)), width=w, height=h
            )
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.size,
                    "width": w,
                    "height": h,
                }
            )
        return sizes

    def _new_media_group_id(self) -> str:
        self._next_media_group += 7919
        return str(self._next_media_group)

    def _new_callback_id(self) -> str:
        self._next_callback += 1
        return str(self._next_callback)

    # -- messages ----------------------------------------------------------------------------

    @staticmethod
    def _shallow(message: JSONDict) -> JSONDict:
        """reply_to_message is one level deep: the nested message has no reply of its own."""
        nested = copy.deepcopy(message)
        nested.pop("reply_to_message", None)
        return nested

    def _put_message(
        self,
        chat: ChatState,
        sender: JSONDict,
        content: JSONDict,
        *,
        reply_to: JSONDict | None = None,
        markup: JSONDict | None = None,
    ) -> JSONDict:
        message: JSONDict = {
            "message_id": chat.next_message_id(),
            "from": sender,
            "chat": chat.as_chat(),
            "date": self.now(),
        }
        if reply_to is not None:
            message["reply_to_message"] = self._shallow(reply_to)
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            # Telegram echoes only inline keyboards; reply keyboards live on the client.
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        return message

    def _admit(self, chat: ChatState, *, global_cost: int = 1, paid: bool = False) -> None:
        """Apply the flood limits to one accepted send, or refuse it with 429."""
        retry_after = self._limiter.acquire(
            chat.id,
            is_group=chat.is_group,
            global_cost=0 if paid else global_cost,
        )
        if retry_after is not None:
            self.stats.rate_limited += 1
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def _record_sent(
        self,
        method: str,
        chat: ChatState,
        message: JSONDict,
        params: JSONDict,
        *,
        raw_text: str | None,
        plain: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        stored: StoredFile | None = None,
    ) -> SentMessage:
        reply = message.get("reply_to_message")
        sent = SentMessage(
            method=method,
            chat_id=chat.id,
            message_id=message["message_id"],
            text=plain,
            raw_text=raw_text,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
            reply_to=reply["message_id"] if reply else None,
            date=message["date"],
            message=copy.deepcopy(message),
            media_group_id=message.get("media_group_id"),
        )
        if stored is not None:
            sent.file_id = stored.file_id
            if stored.kind == "photo":
                sent.photo_bytes = stored.content
            else:
                sent.document_name = stored.file_name
                sent.document_bytes = stored.content
                sent.document_mime = stored.mime_type
        digest = hashlib.sha1(stored.content).hexdigest() if stored else ""
        key = (chat.id, stored.kind if stored else "text", raw_text or "", digest)
        sent.content_key = key
        if key in self._seen_contents:
            self.stats.repeated_messages += 1
        if key in self._unacknowledged:
            self.stats.duplicates += 1
            self._unacknowledged.discard(key)
        self._seen_contents.add(key)
        self.stats.messages_accepted += 1
        self._sent.publish(sent)
        return sent

    # -- updates -----------------------------------------------------------------------------

    def _queue_update(self, kind: str, payload: JSONDict) -> JSONDict:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        return self._enqueue(update)

    def _enqueue(self, update: JSONDict) -> JSONDict:
        self._pending.append(update)
        self.updates.append(update)
        self.stats.updates_queued += 1
        self._notify()
        return update

    @staticmethod
    def _update_kind(update: JSONDict) -> str:
        return next((key for key in update if key != "update_id"), "")

    def _is_allowed(self, update: JSONDict, allowed: frozenset[str] | None) -> bool:
        kind = self._update_kind(update)
        return kind not in OPT_IN_UPDATES if allowed is None else kind in allowed

    @staticmethod
    def _parse_allowed(value: Any) -> frozenset[str] | None:
        if not value:
            return None
        return frozenset(str(kind) for kind in value)

    def _webhook_changed(self) -> None:
        """Hook for the server to start or stop its webhook sender."""

    # -- misc --------------------------------------------------------------------------------

    @staticmethod
    def _language(value: Any) -> str:
        language = str(value or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return language
