"""Zalo Bot Platform and Zalo OA clients and senders, over real HTTP against the fakes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.base import (
    BadMessageError,
    Button,
    ChannelKind,
    ChannelSender,
    FileRef,
    OutgoingMessage,
    PermanentChannelError,
    RateLimitedError,
    Recipient,
    TransientChannelError,
)
from bot.channels.zalo_bot import (
    ChannelConfigError,
    DownloadTimeoutError,
    DownloadTooLargeError,
    ZaloBotClient,
    ZaloBotSender,
    ZaloChatType,
    ZaloEvent,
    ZaloInbound,
    fetch_photo,
    match_choice,
    numbered_choices,
    parse_update,
    poll,
    verify_secret,
    webhook_handler,
)
from bot.channels.zalo_oa import (
    InteractionWindowClosed,
    JsonFileTokenStore,
    MemoryTokenStore,
    OATokens,
    ZaloOAClient,
    ZaloOAInbound,
    ZaloOASender,
    oa_signature,
    oa_webhook_handler,
    verify_oa_signature,
)
from bot.clock import FrozenClock
from bot.domain.text import utf16_len
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.fakes.zalo_oa_api import FakeZaloOAServer

TOKEN = "3141592653589793238:zb-secret-Abc123"
SECRET = "webhook-secret-123"
USER = "e4ea2cd5189df1c3a88c"
OTHER = "0123456789abcdef0123"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@asynccontextmanager
async def serve(
    path: str, view: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> AsyncIterator[str]:
    """Our own webhook endpoint on 127.0.0.1, as the service would mount it."""
    app = web.Application()
    app.router.add_post(path, view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}{path}"
    finally:
        await runner.cleanup()


def _secret_part() -> str:
    return TOKEN.split(":")[1]


# ------------------------------------------------------------------ Bot Platform: basics


async def test_zalo_bot_get_me_reads_bot_info(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        me = await client.get_me()
    assert me.id == TOKEN.split(":")[0]
    assert me.account_type == "BASIC"
    assert me.display_name == "Bot Nhắc việc"


async def test_zalo_bot_bad_token_is_a_config_error_without_the_token(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        client = ZaloBotClient(zb.base_url, "1:wrong-secret", session)
        with pytest.raises(ChannelConfigError) as info:
            await client.get_me()
    assert "401" in str(info.value)
    assert "wrong-secret" not in str(info.value)
    assert "wrong-secret" not in repr(client)


async def test_zalo_bot_get_updates_returns_none_on_408(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        began = time.monotonic()
        assert await client.get_updates(timeout=30) is None
        elapsed = time.monotonic() - began
    assert 0.25 <= elapsed < 3  # the fake waited 30 s x 0.01 before its 408
    assert zb.calls == [("getUpdates", {"timeout": "30"})]


async def test_zalo_bot_get_updates_parses_text_with_ms_date(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        sent = await zb.user_sends_text(USER, "đã xong", display_name="Lê Thị Bình")
        update = await client.get_updates(timeout=5)
        again = await client.get_updates(timeout=1)
    assert update is not None
    assert again is None  # one update per call, gone once read
    assert update.event_name == ZaloEvent.TEXT
    assert update.text == "đã xong"
    assert update.sender_id == USER
    assert update.chat_id == USER
    assert update.sender_name == "Lê Thị Bình"
    assert update.chat_type is ZaloChatType.PRIVATE
    assert len(update.message_id or "") == 20
    assert update.date is not None
    assert update.date.tzinfo is not None
    assert update.date == datetime.fromtimestamp(sent["message"]["date"] / 1000, tz=UTC)
    assert abs((update.date - datetime.now(UTC)).total_seconds()) < 60


async def test_zalo_bot_get_updates_photo_sticker_and_unsupported(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        url = zb.host_file(b"\xff\xd8jpeg", "image/jpeg")
        await zb.user_sends_photo(USER, url, "Biên bản đã ký")
        await zb.user_sends_sticker(USER)
        await zb.user_sends_unsupported(USER)
        photo = await client.get_updates(1)
        sticker = await client.get_updates(1)
        unsupported = await client.get_updates(1)
    assert photo is not None
    assert photo.event_name == ZaloEvent.IMAGE
    assert (photo.photo_url, photo.caption, photo.message_type) == (
        url,
        "Biên bản đã ký",
        "CHAT_PHOTO",
    )
    assert sticker is not None
    assert sticker.sticker
    assert not sticker.is_unsupported
    assert unsupported is not None
    assert unsupported.is_unsupported
    assert (unsupported.text, unsupported.photo_url) == (None, None)
    assert unsupported.chat_id == USER


async def test_zalo_bot_group_message_arrives_only_when_mentioned(
    session: aiohttp.ClientSession,
) -> None:
    group = "9f8e7d6c5b4a39281706"
    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        assert await zb.group_sends_text(group, USER, "chào cả nhà", mentioned=False) is None
        await zb.group_sends_text(group, USER, "báo cáo tiến độ")
        update = await client.get_updates(1)
        assert await client.get_updates(1) is None
    assert update is not None
    assert update.is_group
    assert (update.chat_id, update.sender_id) == (group, USER)
    assert update.text == "@Bot Nhắc việc báo cáo tiến độ"


def test_parse_update_accepts_flat_and_wrapped_bodies() -> None:
    message = {
        "message_id": "82599fa32f56d00e8941",
        "from": {"id": USER, "display_name": "An", "is_bot": False},
        "chat": {"id": USER, "chat_type": "PRIVATE"},
        "date": 1749632637199,
        "text": "xong",
    }
    flat = parse_update({"event_name": "message.text.received", "message": message})
    wrapped = parse_update(
        {"ok": True, "result": {"event_name": "message.text.received", "message": message}}
    )
    assert flat == wrapped
    assert flat is not None
    assert flat.date == datetime(2025, 6, 11, 9, 3, 57, 199000, tzinfo=UTC)


def test_parse_update_tolerates_unknown_events_and_missing_fields() -> None:
    reaction = parse_update({"event_name": "message.reaction.received", "message": {}})
    assert reaction == ZaloInbound(event_name="message.reaction.received")
    # The documented field name `photo` is read when `photo_url` is absent.
    legacy = parse_update(
        {"message": {"from": {"id": USER}, "photo": "https://cdn.example/p.jpg", "date": "x"}}
    )
    assert legacy is not None
    assert legacy.event_name == ZaloEvent.IMAGE
    assert legacy.photo_url == "https://cdn.example/p.jpg"
    assert legacy.date is None
    assert legacy.chat_id == USER
    junk_bodies: list[Any] = [None, [], "text", {"ok": False, "result": None}, {"foo": 1}]
    for junk in junk_bodies:
        assert parse_update(junk) is None


def test_verify_secret_is_exact() -> None:
    assert verify_secret(SECRET, SECRET)
    assert not verify_secret(SECRET + " ", SECRET)
    assert not verify_secret(None, SECRET)
    assert not verify_secret("", "")


# ------------------------------------------------------------------------ webhooks


@pytest.mark.parametrize("wrapped", [False, True])
async def test_zalo_bot_webhook_delivers_flat_and_wrapped_bodies(
    session: aiohttp.ClientSession, wrapped: bool
) -> None:
    received: list[ZaloInbound] = []

    async def handle(update: ZaloInbound) -> None:
        received.append(update)

    async with (
        serve("/zalo", webhook_handler(SECRET, handle)) as url,
        FakeZaloBotServer(TOKEN, allow_private_webhooks=True, wrap_webhook_body=wrapped) as zb,
    ):
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        info = await client.set_webhook(url, SECRET)
        assert info.url == url
        assert info.updated_at is not None
        assert (await client.get_webhook_info()).url == url
        with pytest.raises(ChannelConfigError, match="409"):
            await client.get_updates(1)  # polling is refused while a webhook is set
        await zb.user_sends_text(USER, "xong 100%")
        await client.delete_webhook()
        assert (await client.get_webhook_info()).url == ""
    assert zb.webhook_responses == [200]
    assert [u.text for u in received] == ["xong 100%"]


async def test_zalo_bot_webhook_rejects_a_wrong_secret(session: aiohttp.ClientSession) -> None:
    received: list[ZaloInbound] = []

    async def handle(update: ZaloInbound) -> None:
        received.append(update)

    async with (
        serve("/zalo", webhook_handler("the-right-secret", handle)) as url,
        FakeZaloBotServer(TOKEN, allow_private_webhooks=True) as zb,
    ):
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        await client.set_webhook(url, "a-wrong-secret")
        await zb.user_sends_text(USER, "xong")
    assert zb.webhook_responses == [401]
    assert received == []


async def test_zalo_bot_set_webhook_validation(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        with pytest.raises(ChannelConfigError, match="8-256"):
            await client.set_webhook("https://bot.example.vn/zalo", "short")
        assert zb.calls == []  # refused before any request
        with pytest.raises(ChannelConfigError, match="publicly reachable"):
            await client.set_webhook("https://192.168.1.10/zalo", SECRET)
        with pytest.raises(ChannelConfigError, match="https"):
            await client.set_webhook("http://bot.example.vn/zalo", SECRET)
        await client.set_webhook("https://bot.example.vn/zalo", SECRET)
        assert zb.webhook_url == "https://bot.example.vn/zalo"


# ------------------------------------------------------------------------- polling


async def test_zalo_bot_poll_handles_in_order_and_survives_handler_errors(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    stop = asyncio.Event()

    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        polls_during_handling: list[int] = []

        async def handle(update: ZaloInbound) -> None:
            calls_before = len(zb.calls)
            await asyncio.sleep(0.05)  # slow handler: no poll may run meanwhile
            polls_during_handling.append(len(zb.calls) - calls_before)
            seen.append(update.text or "")
            if update.text == "boom":
                raise RuntimeError("handler bug")
            if update.text == "last":
                stop.set()

        for text in ("một", "boom", "hai"):
            await zb.user_sends_text(USER, text)
        zb.fail_next("getUpdates", 502, "Bad Gateway")
        task = asyncio.create_task(poll(client, handle, stop, poll_timeout=1, initial_backoff=0.01))
        await asyncio.sleep(0.1)
        await zb.user_sends_text(USER, "last")
        await asyncio.wait_for(task, timeout=5)
    assert seen == ["một", "boom", "hai", "last"]
    assert polls_during_handling == [0, 0, 0, 0]
    assert "handler failed" in caplog.text
    assert "Zalo polling failed" in caplog.text
    assert _secret_part() not in caplog.text


async def test_zalo_bot_poll_stops_on_bad_token(session: aiohttp.ClientSession) -> None:
    async def handle(update: ZaloInbound) -> None:
        raise AssertionError("no update expected")

    async with FakeZaloBotServer(TOKEN) as zb:
        client = ZaloBotClient(zb.base_url, "1:revoked", session)
        with pytest.raises(ChannelConfigError):
            await asyncio.wait_for(poll(client, handle, asyncio.Event()), timeout=5)


async def test_zalo_bot_poll_returns_promptly_when_stopped_during_backoff(
    session: aiohttp.ClientSession,
) -> None:
    async def handle(update: ZaloInbound) -> None:
        raise AssertionError("no update expected")

    stop = asyncio.Event()
    async with FakeZaloBotServer(TOKEN) as zb:
        zb.fail_next("getUpdates", 500, "Internal Server Error")
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        task = asyncio.create_task(poll(client, handle, stop, initial_backoff=30))
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, timeout=2)


# --------------------------------------------------------------------- sender


async def test_zalo_bot_sender_renders_title_text_and_numbered_choices(
    session: aiohttp.ClientSession,
) -> None:
    buttons = (
        (Button("✅ Đã hoàn thành", "done:7"), Button("🔄 Đang thực hiện", "progress:7")),
        (Button("⏳ Xin gia hạn", "extend:7"),),
    )
    message = OutgoingMessage(
        text="Hạn: 30/6/2023 (còn 3 ngày).", title="Nhắc việc", buttons=buttons
    )
    async with FakeZaloBotServer(TOKEN) as zb:
        sender = ZaloBotSender(ZaloBotClient(zb.base_url, TOKEN, session))
        assert isinstance(sender, ChannelSender)
        assert sender.kind is ChannelKind.ZALO
        result = await sender.send(Recipient(ChannelKind.ZALO, USER), message)
    assert zb.texts_to(USER) == [
        "Nhắc việc\nHạn: 30/6/2023 (còn 3 ngày).\n\n"
        "Trả lời: 1 – ✅ Đã hoàn thành · 2 – 🔄 Đang thực hiện · 3 – ⏳ Xin gia hạn"
    ]
    assert result.message_ids == (zb.sent[0].message_id,)
    assert match_choice("2", buttons) == buttons[0][1]
    assert match_choice(" số 3. ", buttons) == buttons[1][0]
    assert match_choice("4", buttons) is None
    assert match_choice("xong", buttons) is None


async def test_zalo_bot_sender_uses_a_translated_choices_line(
    session: aiohttp.ClientSession,
) -> None:
    message = OutgoingMessage(text="Due 30/6/2023", buttons=((Button("Done", "d"),),))
    async with FakeZaloBotServer(TOKEN) as zb:
        sender = ZaloBotSender(
            ZaloBotClient(zb.base_url, TOKEN, session), choices=numbered_choices("Reply:")
        )
        await sender.send(Recipient(ChannelKind.ZALO, USER), message)
    assert zb.texts_to(USER) == ["Due 30/6/2023\n\nReply: 1 – Done"]


async def test_zalo_bot_sender_splits_over_2000_utf16_units(
    session: aiohttp.ClientSession,
) -> None:
    paragraph = "📎 Giao Phòng Giáo dục và Đào tạo chủ trì, tham mưu văn bản trình ký. " * 10
    text = "\n\n".join([paragraph.strip()] * 8)
    assert utf16_len(text) > 4000
    async with FakeZaloBotServer(TOKEN) as zb:
        sender = ZaloBotSender(ZaloBotClient(zb.base_url, TOKEN, session))
        result = await sender.send(Recipient(ChannelKind.ZALO, USER), OutgoingMessage(text=text))
    texts = zb.texts_to(USER)
    assert len(texts) >= 3
    assert all(utf16_len(t) <= 2000 for t in texts)
    assert result.message_ids == tuple(m.message_id for m in zb.sent)
    assert " ".join(texts).split() == text.split()


async def test_zalo_bot_sender_names_files_and_refuses_empty_text(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        sender = ZaloBotSender(ZaloBotClient(zb.base_url, TOKEN, session))
        recipient = Recipient(ChannelKind.ZALO, USER)
        files = (FileRef("cong-van-ky.pdf", "/nonexistent/abc", "application/pdf"),)
        await sender.send(recipient, OutgoingMessage(text="Báo cáo mới", files=files))
        assert zb.texts_to(USER) == ["Báo cáo mới\n\n📎 cong-van-ky.pdf"]
        zb.sent.clear()
        with pytest.raises(BadMessageError):
            await sender.send(recipient, OutgoingMessage(text=""))
        with pytest.raises(BadMessageError):
            await sender.send(Recipient(ChannelKind.TELEGRAM, "1"), OutgoingMessage(text="x"))
    assert zb.sent == []


@pytest.mark.parametrize(
    ("code", "description", "retry_after", "expected"),
    [
        (429, "Too Many Requests: retry after 7", None, RateLimitedError),
        (429, "Too Many Requests", 3.0, RateLimitedError),
        (429, "Too Many Requests", None, TransientChannelError),
        (500, "Internal Server Error", None, TransientChannelError),
        (503, "Service Unavailable", None, TransientChannelError),
        (408, "Request timeout", None, TransientChannelError),
        (425, "Too Early", None, TransientChannelError),
        (400, "Bad Request: chat not found", None, PermanentChannelError),
        (400, "Bad Request: text is invalid", None, BadMessageError),
        (401, "Unauthorized", None, ChannelConfigError),
        (-99, "Something new", None, TransientChannelError),
    ],
)
async def test_zalo_bot_sender_maps_errors(
    session: aiohttp.ClientSession,
    code: int,
    description: str,
    retry_after: float | None,
    expected: type[Exception],
) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        zb.fail_next("sendMessage", code, description, retry_after=retry_after)
        sender = ZaloBotSender(ZaloBotClient(zb.base_url, TOKEN, session))
        with pytest.raises(expected) as info:
            await sender.send(Recipient(ChannelKind.ZALO, USER), OutgoingMessage(text="Nhắc"))
    assert type(info.value) is expected
    if isinstance(info.value, RateLimitedError):
        assert info.value.retry_after == (retry_after or 7)
    assert _secret_part() not in str(info.value)


async def test_zalo_bot_sender_blocked_user_is_permanent(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        zb.block(USER)
        sender = ZaloBotSender(ZaloBotClient(zb.base_url, TOKEN, session))
        with pytest.raises(PermanentChannelError):
            await sender.send(Recipient(ChannelKind.ZALO, USER), OutgoingMessage(text="Nhắc"))
        await sender.send(Recipient(ChannelKind.ZALO, OTHER), OutgoingMessage(text="Nhắc"))
    assert [m.chat_id for m in zb.sent] == [OTHER]


async def test_zalo_bot_http_error_status_without_envelope_is_transient(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        zb.fail_next("sendMessage", 502, "Bad Gateway", http_status=502)
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        with pytest.raises(TransientChannelError):
            await client.send_message(USER, "x")
        base = zb.base_url
    # The server is gone now: a refused connection is transient and hides the URL.
    client = ZaloBotClient(base, TOKEN, session)
    with pytest.raises(TransientChannelError) as info:
        await client.send_message(USER, "x")
    assert _secret_part() not in str(info.value)
    assert info.value.__cause__ is None


async def test_zalo_bot_photo_and_chat_action(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        sent = await client.send_photo(USER, "https://cdn.example.vn/a.jpg", "Ảnh")
        await client.send_chat_action(USER)
        with pytest.raises(BadMessageError, match="http"):
            await client.send_photo(USER, "data:image/png;base64,AAAA")
        # The server's own check, bypassing the client's.
        with pytest.raises(BadMessageError, match="must start with"):
            await client.call("sendPhoto", {"chat_id": USER, "photo": "ftp://x/y.jpg"})
        with pytest.raises(BadMessageError, match="1-2000"):
            await client.call("sendMessage", {"chat_id": USER, "text": "x" * 2001})
    assert zb.sent[0].photo == "https://cdn.example.vn/a.jpg"
    assert sent.message_id == zb.sent[0].message_id
    assert sent.date is not None
    assert zb.chat_actions == [(USER, "typing")]


async def test_zalo_bot_owned_session_is_closed() -> None:
    async with FakeZaloBotServer(TOKEN) as zb, ZaloBotClient(zb.base_url, TOKEN) as client:
        assert (await client.get_me()).id


# ------------------------------------------------------------------- fetch_photo


async def test_fetch_photo_returns_bytes_type_and_name(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        url = zb.host_file(b"\x89PNG fake", "image/png", "bien-ban.png")
        data, content_type, name = await fetch_photo(session, url, max_bytes=1024)
    assert (data, content_type, name) == (b"\x89PNG fake", "image/png", "bien-ban.png")


@pytest.mark.parametrize("chunked", [False, True])
async def test_fetch_photo_refuses_bodies_over_the_limit(
    session: aiohttp.ClientSession, chunked: bool
) -> None:
    big = b"x" * (4 * 1024 * 1024)
    async with FakeZaloBotServer(TOKEN) as zb:
        # Trickled: reading it all would take ~2.5 s, so a fast refusal proves streaming.
        url = zb.host_file(big, "image/jpeg", chunked=chunked, chunk_delay=0.01)
        began = time.monotonic()
        with pytest.raises(DownloadTooLargeError):
            await fetch_photo(session, url, max_bytes=100_000, timeout=10)
        assert time.monotonic() - began < 1.5


async def test_fetch_photo_times_out(session: aiohttp.ClientSession) -> None:
    async with FakeZaloBotServer(TOKEN) as zb:
        url = zb.host_file(b"late", "image/jpeg", delay=1.0)
        with pytest.raises(DownloadTimeoutError):
            await fetch_photo(session, url, max_bytes=1024, timeout=0.2)


# ===================================================================== Zalo OA


def oa_client(
    oa: FakeZaloOAServer,
    store: Any,
    session: aiohttp.ClientSession,
    clock: FrozenClock,
) -> ZaloOAClient:
    return ZaloOAClient(
        app_id=oa.app_id,
        secret_key=oa.secret_key,
        token_store=store,
        session=session,
        api_base=oa.base_url,
        oauth_base=oa.base_url,
        clock=clock,
    )


async def test_zalo_oa_send_text_and_image(session: aiohttp.ClientSession) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        client = oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock)
        text_id = await client.send_text(USER, "Nhắc việc: hạn 30/6/2023", quote_message_id="q1")
        image_id = await client.send_image(USER, "https://cdn.example.vn/a.jpg")
    assert [m.message_id for m in oa.sent] == [text_id, image_id]
    assert oa.sent[0].text == "Nhắc việc: hạn 30/6/2023"
    assert oa.sent[0].quote_message_id == "q1"
    assert oa.sent[1].image_url == "https://cdn.example.vn/a.jpg"
    assert oa.refresh_calls == 0


async def test_zalo_oa_closed_window_raises_interaction_window_closed(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER, at=START - timedelta(days=8))
        client = oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock)
        sender = ZaloOASender(client)
        with pytest.raises(InteractionWindowClosed) as info:
            await sender.send(Recipient(ChannelKind.ZALO_OA, USER), OutgoingMessage(text="Nhắc"))
        assert info.value.user_id == USER
        assert isinstance(info.value, PermanentChannelError)
        oa.interact(USER)  # the officer writes again: the window reopens
        await sender.send(Recipient(ChannelKind.ZALO_OA, USER), OutgoingMessage(text="Nhắc"))
    assert len(oa.sent) == 1


async def test_zalo_oa_refreshes_before_expiry_and_saves_first(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        first = oa.grant_tokens()

        class RecordingStore(MemoryTokenStore):
            """Proves the save happens before the new access token reaches the API."""

            async def save(self, tokens: OATokens) -> None:
                assert tokens.access_token not in {m.access_token for m in oa.sent}
                self.sent_before_save = len(oa.sent)
                await super().save(tokens)

        store = RecordingStore(first)
        client = oa_client(oa, store, session, clock)
        await client.send_text(USER, "một")
        clock.advance(timedelta(hours=24, minutes=55))  # within the 10-minute margin
        oa.interact(USER)
        await client.send_text(USER, "hai")
    assert oa.refresh_calls == 1
    assert store.saves == 1
    assert store.sent_before_save == 1
    assert store.tokens is not None
    assert store.tokens.refresh_token != first.refresh_token
    assert first.refresh_token in oa.spent_refresh_tokens
    assert oa.sent[1].access_token == store.tokens.access_token
    assert store.tokens.expires_at == START + timedelta(hours=24, minutes=55, seconds=90000)


@pytest.mark.parametrize("expired_error", [-216, -220])
async def test_zalo_oa_refreshes_once_when_the_api_rejects_the_token(
    session: aiohttp.ClientSession, expired_error: int
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(
        clock=clock, expired_error=expired_error, access_token_lifetime=timedelta(hours=1)
    ) as oa:
        oa.interact(USER)
        granted = oa.grant_tokens()
        # Our record says the token lives 25 h; Zalo expires it after 1 h.
        store = MemoryTokenStore(
            OATokens(granted.access_token, granted.refresh_token, START + timedelta(hours=25))
        )
        client = oa_client(oa, store, session, clock)
        clock.advance(timedelta(hours=2))
        oa.interact(USER)
        await client.send_text(USER, "Nhắc")
    assert oa.refresh_calls == 1
    assert len(oa.sent) == 1


async def test_zalo_oa_spent_refresh_token_is_a_config_error(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        tokens = oa.grant_tokens()
        oa.live_refresh_tokens.clear()  # e.g. another installation already spent it
        oa.revoke_access_tokens()
        client = oa_client(oa, MemoryTokenStore(tokens), session, clock)
        with pytest.raises(ChannelConfigError, match="refresh"):
            await client.send_text(USER, "Nhắc")
    assert oa.sent == []


async def test_zalo_oa_no_stored_tokens_is_a_config_error(session: aiohttp.ClientSession) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        client = oa_client(oa, MemoryTokenStore(), session, clock)
        with pytest.raises(ChannelConfigError, match="consent"):
            await client.send_text(USER, "Nhắc")


async def test_zalo_oa_rotation_survives_a_restart_with_the_json_store(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    clock = FrozenClock(START)
    path = tmp_path / "state" / "oa-tokens.json"
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        await JsonFileTokenStore(path).save(oa.grant_tokens())

        first_run = oa_client(oa, JsonFileTokenStore(path), session, clock)
        clock.advance(timedelta(hours=26))
        oa.interact(USER)
        await first_run.send_text(USER, "trước khi khởi động lại")
        del first_run  # "restart": nothing survives but the file

        saved = json.loads(path.read_text(encoding="utf-8"))
        assert saved["refresh_token"] in oa.live_refresh_tokens
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

        second_run = oa_client(oa, JsonFileTokenStore(path), session, clock)
        clock.advance(timedelta(hours=26))
        oa.interact(USER)
        await second_run.send_text(USER, "sau khi khởi động lại")
    assert oa.refresh_calls == 2
    assert len(oa.spent_refresh_tokens) == 2
    assert [m.text for m in oa.sent] == ["trước khi khởi động lại", "sau khi khởi động lại"]
    assert list(path.parent.iterdir()) == [path]  # no temp files left behind


async def test_zalo_oa_concurrent_sends_spend_one_refresh(session: aiohttp.ClientSession) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock, refresh_delay=0.05) as oa:
        oa.interact(USER)
        oa.interact(OTHER)
        store = MemoryTokenStore(oa.grant_tokens())
        client = oa_client(oa, store, session, clock)
        clock.advance(timedelta(hours=26))
        oa.interact(USER)
        oa.interact(OTHER)
        await asyncio.gather(
            client.send_text(USER, "một"),
            client.send_text(OTHER, "hai"),
            client.send_text(USER, "ba"),
        )
    assert oa.refresh_calls == 1
    assert store.saves == 1
    assert len(oa.sent) == 3


async def test_zalo_oa_concurrent_token_rejections_spend_one_refresh(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock, refresh_delay=0.05) as oa:
        oa.interact(USER)
        client = oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock)
        await client.send_text(USER, "khởi động")
        oa.revoke_access_tokens()
        await asyncio.gather(*(client.send_text(USER, str(i)) for i in range(4)))
    assert oa.refresh_calls == 1
    assert len(oa.sent) == 5


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (-32, RateLimitedError),
        (-201, BadMessageError),
        (-213, PermanentChannelError),
        (-211, TransientChannelError),
        (-999, TransientChannelError),
    ],
)
async def test_zalo_oa_maps_errors(
    session: aiohttp.ClientSession, error: int, expected: type[Exception]
) -> None:
    clock = FrozenClock(START)
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        oa.fail_next(error, "injected")
        client = oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock)
        with pytest.raises(expected) as info:
            await client.send_text(USER, "Nhắc")
    assert type(info.value) is expected


async def test_zalo_oa_sender_splits_numbers_choices_and_quotes_first_part(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    text = "Nội dung dài. " * 300
    message = OutgoingMessage(
        text=text,
        buttons=((Button("✅ Xong", "done"), Button("⏳ Gia hạn", "extend")),),
        reply_to="user-msg-1",
    )
    async with FakeZaloOAServer(clock=clock) as oa:
        oa.interact(USER)
        sender = ZaloOASender(oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock))
        assert isinstance(sender, ChannelSender)
        assert sender.kind is ChannelKind.ZALO_OA
        result = await sender.send(Recipient(ChannelKind.ZALO_OA, USER), message)
        with pytest.raises(BadMessageError):
            await sender.send(Recipient(ChannelKind.ZALO_OA, USER, is_group=True), message)
    assert len(oa.sent) == len(result.message_ids) >= 3
    assert all(utf16_len(m.text or "") <= 2000 for m in oa.sent)
    assert [m.quote_message_id for m in oa.sent] == ["user-msg-1"] + [None] * (len(oa.sent) - 1)
    assert (oa.sent[-1].text or "").endswith("Trả lời: 1 – ✅ Xong · 2 – ⏳ Gia hạn")


# --------------------------------------------------------------------- OA webhook


def test_verify_oa_signature_accepts_prefix_or_bare_hex() -> None:
    body = json.dumps(
        {"app_id": "42", "event_name": "follow", "timestamp": "1749632637199"}
    ).encode()
    mac = oa_signature("42", body, "1749632637199", "k3y")
    assert verify_oa_signature(body, f"mac={mac}", "k3y")
    assert verify_oa_signature(body, mac, "k3y")
    assert verify_oa_signature(body, f"MAC={mac.upper()}", "k3y")
    assert not verify_oa_signature(body, f"mac={mac}", "other-key")
    assert not verify_oa_signature(body.replace(b"follow", b"unfollow"), f"mac={mac}", "k3y")
    assert not verify_oa_signature(body, None, "k3y")
    assert not verify_oa_signature(b"not json", f"mac={mac}", "k3y")


async def test_zalo_oa_webhook_parses_signed_events_and_rejects_forgeries(
    session: aiohttp.ClientSession,
) -> None:
    clock = FrozenClock(START)
    received: list[ZaloOAInbound] = []

    async def handle(event: ZaloOAInbound) -> None:
        received.append(event)

    async with FakeZaloOAServer(clock=clock) as oa:
        async with serve("/zalo-oa", oa_webhook_handler(oa.secret_key, handle)) as url:
            oa.webhook_url = url
            assert await oa.user_sends_text(USER, "da xong") == 200
            assert await oa.user_sends_text(USER, "giả mạo", bad_signature=True) == 401
            assert await oa.user_sends_image(USER, b"\xff\xd8img", caption="ảnh") == 200
            pdf = b"%PDF-1.7 " + b"0" * 5000
            assert await oa.user_sends_file(USER, "bao-cao.pdf", pdf, "application/pdf") == 200
            assert await oa.follow(OTHER) == 200
            assert await oa.user_seen(USER) == 200  # ignored event: still acknowledged

        client = oa_client(oa, MemoryTokenStore(oa.grant_tokens()), session, clock)
        file_url = received[2].attachments[0].url
        assert file_url is not None
        data, content_type, name = await client.download_attachment(file_url, max_bytes=10_000)
        assert (data, content_type, name) == (pdf, "application/pdf", "bao-cao.pdf")
        with pytest.raises(DownloadTooLargeError):
            await client.download_attachment(file_url, max_bytes=1000)

    assert [e.event_name for e in received] == [
        "user_send_text",
        "user_send_image",
        "user_send_file",
        "follow",
    ]
    text, image, file, follow = received
    assert (text.user_id, text.text) == (USER, "da xong")
    assert text.timestamp == START
    assert text.msg_id
    assert image.text == "ảnh"
    assert image.attachments[0].type == "image"
    assert file.attachments[0].name == "bao-cao.pdf"
    assert file.attachments[0].size == len(pdf)
    assert file.attachments[0].mime == "application/pdf"
    assert (follow.user_id, follow.text, follow.attachments) == (OTHER, None, ())


async def test_zalo_oa_webhook_rejects_another_apps_events(
    session: aiohttp.ClientSession,
) -> None:
    received: list[ZaloOAInbound] = []

    async def handle(event: ZaloOAInbound) -> None:
        received.append(event)

    async with FakeZaloOAServer(app_id="999") as oa:
        view = oa_webhook_handler(oa.secret_key, handle, app_id="123")
        async with serve("/zalo-oa", view) as url:
            oa.webhook_url = url
            assert await oa.user_sends_text(USER, "xong") == 403
    assert received == []


def test_zalo_oa_tokens_repr_hides_secrets() -> None:
    tokens = OATokens("access-secret", "refresh-secret", START)
    assert "secret" not in repr(tokens)


async def test_zalo_logs_never_contain_the_token(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeZaloBotServer(TOKEN, poll_timeout_scale=0.01) as zb:
        client = ZaloBotClient(zb.base_url, TOKEN, session)
        zb.fail_next("getUpdates", 503, "Service Unavailable")
        with pytest.raises(TransientChannelError):
            await client.get_updates(1)
        await client.send_message(USER, "x")
    assert _secret_part() not in caplog.text


async def test_zalo_oa_json_store_refuses_a_corrupt_file(tmp_path: Path) -> None:
    store = JsonFileTokenStore(tmp_path / "tokens.json")
    assert await store.load() is None
    (tmp_path / "tokens.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ChannelConfigError, match="unreadable"):
        await store.load()
