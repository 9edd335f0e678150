"""The office's Zalo Official Account, end to end against the fake OA (both backends):
binding, signed webhook events, files, the rotating OAuth tokens across a restart, and
Zalo's 7-day window (-230)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.channels.zalo_runtime import oa_provider
from bot.services.oa_window import OA_WINDOW_CLOSED
from storage.models import ChannelAccount
from storage.repositories import oauth as oauth_repo
from tests.zalo_support import (
    ADMIN_ZALO,
    GDDT_TASK,
    JPEG,
    PDF,
    ZaloHarness,
    number_for,
    zalo,
    zalo_id,
)

__all__ = ["zalo"]


async def _stored_tokens(h: ZaloHarness) -> tuple[str, str]:
    async with h.ctx.sessionmaker() as session:
        row = await oauth_repo.get(session, oa_provider(h.oa.app_id))
        assert row is not None
        return row.access_token, row.refresh_token


async def _oa_account(h: ZaloHarness, user: str) -> ChannelAccount:
    async with h.ctx.sessionmaker() as session:
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.channel == "zalo_oa", ChannelAccount.user_id == user
            )
        )
        assert account is not None
        return account


async def test_zalo_oa_follow_bind_report_with_pdf_and_photo(zalo: ZaloHarness) -> None:
    user = zalo_id()
    assert await zalo.oa.follow(user) == 200
    await zalo.settle()
    hello = zalo.oa.messages_to(user)[0].text or ""
    assert "gửi mã mời tại đây" in hello

    welcome = await zalo.oa_bind(user)
    # On the OA files work: the help says so, without the Bot Platform's caveat.
    assert "tệp (PDF, Word) hoặc ảnh" in welcome and "không chuyển tệp" not in welcome
    assert zalo.oa.messages_to(user)[-1].quote_message_id is not None  # a reply, not a push

    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, "VHXH23-04 da xong") == 200
    receipt = (await zalo.oa_answers(user, before))[0]
    assert receipt.startswith("Đã ghi nhận kết quả")
    assert "gửi thêm văn bản đã ký tại đây (tệp hoặc ảnh chụp)" in receipt

    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_file(user, "Ke hoach CSVC da ky.pdf", PDF) == 200
    file_receipt = (await zalo.oa_answers(user, before))[0]
    assert GDDT_TASK in file_receipt and "Ke hoach CSVC da ky.pdf" in file_receipt

    # A later photo names no task: the OA asks which, by number, like the Bot Platform.
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_image(user, JPEG) == 200
    question = (await zalo.oa_answers(user, before))[0]
    assert "nhiệm vụ nào" in question
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, number_for(question, GDDT_TASK)) == 200
    assert GDDT_TASK in (await zalo.oa_answers(user, before))[0]

    task = await zalo.ctx.tasks.get_task(GDDT_TASK)
    files = {a.file_name: a for r in task.reports for a in r.attachments}
    pdf = files["Ke hoach CSVC da ky.pdf"]
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest() and pdf.mime_type == "application/pdf"
    assert zalo.ctx.attachments.path_of(pdf.storage_path).read_bytes() == PDF
    assert hashlib.sha256(JPEG).hexdigest() in {a.sha256 for a in files.values()}
    assert {r.channel for r in task.reports} == {"zalo_oa"}

    # Events the bot ignores (the OA's own delivery receipts) are accepted and unanswered.
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_seen(user) == 200
    await zalo.settle()
    assert len(zalo.oa.messages_to(user)) == before


async def test_zalo_oa_bad_signature_rejected_nothing_processed(zalo: ZaloHarness) -> None:
    code = await zalo.invite(name="Trần Thị Dung")
    intruder = zalo_id()
    assert await zalo.oa.user_sends_text(intruder, code, bad_signature=True) == 401
    url_count = len(zalo.oa.sent)
    assert await zalo.oa.user_sends_file(intruder, "x.pdf", PDF, bad_signature=True) == 401
    await zalo.settle()
    assert len(zalo.oa.sent) == url_count == 0
    assert await zalo.ctx.registry.identify("zalo_oa", intruder) is None
    # The invite was not spent: its officer binds with it.
    await zalo.oa_bind(zalo_id(), "Trần Thị Dung")


async def test_zalo_oa_token_refresh_rotates_and_survives_restart(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.oa_bind(user)
    seed = zalo.settings.zalo_oa_refresh_token.get_secret_value()
    assert (await _stored_tokens(zalo))[1] == seed  # taken over from the settings

    # Zalo invalidates the access token (-216): one refresh, the answer still goes out.
    zalo.oa.revoke_access_tokens()
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, "/tasks") == 200
    assert GDDT_TASK in (await zalo.oa_answers(user, before))[0]
    assert zalo.oa.refresh_calls == 1 and seed in zalo.oa.spent_refresh_tokens
    access, refresh = await _stored_tokens(zalo)
    assert refresh != seed and refresh in zalo.oa.live_refresh_tokens

    # A restart: the settings still hold the spent seed; the database's pair is used.
    await zalo.restart()
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, "/help") == 200
    answer = zalo.oa.messages_to(user)[before:]
    await zalo.settle()
    answer = zalo.oa.messages_to(user)[before:]
    assert answer and answer[0].access_token == access
    assert zalo.oa.refresh_calls == 1

    # 25 hours later the access token has expired: refreshed with the stored refresh token.
    zalo.clock.advance(timedelta(hours=26))
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, "/tasks") == 200
    assert GDDT_TASK in (await zalo.oa_answers(user, before))[0]
    assert zalo.oa.refresh_calls == 2 and refresh in zalo.oa.spent_refresh_tokens
    assert (await _stored_tokens(zalo))[1] in zalo.oa.live_refresh_tokens


async def test_zalo_oa_window_closed_tells_admins_once_then_reopens(zalo: ZaloHarness) -> None:
    await zalo.say(ADMIN_ZALO, "/help")  # the settings admin's first contact
    user = zalo_id()
    await zalo.oa_bind(user)
    admin_before = len(zalo.zb.messages_to(ADMIN_ZALO))

    # 30/6/2023 09:00: the deadline day, 7 days and 2 hours after the officer last wrote.
    day = datetime(2023, 6, 30, 2, 0, tzinfo=UTC)
    calls = zalo.oa.cs_calls
    summary = await zalo.tick(day)
    await zalo.settle()
    assert zalo.oa.cs_calls == calls + 1  # tried once, refused with -230
    assert summary.failed >= 1
    account = await _oa_account(zalo, user)
    assert not account.active and account.deactivated_reason == OA_WINDOW_CLOSED

    alerts = [t for t in zalo.zb.texts_to(ADMIN_ZALO)[admin_before:] if "Official Account" in t]
    assert len(alerts) == 1
    assert "Nguyễn Văn An cần nhắn tin lại cho Official Account" in alerts[0]
    assert "Phòng Giáo dục và Đào tạo" in alerts[0]
    # ...and not the generic "cannot reach, send a new invite" on top of it.
    assert not any("Không liên lạc được" in t for t in zalo.zb.texts_to(ADMIN_ZALO))

    # Not retried: later ticks neither call Zalo for this officer nor alert again.
    calls = zalo.oa.cs_calls
    await zalo.tick(day + timedelta(hours=3))
    await zalo.tick(day + timedelta(days=1, hours=1))
    await zalo.settle()
    assert zalo.oa.cs_calls == calls
    assert (
        len([t for t in zalo.zb.texts_to(ADMIN_ZALO)[admin_before:] if "Official Account" in t])
        == 1
    )

    # The officer writes to the OA again: the account is back and answered there.
    before = len(zalo.oa.messages_to(user))
    assert await zalo.oa.user_sends_text(user, "/tasks") == 200
    assert GDDT_TASK in (await zalo.oa_answers(user, before))[0]
    account = await _oa_account(zalo, user)
    assert account.active and account.deactivated_reason is None
