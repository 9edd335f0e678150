"""A fake Zalo Official Account API (v3 messages + v4 OAuth) on 127.0.0.1.

One server plays both hosts: pass `oa.base_url` as the client's `api_base` AND
`oauth_base`. Time comes from an injected clock so token expiry and the 7-day window are
tested by moving the clock, never by sleeping.

    clock = FrozenClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
    async with FakeZaloOAServer(clock=clock) as oa:
        store = MemoryTokenStore(oa.grant_tokens())
        oa.interact("user-1")
        client = ZaloOAClient(app_id=oa.app_id, secret_key=oa.secret_key, token_store=store,
                              session=session, api_base=oa.base_url, oauth_base=oa.base_url,
                              clock=clock)
        await client.send_text("user-1", "Nhắc việc")

Error codes follow shared/reference/messaging-apis.md §2; the wording of messages and
the OAuth error body are GUESSES.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.channels.zalo_oa import OATokens
from bot.clock import Clock, SystemClock
from tests.fakes.zalo_bot_api import FakeHTTPServer, new_id, utf16_len

WINDOW = timedelta(days=7)

# GUESS: the OAuth endpoint's error body; Zalo's v4 OAuth answers with negative -14xxx codes.
INVALID_REFRESH_TOKEN = {
    "error": -14014,
    "error_name": "Invalid refresh token",
    "error_reason": "Refresh token is invalid, expired or already used",
    "error_description": "Invalid refresh token",
}


@dataclass
class OASent:
    user_id: str
    message_id: str
    text: str | None
    image_url: str | None
    quote_message_id: str | None
    access_token: str


class FakeZaloOAServer(FakeHTTPServer):
    def __init__(
        self,
        *,
        app_id: str = "4300000000000000001",
        secret_key: str = "fake-oa-secret-key",
        oa_id: str = "2900000000000000001",
        clock: Clock | None = None,
        access_token_lifetime: timedelta = timedelta(seconds=90000),
        expired_error: int = -216,
        webhook_url: str | None = None,
        refresh_delay: float = 0.0,
    ) -> None:
        super().__init__()
        if expired_error not in (-216, -220):
            raise ValueError("expired_error is -216 (what Chatwoot sees) or -220")
        self.app_id = app_id
        self.secret_key = secret_key
        self.oa_id = oa_id
        self.clock: Clock = clock or SystemClock()
        self.access_token_lifetime = access_token_lifetime
        self.expired_error = expired_error
        self.webhook_url = webhook_url
        self.refresh_delay = refresh_delay

        self.access_tokens: dict[str, datetime] = {}  # token -> expiry
        self.live_refresh_tokens: set[str] = set()
        self.spent_refresh_tokens: set[str] = set()
        self.refresh_calls = 0
        self.cs_calls = 0  # every CS send attempt, refused ones included
        self.last_interaction: dict[str, datetime] = {}
        self.sent: list[OASent] = []
        self.webhook_responses: list[int] = []
        self._failures: list[tuple[int, str]] = []
        self.app.router.add_post("/v3.0/oa/message/cs", self._send_cs)
        self.app.router.add_post("/v4/oa/access_token", self._access_token)

    # ----------------------------------------------------------------- test controls

    def _issue(self) -> dict[str, str]:
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self.access_tokens[access] = self.clock.now() + self.access_token_lifetime
        self.live_refresh_tokens.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(int(self.access_token_lifetime.total_seconds())),
        }

    def grant_tokens(self) -> OATokens:
        """What an admin's OAuth consent would yield: a fresh token pair."""
        issued = self._issue()
        return OATokens(
            access_token=issued["access_token"],
            refresh_token=issued["refresh_token"],
            expires_at=self.clock.now() + self.access_token_lifetime,
        )

    def revoke_access_tokens(self) -> None:
        """Every access token becomes invalid (-216) while refresh tokens still work."""
        self.access_tokens.clear()

    def interact(self, user_id: str, at: datetime | None = None) -> None:
        """The user wrote to the OA at `at` (default now): opens the 7-day CS window."""
        self.last_interaction[user_id] = at or self.clock.now()

    def fail_next(self, error: int, message: str = "Fake failure") -> None:
        """The next CS send answers `{error, message}` (after the token check; FIFO)."""
        self._failures.append((error, message))

    def messages_to(self, user_id: str) -> list[OASent]:
        return [m for m in self.sent if m.user_id == user_id]

    # ----------------------------------------------------------------- webhook side

    def _ms(self) -> str:
        return str(int(self.clock.now().timestamp() * 1000))

    async def post_event(self, body: dict[str, Any], *, bad_signature: bool = False) -> int:
        """POST `body` to `webhook_url`, signed as Zalo signs it; returns the HTTP status."""
        if not self.webhook_url:
            raise RuntimeError("set FakeZaloOAServer.webhook_url first")
        raw = json.dumps(body, ensure_ascii=False).encode()
        mac = hashlib.sha256(
            body["app_id"].encode() + raw + body["timestamp"].encode() + self.secret_key.encode()
        ).hexdigest()
        if bad_signature:
            mac = hashlib.sha256(b"forged" + raw).hexdigest()
        async with self.http.post(
            self.webhook_url,
            data=raw,
            headers={"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"},
        ) as resp:
            self.webhook_responses.append(resp.status)
            return resp.status

    def _user_event(self, event_name: str, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
        self.interact(user_id)
        return {
            "app_id": self.app_id,
            "user_id_by_app": f"app-{user_id}",
            "event_name": event_name,
            "sender": {"id": user_id},
            "recipient": {"id": self.oa_id},
            "message": {"msg_id": new_id(), **message},
            "timestamp": self._ms(),
        }

    async def user_sends_text(self, user_id: str, text: str, *, bad_signature: bool = False) -> int:
        body = self._user_event("user_send_text", user_id, {"text": text})
        return await self.post_event(body, bad_signature=bad_signature)

    async def user_sends_image(
        self,
        user_id: str,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        mime: str = "image/jpeg",
        *,
        caption: str | None = None,
        bad_signature: bool = False,
    ) -> int:
        url = self.host_file(content, mime, "image.jpg")
        message: dict[str, Any] = {
            "attachments": [{"type": "image", "payload": {"thumbnail": url, "url": url}}]
        }
        if caption:
            message["text"] = caption
        body = self._user_event("user_send_image", user_id, message)
        return await self.post_event(body, bad_signature=bad_signature)

    async def user_sends_file(
        self,
        user_id: str,
        name: str,
        content: bytes,
        mime: str = "application/pdf",
        *,
        bad_signature: bool = False,
    ) -> int:
        url = self.host_file(content, mime, name)
        payload = {
            "url": url,
            "size": str(len(content)),
            "name": name,
            "checksum": hashlib.md5(content).hexdigest(),
            "type": name.rsplit(".", 1)[-1] if "." in name else "",
        }
        body = self._user_event(
            "user_send_file", user_id, {"attachments": [{"type": "file", "payload": payload}]}
        )
        return await self.post_event(body, bad_signature=bad_signature)

    async def follow(self, user_id: str, *, bad_signature: bool = False) -> int:
        self.interact(user_id)
        body = {
            "app_id": self.app_id,
            "oa_id": self.oa_id,
            "follower": {"id": user_id},
            "event_name": "follow",
            "timestamp": self._ms(),
            "user_id_by_app": f"app-{user_id}",
            "source": "oa_profile",
        }
        return await self.post_event(body, bad_signature=bad_signature)

    async def user_seen(self, user_id: str) -> int:
        """An event the bot ignores (the OA is the sender in delivery/seen events)."""
        body = {
            "app_id": self.app_id,
            "event_name": "user_seen_message",
            "sender": {"id": self.oa_id},
            "recipient": {"id": user_id},
            "message": {"msg_ids": [new_id()]},
            "timestamp": self._ms(),
        }
        return await self.post_event(body)

    # ------------------------------------------------------------------ the API

    @staticmethod
    def _envelope(error: int, message: str, data: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"error": error, "message": message}
        if data is not None:
            body["data"] = data
        return web.json_response(body)

    async def _send_cs(self, request: web.Request) -> web.Response:
        self.cs_calls += 1
        token = request.headers.get("access_token", "")
        expiry = self.access_tokens.get(token)
        if expiry is None:
            return self._envelope(-216, "Access token is invalid")
        if self.clock.now() >= expiry:
            return self._envelope(self.expired_error, "Access token has expired")
        if self._failures:
            return self._envelope(*self._failures.pop(0))
        try:
            body = await request.json()
        except ValueError:
            return self._envelope(-201, "Parameters are invalid")
        recipient = body.get("recipient") if isinstance(body, dict) else None
        message = body.get("message") if isinstance(body, dict) else None
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not isinstance(user_id, str) or not isinstance(message, dict):
            return self._envelope(-201, "Parameters are invalid")
        last = self.last_interaction.get(user_id)
        if last is None or self.clock.now() - last > WINDOW:
            return self._envelope(-230, "User has not interacted with the OA in the past 7 days")
        text = message.get("text")
        image_url = None
        attachment = message.get("attachment")
        if attachment is not None:
            try:
                element = attachment["payload"]["elements"][0]
                image_url = element["url"]
            except (KeyError, IndexError, TypeError):
                return self._envelope(-201, "Attachment is invalid")
        elif not isinstance(text, str) or not 1 <= utf16_len(text) <= 2000:
            return self._envelope(-201, "Text length must be 1-2000")
        sent = OASent(
            user_id=user_id,
            message_id=new_id(),
            text=text if isinstance(text, str) else None,
            image_url=image_url,
            quote_message_id=message.get("quote_message_id"),
            access_token=token,
        )
        self.sent.append(sent)
        return self._envelope(0, "Success", {"message_id": sent.message_id, "user_id": user_id})

    async def _access_token(self, request: web.Request) -> web.Response:
        self.refresh_calls += 1
        if request.headers.get("secret_key") != self.secret_key:
            return web.json_response(
                {
                    "error": -14002,
                    "error_name": "Invalid secret key",
                    "error_description": "Invalid secret key",
                }
            )
        form = await request.post()
        if form.get("app_id") != self.app_id:
            return web.json_response(
                {
                    "error": -14001,
                    "error_name": "Invalid app id",
                    "error_description": "Invalid app id",
                }
            )
        if form.get("grant_type") != "refresh_token":
            return web.json_response(
                {
                    "error": -14003,
                    "error_name": "Invalid grant type",
                    "error_description": "Unsupported grant_type",
                }
            )
        refresh = form.get("refresh_token")
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if not isinstance(refresh, str) or refresh not in self.live_refresh_tokens:
            return web.json_response(INVALID_REFRESH_TOKEN)
        # Single use: the old refresh token dies the moment a new pair is issued.
        self.live_refresh_tokens.discard(refresh)
        self.spent_refresh_tokens.add(refresh)
        return web.json_response(self._issue())
