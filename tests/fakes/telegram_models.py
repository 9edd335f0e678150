"""Records the fake Telegram server keeps, shaped for assertions in tests and benchmarks."""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

JSONDict = dict[str, Any]

__all__ = [
    "AlbumItem",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatState",
    "FakeStats",
    "Feed",
    "FileIds",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "UserState",
    "WebhookDelivery",
]


class ApiError(Exception):
    """An error reply; the HTTP status matters because aiogram maps exceptions from it."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content: bytes
    content_type: str


@dataclass(eq=False)
class ApiCall:
    """One request to the fake, in arrival order; status/response are filled when answered."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    http_method: str = "POST"
    source: str = "http"  # "http", or "webhook_reply" for a method returned by a webhook
    status: int = 0
    response: JSONDict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        description = self.response.get("description")
        return description if isinstance(description, str) else None


@dataclass
class SentMessage:
    """A message the bot created, as the user sees it (`text` is after HTML parsing)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None  # text or caption as displayed, markup removed
    raw_text: str | None  # text or caption exactly as the bot sent it
    parse_mode: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    reply_to: int | None
    date: int
    message: JSONDict  # the Message object returned to the bot
    document_name: str | None = None
    document_bytes: bytes | None = None
    document_mime: str | None = None
    photo_bytes: bytes | None = None
    file_id: str | None = None
    media_group_id: str | None = None
    # (chat, kind, raw text, sha1 of the file): what makes two messages look identical.
    content_key: tuple[int, str, str, str] = field(default=(0, "", "", ""), repr=False)

    @property
    def buttons(self) -> list[JSONDict]:
        """Inline keyboard buttons, flattened row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    user_id: int
    data: str | None
    message_id: int | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST attempt of an update to the webhook."""

    update_id: int
    url: str
    attempt: int
    status: int | None  # None when the connection failed
    ok: bool
    error: str | None
    secret_header: str | None


@dataclass(frozen=True)
class AlbumItem:
    """One element of `user_sends_album`: a photo (default) or a document."""

    content: bytes
    kind: str = "photo"
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # document, photo, sticker, ...
    content: bytes
    size: int
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str | None = None
    width: int | None = None
    height: int | None = None

    def as_file(self) -> JSONDict:
        result: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_path is not None:
            result["file_path"] = self.file_path
        return result


@dataclass
class UserState:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    started: bool = False  # has written to the bot, so the bot may write to them
    blocked: bool = False

    def as_user(self) -> JSONDict:
        user: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class ChatState:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    username: str | None = None
    user: UserState | None = None  # the other side of a private chat
    bot_status: str = "member"  # member, administrator, kicked, left
    messages: dict[int, JSONDict] = field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def as_chat(self) -> JSONDict:
        if self.user is not None:
            chat: JSONDict = {"id": self.id, "first_name": self.user.first_name}
            if self.user.last_name:
                chat["last_name"] = self.user.last_name
            if self.user.username:
                chat["username"] = self.user.username
            chat["type"] = "private"
            return chat
        chat = {"id": self.id, "title": self.title or str(self.id), "type": self.type}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class FakeStats:
    """Counters for benchmarks; the fake never judges them."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)  # by HTTP status
    messages_accepted: int = 0
    rate_limited: int = 0  # 429s caused by the flood limits (not by fail_next)
    faults_injected: int = 0
    # Accepted messages whose chat, kind and content equal an earlier one. Counted, never refused:
    # two assignments with the same wording legitimately produce identical reminders.
    repeated_messages: int = 0
    # Repeats of a message whose reply the bot never got (fail_next(..., delivered=True)): the
    # retry after a lost reply that shows the user the same reminder twice.
    duplicates: int = 0
    updates_queued: int = 0
    updates_polled: int = 0
    webhook_delivered: int = 0
    webhook_failed_attempts: int = 0
    webhook_dropped: int = 0


_PREFIXES = {
    "document": "BQACAgIAAxkBAAI",
    "photo": "AgACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
}


class FileIds:
    """file_id / file_unique_id strings shaped like Telegram's (base64url, kind prefix)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new(self, kind: str) -> tuple[str, str]:
        number = next(self._counter)
        raw = number.to_bytes(4, "big") + secrets.token_bytes(35)
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        unique = base64.urlsafe_b64encode(number.to_bytes(3, "big") + secrets.token_bytes(6))
        return _PREFIXES.get(kind, "BQACAgIAAxkBAAI") + body, "AgAD" + unique.decode()


T = TypeVar("T")


class Feed(Generic[T]):
    """An append-only list that tests can await; each item is handed to one waiter only.

    Handing out each item once (FIFO) lets a test await "the next reply to chat X" without
    picking up a reply it already checked, and without sleeping in a loop.
    """

    def __init__(self, describe: Callable[[T], str]) -> None:
        self.items: list[T] = []
        self._claimed: set[int] = set()
        self._waiters: list[tuple[Callable[[T], bool], asyncio.Future[T]]] = []
        self._describe = describe

    def publish(self, item: T) -> None:
        self.record(item)
        self.announce(item)

    def record(self, item: T) -> None:
        """Append without waking waiters (e.g. a call on arrival, before it is answered)."""
        self.items.append(item)

    def announce(self, item: T) -> None:
        """Offer a recorded item to the waiters, oldest waiter first."""
        index = next(i for i in range(len(self.items) - 1, -1, -1) if self.items[i] is item)
        for waiter in list(self._waiters):
            predicate, future = waiter
            if future.done():
                self._waiters.remove(waiter)
                continue
            if predicate(item):
                self._waiters.remove(waiter)
                self._claimed.add(index)
                future.set_result(item)
                return

    async def wait(self, predicate: Callable[[T], bool], within: float, what: str) -> T:
        for index, item in enumerate(self.items):
            if index not in self._claimed and predicate(item):
                self._claimed.add(index)
                return item
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, within)
        except TimeoutError:
            seen = "; ".join(self._describe(item) for item in self.items[-10:]) or "nothing"
            raise TimeoutError(f"no {what} within {within} s; last seen: {seen}") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
