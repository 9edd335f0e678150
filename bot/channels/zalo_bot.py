"""Zalo Bot Platform adapter: HTTP client, inbound model, polling, webhook and sender.

The Bot Platform looks like Telegram's Bot API but differs where it hurts: `getUpdates`
hands out ONE update per call with no offset (the server forgets it once read), an empty
long poll is an error (408) delivered with HTTP 200, dates are milliseconds, and there are
no buttons, so choices are rendered as numbers the officer types back.

The bot token sits in the URL path: no URL built here is ever logged or put in an
exception message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web

from bot.channels.base import (
    BadMessageError,
    Button,
    ChannelError,
    ChannelKind,
    OutgoingMessage,
    PermanentChannelError,
    RateLimitedError,
    RateLimits,
    Recipient,
    SendResult,
    TransientChannelError,
)
from bot.domain.actions import Verb, parse_action
from bot.domain.text import split_text, utf16_len
from bot.domain.textnorm import fold

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
TEXT_LIMIT = 2000
"""sendMessage text and sendPhoto caption, in UTF-16 code units."""

SECRET_MIN, SECRET_MAX = 8, 256
SECRET_HEADER = "X-Bot-Api-Secret-Token"

# Zalo publishes no limits; these mirror Telegram's documented ones as a polite ceiling.
DEFAULT_ZALO_LIMITS = RateLimits(
    global_per_second=10.0, per_chat_per_second=1.0, per_group_per_minute=20.0
)

# Codes OpenClaw retries; Zalo documents none of them as retryable, so this is a guess.
_TRANSIENT_CODES = frozenset({408, 425, 429, 500, 502, 503, 504})
_RETRY_AFTER_TEXT = re.compile(r"retry after (\d+(?:\.\d+)?)", re.IGNORECASE)
_UNREACHABLE_TEXT = re.compile(
    r"chat not found|user not found|not found|blocked|not exist|kicked|"
    r"không tồn tại|chặn|forbidden",
    re.IGNORECASE,
)


class ChannelConfigError(ChannelError):
    """Our side is misconfigured (bad token, wrong API base, webhook conflict).

    Distinct from `PermanentChannelError`: no recipient is at fault, so the outbox must not
    deactivate anyone; an operator has to fix the settings.
    """


class DownloadError(Exception):
    """A file offered by a user could not be fetched; the handler apologises politely."""


class DownloadTooLargeError(DownloadError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"file is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class DownloadTimeoutError(DownloadError):
    pass


class _ApiFailure(Exception):
    """An `ok: false` envelope, kept internal so `get_updates` can see the raw 408."""

    def __init__(self, method: str, code: int, description: str, retry_after: float | None) -> None:
        super().__init__(f"Zalo {method} failed: {code} {description}".strip())
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after


def classify_bot_error(
    method: str, code: int, description: str, retry_after: float | None = None
) -> ChannelError:
    """Map a Bot Platform error to the channel port's vocabulary.

    Zalo documents only 401 (bad token) and 408 (empty poll); the rest follows Telegram,
    which the platform imitates, and OpenClaw's retry set.
    """
    message = f"Zalo {method} failed: {code} {description}".strip()
    if code == 401:
        return ChannelConfigError(message)
    if code == 409:  # Telegram's "webhook is active" / "other getUpdates" conflicts
        return ChannelConfigError(message)
    if code == 429 or retry_after is not None:
        if retry_after is not None:
            return RateLimitedError(retry_after, message)
        return TransientChannelError(message)
    if code in _TRANSIENT_CODES or code >= 500:
        return TransientChannelError(message)
    if code in (400, 403, 404):
        if code == 403 or _UNREACHABLE_TEXT.search(description):
            return PermanentChannelError(message)
        if code == 404:
            # 404 without a chat in the text: an unknown method, i.e. a wrong API base.
            return ChannelConfigError(message)
        return BadMessageError(message)
    if 400 <= code < 500:
        return BadMessageError(message)
    # Unknown codes: retrying with backoff costs little, dropping a reminder costs a lot.
    return TransientChannelError(message)


def _retry_hint(
    body: Mapping[str, Any] | None, header: str | None, description: str
) -> float | None:
    if body is not None:
        params = body.get("parameters")
        if isinstance(params, Mapping):
            value = params.get("retry_after")
            if isinstance(value, int | float) and value >= 0:
                return float(value)
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    match = _RETRY_AFTER_TEXT.search(description)
    return float(match.group(1)) if match else None


# --------------------------------------------------------------------------- inbound model


class ZaloEvent(StrEnum):
    TEXT = "message.text.received"
    IMAGE = "message.image.received"
    STICKER = "message.sticker.received"
    VOICE = "message.voice.received"
    LINK = "message.link.received"
    REACTION = "message.reaction.received"
    UNSUPPORTED = "message.unsupported.received"


class ZaloChatType(StrEnum):
    PRIVATE = "PRIVATE"
    GROUP = "GROUP"


@dataclass(frozen=True, slots=True)
class ZaloInbound:
    """One update from Zalo, flattened; any field may be missing on unknown events."""

    event_name: str
    message_id: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    sender_is_bot: bool = False
    chat_id: str | None = None
    chat_type: ZaloChatType = ZaloChatType.PRIVATE
    date: datetime | None = None
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    sticker: str | None = None
    url: str | None = None
    voice_url: str | None = None
    message_type: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_unsupported(self) -> bool:
        """Zalo withheld the content (documents, contact cards, protected senders)."""
        return self.event_name == ZaloEvent.UNSUPPORTED

    @property
    def is_group(self) -> bool:
        return self.chat_type is ZaloChatType.GROUP


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def ms_to_datetime(value: Any) -> datetime | None:
    """Zalo dates are epoch milliseconds (Telegram's are seconds); None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    # Guard against a seconds value slipping in: 1e11 ms is 1973, 1e11 s is year 5138.
    seconds = value / 1000 if value >= 1e11 else float(value)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_update(body: Any) -> ZaloInbound | None:
    """Read an update in either envelope: flat `{event_name, message}` (live webhooks)
    or wrapped `{ok, result: {...}}` (the docs and getUpdates). Never raises."""
    if not isinstance(body, Mapping):
        return None
    if "result" in body and "message" not in body:
        if body.get("ok") is False:
            return None
        body = body.get("result")
        if not isinstance(body, Mapping):
            return None
    message = body.get("message")
    event_name = _str(body.get("event_name"))
    if not isinstance(message, Mapping):
        if event_name is None:
            return None
        message = {}
    sender = message.get("from")
    sender = sender if isinstance(sender, Mapping) else {}
    chat = message.get("chat")
    chat = chat if isinstance(chat, Mapping) else {}
    sender_id = _str(sender.get("id"))
    chat_id = _str(chat.get("id")) or sender_id
    raw_type = _str(chat.get("chat_type"))
    if raw_type is not None and raw_type.upper() in ZaloChatType.__members__:
        chat_type = ZaloChatType(raw_type.upper())
    elif chat_id is not None and sender_id is not None and chat_id != sender_id:
        chat_type = ZaloChatType.GROUP
    else:
        chat_type = ZaloChatType.PRIVATE
    photo = _str(message.get("photo_url")) or _str(message.get("photo"))
    if event_name is None:
        # The doc sample omits event_name; infer the common cases from the content.
        if photo:
            event_name = ZaloEvent.IMAGE.value
        elif message.get("text") is not None:
            event_name = ZaloEvent.TEXT.value
        else:
            event_name = ""
    return ZaloInbound(
        event_name=event_name,
        message_id=_str(message.get("message_id")),
        sender_id=sender_id,
        sender_name=_str(sender.get("display_name")) or _str(sender.get("name")),
        sender_is_bot=sender.get("is_bot") is True,
        chat_id=chat_id,
        chat_type=chat_type,
        date=ms_to_datetime(message.get("date")),
        text=_str(message.get("text")),
        photo_url=photo,
        caption=_str(message.get("caption")),
        sticker=_str(message.get("sticker")),
        url=_str(message.get("url")),
        voice_url=_str(message.get("voice_url")),
        message_type=_str(message.get("message_type")),
        raw=dict(body),
    )


# ------------------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class ZaloBotInfo:
    id: str
    account_name: str | None
    account_type: str | None
    can_join_groups: bool
    display_name: str | None


@dataclass(frozen=True, slots=True)
class ZaloWebhookInfo:
    url: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ZaloSent:
    message_id: str
    date: datetime | None


class ZaloBotClient:
    """Thin typed wrapper over `{base}/bot{TOKEN}/{method}`; raises `ChannelError`s.

    Pass a shared `session` in production; without one the client owns a session and
    must be closed (`await client.close()` or `async with`).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        session: aiohttp.ClientSession | None = None,
        *,
        request_timeout: float = 20.0,
        poll_grace: float = 10.0,
    ) -> None:
        if not token or any(ch.isspace() or ch in "/?#" for ch in token):
            raise ChannelConfigError("Zalo bot token is empty or malformed")
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._session = session
        self._owns_session = session is None
        self._request_timeout = request_timeout
        self._poll_grace = poll_grace

    def __repr__(self) -> str:
        return "ZaloBotClient(<token hidden>)"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _envelope(
        self, method: str, params: Mapping[str, Any] | None, request_timeout: float | None
    ) -> Mapping[str, Any]:
        """POST and return an `ok: true` envelope; raise `_ApiFailure` or transport errors."""
        try:
            async with self.session.post(
                self._prefix + method,
                json=dict(params or {}),
                timeout=aiohttp.ClientTimeout(total=request_timeout or self._request_timeout),
            ) as resp:
                status = resp.status
                retry_header = resp.headers.get("Retry-After")
                raw = await resp.read()
        except TimeoutError:
            raise TransientChannelError(f"Zalo {method}: request timed out") from None
        except aiohttp.ClientError as exc:
            # str(exc) may embed the request URL, and with it the token.
            raise TransientChannelError(
                f"Zalo {method}: network error ({type(exc).__name__})"
            ) from None
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if isinstance(body, Mapping) and "ok" in body:
            if body["ok"] is True:
                return body
            code_value = body.get("error_code")
            code = code_value if isinstance(code_value, int) else status
            description = str(body.get("description") or "")
            hint = _retry_hint(body, retry_header, description)
            raise _ApiFailure(method, code, description, hint)
        # No envelope: judge by the HTTP status alone (a proxy or gateway answered).
        code = status if status != 200 else 502
        raise _ApiFailure(
            method,
            code,
            f"HTTP {status} without a Zalo envelope",
            _retry_hint(None, retry_header, ""),
        )

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        request_timeout: float | None = None,
    ) -> Any:
        """Call any method; returns `result` (None when the reply carries only `ok`)."""
        try:
            body = await self._envelope(method, params, request_timeout)
        except _ApiFailure as failure:
            raise classify_bot_error(
                method, failure.code, failure.description, failure.retry_after
            ) from None
        return body.get("result")

    async def get_me(self) -> ZaloBotInfo:
        result = await self.call("getMe")
        if not isinstance(result, Mapping) or _str(result.get("id")) is None:
            raise TransientChannelError("Zalo getMe: malformed result")
        return ZaloBotInfo(
            id=_str(result.get("id")) or "",
            account_name=_str(result.get("account_name")),
            account_type=_str(result.get("account_type")),
            can_join_groups=result.get("can_join_groups") is True,
            display_name=_str(result.get("display_name")),
        )

    # `timeout` is the API's long-poll parameter, not a cancellation deadline.
    async def get_updates(self, timeout: int = 30) -> ZaloInbound | None:  # noqa: ASYNC109
        """Long-poll for ONE update; None when nothing arrived within `timeout` seconds.

        The server forgets an update once it has answered with it: the caller must finish
        handling it (or store it durably) before polling again.
        """
        try:
            # OpenClaw sends the timeout as a string, as the docs' parameter table says.
            body = await self._envelope(
                "getUpdates", {"timeout": str(timeout)}, timeout + self._poll_grace
            )
        except _ApiFailure as failure:
            if failure.code == 408:
                return None
            raise classify_bot_error(
                "getUpdates", failure.code, failure.description, failure.retry_after
            ) from None
        result = body.get("result")
        if result is None:
            return None
        update = parse_update(result)
        if update is None:
            logger.warning("Zalo getUpdates returned an unreadable update; skipped")
        return update

    async def set_webhook(self, url: str, secret_token: str) -> ZaloWebhookInfo:
        if not SECRET_MIN <= len(secret_token) <= SECRET_MAX:
            raise ChannelConfigError(
                f"Zalo webhook secret must be {SECRET_MIN}-{SECRET_MAX} characters"
            )
        try:
            result = await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        except (BadMessageError, PermanentChannelError) as exc:
            # A refused URL (not https, private host) is a settings problem, not a message's.
            raise ChannelConfigError(str(exc)) from None
        return _webhook_info(result, fallback_url=url)

    async def delete_webhook(self) -> ZaloWebhookInfo:
        return _webhook_info(await self.call("deleteWebhook"), fallback_url="")

    async def get_webhook_info(self) -> ZaloWebhookInfo:
        return _webhook_info(await self.call("getWebhookInfo"), fallback_url="")

    async def send_message(
        self, chat_id: str, text: str, parse_mode: str | None = None
    ) -> ZaloSent:
        if not 1 <= utf16_len(text) <= TEXT_LIMIT:
            raise BadMessageError(f"Zalo text must be 1-{TEXT_LIMIT} UTF-16 units")
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode is not None:
            if parse_mode not in ("markdown", "html"):
                raise BadMessageError("Zalo parse_mode must be 'markdown' or 'html'")
            params["parse_mode"] = parse_mode
        return _sent(await self.call("sendMessage", params), "sendMessage")

    async def send_photo(
        self, chat_id: str, photo_url: str, caption: str | None = None
    ) -> ZaloSent:
        """Zalo fetches `photo_url` itself: it must be public http(s), no upload exists."""
        if not photo_url.startswith(("http://", "https://")):
            raise BadMessageError("The photo must start with http:// or https://")
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            if utf16_len(caption) > TEXT_LIMIT:
                raise BadMessageError(f"Zalo caption must be at most {TEXT_LIMIT} UTF-16 units")
            params["caption"] = caption
        return _sent(await self.call("sendPhoto", params), "sendPhoto")

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})


def _webhook_info(result: Any, *, fallback_url: str) -> ZaloWebhookInfo:
    if not isinstance(result, Mapping):
        return ZaloWebhookInfo(url=fallback_url, updated_at=None)
    return ZaloWebhookInfo(
        url=_str(result.get("url")) or "", updated_at=ms_to_datetime(result.get("updated_at"))
    )


def _sent(result: Any, method: str) -> ZaloSent:
    if not isinstance(result, Mapping) or _str(result.get("message_id")) is None:
        # Sent or not? We cannot tell; retrying risks a duplicate, but a lost reminder is worse.
        raise TransientChannelError(f"Zalo {method}: reply without message_id")
    return ZaloSent(
        message_id=_str(result.get("message_id")) or "", date=ms_to_datetime(result.get("date"))
    )


# ------------------------------------------------------------------ polling and webhooks

UpdateHandler = Callable[[ZaloInbound], Awaitable[None]]


async def poll(
    client: ZaloBotClient,
    handle: UpdateHandler,
    stop: asyncio.Event,
    *,
    poll_timeout: int = 30,
    initial_backoff: float = 1.0,
    max_backoff: float = 60.0,
) -> None:
    """Long-poll until `stop` is set, awaiting `handle` for each update before the next poll.

    An in-flight poll is never cancelled: Zalo has already dequeued whatever it returns, so
    stopping waits for it (at most `poll_timeout` seconds) and handles it. Handler errors
    are logged and the loop goes on; a bad token (`ChannelConfigError`) ends the loop.
    """
    backoff = initial_backoff
    while not stop.is_set():
        try:
            update = await client.get_updates(poll_timeout)
        except ChannelConfigError:
            raise
        except ChannelError as exc:
            wait = max(backoff, exc.retry_after) if isinstance(exc, RateLimitedError) else backoff
            logger.warning("Zalo polling failed (%s); retrying in %.1f s", exc, wait)
            await _sleep_unless_stopped(stop, wait)
            backoff = min(max_backoff, backoff * 2)
            continue
        backoff = initial_backoff
        if update is None:
            continue
        try:
            await handle(update)
        except Exception:
            logger.exception(
                "Zalo update handler failed (event %s, message %s)",
                update.event_name,
                update.message_id,
            )


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def verify_secret(header_value: str | None, secret: str) -> bool:
    """Zalo sends the webhook secret verbatim (no signature); compare in constant time."""
    if header_value is None or not secret:
        return False
    return hmac.compare_digest(header_value.encode(), secret.encode())


def webhook_handler(
    secret: str, handle: UpdateHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp view for the Zalo webhook.

    `handle` is awaited before answering, so it should only persist or enqueue: Zalo
    documents no redelivery, and a 2xx is our receipt that the update is safe.
    """

    async def view(request: web.Request) -> web.StreamResponse:
        if not verify_secret(request.headers.get(SECRET_HEADER), secret):
            logger.warning("Zalo webhook call with a wrong secret token rejected")
            return web.Response(status=401)
        try:
            body = await request.json(loads=json.loads)
        except ValueError:
            return web.Response(status=400)
        update = parse_update(body)
        if update is None:
            return web.json_response({"ok": True})
        try:
            await handle(update)
        except Exception:
            logger.exception("Zalo webhook handler failed (event %s)", update.event_name)
            return web.Response(status=500)
        return web.json_response({"ok": True})

    return view


# ---------------------------------------------------------------- downloading user files

_CHUNK = 64 * 1024


async def fetch_photo(
    session: aiohttp.ClientSession,
    url: str,
    max_bytes: int,
    timeout: float = 30.0,  # noqa: ASYNC109 - handed to aiohttp, which bounds the whole exchange
    *,
    default_name: str = "photo",
) -> tuple[bytes, str, str]:
    """Download a user's photo or file: (bytes, content type, file name).

    Zalo hands out CDN URLs on hosts it does not document, so any http(s) host is
    followed. The body is streamed and abandoned as soon as it passes `max_bytes`, and
    the whole exchange is bounded by `timeout` seconds.
    """
    if not url.startswith(("http://", "https://")):
        raise DownloadError("only http(s) URLs can be downloaded")
    try:
        async with session.get(
            url, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=True
        ) as resp:
            if resp.status != 200:
                raise DownloadError(f"download answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > max_bytes:
                raise DownloadTooLargeError(max_bytes)
            data = bytearray()
            async for chunk in resp.content.iter_chunked(_CHUNK):
                data += chunk
                if len(data) > max_bytes:
                    raise DownloadTooLargeError(max_bytes)
            content_type = resp.content_type or "application/octet-stream"
            disposition = resp.content_disposition
            header_name = disposition.filename if disposition is not None else None
            name = _file_name(header_name, resp.url.path, content_type, default_name)
    except TimeoutError:
        raise DownloadTimeoutError(f"download took longer than {timeout:g} s") from None
    except aiohttp.ClientError as exc:
        raise DownloadError(f"download failed ({type(exc).__name__})") from None
    return bytes(data), content_type, name


def _file_name(header_name: str | None, path: str, content_type: str, default: str) -> str:
    for candidate in (header_name, unquote(PurePosixPath(urlsplit(path).path).name)):
        if candidate:
            # Keep only the last path component: the name is user-controlled.
            cleaned = candidate.replace("\\", "/").rsplit("/", 1)[-1].strip()
            if cleaned and cleaned not in (".", ".."):
                if "." not in cleaned:
                    cleaned += mimetypes.guess_extension(content_type) or ""
                return cleaned[:200]
    return default + (mimetypes.guess_extension(content_type) or "")


# -------------------------------------------------------------------- rendering & sender

ChoicesFormatter = Callable[[Sequence[tuple[int, str]]], str]


def numbered_choices(
    prefix: str = "Trả lời:", *, dash: str = " – ", separator: str = " · "
) -> ChoicesFormatter:
    """The choices line, e.g. "Trả lời: 1 – ✅ Đã hoàn thành · 2 – ⏳ Xin gia hạn".

    The service passes a translated `prefix`; the default is the Vietnamese wording.
    """

    def render(choices: Sequence[tuple[int, str]]) -> str:
        body = separator.join(f"{number}{dash}{label}" for number, label in choices)
        return f"{prefix} {body}" if prefix else body

    return render


# A reminder's answers keep one number wherever they appear, so "1" always means done, also
# under a cooperating unit's reminder that offers only 🔄 (numbered 2).
REPORT_NUMBERS: Mapping[Verb, int] = {Verb.DONE: 1, Verb.PROGRESS: 2, Verb.EXTEND: 3}


def verb_for_number(number: int) -> Verb | None:
    """What a bare number answers on a reminder: 1 done, 2 in progress, 3 extension."""
    return next((verb for verb, n in REPORT_NUMBERS.items() if n == number), None)


def _numbered(button: Button) -> bool:
    # Other verbs (an admin's review, the notice import) need a reply Zalo cannot route back
    # to its message: they are not offered as numbers.
    action = parse_action(button.data)
    return action is None or action.verb in REPORT_NUMBERS or action.verb is Verb.PICK


def number_buttons(buttons: Iterable[Iterable[Button]]) -> list[tuple[int, Button]]:
    """Buttons row by row, numbered from 1: the numbers an officer replies with. A
    reminder's answers keep their fixed numbers (`REPORT_NUMBERS`)."""
    flat = [button for row in buttons for button in row if _numbered(button)]
    actions = [parse_action(button.data) for button in flat]
    fixed = [REPORT_NUMBERS.get(a.verb) if a is not None else None for a in actions]
    if flat and all(n is not None for n in fixed) and len(set(fixed)) == len(fixed):
        return sorted(((n, b) for n, b in zip(fixed, flat, strict=True) if n), key=lambda p: p[0])
    return list(enumerate(flat, start=1))


_CHOICE_REPLY = re.compile(r"^(?:so|chon|lua chon|phuong an|#)?\s*(\d{1,3})\s*[.)]?$")


def choice_number(reply: str) -> int | None:
    """The number in a numbered reply ("2", "số 2", "2."), or None for anything else."""
    match = _CHOICE_REPLY.match(fold(reply))
    return int(match.group(1)) if match is not None else None


def match_choice(reply: str, buttons: Iterable[Iterable[Button]]) -> Button | None:
    """The button an officer picked by typing its number ("2", "số 2", "2."), if any."""
    wanted = choice_number(reply)
    if wanted is None:
        return None
    for number, button in number_buttons(buttons):
        if number == wanted:
            return button
    return None


def render_plain(message: OutgoingMessage, choices: ChoicesFormatter) -> str:
    """Title on its own line, the text, then the numbered choices after a blank line."""
    blocks: list[str] = []
    head = "\n".join(part for part in (message.title, message.text) if part)
    if head:
        blocks.append(head)
    # Zalo cannot carry files: name them so the reader knows they exist.
    blocks.extend(f"📎 {file.file_name}" for file in message.files)
    numbered = number_buttons(message.buttons)
    if numbered:
        blocks.append(choices([(number, button.label) for number, button in numbered]))
    return "\n\n".join(blocks)


class ZaloBotSender:
    """`ChannelSender` for the Zalo Bot Platform: plain text, numbered choices, 2000 units.

    A split message is sent part by part; if a later part fails, the earlier ones were
    delivered and a retry of the whole message repeats them.
    """

    # Files are named in the text (render_plain), never sent.
    supports_documents = False

    def __init__(
        self,
        client: ZaloBotClient,
        *,
        limits: RateLimits = DEFAULT_ZALO_LIMITS,
        choices: ChoicesFormatter | None = None,
        text_limit: int = TEXT_LIMIT,
    ) -> None:
        self.kind: ChannelKind = ChannelKind.ZALO
        self.limits: RateLimits = limits
        self._client = client
        self._choices = choices or numbered_choices()
        self._text_limit = min(text_limit, TEXT_LIMIT)

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult:
        if recipient.channel is not ChannelKind.ZALO:
            raise BadMessageError(f"ZaloBotSender cannot send to {recipient.channel}")
        parts = split_text(render_plain(message, self._choices), self._text_limit)
        if not parts:
            raise BadMessageError("empty message")
        ids: list[str] = []
        for part in parts:
            sent = await self._client.send_message(recipient.chat_id, part)
            ids.append(sent.message_id)
        return SendResult(message_ids=tuple(ids))
