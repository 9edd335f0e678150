"""One person, two apps, linked by the officer themselves (both backends, over HTTP).

An officer bound on one app sends /lienket (or /link) there and gets a single-use code for
their own record; sending it on the other app (Telegram deep link or /start, Zalo "/start
CODE" or the code alone, the Zalo OA) binds that account to the same officer. The fake
Telegram, Zalo Bot and Zalo OA servers all run; one service context serves every app.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import build_context
from bot.i18n import I18n
from storage.models import AuditEntry, Invite
from tests.cli_support import cli_env, cli_json, run_cli
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegramServer
from tests.telegram_support import ADMIN_ID, tg_bot, tg_server
from tests.two_apps_support import (
    AN,
    CODE,
    apps,
    bind_on_telegram,
    code_in,
    remind,
    tg_say,
    tg_start,
)
from tests.zalo_support import GDDT_TASK, ZaloHarness, zalo_id

__all__ = ["apps", "cli_env", "tg_bot", "tg_server"]

TG_USER = 7201
TG_OTHER = 7202


async def gddt_officers(h: ZaloHarness) -> list[tuple[str, tuple[str, ...]]]:
    return [(o.name, o.channels) for o in await h.ctx.registry.list_officers("GDDT")]


async def live_codes(h: ZaloHarness, officer_id: int) -> int:
    async with h.ctx.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Invite)
            .where(
                Invite.officer_id == officer_id,
                Invite.used_at.is_(None),
                Invite.expires_at > h.clock.now(),
            )
        )
    return int(count or 0)


async def test_lienket_on_telegram_then_the_code_on_zalo(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    officer_id = await bind_on_telegram(h, tg, TG_USER)

    answer = await tg_say(tg, TG_USER, "/lienket")
    assert "bot Zalo của cơ quan" in answer and "Official Account" in answer
    assert "t.me/" not in answer  # no Telegram step for someone already on Telegram
    assert "/kenh ca-hai" in answer
    code = code_in(answer)

    # The code alone, as an officer pastes it into the Zalo bot.
    zalo_user = zalo_id()
    h.officers[zalo_user] = AN
    welcome = (await h.say(zalo_user, code)).text or ""
    assert f"Chào mừng {AN}" in welcome
    await h.settle()
    assert await h.officer_id("zalo", zalo_user) == officer_id
    assert await gddt_officers(h) == [(AN, ("telegram", "zalo"))]

    # Reminders on both apps.
    both = await tg_say(tg, TG_USER, "/kenh ca-hai")
    assert "cả Telegram và Zalo" in both and "chưa đăng ký" not in both
    tg_before = len(tg.messages_to(TG_USER))
    zalo_before = len(h.zb.texts_to(zalo_user))
    await remind(h, 0)
    assert any(GDDT_TASK in (m.text or "") for m in tg.messages_to(TG_USER)[tg_before:])
    assert any(GDDT_TASK in t for t in h.zb.texts_to(zalo_user)[zalo_before:])

    # The code is spent: someone else's Zalo gets a polite no and is bound to nobody.
    stranger = zalo_id()
    refused = (await h.say(stranger, f"/start {code}")).text or ""
    assert "đã được sử dụng" in refused and "/lienket" in refused
    assert await h.ctx.registry.identify("zalo", stranger) is None
    assert await gddt_officers(h) == [(AN, ("telegram", "zalo"))]

    # Audit: created by the officer, for their own record; redeemed on Zalo.
    async with h.ctx.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(["invite.create", "invite.redeem"]))
                .order_by(AuditEntry.id)
            )
        ).all()
    created = [
        r for r in rows if r.action == "invite.create" and r.actor == f"officer:{officer_id}"
    ]
    assert len(created) == 1 and created[0].after is not None
    assert created[0].after["officer_id"] == officer_id
    assert rows[-1].action == "invite.redeem" and rows[-1].after == {
        "officer_id": officer_id,
        "channel": "zalo",
    }


async def test_lienket_again_replaces_the_code_and_codes_expire(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    officer_id = await bind_on_telegram(h, tg, TG_USER)
    first = code_in(await tg_say(tg, TG_USER, "/lienket"))
    second = code_in(await tg_say(tg, TG_USER, "/link"))
    assert first != second
    for _ in range(3):
        code_in(await tg_say(tg, TG_USER, "/lienket"))
    assert await live_codes(h, officer_id) == 1  # asking again never piles up live codes

    zalo_user = zalo_id()
    replaced = (await h.say(zalo_user, f"/start {first}")).text or ""
    assert "thay bằng mã mới" in replaced
    assert await h.ctx.registry.identify("zalo", zalo_user) is None

    latest = code_in(await tg_say(tg, TG_USER, "/lienket"))
    h.clock.advance(timedelta(days=8))
    expired = (await h.say(zalo_user, latest)).text or ""
    assert "hết hạn" in expired
    assert await h.ctx.registry.identify("zalo", zalo_user) is None
    assert await gddt_officers(h) == [(AN, ("telegram",))]


async def test_lienket_from_someone_unregistered_is_refused(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    tg.add_user(TG_OTHER, "Khách", language_code="vi")
    for command in ("/lienket", "/link"):
        answer = await tg_say(tg, TG_OTHER, command)
        assert "chưa đăng ký" in answer and CODE.search(answer) is None
    stranger = zalo_id()
    answer = (await h.say(stranger, "/lienket")).text or ""
    assert "chưa đăng ký" in answer and CODE.search(answer) is None
    oa_user = zalo_id()
    answer = (await h.oa_say(oa_user, "/lienket")).text or ""
    assert "chưa đăng ký" in answer and CODE.search(answer) is None
    async with h.ctx.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0


async def test_link_from_zalo_to_telegram_and_the_oa(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    zalo_user = zalo_id()
    await h.bind(zalo_user)
    officer_id = await h.officer_id("zalo", zalo_user)

    answer = await h.say_all(zalo_user, "/link")
    code = code_in(answer[0])
    assert f"https://t.me/nhacviec_test_bot?start={code}" in answer[0]
    assert "Official Account" in answer[0] and "bot Zalo" not in answer[0]

    # The deep link on Telegram.
    tg.add_user(TG_USER, "An", language_code="vi")
    assert f"Chào mừng {AN}" in await tg_start(tg, TG_USER, code)
    assert await h.officer_id("telegram", str(TG_USER)) == officer_id

    # Another code for the OA, sent there with /start.
    oa_code = code_in((await h.say_all(zalo_user, "/lienket"))[0])
    oa_user = zalo_id()
    welcome = (await h.oa_say(oa_user, f"/start {oa_code}")).text or ""
    assert f"Chào mừng {AN}" in welcome
    assert await h.officer_id("zalo_oa", oa_user) == officer_id
    assert await gddt_officers(h) == [(AN, ("telegram", "zalo", "zalo_oa"))]

    # From the OA, the steps name Telegram and the Zalo bot.
    from_oa = (await h.oa_say(oa_user, "/lienket")).text or ""
    assert "bot Zalo của cơ quan" in from_oa and "t.me/nhacviec_test_bot" in from_oa


async def test_link_code_never_takes_an_account_from_another_officer(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    an = await bind_on_telegram(h, tg, TG_USER)
    binh_zalo = zalo_id()
    await h.bind(binh_zalo, name="Lê Thị Bình")
    binh = await h.officer_id("zalo", binh_zalo)
    code = code_in(await tg_say(tg, TG_USER, "/lienket"))

    refused = (await h.say(binh_zalo, f"/start {code}")).text or ""
    assert "đã được đăng ký cho một cán bộ khác" in refused
    assert await h.officer_id("zalo", binh_zalo) == binh
    # The code on the app it came from: already this officer, nothing to do.
    same = await tg_say(tg, TG_USER, f"/start {code}")
    assert "đã được đăng ký cho chính anh/chị" in same
    assert await h.officer_id("telegram", str(TG_USER)) == an
    assert sorted(await gddt_officers(h)) == sorted(
        [(AN, ("telegram",)), ("Lê Thị Bình", ("zalo",))]
    )

    # Neither refusal spent the code: An's own Zalo still binds with it.
    an_zalo = zalo_id()
    assert f"Chào mừng {AN}" in ((await h.say(an_zalo, code)).text or "")
    assert await h.officer_id("zalo", an_zalo) == an


async def test_kenh_for_an_app_not_yet_bound_points_to_lienket(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    await bind_on_telegram(h, tg, TG_USER)
    answer = await tg_say(tg, TG_USER, "/kenh zalo")
    assert "chưa đăng ký trên Zalo" in answer and "/lienket" in answer
    help_text = await tg_say(tg, TG_USER, "/help")
    assert "/lienket" in help_text
    zalo_user = zalo_id()
    await h.bind(zalo_user, name="Lê Thị Bình")
    assert any("/lienket" in t for t in await h.say_all(zalo_user, "/help"))


async def test_admin_invite_for_an_existing_officer(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    officer_id = await bind_on_telegram(h, tg, TG_USER)
    tg.add_user(ADMIN_ID, "Quản trị", language_code="vi")
    await tg_say(tg, ADMIN_ID, "/help")

    mismatch = await tg_say(tg, ADMIN_ID, f"/invite TTYT #{officer_id}")
    assert "không phải TTYT" in mismatch and CODE.search(mismatch) is None
    unknown = await tg_say(tg, ADMIN_ID, "/invite #99999")
    assert "#99999" in unknown and CODE.search(unknown) is None
    first = code_in(await tg_say(tg, ADMIN_ID, f"/invite #{officer_id}"))
    answer = await tg_say(tg, ADMIN_ID, f"/invite GDDT #{officer_id}")
    assert AN in answer and "GDDT" in answer
    latest = code_in(answer)
    assert await live_codes(h, officer_id) == 1

    zalo_user = zalo_id()
    assert "thay bằng mã mới" in ((await h.say(zalo_user, first)).text or "")
    assert f"Chào mừng {AN}" in ((await h.say(zalo_user, latest)).text or "")
    assert await gddt_officers(h) == [(AN, ("telegram", "zalo"))]


# -- the CLI, as an admin runs it -----------------------------------------------------------


async def test_cli_invite_create_for_an_existing_officer(
    db_url: str, tmp_path: Path, cli_env: dict[str, str], i18n: I18n
) -> None:
    # The subprocesses run on the real clock, so the in-process redemptions do too.
    env = dict(cli_env, TELEGRAM_BOT_USERNAME="nhacviec_bot")
    cli_json(run_cli("seed", "load", "--json", env=env, cwd=tmp_path))
    new = cli_json(
        run_cli("invite", "create", "GDDT", "--name", AN, "--json", env=env, cwd=tmp_path)
    )
    ctx = build_context(make_settings(db_url, tmp_path), i18n=i18n)
    try:
        await ctx.registry.redeem_invite(new["code"], channel="telegram", user_id="1", chat_id="1")
    finally:
        await ctx.aclose()
    [officer] = cli_json(run_cli("officers", "list", "--json", env=env, cwd=tmp_path))
    assert officer["name"] == AN and officer["channels"] == ["telegram"]

    args = ["invite", "create", "--officer", str(officer["id"]), "--json"]
    linked = cli_json(run_cli(*args, env=env, cwd=tmp_path))
    assert set(linked) == set(new)  # same shape as a new officer's invite
    assert (linked["unit"], linked["name"], linked["role"]) == ("GDDT", AN, "officer")
    assert linked["telegram_link"] == f"https://t.me/nhacviec_bot?start={linked['code']}"
    assert linked["code"] in linked["zalo_text"]
    again = cli_json(run_cli("invite", "create", "GDDT", *args[2:], env=env, cwd=tmp_path))

    mismatch = run_cli(
        "invite", "create", "TTYT", "--officer", str(officer["id"]), env=env, cwd=tmp_path
    )
    assert mismatch.returncode == 1 and "TTYT" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr
    unknown = run_cli("invite", "create", "--officer", "99999", env=env, cwd=tmp_path)
    assert unknown.returncode == 1 and "#99999" in unknown.stderr
    missing = run_cli("invite", "create", "GDDT", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "--officer" in missing.stderr

    ctx = build_context(make_settings(db_url, tmp_path), i18n=i18n)
    try:
        with i18n.context(), i18n.use_locale("vi"):
            from bot.services.registry import LinkCodeExpiredError

            with pytest.raises(LinkCodeExpiredError):  # replaced by `again`
                await ctx.registry.redeem_invite(
                    linked["code"], channel="zalo", user_id="z1", chat_id="z1"
                )
            await ctx.registry.redeem_invite(
                again["code"], channel="zalo", user_id="z1", chat_id="z1"
            )
    finally:
        await ctx.aclose()
    [both] = cli_json(run_cli("officers", "list", "--json", env=env, cwd=tmp_path))
    assert both["id"] == officer["id"] and both["channels"] == ["telegram", "zalo"]
