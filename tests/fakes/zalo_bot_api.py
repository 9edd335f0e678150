"""A fake Zalo Bot Platform API on 127.0.0.1, for tests that talk real HTTP.

    async with FakeZaloBotServer(token="12345:secret") as zb:
        client = ZaloBotClient(zb.base_url, zb.token, session)
        await zb.user_sends_text("a1b2...", "xong")
        update = await client.get_updates(timeout=1)

Behaviour follows the documented platform (shared/reference/messaging-apis.md §1, §5).
Where Zalo documents nothing, the fake borrows Telegram's answer, which the platform
imitates; each such guess is marked GUESS below.

No pytest dependency: usable from benchmarks and scripts too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.clock import Clock, SystemClock

TEXT_LIMIT = 2000

# GUESS: Zalo documents no error for an unreachable chat; Telegram's wording and code.
BLOCKED_ERROR = (403, "Forbidden: bot was blocked by the user")
UNKNOWN_CHAT_ERROR = (400, "Bad Request: chat not found")
# GUESS: Telegram's answer to getUpdates while a webhook is set.
WEBHOOK_ACTIVE_ERROR = (
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook first",
)


def new_id() -> str:
    """Zalo ids are 20 hex characters."""
    return secrets.token_hex(10)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class HostedFile:
    content: bytes
    content_type: str
    name: str
    delay: float = 0.0
    chunked: bool = False
    chunk_delay: float = 0.0
    hits: int = 0


class FakeHTTPServer:
    """An aiohttp app on 127.0.0.1 with a random port, plus a tiny file host."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/files/{file_id}/{name}", self._serve_file)
        self._files: dict[str, HostedFile] = {}
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.base_url = ""
        self._client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        self._closing.set()
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def http(self) -> aiohttp.ClientSession:
        """The fake's own client session (for webhook deliveries)."""
        assert self._client is not None, "server not started"
        return self._client

    def host_file(
        self,
        content: bytes,
        content_type: str = "image/jpeg",
        name: str = "photo.jpg",
        *,
        delay: float = 0.0,
        chunked: bool = False,
        chunk_delay: float = 0.0,
    ) -> str:
        """Serve `content` at a URL on this server; `delay` stalls before the headers,
        `chunked` omits Content-Length, `chunk_delay` trickles the body."""
        file_id = new_id()
        self._files[file_id] = HostedFile(content, content_type, name, delay, chunked, chunk_delay)
        return f"{self.base_url}/files/{file_id}/{name}"

    def file_hits(self, url: str) -> int:
        file_id = urlsplit(url).path.split("/")[2]
        return self._files[file_id].hits

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        hosted = self._files.get(request.match_info["file_id"])
        if hosted is None:
            raise web.HTTPNotFound()
        hosted.hits += 1
        if hosted.delay:
            await asyncio.sleep(hosted.delay)
        if not hosted.chunked and not hosted.chunk_delay:
            return web.Response(body=hosted.content, content_type=hosted.content_type)
        resp = web.StreamResponse()
        resp.content_type = hosted.content_type
        if hosted.chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = len(hosted.content)
        await resp.prepare(request)
        step = 16 * 1024
        try:
            for offset in range(0, len(hosted.content), step):
                await resp.write(hosted.content[offset : offset + step])
                if hosted.chunk_delay:
                    await asyncio.sleep(hosted.chunk_delay)
            await resp.write_eof()
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass  # the client gave up (size limit or timeout): that is the point of the test
        return resp


@dataclass
class SentMessage:
    method: str
    chat_id: str
    message_id: str
    date_ms: int
    text: str | None = None
    photo: str | None = None
    caption: str | None = None
    sticker: str | None = None
    parse_mode: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    error_code: int
    description: str
    http_status: int
    retry_after: float | None


class FakeZaloBotServer(FakeHTTPServer):
    """The Zalo Bot API: `/bot{id}:{secret}/{method}`, POST + JSON, `{ok, result}`.

    Switches: `poll_timeout_scale` shrinks long polls (0.01 turns 30 s into 0.3 s);
    `allow_private_webhooks` lets setWebhook accept http://127.0.0.1 so tests can
    receive deliveries; `wrap_webhook_body` sends `{ok, result}` instead of the flat body
    seen in production; `require_known_chats` refuses sends to chats that never wrote.
    """

    def __init__(
        self,
        token: str = "1234567890:fake-zalo-bot-secret",
        *,
        poll_timeout_scale: float = 1.0,
        allow_private_webhooks: bool = False,
        wrap_webhook_body: bool = False,
        require_known_chats: bool = False,
        bot_name: str = "Bot Nhắc việc",
        can_join_groups: bool = True,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        bot_id, sep, secret = token.partition(":")
        if not sep or not bot_id or not secret:
            raise ValueError("a Zalo bot token looks like '{bot_id}:{secret}'")
        self.token = token
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.can_join_groups = can_join_groups
        self.poll_timeout_scale = poll_timeout_scale
        self.allow_private_webhooks = allow_private_webhooks
        self.wrap_webhook_body = wrap_webhook_body
        self.require_known_chats = require_known_chats
        self.clock: Clock = clock or SystemClock()

        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[SentMessage] = []
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_ms = 0
        self.webhook_responses: list[int] = []
        self.known_chats: set[str] = set()
        self.blocked: set[str] = set()
        self.pending: deque[dict[str, Any]] = deque()
        self._arrived = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self._failures: dict[str, deque[_Failure]] = {}
        self.app.router.add_route("*", "/bot{token}/{method}", self._api)

    # ----------------------------------------------------------------- test controls

    @property
    def api_url(self) -> str:
        """What the real platform calls the base: pass it as `base_url` to the client."""
        return self.base_url

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        *,
        http_status: int = 200,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with this envelope (FIFO)."""
        queue = self._failures.setdefault(method, deque())
        for _ in range(times):
            queue.append(_Failure(error_code, description, http_status, retry_after))

    def block(self, user_id: str) -> None:
        """The user blocked the bot or left: sends to this chat get BLOCKED_ERROR."""
        self.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        self.blocked.discard(user_id)

    def messages_to(self, chat_id: str) -> list[SentMessage]:
        return [m for m in self.sent if m.chat_id == chat_id]

    def texts_to(self, chat_id: str) -> list[str]:
        return [m.text or m.caption or "" for m in self.messages_to(chat_id)]

    async def wait_for_sent(
        self,
        count: int = 1,
        *,
        chat_id: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a test deadline, used with asyncio.timeout
    ) -> list[SentMessage]:
        """Wait until at least `count` messages (to `chat_id`, if given) were sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    matched = [m for m in self.sent if chat_id is None or m.chat_id == chat_id]
                    if len(matched) >= count:
                        return matched
                    self._sent_changed.clear()
                    await self._sent_changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"expected {count} sent message(s) to {chat_id or 'anyone'} within {timeout} s, "
                f"got {len(self.sent)}: {[m.text for m in self.sent]}"
            ) from None

    # --------------------------------------------------------------- user events

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _message(
        self,
        user_id: str,
        display_name: str,
        *,
        chat_id: str | None = None,
        chat_type: str = "PRIVATE",
        **content: Any,
    ) -> dict[str, Any]:
        return {
            "message_id": new_id(),
            "from": {"id": user_id, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id or user_id, "chat_type": chat_type},
            "date": self._now_ms(),
            **{key: value for key, value in content.items() if value is not None},
        }

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Deliver an update (flat form): to the webhook if one is set, else to polling."""
        message = update.get("message") or {}
        chat = message.get("chat") or {}
        if chat.get("id"):
            self.known_chats.add(chat["id"])
        if self.webhook_url:
            await self._post_webhook(update)
        else:
            self.pending.append(update)
            self._arrived.set()
        return update

    async def user_sends_text(
        self, user_id: str, text: str, *, display_name: str = "Nguyễn Văn An"
    ) -> dict[str, Any]:
        message = self._message(user_id, display_name, text=text)
        return await self.push_update({"event_name": "message.text.received", "message": message})

    async def user_sends_photo(
        self,
        user_id: str,
        photo_url: str,
        caption: str | None = None,
        *,
        display_name: str = "Nguyễn Văn An",
    ) -> dict[str, Any]:
        """Shaped as real traffic is: `photo_url` (not the documented `photo`)."""
        message = self._message(
            user_id,
            display_name,
            photo_url=photo_url,
            caption=caption,
            message_type="CHAT_PHOTO",
        )
        return await self.push_update({"event_name": "message.image.received", "message": message})

    async def user_sends_sticker(
        self, user_id: str, sticker: str = "bfe458bf64fa8da4d4eb", *, display_name: str = "An"
    ) -> dict[str, Any]:
        message = self._message(
            user_id,
            display_name,
            sticker=sticker,
            url=f"https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid={sticker}",
            message_type="CHAT_STICKER",
        )
        return await self.push_update(
            {"event_name": "message.sticker.received", "message": message}
        )

    async def user_sends_unsupported(
        self, user_id: str, *, display_name: str = "Nguyễn Văn An"
    ) -> dict[str, Any]:
        """What a document, contact card or protected sender produces: no content at all."""
        message = self._message(user_id, display_name)
        return await self.push_update(
            {"event_name": "message.unsupported.received", "message": message}
        )

    async def group_sends_text(
        self,
        group_id: str,
        user_id: str,
        text: str,
        *,
        mentioned: bool = True,
        display_name: str = "Nguyễn Văn An",
    ) -> dict[str, Any] | None:
        """A group message reaches the bot only when it is @mentioned; else None."""
        if not mentioned:
            return None
        mention = f"@{self.bot_name}"
        if mention not in text:
            text = f"{mention} {text}"
        message = self._message(
            user_id, display_name, chat_id=group_id, chat_type="GROUP", text=text
        )
        return await self.push_update({"event_name": "message.text.received", "message": message})

    async def _post_webhook(self, update: dict[str, Any]) -> None:
        body = {"ok": True, "result": update} if self.wrap_webhook_body else update
        try:
            async with self.http.post(
                self.webhook_url,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/json",
                    "X-Bot-Api-Secret-Token": self.webhook_secret,
                },
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                self.webhook_responses.append(resp.status)
        except (aiohttp.ClientError, TimeoutError):
            self.webhook_responses.append(-1)

    # ------------------------------------------------------------------ the API

    @staticmethod
    def _ok(result: Any = None, *, with_result: bool = True) -> web.Response:
        body: dict[str, Any] = {"ok": True}
        if with_result:
            body["result"] = result
        return web.json_response(body)

    @staticmethod
    def _error(
        code: int, description: str, *, http_status: int = 200, retry_after: float | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=http_status)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        if request.method != "POST":
            return self._error(405, "Method Not Allowed", http_status=405)
        raw = await request.read()
        try:
            params = json.loads(raw) if raw else {}
        except ValueError:
            return self._error(400, "Bad Request: invalid JSON")
        if not isinstance(params, dict):
            return self._error(400, "Bad Request: body must be a JSON object")
        self.calls.append((method, params))
        failures = self._failures.get(method)
        if failures:
            f = failures.popleft()
            return self._error(
                f.error_code, f.description, http_status=f.http_status, retry_after=f.retry_after
            )
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: unknown method")
        response: web.Response = await handler(params)
        return response

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return self._ok(
            {
                "id": self.bot_id,
                "account_name": f"bot.{self.bot_id[-6:]}",
                "account_type": "BASIC",
                "can_join_groups": self.can_join_groups,
                "display_name": self.bot_name,
            }
        )

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return self._error(*WEBHOOK_ACTIVE_ERROR)
        try:
            timeout = float(params.get("timeout", 30))
        except (TypeError, ValueError):
            return self._error(400, "Bad Request: timeout must be a number")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout) * self.poll_timeout_scale
        while not self.pending:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                return self._error(408, "Request timeout")
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            closing = asyncio.ensure_future(self._closing.wait())
            try:
                await asyncio.wait(
                    {arrived, closing}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                arrived.cancel()
                closing.cancel()
        # Dequeued for good: the real server cannot hand it out again either.
        return self._ok(self.pending.popleft())

    def _check_webhook_url(self, url: Any) -> str | None:
        if not isinstance(url, str) or not url:
            return "Bad Request: url is required"
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_private_webhooks and parts.scheme == "http"):
            return "Bad Request: webhook url must use https"
        host = parts.hostname or ""
        if not host:
            return "Bad Request: webhook url is invalid"
        if not self.allow_private_webhooks:
            if host == "localhost" or host.endswith(".localhost"):
                return "Bad Request: webhook url must be publicly reachable"
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return None
            if not address.is_global:
                return "Bad Request: webhook url must be publicly reachable"
        return None

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        url = params.get("url")
        problem = self._check_webhook_url(url)
        if problem:
            return self._error(400, problem)
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return self._error(400, "Bad Request: secret_token must be 8-256 characters")
        assert isinstance(url, str)
        self.webhook_url = url
        self.webhook_secret = secret
        self.webhook_updated_ms = self._now_ms()
        # Whatever was queued for polling now goes to the webhook.
        while self.pending:
            await self._post_webhook(self.pending.popleft())
        return self._ok({"url": url, "updated_at": self.webhook_updated_ms})

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_updated_ms = self._now_ms()
        return self._ok({"url": "", "updated_at": self.webhook_updated_ms})

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        return self._ok({"url": self.webhook_url, "updated_at": self.webhook_updated_ms})

    def _check_chat(self, params: dict[str, Any]) -> tuple[str | None, web.Response | None]:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            return None, self._error(400, "Bad Request: chat_id is required")
        if chat_id in self.blocked:
            return None, self._error(*BLOCKED_ERROR)
        if self.require_known_chats and chat_id not in self.known_chats:
            return None, self._error(*UNKNOWN_CHAT_ERROR)
        return chat_id, None

    def _record(
        self, method: str, chat_id: str, params: dict[str, Any], **fields: Any
    ) -> web.Response:
        sent = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=new_id(),
            date_ms=self._now_ms(),
            params=params,
            **fields,
        )
        self.sent.append(sent)
        self._sent_changed.set()
        return self._ok({"message_id": sent.message_id, "date": sent.date_ms})

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id, error = self._check_chat(params)
        if error is not None:
            return error
        assert chat_id is not None
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= utf16_len(text) <= TEXT_LIMIT:
            # GUESS: wording; the 1-2000 limit itself is documented.
            return self._error(400, "Bad Request: text must be 1-2000 characters")
        parse_mode = params.get("parse_mode")
        if parse_mode is not None and parse_mode not in ("markdown", "html"):
            return self._error(400, "Bad Request: parse_mode must be markdown or html")
        return self._record("sendMessage", chat_id, params, text=text, parse_mode=parse_mode)

    async def _m_sendPhoto(self, params: dict[str, Any]) -> web.Response:
        chat_id, error = self._check_chat(params)
        if error is not None:
            return error
        assert chat_id is not None
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo:
            return self._error(400, "The photo must not be empty")
        if not photo.startswith(("http://", "https://")):
            return self._error(400, "The photo must start with http:// or https://")
        caption = params.get("caption")
        if caption is not None and (
            not isinstance(caption, str) or utf16_len(caption) > TEXT_LIMIT
        ):
            return self._error(400, "Bad Request: caption must be 1-2000 characters")
        return self._record("sendPhoto", chat_id, params, photo=photo, caption=caption)

    async def _m_sendSticker(self, params: dict[str, Any]) -> web.Response:
        chat_id, error = self._check_chat(params)
        if error is not None:
            return error
        assert chat_id is not None
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            return self._error(400, "Bad Request: sticker is required")
        return self._record("sendSticker", chat_id, params, sticker=sticker)

    async def _m_sendChatAction(self, params: dict[str, Any]) -> web.Response:
        chat_id, error = self._check_chat(params)
        if error is not None:
            return error
        assert chat_id is not None
        action = params.get("action")
        if action != "typing":  # "upload_photo" is documented as coming soon
            return self._error(400, "Bad Request: unsupported action")
        self.chat_actions.append((chat_id, action))
        return self._ok(with_result=False)
