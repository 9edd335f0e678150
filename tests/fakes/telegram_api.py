"""A fake Telegram Bot API server on 127.0.0.1, spoken to over real HTTP.

The bot under test runs unmodified: aiogram is pointed at this server with
`TelegramAPIServer.from_base(tg.base_url)`, so serialisation, HTTP status codes, aiogram's
exception mapping, long polling and webhooks are all exercised as in production. Every call is
checked against the Bot API spec (tests/data/telegram-bot-api.json) and recorded in order.
It has no pytest dependency, so benchmarks use it too.

    async with FakeTelegramServer() as tg:
        tg.add_user(1001, first_name="Lan")
        tg.user_sends_text(1001, "/start")
        reply = await tg.wait_for_sent(1001)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.fakes.telegram_methods import MethodHandler, Reply, TelegramMethods, WebhookConfig
from tests.fakes.telegram_models import (
    AlbumItem,
    ApiCall,
    ApiError,
    CallbackAnswer,
    ChatState,
    FakeStats,
    SentMessage,
    StoredFile,
    UploadedFile,
    UserState,
    WebhookDelivery,
)
from tests.fakes.telegram_ratelimit import RateLimits
from tests.fakes.telegram_spec import coerce_params
from tests.fakes.telegram_state import ClockLike, CommandScopeKey, JSONDict
from tests.fakes.telegram_text import detect_entities

__all__ = [
    "AlbumItem",
    "ApiCall",
    "CallbackAnswer",
    "FakeStats",
    "FakeTelegramServer",
    "RateLimits",
    "SentMessage",
    "WebhookDelivery",
]

_MAX_BODY = 52 * 1024 * 1024  # documents up to 50 MB plus multipart overhead
_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"
_FAKE_WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(24)


@dataclass
class _Fault:
    status: int
    description: str
    retry_after: int | None
    delivered: bool
    remaining: int


class FakeTelegramServer(TelegramMethods):
    """The fake Bot API: state, HTTP routes, webhook sender, and helpers that play the users."""

    def __init__(
        self,
        token: str = "123456:TEST-fake-token",
        *,
        bot_username: str = "nhacviec_test_bot",
        bot_first_name: str = "Nhắc việc",
        clock: ClockLike = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rate_limits: RateLimits | None = None,
        response_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        spec_path: Path | None = None,
        webhook_retry_delays: Sequence[float] = (0.05, 0.2, 0.5),
        webhook_timeout: float = 10.0,
        first_update_id: int = 100_000_001,
    ) -> None:
        super().__init__(
            token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            clock=clock,
            monotonic=monotonic,
            rate_limits=rate_limits or RateLimits(),
            spec_path=spec_path,
            first_update_id=first_update_id,
        )
        self.response_delay = response_delay
        self._initial_delay = response_delay
        self.method_delays: dict[str, float] = {}
        self._host = host
        self._port = port
        self._webhook_retry_delays = tuple(webhook_retry_delays)
        self._webhook_timeout = webhook_timeout
        self._handlers: dict[str, MethodHandler] = self._method_table()
        self._faults: dict[str, deque[_Fault]] = {}
        self._outage = False
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._base_url: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{file_path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self._host, self._port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = sock.getsockname()[:2]
        self._base_url = f"http://{host}:{port}"
        self._http = aiohttp.ClientSession()
        self._closing = False

    async def stop(self) -> None:
        """Stop serving; waiting long polls return at once so shutdown never hangs."""
        self._closing = True
        self._notify()
        await self._stop_webhook_sender()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def reset(self) -> None:
        """Forget every user, chat, file, update, recording, fault and webhook.

        Lets a test session share one running server and one aiogram Bot (whose session close
        costs 0.25 s) between tests. update_id keeps increasing so a polling bot's offset
        stays valid; rate limits and the clock keep their configuration.
        """
        if self._active_poll is not None:
            self._active_poll.released = True
        self.webhook = None
        await self._stop_webhook_sender()
        self._notify()
        self._reset_state()
        self._faults.clear()
        self._outage = False
        self.response_delay = self._initial_delay
        self.method_delays.clear()

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
    def base_url(self) -> str:
        """http://127.0.0.1:PORT, for `TelegramAPIServer.from_base(...)`."""
        if self._base_url is None:
            raise RuntimeError("the fake Telegram server is not started")
        return self._base_url

    # -- recordings --------------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every request, in arrival order (FIFO), including refused ones."""
        return self._calls.items

    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot created (send*, copy, forward), in order."""
        return self._sent.items

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        return self._deliveries.items

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by getUpdates' offset nor delivered to the webhook."""
        return list(self._pending)

    @property
    def rate_limits(self) -> RateLimits:
        return self._limiter.limits

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits) -> None:
        self._limiter.limits = limits

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The message as it is now (after edits), or None if deleted or never sent."""
        chat = self._chats.get(chat_id)
        stored = chat.messages.get(message_id) if chat else None
        return copy.deepcopy(stored) if stored else None

    def commands_for(
        self,
        scope: str = "default",
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        language_code: str = "",
    ) -> list[JSONDict] | None:
        key: CommandScopeKey = (scope, chat_id, user_id, language_code)
        return self.commands.get(key)

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].content

    def assert_no_unexpected_calls(self) -> None:
        if self.unexpected_calls:
            names = ", ".join(c.method for c in self.unexpected_calls)
            raise AssertionError(f"the bot called methods the fake does not model: {names}")

    async def wait_for_sent(
        self,
        match: int | str | Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the one-argument form tests read best
    ) -> SentMessage:
        """The next not-yet-awaited bot message matching a chat id, a substring, or a predicate.

        Each message is returned once, so successive waits walk through the replies in order
        whether they were sent before or after the wait started.
        """
        if match is None:
            predicate: Callable[[SentMessage], bool] = lambda s: True  # noqa: E731
        elif isinstance(match, int):
            predicate = lambda s: s.chat_id == match  # noqa: E731
        elif isinstance(match, str):
            predicate = lambda s: match in (s.text or "")  # noqa: E731
        else:
            predicate = match
        return await self._sent.wait(predicate, timeout, f"message matching {match!r}")

    async def wait_for_call(
        self,
        match: str | Callable[[ApiCall], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - same shape as wait_for_sent
    ) -> ApiCall:
        """The next not-yet-awaited answered call to a method (name) or matching a predicate."""
        if isinstance(match, str):
            name = match.lower()
            predicate: Callable[[ApiCall], bool] = lambda c: c.method.lower() == name  # noqa: E731
        else:
            predicate = match
        return await self._calls.wait(
            lambda c: c.status != 0 and predicate(c), timeout, f"call matching {match!r}"
        )

    async def wait_for_delivery(
        self,
        update_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - same shape as wait_for_sent
    ) -> WebhookDelivery:
        """The next successful webhook delivery (of `update_id`, if given)."""
        return await self._deliveries.wait(
            lambda d: d.ok and update_id in (None, d.update_id),
            timeout,
            f"successful webhook delivery of {update_id}",
        )

    async def wait_for_long_poll(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - same shape as wait_for_sent
    ) -> None:
        """Return once a getUpdates call is parked waiting, so a test can prove the wake-up."""
        await asyncio.wait_for(self._poll_waiting.wait(), timeout)

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 502,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        delivered: bool = False,
    ) -> None:
        """Make the next `times` calls to `method` ("*" for any) fail with this error.

        With `delivered=True` the call takes effect first and only the reply is an error: the
        "sent but the client never learned it" case that causes duplicate reminders on retry.
        """
        if method != "*" and self.spec.find(method) is None:
            raise ValueError(f"{method!r} is not a Bot API method")
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _REASONS.get(status, "Error")
        self._faults.setdefault(method.lower(), deque()).append(
            _Fault(status, description, retry_after, delivered, times)
        )

    def set_outage(self, down: bool) -> None:
        """While down, every call and download answers 502 Bad Gateway."""
        self._outage = down

    def set_delay(self, seconds: float, method: str | None = None) -> None:
        """Delay replies (after the call took effect), for one method or all."""
        if method is None:
            self.response_delay = seconds
        else:
            self.method_delays[method.lower()] = seconds

    def _pop_fault(self, method: str) -> _Fault | None:
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._json(ApiError(401, "Unauthorized").body(), 401)
        method = request.match_info["method"]
        try:
            params, files = await self._read_params(request)
        except ApiError as exc:
            call = ApiCall(method=method, params={}, files={}, http_method=request.method)
            self._calls.record(call)
            self._finish(call, exc.status, exc.body())
            return self._json(exc.body(), exc.status)
        status, body = await self._dispatch(method, params, files, http_method=request.method)
        delay = self.method_delays.get(method.lower(), self.response_delay)
        if delay > 0:
            await asyncio.sleep(delay)
        return self._json(body, status)

    @staticmethod
    def _json(body: JSONDict, status: int) -> web.Response:
        return web.json_response(body, status=status)

    async def _read_params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if not request.body_exists:
            return params, files
        try:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON request body must be an object")
                params.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        with value.file:
                            content = value.file.read()
                        files[key] = UploadedFile(
                            field=key,
                            filename=value.filename,
                            content=content,
                            content_type=value.content_type,
                        )
                    else:
                        params[key] = value
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        return params, files

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._json(ApiError(401, "Unauthorized").body(), 401)
        if self._outage:
            return self._json(ApiError(502, "Bad Gateway").body(), 502)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return self._json(ApiError(404, "Not Found").body(), 404)
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _dispatch(
        self,
        method: str,
        raw: dict[str, Any],
        files: dict[str, UploadedFile],
        *,
        http_method: str = "POST",
        source: str = "http",
    ) -> tuple[int, JSONDict]:
        """Run one call through faults, spec validation and the method; record it FIFO."""
        spec = self.spec.find(method)
        call = ApiCall(
            method=spec.name if spec else method,
            params=dict(raw),
            files=files,
            http_method=http_method,
            source=source,
        )
        self.stats.calls[call.method] += 1
        self._calls.record(call)  # FIFO by arrival; a long poll is answered later
        if spec is None:
            body = ApiError(404, "Not Found").body()
            return self._finish(call, 404, body)
        handler = self._handlers.get(spec.name)
        if handler is None:
            self.unexpected_calls.append(call)  # even if invalid: the bot should not call it
        try:
            if self._outage:
                self.stats.faults_injected += 1
                raise ApiError(502, "Bad Gateway")
            fault = self._pop_fault(spec.name)
            if fault is not None and not fault.delivered:
                self.stats.faults_injected += 1
                raise ApiError(fault.status, fault.description, retry_after=fault.retry_after)
            call.params = coerce_params(spec, raw, files)
            sent_before = len(self.sent)
            if handler is None:
                result: Any = True
            else:
                result = await handler(call.params, call)
            if fault is not None:
                # Delivered, but the bot will never know: a resend would be a duplicate.
                self._unacknowledged.update(s.content_key for s in self.sent[sent_before:])
                self.stats.faults_injected += 1
                raise ApiError(fault.status, fault.description, retry_after=fault.retry_after)
        except ApiError as exc:
            return self._finish(call, exc.status, exc.body())
        body = {"ok": True, "result": result}
        if isinstance(result, Reply):
            body = {"ok": True, "result": result.result, "description": result.description}
        return self._finish(call, 200, body)

    def _finish(self, call: ApiCall, status: int, body: JSONDict) -> tuple[int, JSONDict]:
        call.status = status
        call.response = body
        if status != 200:
            self.stats.errors[status] += 1
        self._calls.announce(call)
        return status, body

    # -- webhook sender ----------------------------------------------------------------------

    def _webhook_changed(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        if self.webhook is not None:
            self._webhook_task = asyncio.create_task(self._webhook_sender(self.webhook))

    async def _stop_webhook_sender(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_sender(self, hook: WebhookConfig) -> None:
        """POST pending updates one at a time, in order, while this webhook stays set."""
        while self.webhook is hook and not self._closing:
            changed = self._changed
            update = next(
                (u for u in self._pending if self._is_allowed(u, hook.allowed_updates)), None
            )
            if update is None:
                self._pending = [
                    u for u in self._pending if self._is_allowed(u, hook.allowed_updates)
                ]
                await changed.wait()
                continue
            await self._deliver(hook, update)
            if self.webhook is hook and update in self._pending:
                self._pending.remove(update)

    async def _deliver(self, hook: WebhookConfig, update: JSONDict) -> bool:
        assert self._http is not None
        headers = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        attempts = 1 + len(self._webhook_retry_delays)
        timeout = aiohttp.ClientTimeout(total=self._webhook_timeout)
        for attempt in range(1, attempts + 1):
            status: int | None = None
            try:
                async with self._http.post(
                    hook.url, json=update, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    if 200 <= status < 300:
                        await self._run_webhook_reply(response)
                        self._record_delivery(hook, update, attempt, status, None)
                        self.stats.webhook_delivered += 1
                        return True
                    error = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            self._record_delivery(hook, update, attempt, status, error)
            self.stats.webhook_failed_attempts += 1
            hook.last_error_date = self.now()
            hook.last_error_message = error
            if attempt < attempts:
                await asyncio.sleep(self._webhook_retry_delays[attempt - 1])
        self.stats.webhook_dropped += 1
        return False

    def _record_delivery(
        self,
        hook: WebhookConfig,
        update: JSONDict,
        attempt: int,
        status: int | None,
        error: str | None,
    ) -> None:
        self._deliveries.publish(
            WebhookDelivery(
                update_id=update["update_id"],
                url=hook.url,
                attempt=attempt,
                status=status,
                ok=error is None,
                error=error,
                secret_header=hook.secret_token,
            )
        )

    async def _run_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Execute a method returned in the webhook reply body, as Telegram does."""
        params: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        if response.content_type == "application/json":
            try:
                body = await response.json()
            except ValueError:
                return
            if isinstance(body, dict):
                params = dict(body)
        elif response.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(response)
            while (part := await reader.next()) is not None:
                if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                    continue
                data = bytes(await part.read(decode=False))
                if part.filename:
                    files[part.name] = UploadedFile(
                        field=part.name,
                        filename=part.filename,
                        content=data,
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    )
                else:
                    params[part.name] = data.decode("utf-8")
        method = params.pop("method", None)
        if isinstance(method, str) and method:
            await self._dispatch(method, params, files, source="webhook_reply")

    # -- playing the users -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        is_bot: bool = False,
        started: bool = False,
    ) -> JSONDict:
        """Register (or update) a Telegram user; returns their User object.

        The bot cannot write to them until they message it (or `started=True`).
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._user(user_id)
        user.first_name = first_name or user.first_name
        user.last_name = last_name
        user.username = username
        user.language_code = language_code
        user.is_bot = is_bot
        user.started = user.started or started
        return user.as_user()

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        chat_type: str = "group",
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> JSONDict:
        """A group or supergroup the bot is a member of; returns its Chat object."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_type not in ("group", "supergroup"):
            raise ValueError("chat_type is 'group' or 'supergroup'")
        chat = self._chats.get(chat_id) or ChatState(id=chat_id, type=chat_type)
        chat.type, chat.title, chat.username = chat_type, title, username
        chat.bot_status = "administrator" if bot_is_admin else "member"
        self._chats[chat_id] = chat
        return chat.as_chat()

    def user(self, user_id: int) -> UserState:
        """The fake's view of a user (started, blocked), for assertions."""
        return self._users[user_id]

    def block(self, user_id: int, *, notify: bool = True) -> JSONDict | None:
        """The user blocks the bot: sends get 403; queues my_chat_member unless notify=False."""
        user = self._user(user_id)
        user.blocked = True
        if not notify:
            return None
        return self._my_chat_member(self._chats[user_id], user, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        self._user(user_id).blocked = False

    def kick_bot(
        self, chat_id: int, by_user_id: int | None = None, *, notify: bool = True
    ) -> JSONDict | None:
        """The bot is removed from a group: sends get 403 "bot was kicked"."""
        chat = self._group(chat_id)
        old = chat.bot_status
        chat.bot_status = "kicked"
        if not notify:
            return None
        by = self._user(by_user_id) if by_user_id else None
        return self._my_chat_member(chat, by, old, "kicked")

    def _my_chat_member(
        self, chat: ChatState, by: UserState | None, old: str, new: str
    ) -> JSONDict:
        actor = by.as_user() if by else {"id": 777000, "is_bot": False, "first_name": "Telegram"}
        change = {
            "chat": chat.as_chat(),
            "from": actor,
            "date": self.now(),
            "old_chat_member": {"status": old, "user": self.bot_user},
            "new_chat_member": {"status": new, "user": self.bot_user, "until_date": 0}
            if new == "kicked"
            else {"status": new, "user": self.bot_user},
        }
        return self._queue_update("my_chat_member", change)

    def _group(self, chat_id: int) -> ChatState:
        chat = self._chats.get(chat_id)
        if chat is None or not chat.is_group:
            raise ValueError(f"unknown group {chat_id}; call add_group first")
        return chat

    def _chat_of(self, user: UserState, chat_id: int | None) -> ChatState:
        if chat_id is None or chat_id == user.id:
            user.started = True
            user.blocked = False  # writing to a bot you blocked unblocks it
            return self._chats[user.id]
        chat = self._group(chat_id)
        if chat.bot_status in ("kicked", "left"):
            raise ValueError(f"the bot is not in group {chat_id}: it would receive nothing")
        return chat

    def _find(self, chat: ChatState, message_id: int | None) -> JSONDict | None:
        if message_id is None:
            return None
        message = chat.messages.get(message_id)
        if message is None:
            raise ValueError(f"no message {message_id} in chat {chat.id}")
        return message

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        content: JSONDict,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        user = self._user(user_id)
        chat = self._chat_of(user, chat_id)
        reply_to = self._find(chat, reply_to_message_id)
        return self._put_message(chat, user.as_user(), content, reply_to=reply_to)

    @staticmethod
    def _text_content(text: str, key: str = "text") -> JSONDict:
        content: JSONDict = {key: text}
        entities = detect_entities(text)
        if entities:
            content["entities" if key == "text" else "caption_entities"] = entities
        return content

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A text message from the user (private chat unless `chat_id` names a group)."""
        if not text:
            raise ValueError("Telegram clients cannot send empty text")
        message = self._user_message(
            user_id, chat_id, self._text_content(text), reply_to_message_id
        )
        return self._queue_update("message", message)

    def user_starts(self, user_id: int, payload: str | None = None) -> JSONDict:
        """The user taps Start, or a t.me/<bot>?start=<payload> deep link."""
        return self.user_sends_text(user_id, f"/start {payload}" if payload else "/start")

    def user_sends_group_text(
        self, user_id: int, chat_id: int, text: str, reply_to_message_id: int | None = None
    ) -> JSONDict:
        return self.user_sends_text(user_id, text, reply_to_message_id, chat_id=chat_id)

    def user_sends_document(
        self,
        user_id: int,
        file_name: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
        size_override: int | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A file; `size_override` claims a size (e.g. 25 MB) without allocating it."""
        stored = self._store_file(
            "document",
            content,
            size=size_override,
            file_name=file_name,
            mime_type=mime_type or self._guess_mime(file_name, None),
        )
        body: JSONDict = {"document": self._document_json(stored)}
        if caption:
            body.update(self._text_content(caption, "caption"))
        message = self._user_message(user_id, chat_id, body, reply_to_message_id)
        return self._queue_update("message", message)

    def user_sends_photo(
        self,
        user_id: int,
        content: bytes = _FAKE_JPEG,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
        chat_id: int | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        size_override: int | None = None,
    ) -> JSONDict:
        """A photo: Telegram delivers a PhotoSize array, smallest first."""
        body: JSONDict = {
            "photo": self._photo_sizes(content, size=size_override, width=width, height=height)
        }
        if caption:
            body.update(self._text_content(caption, "caption"))
        message = self._user_message(user_id, chat_id, body, reply_to_message_id)
        return self._queue_update("message", message)

    def user_sends_album(
        self,
        user_id: int,
        items: Sequence[AlbumItem | bytes],
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> list[JSONDict]:
        """Several messages sharing a media_group_id; the caption rides on the first."""
        if not 2 <= len(items) <= 10:
            raise ValueError("an album has 2 to 10 items")
        group_id = self._new_media_group_id()
        updates: list[JSONDict] = []
        for index, raw in enumerate(items):
            item = raw if isinstance(raw, AlbumItem) else AlbumItem(content=raw)
            body: JSONDict = {"media_group_id": group_id}
            if item.kind == "photo":
                body["photo"] = self._photo_sizes(item.content)
            else:
                name = item.file_name or f"file_{index + 1}.bin"
                stored = self._store_file(
                    item.kind if item.kind != "file" else "document",
                    item.content,
                    file_name=name,
                    mime_type=item.mime_type or self._guess_mime(name, None),
                )
                body["document"] = self._document_json(stored)
            if caption and index == 0:
                body.update(self._text_content(caption, "caption"))
            updates.append(
                self._queue_update("message", self._user_message(user_id, chat_id, body))
            )
        return updates

    def user_sends_sticker(
        self,
        user_id: int,
        emoji: str = "👍",
        set_name: str | None = "NhacViecStickers",
        chat_id: int | None = None,
    ) -> JSONDict:
        stored = self._store_file("sticker", _FAKE_WEBP, width=512, height=512)
        sticker: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.size,
        }
        if set_name:
            sticker["set_name"] = set_name
        message = self._user_message(user_id, chat_id, {"sticker": sticker})
        return self._queue_update("message", message)

    def user_presses_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        chat_id: int | None = None,
        *,
        check_keyboard: bool = True,
    ) -> JSONDict:
        """A tap on an inline button; the callback_query carries the original message."""
        user = self._user(user_id)
        chat = self._chat_of(user, chat_id)
        message = self._find(chat, message_id)
        assert message is not None
        if check_keyboard:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            offered = [b.get("callback_data") for row in rows for b in row]
            if data not in offered:
                raise ValueError(
                    f"message {message_id} has no button with data {data!r}: {offered}"
                )
        query: JSONDict = {
            "id": self._new_callback_id(),
            "from": user.as_user(),
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(hash((self.bot_user["id"], chat.id))) % 10**19),
            "data": data,
        }
        self._callback_queries[query["id"]] = query
        return self._queue_update("callback_query", query)

    def user_edits_message(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> JSONDict:
        """The user edits their own text message; queues edited_message."""
        user = self._user(user_id)
        chat = self._chat_of(user, chat_id)
        message = self._find(chat, message_id)
        assert message is not None
        if message["from"]["id"] != user_id or "text" not in message:
            raise ValueError(f"message {message_id} is not a text message of user {user_id}")
        message.pop("entities", None)
        message.update(self._text_content(text))
        message["edit_date"] = self.now()
        return self._queue_update("edited_message", message)

    def user_sends_raw_update(self, update: JSONDict) -> JSONDict:
        """Queue any update as given (update_id is assigned unless set and increasing)."""
        update = copy.deepcopy(update)
        if "update_id" in update:
            if update["update_id"] < self._next_update_id:
                raise ValueError("update_id must increase")
            self._next_update_id = update["update_id"] + 1
        else:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        return self._enqueue(update)

    def stored_file(self, file_id: str) -> StoredFile:
        """Any file the fake holds (uploaded by the bot or sent by a user)."""
        return self._files[file_id]
