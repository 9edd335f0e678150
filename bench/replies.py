"""Benchmark: 5,000 progress replies through the fake Bot API, on SQLite.

    .venv/bin/python -m bench.replies [--replies 5000] [--officers 500] [--rate 200]

Officers of three units answer in free text ("được 40%", "VHXH23-04: đã đạt 55%", "Đang chờ
ý kiến của Sở"); every reply is understood, recorded in the database and answered with a
receipt sent over HTTP. The fake Bot API runs in its own process (as in `bench.dispatch`),
so its CPU does not compete with the bot's event loop and the figures are the bot's.
Three phases, after a warm-up:

- *burst*: every reply queued at once; sustained replies/s (first update queued → last
  receipt received by the fake);
- *paced*: replies offered at `--rate` per second (the target's load: 200/s);
- *light*: 100 replies at 5 per second.

For the paced phases two latencies are printed: *handling* (inside the Dispatcher, from
the update entering the first middleware to its handler's end: understanding, the
database transaction, the receipt's HTTP round trip) and *end to end* (seen by the fake:
update queued → receipt received; adds the long poll, parsing and the wait for one of the
16 handling slots). The verdicts against the issue's targets follow (≥ 200 replies/s in the
burst; p95 handling ≤ 50 ms at 200/s offered). At the end the database is checked: one
stored report per reply offered, none twice; the bench exits with status 1 otherwise.

The fake's flood limits are off: the figure is the bot's own capacity, not Telegram's (whose
30 messages/s ceiling the reminder engine's outbox respects for the messages it sends).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from sqlalchemy import String, func, select

from bot.app import AppContext, build_context
from bot.channels.telegram_runtime import TelegramRuntime
from bot.clock import SystemClock
from bot.config import Settings
from bot.domain.enums import Role
from storage import migrate
from storage.models import ProgressReport

TOKEN = "123456:BENCH-fake-token"
# unit → (a task of the unit, how officers name it): NHCSXH has one open task, so officers
# there just write; the others mention the code.
UNITS = {"NHCSXH": "", "GDDT": "VHXH23-04", "TTYT": "VHXH23-07"}
FIRST_USER = 100_000


class Timing:
    """Outermost Dispatcher middleware recording each update's handling time (seconds)."""

    def __init__(self) -> None:
        self.samples: list[float] = []

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


# -- the fake Bot API, in its own process ------------------------------------------------------


@dataclass
class Offered:
    """What the fake saw of one phase: seconds to the last receipt, end-to-end latencies."""

    seconds: float
    latencies: list[float]
    receipts: int


def _serve_fake(conn: Connection, users: list[int]) -> None:
    """Child process: the fake Bot API; plays the officers on command from the pipe."""
    from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

    async def offer(tg: FakeTelegramServer, items: list[tuple[int, str]], rate: float) -> Offered:
        queued: dict[tuple[int, int], float] = {}
        latencies: list[float] = []
        seen = len(tg.sent)
        done = asyncio.Event()

        async def stamp() -> None:
            # Polls the fake's record of sent messages every millisecond (its cost stays
            # in this process); each receipt quotes the reply it answers.
            nonlocal seen
            while len(latencies) < len(items):
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                sent = tg.sent
                for message in sent[seen:]:
                    at = queued.pop((message.chat_id, message.reply_to or 0), None)
                    if at is not None:
                        latencies.append(now - at)
                seen = len(sent)
            done.set()

        stamper = asyncio.create_task(stamp())
        start = time.perf_counter()
        per_step = max(1, round(rate * 0.01)) if rate else len(items)
        for index, (user_id, text) in enumerate(items):
            update = tg.user_sends_text(user_id, text)
            queued[(user_id, update["message"]["message_id"])] = time.perf_counter()
            if rate and (index + 1) % per_step == 0:
                await asyncio.sleep(max(0.0, start + (index + 1) / rate - time.perf_counter()))
        await asyncio.wait_for(done.wait(), timeout=600)
        seconds = time.perf_counter() - start
        await stamper
        return Offered(seconds, latencies, len(latencies))

    async def main() -> None:
        async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
            for index, user in enumerate(users):
                tg.add_user(user, f"CB{index}", started=True)
            conn.send(tg.base_url)
            loop = asyncio.get_running_loop()
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command[0] == "stop":
                    return
                _verb, items, rate = command
                got = await offer(tg, items, rate)
                # Plain values: the parent may not import this module under the same name.
                conn.send((got.seconds, got.latencies, got.receipts))

    asyncio.run(main())


class FakeProcess:
    """The parent's handle on the fake: start, offer a phase, stop."""

    def __init__(self, users: list[int]) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_fake, args=(child, users), daemon=True
        )

    async def start(self) -> str:
        self._process.start()
        url: str = await asyncio.get_running_loop().run_in_executor(None, self._conn.recv)
        return url

    async def offer(self, items: list[tuple[int, str]], rate: float) -> Offered:
        self._conn.send(("offer", items, rate))
        seconds, latencies, receipts = await asyncio.get_running_loop().run_in_executor(
            None, self._conn.recv
        )
        return Offered(seconds, latencies, receipts)

    def stop(self) -> None:
        if self._process.is_alive():
            self._conn.send(("stop",))
            self._process.join(timeout=10)


# -- the bot, in this process -------------------------------------------------------------------


async def _bind_officers(ctx: AppContext, count: int) -> list[tuple[int, str]]:
    officers: list[tuple[int, str]] = []
    units = list(UNITS)
    for index in range(count):
        unit = units[index % len(units)]
        user_id = FIRST_USER + index
        invite = await ctx.registry.create_invite(
            unit_code=unit, officer_name=f"Cán bộ {index}", role=Role.OFFICER, actor="bench"
        )
        await ctx.registry.redeem_invite(
            invite.code, channel="telegram", user_id=str(user_id), chat_id=str(user_id)
        )
        officers.append((user_id, UNITS[unit]))
    return officers


def _time_first(runtime: TelegramRuntime, timing: Timing) -> None:
    """Make `timing` the outermost middleware, so handling includes identity and locale."""
    manager = runtime.dp.update.outer_middleware
    installed = list(manager)
    for middleware in installed:
        manager.unregister(middleware)
    manager.register(timing)
    for middleware in installed:
        manager.register(middleware)


@dataclass
class Phase:
    name: str
    offered: Offered
    handling: list[float]


async def run(replies: int, officers_count: int, rate: float) -> None:
    fake = FakeProcess([FIRST_USER + i for i in range(officers_count)])
    base_url = await fake.start()
    phases: list[Phase] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite+aiosqlite:///{root / 'bench.db'}",
                attachments_dir=root / "files",
                telegram_bot_token=TOKEN,
                telegram_api_base=base_url,
                telegram_bot_username="bench_bot",
            )
            ctx = build_context(settings, clock=SystemClock())
            with ctx.i18n.context(), ctx.i18n.use_locale("vi"):
                await migrate.upgrade(ctx.engine)
                await ctx.seed.load(actor="bench")
                officers = await _bind_officers(ctx, officers_count)
                runtime = TelegramRuntime(ctx)
                timing = Timing()
                _time_first(runtime, timing)
                await runtime.start()
                offset = 0

                async def phase(name: str, count: int, at_rate: float) -> None:
                    nonlocal offset
                    items = [
                        (
                            officers[i % len(officers)][0],
                            _reply_text(i, officers[i % len(officers)][1]),
                        )
                        for i in range(offset, offset + count)
                    ]
                    offset += count
                    timing.samples = []
                    offered = await fake.offer(items, at_rate)
                    phases.append(Phase(name, offered, timing.samples))

                try:
                    await phase("warm-up", 50, 0.0)  # imports, first connections
                    await phase("burst", replies, 0.0)
                    await phase(f"offered {rate:g}/s", replies, rate)
                    await phase("offered 5/s", 100, 5.0)
                finally:
                    await runtime.stop()
                    await ctx.reminders.drain()
                async with ctx.sessionmaker() as session:
                    stored = await session.scalar(select(func.count()).select_from(ProgressReport))
                    distinct = await session.scalar(
                        select(
                            func.count(
                                func.distinct(
                                    ProgressReport.officer_id.cast(String)
                                    + ":"
                                    + ProgressReport.source_message_id
                                )
                            )
                        )
                    )
                await ctx.aclose()
    finally:
        fake.stop()
    ok = _print(phases, rate, officers_count, offset, int(stored or 0), int(distinct or 0))
    if not ok:
        raise SystemExit(1)


TARGET_RATE = 200.0  # replies/s, sustained
TARGET_P95 = 0.050  # seconds of handling, at the target rate


def _print(
    phases: list[Phase], rate: float, officers: int, offered: int, stored: int, distinct: int
) -> bool:
    """Print the figures and the verdicts; False when a reply was lost."""
    print(f"progress replies (SQLite, {officers} officers, fake Bot API in its own process)")
    burst_rate = 0.0
    paced_p95: float | None = None
    for phase in phases[1:]:
        got = phase.offered
        line = f"  {phase.name}: {got.receipts} receipts in {got.seconds:.1f} s"
        if phase.name == "burst":
            burst_rate = got.receipts / got.seconds
            line += f" = {burst_rate:.0f} replies/s"
        else:
            e2e, handling = sorted(got.latencies), sorted(phase.handling)
            line += (
                f"; handling p50 {_ms(handling, 0.5)}, p95 {_ms(handling, 0.95)}"
                f"; end to end p50 {_ms(e2e, 0.5)}, p95 {_ms(e2e, 0.95)}"
            )
            if paced_p95 is None and handling:
                paced_p95 = _quantile(handling, 0.95)
        print(line)
    print(
        f"  throughput: {burst_rate:.0f} replies/s (target >= {TARGET_RATE:.0f}): "
        f"{'met' if burst_rate >= TARGET_RATE else 'NOT met'}"
    )
    if paced_p95 is not None:
        verdict = "met" if rate >= TARGET_RATE and paced_p95 <= TARGET_P95 else "NOT met"
        if rate < TARGET_RATE:
            verdict += f" (offered {rate:g}/s, below the target's {TARGET_RATE:.0f}/s)"
        print(
            f"  latency: p95 handling {paced_p95 * 1000:.1f} ms at {rate:g} replies/s "
            f"(target <= {TARGET_P95 * 1000:.0f} ms at {TARGET_RATE:.0f}/s): {verdict}"
        )
    every = stored == offered and distinct == offered
    print(
        f"  stored: {stored} reports for {offered} replies offered, {distinct} distinct "
        f"(officer, message): {'every reply stored once' if every else 'REPLIES LOST'}"
    )
    return every


def _quantile(samples: list[float], quantile: float) -> float:
    return samples[max(0, int(len(samples) * quantile) - 1)]


def _ms(samples: list[float], quantile: float) -> str:
    if not samples:
        return "n/a"
    return f"{_quantile(samples, quantile) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=5_000)
    parser.add_argument("--officers", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(run(args.replies, args.officers, args.rate))


if __name__ == "__main__":
    main()
