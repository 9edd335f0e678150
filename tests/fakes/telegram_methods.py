"""Bot API methods the fake implements with state, following Telegram's documented rules."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_models import (
    ApiCall,
    ApiError,
    CallbackAnswer,
    ChatState,
    SentMessage,
    StoredFile,
    UploadedFile,
    bad_request,
)
from tests.fakes.telegram_state import (
    DOWNLOAD_LIMIT,
    PHOTO_UPLOAD_LIMIT,
    CommandScopeKey,
    JSONDict,
    TelegramState,
)
from tests.fakes.telegram_text import utf16_len

__all__ = ["MethodHandler", "Reply", "TelegramMethods"]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_DELETE_WINDOW = 48 * 3600
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_CONTENT_KEYS = ("text", "entities", "document", "photo", "sticker", "caption", "caption_entities")


@dataclass(frozen=True)
class Reply:
    """A result with the optional `description` Telegram adds (e.g. "Webhook was set")."""

    result: Any
    description: str


MethodHandler = Callable[[JSONDict, ApiCall], Awaitable[Any]]


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: frozenset[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _Poll:
    superseded: bool = False  # a newer getUpdates arrived: this one ends with 409
    released: bool = False  # the fake was reset: this one ends with no updates


class TelegramMethods(TelegramState):
    """The method table: each handler gets typed params and returns the `result` value."""

    webhook: WebhookConfig | None = None
    _active_poll: _Poll | None = None

    def _method_table(self) -> dict[str, MethodHandler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getChat": self._get_chat,
            "getFile": self._get_file,
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
        }

    # -- bot and updates ---------------------------------------------------------------------

    async def _get_me(self, params: JSONDict, call: ApiCall) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _take(self, limit: int) -> list[JSONDict]:
        allowed = [u for u in self._pending if self._is_allowed(u, self._allowed_updates)]
        if len(allowed) != len(self._pending):
            self._pending = allowed  # Telegram drops updates the bot said it does not want
        return self._pending[:limit]

    async def _get_updates(self, params: JSONDict, call: ApiCall) -> list[JSONDict]:
        if self.webhook is not None:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        limit = min(100, max(1, params.get("limit", 100)))
        timeout = max(0, params.get("timeout", 0))
        if "allowed_updates" in params:
            self._allowed_updates = self._parse_allowed(params["allowed_updates"])
        if self._active_poll is not None:
            self._active_poll.superseded = True
            self._notify()
        poll = self._active_poll = _Poll()
        self._confirm(params.get("offset", 0))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poll.superseded:
                    raise ApiError(409, _CONFLICT_POLL)
                if self.webhook is not None:
                    raise ApiError(409, _CONFLICT_WEBHOOK)
                batch = [] if poll.released else self._take(limit)
                remaining = deadline - loop.time()
                if batch or poll.released or self._closing or remaining <= 0:
                    self.stats.updates_polled += len(batch)
                    return copy.deepcopy(batch)
                changed = self._changed
                self._poll_waiting.set()
                try:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), remaining)
                finally:
                    if self._active_poll is poll:
                        self._poll_waiting.clear()
        finally:
            if self._active_poll is poll:
                self._active_poll = None

    async def _set_webhook(self, params: JSONDict, call: ApiCall) -> Reply:
        url: str = params["url"]
        if not url:
            return await self._delete_webhook(params, call)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        max_connections = params.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        config = WebhookConfig(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=self._parse_allowed(params.get("allowed_updates")),
        )
        if params.get("drop_pending_updates"):
            self._pending.clear()
        current = self.webhook
        if current is not None and (
            current.url,
            current.secret_token,
            current.max_connections,
            current.allowed_updates,
        ) == (url, secret, max_connections, config.allowed_updates):
            return Reply(True, "Webhook is already set")
        self.webhook = config
        self._webhook_changed()
        self._notify()  # a waiting getUpdates now ends with 409
        return Reply(True, "Webhook was set")

    async def _delete_webhook(self, params: JSONDict, call: ApiCall) -> Reply:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if self.webhook is None:
            return Reply(True, "Webhook is already deleted")
        self.webhook = None
        self._webhook_changed()
        return Reply(True, "Webhook was deleted")

    async def _get_webhook_info(self, params: JSONDict, call: ApiCall) -> JSONDict:
        hook = self.webhook
        info: JSONDict = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook is not None:
            info["ip_address"] = "127.0.0.1"
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = sorted(hook.allowed_updates)
        return info

    # -- sending -----------------------------------------------------------------------------

    async def _send_message(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._chat_for_send(params["chat_id"])
        plain, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._admit(chat, paid=bool(params.get("allow_paid_broadcast")))
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        if params.get("link_preview_options"):
            content["link_preview_options"] = params["link_preview_options"]
        message = self._put_message(chat, self.bot_user, content, reply_to=reply_to, markup=markup)
        self._record_sent(
            "sendMessage",
            chat,
            message,
            params,
            raw_text=params["text"],
            plain=plain,
            entities=entities,
            markup=markup,
        )
        return message

    def _caption(self, params: JSONDict) -> tuple[JSONDict, str | None, list[JSONDict]]:
        plain, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            caption=True,
        )
        content: JSONDict = {}
        if plain is not None:
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return content, plain, entities

    def _input_document(self, value: UploadedFile | str) -> StoredFile:
        if isinstance(value, UploadedFile):
            return self._document_from_upload(value)
        return self._existing_file(value, ("document",))

    def _input_photo(self, value: UploadedFile | str) -> tuple[list[JSONDict], StoredFile]:
        if isinstance(value, UploadedFile):
            if len(value.content) > PHOTO_UPLOAD_LIMIT:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            if not value.content:
                raise bad_request("file must be non-empty")
            sizes = self._photo_sizes(value.content)
        else:
            original = self._existing_file(value, ("photo",))
            sizes = self._photo_sizes(
                original.content,
                size=original.size,
                width=original.width,
                height=original.height,
            )
        return sizes, self._files[sizes[-1]["file_id"]]

    async def _send_document(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._chat_for_send(params["chat_id"])
        content, plain, entities = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        stored = self._input_document(params["document"])
        self._admit(chat, paid=bool(params.get("allow_paid_broadcast")))
        content = {"document": self._document_json(stored), **content}
        message = self._put_message(chat, self.bot_user, content, reply_to=reply_to, markup=markup)
        self._record_sent(
            "sendDocument",
            chat,
            message,
            params,
            raw_text=params.get("caption"),
            plain=plain,
            entities=entities,
            markup=markup,
            stored=stored,
        )
        return message

    async def _send_photo(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._chat_for_send(params["chat_id"])
        content, plain, entities = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        sizes, largest = self._input_photo(params["photo"])
        self._admit(chat, paid=bool(params.get("allow_paid_broadcast")))
        message = self._put_message(
            chat, self.bot_user, {"photo": sizes, **content}, reply_to=reply_to, markup=markup
        )
        self._record_sent(
            "sendPhoto",
            chat,
            message,
            params,
            raw_text=params.get("caption"),
            plain=plain,
            entities=entities,
            markup=markup,
            stored=largest,
        )
        return message

    async def _send_media_group(self, params: JSONDict, call: ApiCall) -> list[JSONDict]:
        chat = self._chat_for_send(params["chat_id"])
        media: list[Any] = params["media"]
        if not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media specified; must be between 2 and 10")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in media}
        if not kinds <= {"photo", "video", "document", "audio"}:
            raise bad_request("can't parse media JSON object: unsupported media type")
        for alone in ("document", "audio"):
            if alone in kinds and len(kinds) > 1:
                raise bad_request(f"{alone} can't be mixed with other media types")
        reply_to = self._reply_target(chat, params)
        prepared: list[tuple[JSONDict, StoredFile, JSONDict, str | None, list[JSONDict]]] = []
        for item in media:
            value = item.get("media")
            if isinstance(value, str) and value.startswith("attach://"):
                key = value.removeprefix("attach://")
                if key not in call.files:
                    raise bad_request(f'file "{key}" must be attached to the request')
                value = call.files[key]
            if not isinstance(value, UploadedFile | str) or not value:
                raise bad_request("media is empty")
            caption, plain, entities = self._caption(item)
            if item["type"] == "photo":
                sizes, stored = self._input_photo(value)
                body: JSONDict = {"photo": sizes}
            elif item["type"] == "document":
                stored = self._input_document(value)
                body = {"document": self._document_json(stored)}
            else:
                raise bad_request(f"the fake does not store {item['type']} media")
            prepared.append(({**body, **caption}, stored, item, plain, entities))
        self._admit(chat, global_cost=len(media), paid=bool(params.get("allow_paid_broadcast")))
        group_id = self._new_media_group_id()
        messages: list[JSONDict] = []
        for content, stored, item, plain, entities in prepared:
            message = self._put_message(
                chat, self.bot_user, {"media_group_id": group_id, **content}, reply_to=reply_to
            )
            self._record_sent(
                "sendMediaGroup",
                chat,
                message,
                item,
                raw_text=item.get("caption"),
                plain=plain,
                entities=entities,
                markup=None,
                stored=stored,
            )
            messages.append(message)
        return messages

    def _source_message(self, params: JSONDict, verb: str) -> JSONDict:
        source_chat = self._visible_chat(params["from_chat_id"])
        source = source_chat.messages.get(params["message_id"])
        if source is None:
            raise bad_request(f"message to {verb} not found")
        return source

    def _stored_of(self, content: JSONDict) -> StoredFile | None:
        if "document" in content:
            return self._files.get(content["document"]["file_id"])
        if "photo" in content:
            return self._files.get(content["photo"][-1]["file_id"])
        return None

    async def _copy_message(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._chat_for_send(params["chat_id"])
        source = self._source_message(params, "copy")
        content = {k: copy.deepcopy(source[k]) for k in _CONTENT_KEYS if k in source}
        if "caption" in params:
            caption, _, _ = self._caption(params)
            content.pop("caption_entities", None)
            content.update(caption)
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._admit(chat)
        message = self._put_message(chat, self.bot_user, content, reply_to=reply_to, markup=markup)
        shown = content.get("text", content.get("caption"))
        self._record_sent(
            "copyMessage",
            chat,
            message,
            params,
            raw_text=shown,
            plain=shown,
            entities=content.get("entities", content.get("caption_entities", [])),
            markup=markup,
            stored=self._stored_of(content),
        )
        return {"message_id": message["message_id"]}

    async def _forward_message(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._chat_for_send(params["chat_id"])
        source = self._source_message(params, "forward")
        content = {k: copy.deepcopy(source[k]) for k in _CONTENT_KEYS if k in source}
        content["forward_origin"] = {
            "type": "user",
            "sender_user": source["from"],
            "date": source["date"],
        }
        self._admit(chat)
        message = self._put_message(chat, self.bot_user, content)
        shown = content.get("text", content.get("caption"))
        self._record_sent(
            "forwardMessage",
            chat,
            message,
            params,
            raw_text=shown,
            plain=shown,
            entities=content.get("entities", content.get("caption_entities", [])),
            markup=None,
            stored=self._stored_of(content),
        )
        return message

    # -- editing and deleting ----------------------------------------------------------------

    def _editable(self, params: JSONDict) -> tuple[ChatState, JSONDict] | None:
        """The bot's own message to edit, or None for inline messages (not stored)."""
        if params.get("inline_message_id"):
            return None
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._chat_for_send(params["chat_id"])
        message = chat.messages.get(params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message

    def _record_edit(self, method: str, chat: ChatState, message: JSONDict) -> None:
        shown = message.get("text", message.get("caption"))
        self.edits.append(self._snapshot(method, chat, message, shown, message.get("reply_markup")))

    def _snapshot(
        self,
        method: str,
        chat: ChatState,
        message: JSONDict,
        shown: str | None,
        markup: JSONDict | None,
    ) -> SentMessage:
        reply = message.get("reply_to_message")
        return SentMessage(
            method=method,
            chat_id=chat.id,
            message_id=message["message_id"],
            text=shown,
            raw_text=shown,
            parse_mode=None,
            entities=list(message.get("entities") or message.get("caption_entities") or []),
            reply_markup=markup,
            reply_to=reply["message_id"] if reply else None,
            date=int(message.get("edit_date") or message["date"]),
            message=copy.deepcopy(message),
        )

    async def _edit_message_text(self, params: JSONDict, call: ApiCall) -> JSONDict | bool:
        plain, entities = self._format(
            params.get("text"), params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._check_markup(params.get("reply_markup"))
        target = self._editable(params)
        if target is None:
            return True
        chat, message = target
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        old = (message["text"], message.get("entities", []), message.get("reply_markup"))
        if old == (plain, entities, markup):
            raise bad_request(_NOT_MODIFIED)
        message["text"] = plain
        self._set_optional(message, "entities", entities)
        self._set_optional(message, "reply_markup", markup)  # omitted markup removes the keyboard
        message["edit_date"] = self.now()
        self._record_edit("editMessageText", chat, message)
        return copy.deepcopy(message)

    async def _edit_message_caption(self, params: JSONDict, call: ApiCall) -> JSONDict | bool:
        _, plain, entities = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        target = self._editable(params)
        if target is None:
            return True
        chat, message = target
        if not any(k in message for k in ("document", "photo")):
            raise bad_request("there is no caption in the message to edit")
        old = (
            message.get("caption"),
            message.get("caption_entities", []),
            message.get("reply_markup"),
        )
        if old == (plain, entities, markup):
            raise bad_request(_NOT_MODIFIED)
        self._set_optional(message, "caption", plain)
        self._set_optional(message, "caption_entities", entities)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = self.now()
        self._record_edit("editMessageCaption", chat, message)
        return copy.deepcopy(message)

    async def _edit_message_reply_markup(self, params: JSONDict, call: ApiCall) -> JSONDict | bool:
        markup = self._check_markup(params.get("reply_markup"))
        target = self._editable(params)
        if target is None:
            return True
        chat, message = target
        if message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        self._set_optional(message, "reply_markup", markup)
        message["edit_date"] = self.now()
        self._record_edit("editMessageReplyMarkup", chat, message)
        return copy.deepcopy(message)

    @staticmethod
    def _set_optional(message: JSONDict, key: str, value: Any) -> None:
        if value:
            message[key] = value
        else:
            message.pop(key, None)

    def _delete_one(self, chat: ChatState, message_id: int) -> None:
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        own = message["from"]["id"] == self.bot_user["id"]
        if chat.is_group and not own and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        if self.now() - message["date"] > _DELETE_WINDOW:
            raise bad_request("message can't be deleted for everyone")
        del chat.messages[message_id]
        self.deleted.append((chat.id, message_id))

    async def _delete_message(self, params: JSONDict, call: ApiCall) -> bool:
        chat = self._visible_chat(params["chat_id"])
        self._delete_one(chat, params["message_id"])
        return True

    async def _delete_messages(self, params: JSONDict, call: ApiCall) -> bool:
        chat = self._visible_chat(params["chat_id"])
        ids = params["message_ids"]
        if not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 identifiers")
        for message_id in ids:
            try:
                self._delete_one(chat, int(message_id))
            except ApiError:
                continue  # Telegram skips messages it cannot delete
        return True

    # -- callbacks, actions, commands --------------------------------------------------------

    async def _answer_callback_query(self, params: JSONDict, call: ApiCall) -> bool:
        query_id = params["callback_query_id"]
        query = self._callback_queries.get(query_id)
        if query is None or query.get("answered"):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        text = params.get("text")
        if text is not None and utf16_len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                user_id=query["from"]["id"],
                data=query.get("data"),
                message_id=(query.get("message") or {}).get("message_id"),
                text=text,
                show_alert=bool(params.get("show_alert")),
                url=params.get("url"),
                cache_time=params.get("cache_time"),
            )
        )
        return True

    async def _send_chat_action(self, params: JSONDict, call: ApiCall) -> bool:
        chat = self._chat_for_send(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat.id, params["action"]))
        return True

    def _scope_key(self, params: JSONDict) -> CommandScopeKey:
        scope = params.get("scope") or {"type": "default"}
        kind = scope.get("type")
        language = self._language(params.get("language_code"))
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return (kind, None, None, language)
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self._visible_chat(scope.get("chat_id", 0))
            user_id = None
            if kind == "chat_member":
                if not isinstance(scope.get("user_id"), int):
                    raise bad_request("user not found")
                user_id = scope["user_id"]
            return (kind, chat.id, user_id, language)
        raise bad_request("can't parse BotCommandScope JSON object: unknown scope type")

    async def _set_my_commands(self, params: JSONDict, call: ApiCall) -> bool:
        commands: list[Any] = params["commands"]
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._scope_key(params)
        if commands:
            self.commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSONDict, call: ApiCall) -> list[JSONDict]:
        return copy.deepcopy(self.commands.get(self._scope_key(params), []))

    async def _delete_my_commands(self, params: JSONDict, call: ApiCall) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: JSONDict, call: ApiCall) -> bool:
        chat_id = None
        if "chat_id" in params:
            chat_id = self._visible_chat(params["chat_id"]).id
        button = params.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("commands", "web_app", "default"):
            raise bad_request("can't parse menu button JSON object: unknown type")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat_id = self._visible_chat(params["chat_id"]).id if "chat_id" in params else None
        stored = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return copy.deepcopy(stored) if stored else {"type": "commands"}

    def _profile_setter(self, field: str) -> MethodHandler:
        async def setter(params: JSONDict, call: ApiCall) -> bool:
            language = self._language(params.get("language_code"))
            value = params.get(field)
            if value:
                self.bot_profile[(field, language)] = value
            else:
                self.bot_profile.pop((field, language), None)
            return True

        return setter

    def _profile_getter(self, field: str) -> MethodHandler:
        async def getter(params: JSONDict, call: ApiCall) -> JSONDict:
            language = self._language(params.get("language_code"))
            value = self.bot_profile.get((field, language), self.bot_profile.get((field, ""), ""))
            if field == "name" and not value:
                value = self.bot_user["first_name"]
            return {field: value}

        return getter

    # -- chats and files ---------------------------------------------------------------------

    async def _get_chat(self, params: JSONDict, call: ApiCall) -> JSONDict:
        chat = self._visible_chat(params["chat_id"])
        if chat.is_group and chat.bot_status == "kicked":
            self._chat_for_send(chat.id)  # raises Telegram's 403
        info: JSONDict = {
            **chat.as_chat(),
            "accent_color_id": chat.id % 7 if chat.id > 0 else 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }
        if chat.is_group:
            info["permissions"] = {"can_send_messages": True}
        return info

    async def _get_file(self, params: JSONDict, call: ApiCall) -> JSONDict:
        stored = self._files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        self._assign_path(stored)
        return stored.as_file()
