"""Zalo Official Account (API v3) adapter: OAuth token keeping, sending, webhook events.

What makes OA delicate is the refresh token: it lives three months but is SINGLE-USE,
every refresh returns a new one. Spend it twice (two concurrent sends, two processes, a
crash between refresh and save) and the OA is locked out until an admin re-consents. So
refreshes are serialised by a lock, the new pair is saved durably before the new access
token is used, and the store is re-read before refreshing in case another process did.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import mimetypes
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import aiohttp
from aiohttp import web

from bot.channels.base import (
    BadMessageError,
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
from bot.channels.zalo_bot import (
    TEXT_LIMIT,
    ChannelConfigError,
    ChoicesFormatter,
    fetch_photo,
    ms_to_datetime,
    numbered_choices,
    render_plain,
)
from bot.clock import Clock, SystemClock
from bot.domain.text import split_text, utf16_len

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE = "https://oauth.zaloapp.com"
SIGNATURE_HEADER = "X-ZEvent-Signature"

# Third-party figure: 20 sends/s per OA. There are no groups in the CS API.
DEFAULT_OA_LIMITS = RateLimits(
    global_per_second=10.0, per_chat_per_second=1.0, per_group_per_minute=20.0
)

# Error codes. Sources: Chatwoot (-216), a third-party guide (the rest); meanings marked
# "guess" are not documented anywhere we could read.
ERR_RATE_LIMIT = -32
ERR_INVALID_PARAM = -201
ERR_PARAM_TOO_LONG = -210  # guess: "parameter exceeds allowable limit"
ERR_OUT_OF_QUOTA = -211
ERR_NOT_FOLLOWER = -213
ERR_TOKEN_INVALID = -216
ERR_TOKEN_EXPIRED = -220
ERR_NO_INTERACTION_7D = -230
ERR_NIGHT_SENDING = -234
_TOKEN_ERRORS = frozenset({ERR_TOKEN_INVALID, ERR_TOKEN_EXPIRED})
_CONFIG_ERRORS = frozenset({-204, -205, -208, -209, -212, -215, -219, -224})  # guess: OA/app state
_UNREACHABLE_ERRORS = frozenset({ERR_NOT_FOLLOWER, -217, -227, -244})  # guess: the user side


class InteractionWindowClosed(PermanentChannelError):
    """The user has not written to the OA for 7 days: CS messages are refused (-230).

    Permanent for this message, not for the account: the next time the officer writes,
    the window opens again. The service may fall back to another channel.
    """

    def __init__(self, user_id: str, message: str = "") -> None:
        super().__init__(message or f"Zalo OA user {user_id} has not interacted in 7 days")
        self.user_id = user_id


# --------------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class OATokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OATokens:
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        if expires_at.tzinfo is None:
            raise ValueError("OA token expiry must carry a time zone")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]),
            expires_at=expires_at,
        )


class TokenStore(Protocol):
    """Where the OA tokens survive restarts. `save` must be durable when it returns:
    the refresh token it stores is the only one that will work next time."""

    async def load(self) -> OATokens | None: ...

    async def save(self, tokens: OATokens) -> None: ...


class MemoryTokenStore:
    """For tests and one-off scripts; tokens die with the process."""

    def __init__(self, tokens: OATokens | None = None) -> None:
        self.tokens = tokens
        self.saves = 0

    async def load(self) -> OATokens | None:
        return self.tokens

    async def save(self, tokens: OATokens) -> None:
        self.tokens = tokens
        self.saves += 1


class JsonFileTokenStore:
    """Tokens in a small JSON file (mode 0600), replaced atomically so a crash mid-write
    never leaves a half-written refresh token behind."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    async def load(self) -> OATokens | None:
        return await asyncio.to_thread(self._load)

    async def save(self, tokens: OATokens) -> None:
        await asyncio.to_thread(self._save, tokens)

    def _load(self) -> OATokens | None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return OATokens.from_json(json.loads(raw))
        except (KeyError, TypeError, ValueError):
            # Never guess a refresh token: a human must re-run the consent.
            raise ChannelConfigError(f"Zalo OA token file {self.path} is unreadable") from None

    def _save(self, tokens: OATokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".oa-tokens-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(tokens.to_json(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------------- client


def classify_oa_error(code: int, message: str, user_id: str | None = None) -> ChannelError:
    """Map an OA `error` code to the channel port's vocabulary."""
    text = f"Zalo OA error {code}: {message}".strip()
    if code == ERR_NO_INTERACTION_7D:
        return InteractionWindowClosed(user_id or "", text)
    if code == ERR_RATE_LIMIT:
        return RateLimitedError(1.0, text)  # no hint is given; 1 s at 20 req/s is generous
    if code in _TOKEN_ERRORS or code in _CONFIG_ERRORS:
        return ChannelConfigError(text)
    if code in _UNREACHABLE_ERRORS:
        return PermanentChannelError(text)
    if code in (ERR_INVALID_PARAM, ERR_PARAM_TOO_LONG):
        return BadMessageError(text)
    # Quota (-211), night hours (-234) and anything unknown: try again later.
    return TransientChannelError(text)


class ZaloOAClient:
    """Sends CS messages as the OA, keeping its OAuth tokens fresh."""

    def __init__(
        self,
        *,
        app_id: str,
        secret_key: str,
        token_store: TokenStore,
        session: aiohttp.ClientSession | None = None,
        api_base: str = DEFAULT_API_BASE,
        oauth_base: str = DEFAULT_OAUTH_BASE,
        clock: Clock | None = None,
        refresh_margin: timedelta = timedelta(minutes=10),
        request_timeout: float = 20.0,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self._oauth_base = oauth_base.rstrip("/")
        self._app_id = app_id
        self._secret_key = secret_key
        self._store = token_store
        self._session = session
        self._owns_session = session is None
        self._clock: Clock = clock or SystemClock()
        self._margin = refresh_margin
        self._timeout = request_timeout
        self._tokens: OATokens | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ZaloOAClient(app_id={self._app_id!r})"

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

    # -- tokens

    async def access_token(self, *, rejected: str | None = None) -> str:
        """A usable access token; refreshes when close to expiry or when the API just
        `rejected` this one. Serialised so one refresh token is never spent twice."""
        async with self._lock:
            tokens = self._tokens
            if tokens is None or rejected is not None or self._expiring(tokens):
                # Another process (or an earlier run) may have refreshed: trust the store.
                tokens = await self._store.load()
            if tokens is None:
                raise ChannelConfigError("no Zalo OA tokens stored: complete the OA consent first")
            if rejected is not None and tokens.access_token != rejected:
                self._tokens = tokens  # someone else already replaced the rejected token
                return tokens.access_token
            if rejected is not None or self._expiring(tokens):
                tokens = await self._refresh(tokens)
            self._tokens = tokens
            return tokens.access_token

    def _expiring(self, tokens: OATokens) -> bool:
        return tokens.expires_at - self._margin <= self._clock.now()

    async def _refresh(self, tokens: OATokens) -> OATokens:
        form = {
            "app_id": self._app_id,
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
        }
        try:
            async with self.session.post(
                f"{self._oauth_base}/v4/oa/access_token",
                data=form,
                headers={"secret_key": self._secret_key},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            # The server may have rotated the token anyway; nothing we can do but retry.
            raise TransientChannelError("Zalo OA token refresh timed out") from None
        except aiohttp.ClientError as exc:
            raise TransientChannelError(
                f"Zalo OA token refresh failed ({type(exc).__name__})"
            ) from None
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, Mapping) or not body.get("access_token"):
            if status >= 500 or not isinstance(body, Mapping):
                raise TransientChannelError(f"Zalo OA token refresh answered HTTP {status}")
            reason = body.get("error_description") or body.get("error_name") or body.get("error")
            # A spent or revoked refresh token: only a human re-consent fixes this.
            raise ChannelConfigError(f"Zalo OA token refresh refused: {reason}")
        try:
            lifetime = float(str(body.get("expires_in", "90000")))  # a string, e.g. "90000"
        except ValueError:
            lifetime = 90000.0
        new = OATokens(
            access_token=str(body["access_token"]),
            refresh_token=str(body.get("refresh_token") or tokens.refresh_token),
            expires_at=self._clock.now() + timedelta(seconds=lifetime),
        )
        # Save first: the old refresh token is already dead on Zalo's side.
        await self._store.save(new)
        logger.info("Zalo OA access token refreshed; valid for %.0f s", lifetime)
        return new

    # -- sending

    async def _post_cs(self, user_id: str, message: Mapping[str, Any]) -> str:
        payload = {"recipient": {"user_id": user_id}, "message": dict(message)}
        token = await self.access_token()
        for attempt in (1, 2):
            code, text, data = await self._post_json("/v3.0/oa/message/cs", token, payload)
            if code == 0:
                message_id = data.get("message_id") if isinstance(data, Mapping) else None
                if not isinstance(message_id, str | int):
                    raise TransientChannelError("Zalo OA reply without message_id")
                return str(message_id)
            if code in _TOKEN_ERRORS and attempt == 1:
                logger.info("Zalo OA rejected the access token (%s); refreshing once", code)
                token = await self.access_token(rejected=token)
                continue
            raise classify_oa_error(code, text, user_id)
        raise AssertionError("unreachable")

    async def _post_json(
        self, path: str, token: str, payload: Mapping[str, Any]
    ) -> tuple[int, str, Any]:
        try:
            async with self.session.post(
                self._api_base + path,
                json=payload,
                headers={"access_token": token},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError:
            raise TransientChannelError("Zalo OA request timed out") from None
        except aiohttp.ClientError as exc:
            raise TransientChannelError(f"Zalo OA network error ({type(exc).__name__})") from None
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, Mapping) or not isinstance(body.get("error"), int):
            raise TransientChannelError(f"Zalo OA answered HTTP {status} without an envelope")
        return int(body["error"]), str(body.get("message") or ""), body.get("data")

    async def send_text(
        self, user_id: str, text: str, *, quote_message_id: str | None = None
    ) -> str:
        """A CS text; quoting the officer's message keeps it a reply, not a proactive send."""
        if not 1 <= utf16_len(text) <= TEXT_LIMIT:
            raise BadMessageError(f"Zalo OA text must be 1-{TEXT_LIMIT} characters")
        message: dict[str, Any] = {"text": text}
        if quote_message_id:
            message["quote_message_id"] = quote_message_id
        return await self._post_cs(user_id, message)

    async def send_image(self, user_id: str, url: str, *, text: str | None = None) -> str:
        if not url.startswith(("http://", "https://")):
            raise BadMessageError("Zalo OA image must be an http(s) URL")
        message: dict[str, Any] = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": url}],
                },
            }
        }
        if text:
            message["text"] = text
        return await self._post_cs(user_id, message)

    async def download_attachment(
        self,
        url: str,
        max_bytes: int,
        timeout: float = 30.0,  # noqa: ASYNC109 - handed to aiohttp
    ) -> tuple[bytes, str, str]:
        """(bytes, content type, file name) of a file a user sent; see `fetch_photo`."""
        return await fetch_photo(self.session, url, max_bytes, timeout, default_name="file")


# ------------------------------------------------------------------------ inbound events


class OAEvent:
    USER_SEND_TEXT = "user_send_text"
    USER_SEND_IMAGE = "user_send_image"
    USER_SEND_FILE = "user_send_file"
    FOLLOW = "follow"


_HANDLED_EVENTS = frozenset(
    {OAEvent.USER_SEND_TEXT, OAEvent.USER_SEND_IMAGE, OAEvent.USER_SEND_FILE, OAEvent.FOLLOW}
)


@dataclass(frozen=True, slots=True)
class OAAttachment:
    type: str
    url: str | None
    name: str | None = None
    size: int | None = None
    mime: str | None = None


@dataclass(frozen=True, slots=True)
class ZaloOAInbound:
    event_name: str
    user_id: str
    msg_id: str | None
    text: str | None
    attachments: tuple[OAAttachment, ...]
    timestamp: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _opt_str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _attachment(item: Any) -> OAAttachment | None:
    if not isinstance(item, Mapping):
        return None
    payload = item.get("payload")
    payload = payload if isinstance(payload, Mapping) else {}
    name = _opt_str(payload.get("name"))
    size_raw = payload.get("size")
    try:
        size = int(size_raw) if size_raw is not None else None
    except (TypeError, ValueError):
        size = None
    # For files `payload.type` is an extension such as "pdf"; turn it into a MIME type.
    ext = _opt_str(payload.get("type"))
    mime = _opt_str(payload.get("mime")) or _opt_str(payload.get("mime_type"))
    if mime is None and name:
        mime = mimetypes.guess_type(name)[0]
    if mime is None and ext:
        mime = mimetypes.guess_type(f"x.{ext}")[0]
    kind = _opt_str(item.get("type")) or "file"
    if mime is None and kind == "image":
        mime = "image/jpeg"
    return OAAttachment(
        type=kind, url=_opt_str(payload.get("url")), name=name, size=size, mime=mime
    )


def parse_oa_event(body: Any) -> ZaloOAInbound | None:
    """The events the bot acts on; None for the rest (seen, delivered, OA echoes...)."""
    if not isinstance(body, Mapping):
        return None
    event_name = body.get("event_name")
    if event_name not in _HANDLED_EVENTS:
        return None
    # A follow names the user as `follower`; messages name them as `sender`.
    who = body.get("follower") if event_name == OAEvent.FOLLOW else body.get("sender")
    user_id = _opt_str(who.get("id")) if isinstance(who, Mapping) else None
    if user_id is None:
        return None
    message = body.get("message")
    message = message if isinstance(message, Mapping) else {}
    items = message.get("attachments")
    parsed = (_attachment(item) for item in (items if isinstance(items, list) else ()))
    attachments = tuple(a for a in parsed if a is not None)
    return ZaloOAInbound(
        event_name=str(event_name),
        user_id=user_id,
        msg_id=_opt_str(message.get("msg_id")),
        text=_opt_str(message.get("text")),
        attachments=attachments,
        timestamp=ms_to_datetime(body.get("timestamp")),
        raw=dict(body),
    )


def oa_signature(app_id: str, raw_body: bytes, timestamp: str, secret_key: str) -> str:
    """Zalo's webhook MAC: plain SHA-256 (not HMAC) over app_id + body + timestamp + key."""
    digest = hashlib.sha256()
    digest.update(app_id.encode())
    digest.update(raw_body)
    digest.update(timestamp.encode())
    digest.update(secret_key.encode())
    return digest.hexdigest()


def verify_oa_signature(raw_body: bytes, header_value: str | None, secret_key: str) -> bool:
    """Check `X-ZEvent-Signature` ("mac=<hex>" or bare hex) against the raw body."""
    if not header_value or not secret_key:
        return False
    try:
        body = json.loads(raw_body)
    except ValueError:
        return False
    if not isinstance(body, Mapping):
        return False
    app_id = _opt_str(body.get("app_id"))
    timestamp = _opt_str(body.get("timestamp"))
    if app_id is None or timestamp is None:
        return False
    given = header_value.strip()
    if given[:4].lower() == "mac=":
        given = given[4:]
    expected = oa_signature(app_id, raw_body, timestamp, secret_key)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


OAEventHandler = Callable[[ZaloOAInbound], Awaitable[None]]


def oa_webhook_handler(
    secret_key: str, handle: OAEventHandler, *, app_id: str | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp view for OA events. Zalo wants a 200 within about 2 s, so `handle`
    should persist or enqueue, not do the work; a failure answers 500 so Zalo retries."""

    async def view(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not verify_oa_signature(raw, request.headers.get(SIGNATURE_HEADER), secret_key):
            logger.warning("Zalo OA webhook call with a bad signature rejected")
            return web.Response(status=401)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=400)
        if not isinstance(body, dict):
            return web.Response(status=400)
        if app_id is not None and _opt_str(body.get("app_id")) != app_id:
            logger.warning("Zalo OA webhook call for another app rejected")
            return web.Response(status=403)
        event = parse_oa_event(body)
        if event is None:
            return web.Response(status=200)
        try:
            await handle(event)
        except Exception:
            logger.exception("Zalo OA webhook handler failed (event %s)", event.event_name)
            return web.Response(status=500)
        return web.Response(status=200)

    return view


# --------------------------------------------------------------------------------- sender


class ZaloOASender:
    """`ChannelSender` over OA CS messages; recipients are OA user ids (no groups)."""

    # Files are named in the text (render_plain), never sent.
    supports_documents = False

    def __init__(
        self,
        client: ZaloOAClient,
        *,
        limits: RateLimits = DEFAULT_OA_LIMITS,
        choices: ChoicesFormatter | None = None,
        text_limit: int = TEXT_LIMIT,
    ) -> None:
        self.kind: ChannelKind = ChannelKind.ZALO_OA
        self.limits: RateLimits = limits
        self._client = client
        self._choices = choices or numbered_choices()
        self._text_limit = min(text_limit, TEXT_LIMIT)

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult:
        if recipient.channel is not ChannelKind.ZALO_OA:
            raise BadMessageError(f"ZaloOASender cannot send to {recipient.channel}")
        if recipient.is_group:
            raise BadMessageError("Zalo OA CS messages go to users, not groups")
        parts = split_text(render_plain(message, self._choices), self._text_limit)
        if not parts:
            raise BadMessageError("empty message")
        ids: list[str] = []
        for index, part in enumerate(parts):
            # Quoting the officer's message (first part only) marks it as a reply.
            quote = message.reply_to if index == 0 else None
            ids.append(
                await self._client.send_text(recipient.chat_id, part, quote_message_id=quote)
            )
        return SendResult(message_ids=tuple(ids))
