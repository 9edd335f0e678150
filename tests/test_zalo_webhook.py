"""The Bot Platform in webhook mode (ZALO_WEBHOOK_URL + ZALO_WEBHOOK_SECRET): setWebhook on
start-up, Zalo's secret header checked, both body shapes accepted (both backends)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.fakes.zalo_bot_api import new_id
from tests.zalo_support import WEBHOOK_SECRET, ZaloHarness, zalo, zalo_id

__all__ = ["zalo"]

WEBHOOK = {"webhook": True}


def _text_update(user_id: str, text: str) -> dict[str, object]:
    return {
        "event_name": "message.text.received",
        "message": {
            "message_id": new_id(),
            "from": {"id": user_id, "display_name": "Kẻ mạo danh", "is_bot": False},
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "date": 1687482000000,
            "text": text,
        },
    }


@pytest.mark.parametrize("zalo", [WEBHOOK], indirect=True)
async def test_zalo_webhook_set_and_flat_then_wrapped_body(zalo: ZaloHarness) -> None:
    assert zalo.runtime.webhook_mode
    calls = [name for name, _params in zalo.zb.calls]
    assert "setWebhook" in calls and "getUpdates" not in calls
    params = next(p for name, p in zalo.zb.calls if name == "setWebhook")
    assert params["url"] == f"{zalo.web_url}/webhooks/zalo"
    assert params["secret_token"] == WEBHOOK_SECRET

    user = zalo_id()
    await zalo.bind(user)  # flat body, as live Zalo sends it
    assert await zalo.ctx.registry.identify("zalo", user) is not None
    zalo.zb.wrap_webhook_body = True  # {ok, result: {...}}, as the docs show it
    tasks = (await zalo.say(user, "/tasks")).text or ""
    assert "VHXH23-04" in tasks
    assert zalo.zb.webhook_responses and set(zalo.zb.webhook_responses) == {200}


@pytest.mark.parametrize("zalo", [WEBHOOK], indirect=True)
@pytest.mark.parametrize("secret", [None, "", "wrong-secret-123", WEBHOOK_SECRET + "x"])
async def test_zalo_webhook_wrong_or_missing_secret_rejected(
    zalo: ZaloHarness, secret: str | None
) -> None:
    code = await zalo.invite(name="Phạm Văn Cường")
    intruder = zalo_id()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Bot-Api-Secret-Token"] = secret
    body = json.dumps(_text_update(intruder, f"/start {code}")).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{zalo.web_url}/webhooks/zalo", data=body, headers=headers) as resp,
    ):
        assert resp.status == 401
    await zalo.settle()
    assert zalo.zb.messages_to(intruder) == []
    assert await zalo.ctx.registry.identify("zalo", intruder) is None
    # The invite is still unused: the real officer binds with it.
    officer = zalo_id()
    welcome = (await zalo.say(officer, code)).text or ""
    assert "Chào mừng Phạm Văn Cường" in welcome


@pytest.mark.parametrize("zalo", [WEBHOOK], indirect=True)
async def test_zalo_webhook_malformed_body_changes_nothing(zalo: ZaloHarness) -> None:
    headers = {"Content-Type": "application/json", "X-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with aiohttp.ClientSession() as http:
        for raw in (b"not json", b"[]", b'{"event_name": "message.reaction.received"}'):
            async with http.post(
                f"{zalo.web_url}/webhooks/zalo", data=raw, headers=headers
            ) as resp:
                assert resp.status in (200, 400)
    await zalo.settle()
    assert zalo.zb.sent == []
