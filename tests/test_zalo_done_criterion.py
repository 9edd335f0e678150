"""Issue 5's done criterion, end to end against the fake Zalo servers (both backends):

an officer binds on Zalo with the invite code, receives the 30/6/2023 reminder from
`nhacviec tick --now 2023-06-23T08:00:00+07:00` (a real subprocess whose ZALO_API_BASE
points at the fake), answers "1" and then a photo, gets a receipt; `nhacviec tasks list
--json` shows the report with the photo's sha256; on the Official Account the same officer
sends a PDF and it is stored.
"""

from __future__ import annotations

import hashlib
import json

from tests.cli_support import run_beside
from tests.zalo_support import (
    BOT_TOKEN,
    GDDT_TASK,
    JPEG,
    PDF,
    ZaloHarness,
    number_for,
    zalo,
    zalo_id,
)

__all__ = ["zalo"]


async def _nhacviec(h: ZaloHarness, *args: str) -> str:
    """Run the CLI as an admin would, while this event loop keeps serving the fakes."""
    result = await run_beside(
        h.ctx.settings, *args, ZALO_BOT_TOKEN=BOT_TOKEN, ZALO_API_BASE=h.zb.base_url
    )
    assert BOT_TOKEN.split(":")[1] not in result.stdout + result.stderr  # no secret leaks
    return result.stdout


async def test_zalo_done_criterion(zalo: ZaloHarness) -> None:
    h = zalo
    user = zalo_id()
    await h.bind(user)  # 07:00 in Hà Nội: nothing is due yet
    before = len(h.zb.messages_to(user))

    await _nhacviec(h, "tick", "--now", "2023-06-23T08:00:00+07:00")
    reminder = (await h.reply(user, before)).text or ""
    assert GDDT_TASK in reminder and "30/6/2023" in reminder
    assert "1 – ✅ Đã hoàn thành" in reminder

    h.clock.set(h.clock.now().replace(hour=1, minute=5))  # 08:05, the officer answers
    receipt = (await h.say_all(user, "1"))[0]
    assert receipt.startswith("Đã ghi nhận kết quả") and GDDT_TASK in receipt
    url = h.zb.host_file(JPEG, "image/jpeg", "trang-ky.jpg")
    before = len(h.zb.messages_to(user))
    await h.zb.user_sends_photo(user, url)
    photo_receipt = (await h.answers(user, before))[0]
    assert GDDT_TASK in photo_receipt and "08:05 23/6/2023" in photo_receipt

    tasks = json.loads(await _nhacviec(h, "tasks", "list", "--json"))
    task = next(t for t in tasks if t["code"] == GDDT_TASK)
    assert task["status"] == "awaiting_confirmation"
    shas = [a["sha256"] for r in task["reports"] for a in r["attachments"]]
    assert hashlib.sha256(JPEG).hexdigest() in shas

    # The same officer on the Official Account sends the signed PDF.
    officer = await h.ctx.registry.identify("zalo", user)
    assert officer is not None
    oa_user = zalo_id()
    await h.oa_bind(oa_user, officer_id=officer.id)
    before = len(h.oa.messages_to(oa_user))
    assert await h.oa.user_sends_file(oa_user, "Van ban da ky.pdf", PDF) == 200
    # A file alone names no task and the unit has three: the OA asks which, by number.
    question = (await h.oa_answers(oa_user, before))[0]
    assert "nhiệm vụ nào" in question
    pdf_receipt = (await h.oa_say(oa_user, number_for(question, GDDT_TASK))).text or ""
    assert GDDT_TASK in pdf_receipt and "Van ban da ky.pdf" in pdf_receipt

    tasks = json.loads(await _nhacviec(h, "tasks", "list", "--json"))
    task = next(t for t in tasks if t["code"] == GDDT_TASK)
    files = {a["file_name"]: a["sha256"] for r in task["reports"] for a in r["attachments"]}
    assert files["Van ban da ky.pdf"] == hashlib.sha256(PDF).hexdigest()
