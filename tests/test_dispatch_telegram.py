"""The Telegram sender over real HTTP: HTML rendering, splitting, buttons, files, and how
the Bot API's errors map onto the channel port's classes."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram import Bot

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
from bot.channels.telegram import TelegramSender
from tests import reminder_support
from tests.fakes.telegram_api import FakeTelegramServer

# Fixtures, by the names the tests ask for.
shared_bot = reminder_support.shared_bot
tg_shared = reminder_support.tg_shared


@pytest.fixture
async def tg(tg_shared: FakeTelegramServer) -> FakeTelegramServer:
    await tg_shared.reset()
    tg_shared.add_user(1001, started=True)
    return tg_shared


@pytest.fixture
def sender(shared_bot: Bot) -> TelegramSender:
    return TelegramSender(shared_bot)


TO = Recipient(ChannelKind.TELEGRAM, "1001")


async def test_telegram_sender_is_a_channel_sender(sender: TelegramSender) -> None:
    assert isinstance(sender, ChannelSender)
    assert sender.limits.global_per_second == 30


async def test_telegram_sender_escapes_and_bolds(
    tg: FakeTelegramServer, sender: TelegramSender
) -> None:
    message = OutgoingMessage(
        text="Sản phẩm: <Dự thảo> & Tờ trình",
        title="Nhắc việc <VHXH23-04>",
        buttons=((Button("✅ Đã hoàn thành", "done:VHXH23-04"),),),
    )
    result = await sender.send(TO, message)
    [sent] = tg.messages_to(1001)
    assert result.message_ids == (str(sent.message_id),)
    assert sent.raw_text == (
        "<b>Nhắc việc &lt;VHXH23-04&gt;</b>\n\nSản phẩm: &lt;Dự thảo&gt; &amp; Tờ trình"
    )
    assert sent.text == "Nhắc việc <VHXH23-04>\n\nSản phẩm: <Dự thảo> & Tờ trình"
    assert [e["type"] for e in sent.entities] == ["bold"]
    assert sent.callback_data == ["done:VHXH23-04"]


async def test_telegram_sender_splits_long_text_with_buttons_last(
    tg: FakeTelegramServer, sender: TelegramSender
) -> None:
    paragraph = "Tham mưu văn bản chỉ đạo tăng cường đầu tư cơ sở vật chất trường học. " * 30
    message = OutgoingMessage(
        text="\n\n".join([paragraph] * 4),
        title="Tổng hợp tuần",
        buttons=((Button("Xem", "prog:VHXH23-04"),),),
        reply_to="1",
    )
    result = await sender.send(TO, message)
    sent = tg.messages_to(1001)
    assert len(sent) == len(result.message_ids) >= 2
    assert all(len(s.text or "") <= 4096 for s in sent)
    assert [bool(s.buttons) for s in sent] == [False] * (len(sent) - 1) + [True]
    assert (sent[0].raw_text or "").startswith("<b>Tổng hợp tuần</b>")
    assert not (sent[1].raw_text or "").startswith("<b>")


async def test_telegram_sender_sends_files_as_documents(
    tg: FakeTelegramServer, sender: TelegramSender, tmp_path: Path
) -> None:
    pdf = tmp_path / "stored-by-sha.bin"
    pdf.write_bytes(b"%PDF-1.4 bao cao")
    message = OutgoingMessage(
        text="Báo cáo hoàn thành", files=(FileRef("Báo cáo.pdf", str(pdf), "application/pdf"),)
    )
    result = await sender.send(TO, message)
    assert len(result.message_ids) == 2
    document = tg.messages_to(1001)[1]
    assert document.method == "sendDocument"
    assert document.document_name == "Báo cáo.pdf"
    assert document.document_bytes == b"%PDF-1.4 bao cao"
    with pytest.raises(BadMessageError, match="attachment missing"):
        await sender.send(
            TO, OutgoingMessage("x", files=(FileRef("gone.pdf", str(tmp_path / "gone")),))
        )


async def test_telegram_sender_maps_errors(tg: FakeTelegramServer, sender: TelegramSender) -> None:
    tg.fail_next("sendMessage", 429, retry_after=5)
    with pytest.raises(RateLimitedError) as limited:
        await sender.send(TO, OutgoingMessage("a"))
    assert limited.value.retry_after == 5
    tg.fail_next("sendMessage", 502)
    with pytest.raises(TransientChannelError):
        await sender.send(TO, OutgoingMessage("b"))
    tg.fail_next("sendMessage", 401)
    with pytest.raises(TransientChannelError):  # our token: nobody's account is at fault
        await sender.send(TO, OutgoingMessage("c"))
    tg.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(BadMessageError):
        await sender.send(TO, OutgoingMessage("d"))
    with pytest.raises(PermanentChannelError, match="chat not found"):
        await sender.send(Recipient(ChannelKind.TELEGRAM, "4242"), OutgoingMessage("e"))
    tg.block(1001)
    with pytest.raises(PermanentChannelError, match="blocked"):
        await sender.send(TO, OutgoingMessage("f"))
    tg.add_group(-100, "Nhóm giao ban")
    tg.kick_bot(-100)
    with pytest.raises(PermanentChannelError, match="kicked"):
        await sender.send(
            Recipient(ChannelKind.TELEGRAM, "-100", is_group=True), OutgoingMessage("g")
        )
    tg.set_outage(True)
    try:
        with pytest.raises(TransientChannelError):
            await sender.send(TO, OutgoingMessage("h"))
    finally:
        tg.set_outage(False)
