"""Benchmark: 5,000 progress replies through the fake Bot API, on SQLite.

    .venv/bin/python -m bench.replies [--replies 5000] [--officers 500] [--rate 250]

Officers of three units answer in free text ("được 40%", "VHXH23-04: đã đạt 55%", "Đang chờ
ý kiến của Sở"); every reply is understood, recorded with its receipt. Two phases:

- *burst*: every reply queued at once; prints sustained replies/s (first update queued →
  last receipt sent);
- *paced*: replies offered at `--rate` per second; prints p50/p95 handling latency, measured
  inside the Dispatcher from the update's arrival to its handler's end.

The fake's flood limits are off: the figure is the bot's own capacity, not Telegram's (whose
30 messages/s ceiling the reminder engine's outbox respects for the messages it sends).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject

from bot.app import build_context
from bot.channels.telegram_runtime import TelegramRuntime
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.enums import Role
from storage import migrate
from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

TOKEN = "123456:BENCH-fake-token"
# unit → (a task of the unit, how officers name it): NHCSXH has one open task, so officers
# there just write; the others mention the code.
UNITS = {"NHCSXH": "", "GDDT": "VHXH23-04", "TTYT": "VHXH23-07"}


class Timing:
    """Outer middleware recording each update's handling time (seconds)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.enabled = False

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        start = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            if self.enabled:
                self.samples.append(time.perf_counter() - start)


def _reply_text(index: int, code: str) -> str:
    kind = index % 3
    percent = 10 + index % 80
    if kind == 0:
        text = f"được {percent}%"
    elif kind == 1:
        text = f"đã đạt {percent} phan tram"
    else:
        text = "Đang chờ ý kiến của Sở, sẽ báo cáo sau"
    return f"{code}: {text}" if code else text


async def _bind_officers(ctx: Any, tg: FakeTelegramServer, count: int) -> list[tuple[int, str]]:
    officers: list[tuple[int, str]] = []
    units = list(UNITS)
    for index in range(count):
        unit = units[index % len(units)]
        user_id = 100_000 + index
        invite = await ctx.registry.create_invite(
            unit_code=unit, officer_name=f"Cán bộ {index}", role=Role.OFFICER, actor="bench"
        )
        await ctx.registry.redeem_invite(
            invite.code, channel="telegram", user_id=str(user_id), chat_id=str(user_id)
        )
        tg.add_user(user_id, f"CB{index}", started=True)
        officers.append((user_id, UNITS[unit]))
    return officers


async def _phase(
    tg: FakeTelegramServer,
    officers: list[tuple[int, str]],
    replies: int,
    offset: int,
    rate: float | None,
) -> float:
    """Queue `replies` replies (all at once, or at `rate`/s); seconds until every receipt."""
    before = len(tg.sent)
    start = time.perf_counter()
    step = 0.02
    per_step = max(1, round((rate or 0) * step))
    for index in range(replies):
        user_id, code = officers[(offset + index) % len(officers)]
        tg.user_sends_text(user_id, _reply_text(offset + index, code))
        if rate and (index + 1) % per_step == 0:
            await asyncio.sleep(max(0.0, start + (index + 1) / rate - time.perf_counter()))
    while len(tg.sent) - before < replies:
        await tg.wait_for_sent(timeout=60)
    return time.perf_counter() - start


async def run(replies: int, officers_count: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite+aiosqlite:///{root / 'bench.db'}",
                attachments_dir=root / "files",
                telegram_bot_token=TOKEN,
                telegram_api_base=tg.base_url,
                telegram_bot_username="bench_bot",
            )
            ctx = build_context(settings, clock=SystemClock())
            with ctx.i18n.context(), ctx.i18n.use_locale("vi"):
                await migrate.upgrade(ctx.engine)
                await ctx.seed.load(actor="bench")
                officers = await _bind_officers(ctx, tg, officers_count)
                runtime = TelegramRuntime(ctx)
                timing = Timing()
                runtime.dp.update.outer_middleware(timing)
                await runtime.start()
                try:
                    # Warm up (imports, first connections) outside the figures.
                    await _phase(tg, officers, 50, 0, None)
                    burst = await _phase(tg, officers, replies, 50, None)
                    timing.enabled = True
                    paced_count = min(replies, 2_000)
                    paced = await _phase(tg, officers, paced_count, 50 + replies, rate)
                    timing.enabled = False
                    loaded = sorted(timing.samples)
                    timing.samples = []
                    timing.enabled = True
                    light_count = 100
                    await _phase(tg, officers, light_count, 50 + replies + paced_count, 5.0)
                    timing.enabled = False
                finally:
                    await runtime.stop()
                    await ctx.reminders.drain()
                    await ctx.aclose()
    light = sorted(timing.samples)
    print(f"progress replies (SQLite, {officers_count} officers, fake Bot API)")
    print(f"  burst: {replies} replies in {burst:.1f} s = {replies / burst:.0f} replies/s")
    print(
        f"  offered {rate:.0f}/s: {paced_count} replies in {paced:.1f} s; "
        f"handling latency p50 {_ms(loaded, 0.5)}, p95 {_ms(loaded, 0.95)}"
    )
    print(
        f"  offered 5/s: {light_count} replies; "
        f"handling latency p50 {_ms(light, 0.5)}, p95 {_ms(light, 0.95)}"
    )
    print("  targets: >= 200 replies/s, p95 <= 50 ms")


def _ms(samples: list[float], quantile: float) -> str:
    if not samples:
        return "n/a"
    return f"{samples[max(0, int(len(samples) * quantile) - 1)] * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=5_000)
    parser.add_argument("--officers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=250.0)
    args = parser.parse_args()
    asyncio.run(run(args.replies, args.officers, args.rate))


if __name__ == "__main__":
    main()
