"""The fake Telegram Bot API, driven over HTTP by a real aiogram Bot as the service will be."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.clock import FrozenClock
from tests.fakes.telegram_api import AlbumItem, FakeTelegramServer, RateLimits
from tests.fakes.telegram_text import EntityParseError, detect_entities, parse_html

USER = 1001
GROUP = -100_200_300


class ManualTime:
    """A monotonic clock the rate-limit tests move by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits.off()) as server:
        yield server


def make_bot(tg: FakeTelegramServer, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
    return Bot(
        token or tg.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


@pytest.fixture
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    client = make_bot(tg)
    yield client
    await client.session.close()


@pytest.fixture
def officer(tg: FakeTelegramServer) -> int:
    """An officer who has pressed Start, so the bot may write to them."""
    tg.add_user(USER, "Lan", last_name="Nguyễn", username="lan_gddt", language_code="vi")
    tg.user_starts(USER)
    return USER


@asynccontextmanager
async def webhook_receiver(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    app: web.Application | None = None,
) -> AsyncIterator[str]:
    """A small aiohttp server on 127.0.0.1 standing in for the bot's webhook endpoint."""
    if app is None:
        app = web.Application()
        assert handler is not None
        app.router.add_post("/hook", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        await runner.cleanup()


async def raw_post(
    tg: FakeTelegramServer, method: str, token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tg.base_url}/bot{token or tg.token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


# -- protocol ---------------------------------------------------------------------------------


async def test_server_get_me_returns_bot_user(tg: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (123456, True, "nhacviec_test_bot")
    assert [(c.method, c.status) for c in tg.calls] == [("getMe", 200)]


async def test_server_wrong_token_is_unauthorized(tg: FakeTelegramServer) -> None:
    status, body = await raw_post(tg, "getMe", token="999:WRONG")
    intruder = make_bot(tg, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()

    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_server_unknown_method_is_not_found(tg: FakeTelegramServer) -> None:
    status, body = await raw_post(tg, "sendTelepathy", json={"chat_id": 1})

    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_server_accepts_query_json_and_form_encodings(
    tg: FakeTelegramServer, officer: int
) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}/bot{tg.token}/sendMessage"
        async with http.get(url, params={"chat_id": str(officer), "text": "qua query"}) as r1:
            first = await r1.json()
        async with http.post(url, json={"chat_id": officer, "text": "qua JSON"}) as r2:
            second = await r2.json()
        async with http.post(url, data={"chat_id": str(officer), "text": "qua form"}) as r3:
            third = await r3.json()

    ids = [body["result"]["message_id"] for body in (first, second, third)]
    assert ids == [2, 3, 4]  # message 1 is the officer's /start
    assert [s.text for s in tg.messages_to(officer)] == ["qua query", "qua JSON", "qua form"]


async def test_server_missing_required_fields_use_telegram_wording(
    tg: FakeTelegramServer, officer: int
) -> None:
    no_chat = await raw_post(tg, "sendMessage", json={"text": "x"})
    no_text = await raw_post(tg, "sendMessage", json={"chat_id": officer})
    no_file = await raw_post(tg, "getFile", json={})

    assert no_chat == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"},
    )
    assert no_text[1]["description"] == "Bad Request: message text is empty"
    assert no_file[1]["description"] == "Bad Request: file_id is empty"


async def test_server_malformed_json_field_is_refused(tg: FakeTelegramServer, officer: int) -> None:
    status, body = await raw_post(
        tg, "sendMessage", data={"chat_id": str(officer), "text": "x", "reply_markup": "{oops"}
    )

    assert status == 400
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


# -- sending ----------------------------------------------------------------------------------


async def test_send_message_returns_realistic_message(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    asked = tg.user_sends_text(officer, "Hạn nộp là khi nào?", reply_to_message_id=1)
    button = InlineKeyboardButton(text="Đã xong", callback_data="done:42")

    sent = await bot.send_message(
        officer,
        "🔔 Hạn: <b>30/6/2023</b> &amp; <i>sớm</i>",
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        reply_parameters=ReplyParameters(message_id=asked["message"]["message_id"]),
    )

    assert sent.text == "🔔 Hạn: 30/6/2023 & sớm"
    # The emoji is two UTF-16 units, so "30/6/2023" starts at offset 8, not 7.
    assert [(e.type, e.offset, e.length) for e in sent.entities or []] == [
        ("bold", 8, 9),
        ("italic", 20, 3),
    ]
    assert isinstance(sent.reply_markup, InlineKeyboardMarkup)
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "done:42"
    assert sent.from_user is not None
    assert sent.from_user.id == 123456
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "Hạn nộp là khi nào?"
    assert sent.reply_to_message.reply_to_message is None  # one level deep only
    record = tg.sent[-1]
    assert (record.chat_id, record.message_id, record.reply_to) == (officer, 3, 2)
    assert record.raw_text == "🔔 Hạn: <b>30/6/2023</b> &amp; <i>sớm</i>"
    assert record.parse_mode == "HTML"
    assert record.callback_data == ["done:42"]


async def test_send_message_reply_to_missing_message_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(officer, "x", reply_parameters=ReplyParameters(message_id=99))
    tolerant = ReplyParameters(message_id=99, allow_sending_without_reply=True)

    sent = await bot.send_message(officer, "x", reply_parameters=tolerant)

    assert sent.reply_to_message is None


async def test_send_message_to_user_who_never_started_is_chat_not_found(
    tg: FakeTelegramServer, bot: Bot
) -> None:
    tg.add_user(2002, "Minh")

    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(2002, "Nhắc việc")
    with pytest.raises(TelegramBadRequest, match="Bad Request: chat not found"):
        await bot.send_message(3003, "không ai cả")
    assert tg.sent == []


async def test_send_message_to_blocked_user_is_forbidden(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    update = tg.block(officer)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(officer, "Nhắc việc")
    assert update is not None
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    tg.user_sends_text(officer, "mở lại")  # writing to the bot unblocks it
    assert (await bot.send_message(officer, "Chào lại")).text == "Chào lại"


async def test_send_message_to_kicked_group_is_forbidden(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.add_group(GROUP, "Phòng GD&ĐT", chat_type="supergroup")
    assert (await bot.send_message(GROUP, "Tổng hợp")).chat.title == "Phòng GD&ĐT"
    tg.kick_bot(GROUP)

    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "Tổng hợp")


async def test_send_message_length_is_counted_in_utf16_after_html(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    await bot.send_message(officer, "<b>" + "a" * 4096 + "</b>")  # tags do not count
    await bot.send_message(officer, "😀" * 2048)  # 4096 UTF-16 units

    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(officer, "😀" * 2048 + "a")
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(officer, "ệ" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(officer, "<b> </b>")
    assert len(tg.messages_to(officer)) == 2


async def test_send_message_caption_limit_is_1024(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    file = BufferedInputFile(b"%PDF-1.4", "a.pdf")

    await bot.send_document(officer, file, caption="c" * 1024)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(officer, file, caption="c" * 1025)


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<div>Báo cáo</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b>chưa đóng", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("Điểm < 5", 'Unsupported start tag "" at byte offset 8'),
        ("Điểm <5", "Unclosed start tag at byte offset 8"),
    ],
)
async def test_send_message_malformed_html_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int, html: str, reason: str
) -> None:
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.send_message(officer, html)

    assert caught.value.message == f"Bad Request: can't parse entities: {reason}"


async def test_send_message_callback_data_over_64_bytes_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton(text="Gia hạn", callback_data=data)
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    await bot.send_message(officer, "ok", reply_markup=keyboard("đ" * 32))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(officer, "too long", reply_markup=keyboard("đ" * 32 + "x"))
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(officer, "empty", reply_markup=keyboard(""))


async def test_send_document_upload_then_get_file_and_download(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    content = "Báo cáo tiến độ".encode() * 100

    sent = await bot.send_document(
        officer, BufferedInputFile(content, "bao-cao.docx"), caption="<b>Kết quả</b>"
    )
    assert sent.document is not None
    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    again = await bot.send_document(officer, sent.document.file_id)

    assert downloaded is not None
    assert downloaded.read() == content
    assert sent.document.file_name == "bao-cao.docx"
    assert sent.caption == "Kết quả"
    record = tg.sent[0]
    assert (record.document_name, record.document_bytes) == ("bao-cao.docx", content)
    assert record.document_mime == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert again.document is not None
    assert again.document.file_id == sent.document.file_id
    assert tg.calls_to("sendDocument")[0].files  # it travelled as a multipart upload


async def test_send_document_unknown_file_id_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_document(officer, "BQACAgIAAxkBAAI-not-a-real-id")


async def test_get_file_user_document_is_downloadable(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    update = tg.user_sends_document(
        officer, "ket-luan.pdf", b"%PDF-1.7 signed", "application/pdf", caption="đã ký"
    )
    document = update["message"]["document"]

    file = await bot.get_file(document["file_id"])
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)

    assert downloaded is not None
    assert downloaded.read() == b"%PDF-1.7 signed"
    assert document["mime_type"] == "application/pdf"
    assert update["message"]["caption"] == "đã ký"


async def test_get_file_over_20_mb_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    update = tg.user_sends_document(
        officer, "scan.pdf", b"%PDF", "application/pdf", size_override=25 * 1024 * 1024
    )

    with pytest.raises(TelegramBadRequest, match="Bad Request: file is too big"):
        await bot.get_file(update["message"]["document"]["file_id"])
    assert update["message"]["document"]["file_size"] == 25 * 1024 * 1024


async def test_send_photo_and_media_group_share_group_id(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1600).to_bytes(4, "big")
    png += (1200).to_bytes(4, "big") + bytes(16)

    photo = await bot.send_photo(officer, BufferedInputFile(png, "anh.png"), caption="Ảnh")
    album = await bot.send_media_group(
        officer,
        [
            InputMediaPhoto(media=BufferedInputFile(png, "1.png"), caption="<b>Hai</b> ảnh"),
            InputMediaPhoto(media=BufferedInputFile(png, "2.png")),
        ],
    )

    assert photo.photo is not None
    assert [(p.width, p.height) for p in photo.photo][-1] == (1600, 1200)
    assert photo.photo[0].width == 90
    assert len({m.media_group_id for m in album}) == 1
    assert album[0].media_group_id
    assert album[0].caption == "Hai ảnh"
    assert [s.method for s in tg.sent] == ["sendPhoto", "sendMediaGroup", "sendMediaGroup"]
    assert tg.sent[1].photo_bytes == png


async def test_copy_and_forward_message(tg: FakeTelegramServer, bot: Bot, officer: int) -> None:
    tg.add_group(GROUP, "Văn phòng UBND")
    report = tg.user_sends_document(officer, "bc.pdf", b"%PDF", "application/pdf", caption="BC")

    copied = await bot.copy_message(GROUP, officer, report["message"]["message_id"])
    forwarded = await bot.forward_message(GROUP, officer, report["message"]["message_id"])

    assert copied.message_id == 1
    assert forwarded.forward_origin is not None
    assert tg.messages_to(GROUP)[0].document_bytes == b"%PDF"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(GROUP, officer, 999)


# -- updates ----------------------------------------------------------------------------------


async def test_get_updates_offset_confirms_updates(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.add_user(USER, "Lan")
    ids = [tg.user_sends_text(USER, text)["update_id"] for text in ("một", "hai", "ba")]

    first = await bot.get_updates()
    repeated = await bot.get_updates()
    limited = await bot.get_updates(offset=ids[1], limit=1)
    last = await bot.get_updates(offset=-1)
    confirmed = await bot.get_updates(offset=ids[2] + 1)

    assert [u.update_id for u in first] == ids
    assert [u.update_id for u in repeated] == ids  # nothing confirmed yet
    assert [u.update_id for u in limited] == [ids[1]]
    assert [u.update_id for u in last] == [ids[2]]
    assert confirmed == []
    assert tg.pending_updates == []


async def test_get_updates_long_poll_wakes_on_new_update(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.add_user(USER, "Lan")
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await tg.wait_for_long_poll()
    loop = asyncio.get_running_loop()
    started = loop.time()

    tg.user_sends_text(USER, "xong")
    updates = await asyncio.wait_for(poll, 5)

    assert loop.time() - started < 2
    assert [u.message.text for u in updates if u.message] == ["xong"]


async def test_get_updates_long_poll_times_out_empty(tg: FakeTelegramServer, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    updates = await bot.get_updates(timeout=1)

    assert updates == []
    assert loop.time() - started >= 0.9


async def test_get_updates_overlapping_poll_is_terminated(tg: FakeTelegramServer, bot: Bot) -> None:
    second = make_bot(tg)
    try:
        first_poll = asyncio.create_task(bot.get_updates(timeout=30))
        await tg.wait_for_long_poll()
        assert await second.get_updates(timeout=0) == []
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first_poll, 5)
    finally:
        await second.session.close()

    # Recorded by arrival: the parked poll comes first although it was answered last.
    assert [c.status for c in tg.calls_to("getUpdates")] == [409, 200]
    assert (await tg.wait_for_call("getUpdates")).status == 409


async def test_get_updates_while_webhook_set_is_conflict(tg: FakeTelegramServer, bot: Bot) -> None:
    async def accept(request: web.Request) -> web.Response:
        return web.Response()

    async with webhook_receiver(accept) as url:
        await bot.set_webhook(url)
        with pytest.raises(
            TelegramConflictError, match="can't use getUpdates method while webhook"
        ):
            await bot.get_updates()
        await bot.delete_webhook()


async def test_get_updates_drives_a_real_dispatcher(tg: FakeTelegramServer, officer: int) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(CommandStart(deep_link=True))
    async def greet(message: Message, command: CommandObject) -> None:
        await message.answer(f"Mã mời: <code>{command.args}</code>")

    client = make_bot(tg)
    polling = asyncio.create_task(dispatcher.start_polling(client, handle_signals=False))
    try:
        tg.user_starts(officer, "unit-7")
        reply = await tg.wait_for_sent(officer)
    finally:
        await dispatcher.stop_polling()
        await polling

    assert reply.text == "Mã mời: unit-7"
    assert reply.entities == [{"type": "code", "offset": 8, "length": 6}]


# -- webhook ----------------------------------------------------------------------------------


async def test_webhook_delivers_updates_with_secret_header(
    tg: FakeTelegramServer, bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def accept(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    tg.add_user(USER, "Lan")
    async with webhook_receiver(accept) as url:
        assert await bot.set_webhook(url, secret_token="s3cret_Token-1")
        update = tg.user_sends_text(USER, "đã hoàn thành")
        await tg.wait_for_delivery(update["update_id"])
        info = await bot.get_webhook_info()
        await bot.delete_webhook()

    assert received == [("s3cret_Token-1", update)]
    assert (info.url, info.pending_update_count) == (url, 0)
    assert tg.webhook_deliveries[0].ok


async def test_webhook_retries_non_2xx_replies(tg: FakeTelegramServer, bot: Bot) -> None:
    statuses = [500, 502, 200]

    async def flaky(request: web.Request) -> web.Response:
        return web.Response(status=statuses.pop(0))

    tg.add_user(USER, "Lan")
    async with webhook_receiver(flaky) as url:
        await bot.set_webhook(url)
        update = tg.user_sends_text(USER, "50%")
        await tg.wait_for_delivery(update["update_id"])
        info = await bot.get_webhook_info()
        await bot.delete_webhook()

    assert [(d.attempt, d.status, d.ok) for d in tg.webhook_deliveries] == [
        (1, 500, False),
        (2, 502, False),
        (3, 200, True),
    ]
    assert info.last_error_message == "Wrong response from the webhook: 502 Bad Gateway"
    assert tg.stats.webhook_failed_attempts == 2


async def test_webhook_reply_method_is_executed(tg: FakeTelegramServer, officer: int) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message(F.text == "xong")
    async def done(message: Message) -> Any:
        return message.answer("Đã ghi nhận ✅")  # returned, not awaited: a webhook reply

    client = make_bot(tg)
    app = web.Application()
    SimpleRequestHandler(dispatcher, client, handle_in_background=False).register(app, "/hook")
    try:
        async with webhook_receiver(app=app) as url:
            await client.set_webhook(url)
            tg.user_sends_text(officer, "xong")
            reply = await tg.wait_for_sent(officer)
            await client.delete_webhook()
    finally:
        await client.session.close()

    assert reply.text == "Đã ghi nhận ✅"
    assert tg.calls_to("sendMessage")[0].source == "webhook_reply"


async def test_webhook_delete_can_drop_pending_updates(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.add_user(USER, "Lan")
    tg.user_sends_text(USER, "cũ")

    await bot.delete_webhook(drop_pending_updates=True)

    assert await bot.get_updates() == []


# -- callbacks, edits, commands ---------------------------------------------------------------


async def test_callback_query_carries_message_and_answer_is_recorded(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    button = InlineKeyboardButton(text="Xong", callback_data="done:7")
    sent = await bot.send_message(
        officer, "Việc 7", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
    )

    update = tg.user_presses_button(officer, sent.message_id, "done:7")
    query = update["callback_query"]
    assert await bot.answer_callback_query(query["id"], text="Đã ghi nhận")

    assert query["message"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "done:7"
    assert query["from"]["id"] == officer
    assert query["data"] == "done:7"
    answer = tg.callback_answers[0]
    assert (answer.text, answer.data, answer.message_id) == ("Đã ghi nhận", "done:7", 2)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(ValueError, match="no button with data"):
        tg.user_presses_button(officer, sent.message_id, "forged")


async def test_callback_answer_text_over_200_is_refused(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    button = InlineKeyboardButton(text="Xong", callback_data="d")
    sent = await bot.send_message(
        officer, "x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
    )
    query = tg.user_presses_button(officer, sent.message_id, "d")["callback_query"]

    with pytest.raises(TelegramBadRequest):
        await bot.answer_callback_query(query["id"], text="a" * 201)


async def test_edit_message_text_updates_message_and_refuses_no_change(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    button = InlineKeyboardButton(text="Xong", callback_data="done:1")
    sent = await bot.send_message(
        officer, "Việc 1", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
    )

    edited = await bot.edit_message_text(
        "Việc 1 — <b>đã xong</b>", chat_id=officer, message_id=sent.message_id
    )

    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    current = tg.message(officer, sent.message_id)
    assert current is not None
    assert current["text"] == "Việc 1 — đã xong"
    assert "reply_markup" not in current  # omitting reply_markup removes the keyboard
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Việc 1 — <b>đã xong</b>", chat_id=officer, message_id=sent.message_id
        )
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("hack", chat_id=officer, message_id=1)
    assert [e.method for e in tg.edits] == ["editMessageText"]


async def test_delete_message_removes_it(tg: FakeTelegramServer, bot: Bot, officer: int) -> None:
    sent = await bot.send_message(officer, "tạm")

    assert await bot.delete_message(officer, sent.message_id)
    assert tg.message(officer, sent.message_id) is None
    assert tg.deleted == [(officer, sent.message_id)]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(officer, sent.message_id)


async def test_commands_are_stored_per_scope_and_language(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Bắt đầu")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")], language_code="en"
    )
    admin_scope = BotCommandScopeChat(chat_id=officer)
    await bot.set_my_commands(
        [BotCommand(command="late", description="Ai trễ hạn")], scope=admin_scope
    )

    english = await bot.get_my_commands(language_code="en")
    await bot.delete_my_commands(scope=admin_scope)

    assert [c.description for c in english] == ["Start"]
    assert tg.commands_for() == [{"command": "start", "description": "Bắt đầu"}]
    assert tg.commands_for("chat", chat_id=officer) is None
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_chat_action_menu_button_and_get_chat(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    await bot.send_chat_action(officer, "upload_document")
    await bot.set_chat_menu_button()
    chat = await bot.get_chat(officer)

    assert tg.chat_actions == [(officer, "upload_document")]
    assert (chat.id, chat.type, chat.first_name, chat.username) == (
        officer,
        "private",
        "Lan",
        "lan_gddt",
    )
    assert tg.menu_buttons == {None: {"type": "default"}}
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(officer, "dancing")


async def test_unexpected_method_is_recorded(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    assert await bot.set_chat_description(GROUP, "mô tả") is True

    assert [c.method for c in tg.unexpected_calls] == ["setChatDescription"]
    with pytest.raises(AssertionError, match="setChatDescription"):
        tg.assert_no_unexpected_calls()


# -- rate limits and faults -------------------------------------------------------------------


async def test_rate_limit_private_chat_burst_then_retry_after() -> None:
    time_now = ManualTime()
    async with FakeTelegramServer(monotonic=time_now) as tg:
        tg.add_user(USER, "Lan", started=True)
        client = make_bot(tg)
        try:
            for n in range(3):
                await client.send_message(USER, f"tin {n}")
            with pytest.raises(TelegramRetryAfter) as caught:
                await client.send_message(USER, "tin 4")
            status, body = await raw_post(tg, "sendMessage", json={"chat_id": USER, "text": "x"})
            time_now.value += 1.0
            await client.send_message(USER, "sau một giây")
        finally:
            await client.session.close()

    assert caught.value.retry_after == 1
    assert (status, body["parameters"]) == (429, {"retry_after": 1})
    assert body["description"] == "Too Many Requests: retry after 1"
    assert (tg.stats.messages_accepted, tg.stats.rate_limited) == (4, 2)


async def test_rate_limit_strict_group_window_is_sliding() -> None:
    time_now = ManualTime()
    async with FakeTelegramServer(monotonic=time_now, rate_limits=RateLimits.exact()) as tg:
        tg.add_group(GROUP, "Tổ công tác")
        for n in range(20):
            status, _ = await raw_post(tg, "sendMessage", json={"chat_id": GROUP, "text": str(n)})
            assert status == 200
            time_now.value += 1.5  # 20 messages over 30 s, well under 30/s overall
        at_30s = await raw_post(tg, "sendMessage", json={"chat_id": GROUP, "text": "21"})
        time_now.value = 1000.0 + 60.0
        at_60s = await raw_post(tg, "sendMessage", json={"chat_id": GROUP, "text": "21"})

    # The oldest message (t=0) leaves the 60 s window at t=60: 30 s after t=30.
    assert at_30s[1]["parameters"] == {"retry_after": 30}
    assert at_60s[0] == 200


async def test_rate_limit_strict_global_30_per_second() -> None:
    time_now = ManualTime()
    async with FakeTelegramServer(monotonic=time_now, rate_limits=RateLimits.exact()) as tg:
        for user_id in range(1, 32):
            tg.add_user(user_id, started=True)
        results = [
            (await raw_post(tg, "sendMessage", json={"chat_id": user_id, "text": "nhắc"}))[0]
            for user_id in range(1, 32)
        ]
        single = await raw_post(tg, "sendMessage", json={"chat_id": 1, "text": "lại"})

    assert results == [200] * 30 + [429]
    assert single[0] == 429  # per-chat window: 1 message per second, no burst in strict mode


async def test_fail_next_injects_errors_in_order(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    tg.fail_next("sendMessage", 502)
    tg.fail_next("sendMessage", 429, retry_after=3)
    tg.fail_next("sendMessage", 502, delivered=True)

    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(officer, "một")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(officer, "hai")
    with pytest.raises(TelegramServerError):
        await bot.send_message(officer, "ba")  # delivered, but the reply is lost
    await bot.send_message(officer, "ba")

    assert caught.value.retry_after == 3
    assert [s.text for s in tg.sent] == ["ba", "ba"]
    assert (tg.stats.repeated_messages, tg.stats.duplicates) == (1, 1)
    assert tg.stats.faults_injected == 3


async def test_set_outage_fails_every_call(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.set_outage(True)
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    tg.set_outage(False)

    assert (await bot.get_me()).id == 123456


# -- user helpers and recording ---------------------------------------------------------------


async def test_user_helpers_build_realistic_updates(tg: FakeTelegramServer) -> None:
    tg.add_user(USER, "Lan")
    tg.add_group(GROUP, "Phòng Nội vụ")
    first = tg.user_sends_text(USER, "Xin chào")
    reply = tg.user_sends_text(
        USER, "/done@nhacviec_test_bot xem https://ubnd.vn", reply_to_message_id=1
    )
    nested = tg.user_sends_text(USER, "tiếp", reply_to_message_id=reply["message"]["message_id"])
    album = tg.user_sends_album(
        USER,
        [b"\xff\xd8a", AlbumItem(b"%PDF", kind="document", file_name="x.pdf")],
        caption="2 tệp",
    )
    sticker = tg.user_sends_sticker(USER)
    edited = tg.user_edits_message(USER, 1, "Xin chào chị")
    group = tg.user_sends_group_text(USER, GROUP, "báo cáo nhóm")
    raw = tg.user_sends_raw_update({"poll": {"id": "1"}})

    assert first["message"]["chat"] == {"id": USER, "first_name": "Lan", "type": "private"}
    assert [e["type"] for e in reply["message"]["entities"]] == ["bot_command", "url"]
    assert "reply_to_message" not in nested["message"]["reply_to_message"]
    assert album[0]["message"]["media_group_id"] == album[1]["message"]["media_group_id"]
    assert album[0]["message"]["caption"] == "2 tệp"
    assert "caption" not in album[1]["message"]
    assert sticker["message"]["sticker"]["emoji"] == "👍"
    assert edited["edited_message"]["text"] == "Xin chào chị"
    assert group["message"]["chat"]["type"] == "group"
    ids = [u["update_id"] for u in tg.updates]
    assert ids == sorted(ids)
    assert raw["update_id"] == ids[-1]


async def test_wait_for_sent_returns_each_message_once(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    await bot.send_message(officer, "thứ nhất")
    later = asyncio.create_task(tg.wait_for_sent(officer))
    second_wait = asyncio.create_task(tg.wait_for_sent("thứ hai"))
    await bot.send_message(officer, "thứ hai")

    assert (await later).text == "thứ nhất"
    assert (await second_wait).text == "thứ hai"
    with pytest.raises(TimeoutError, match="no message matching"):
        await tg.wait_for_sent(officer, timeout=0.05)


async def test_dates_come_from_the_injected_clock() -> None:
    frozen = FrozenClock(datetime(2023, 6, 30, 8, 0, tzinfo=UTC))
    async with FakeTelegramServer(clock=frozen, rate_limits=RateLimits.off()) as tg:
        update = tg.user_sends_text(USER, "/start")
        client = make_bot(tg)
        try:
            sent = await client.send_message(USER, "Chào")
        finally:
            await client.session.close()

    assert update["message"]["date"] == int(frozen.now().timestamp())
    assert sent.date == frozen.now()
    assert tg.sent[0].date == 1688112000


# -- HTML and entity rules (pure) -------------------------------------------------------------


def test_parse_html_handles_nesting_entities_and_languages() -> None:
    text, entities = parse_html(
        '<b>Đậm <i>nghiêng</i></b> &lt;tag&gt; &#128276; <a href="https://x.vn?a=1&amp;b=2">link</a>'
        ' <pre><code class="language-python">x = 1</code></pre>'
        ' <span class="tg-spoiler">ẩn</span> <blockquote expandable>trích</blockquote> &nbsp;'
    )

    assert text == "Đậm nghiêng <tag> 🔔 link x = 1 ẩn trích &nbsp;"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 11},
        {"type": "italic", "offset": 4, "length": 7},
        {"type": "text_link", "offset": 21, "length": 4, "url": "https://x.vn?a=1&b=2"},
        {"type": "pre", "offset": 26, "length": 5, "language": "python"},
        {"type": "spoiler", "offset": 32, "length": 2},
        {"type": "expandable_blockquote", "offset": 35, "length": 5},
    ]


def test_parse_html_reports_byte_offsets() -> None:
    with pytest.raises(EntityParseError, match='Unsupported start tag "p" at byte offset 7'):
        parse_html("Hạn: <p>")  # "ạ" is 3 bytes in UTF-8


def test_detect_entities_marks_commands_and_links() -> None:
    entities = detect_entities("🙂 /xong@bot_name 100% #baocao @truongphong email a@b.vn")

    assert [(e["type"], e["offset"]) for e in entities] == [
        ("bot_command", 3),
        ("hashtag", 23),
        ("mention", 31),
        ("email", 50),
    ]


async def test_stats_count_repeats_without_calling_them_duplicates(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    await bot.send_message(officer, "Còn 3 ngày đến hạn")
    await bot.send_message(officer, "Còn 3 ngày đến hạn")  # two tasks, same wording

    assert tg.stats.messages_accepted == 2
    assert (tg.stats.repeated_messages, tg.stats.duplicates) == (1, 0)
    assert tg.stats.calls["sendMessage"] == 2


async def test_reset_forgets_state_but_keeps_update_ids(
    tg: FakeTelegramServer, bot: Bot, officer: int
) -> None:
    before = tg.user_sends_text(officer, "trước")["update_id"]
    await bot.send_message(officer, "x")
    tg.fail_next("getMe")

    await tg.reset()

    assert (tg.sent, tg.calls, tg.pending_updates) == ([], [], [])
    assert (await bot.get_me()).id == 123456  # the injected fault is gone too
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(officer, "x")
    assert tg.user_sends_text(officer, "sau")["update_id"] == before + 1
