"""The dispatcher: claim due outbox rows, send them at the platform's pace, settle them.

One run claims batches of due rows (with a lease), turns each into a recipient and a
message (rendered now, in the recipient's language, from the current facts), and feeds them
to one pacer loop per channel. The pacer starts each send at the earliest moment the
platform's limits allow, preferring any message whose chat is free over one whose chat is
still cooling down, so one busy chat never holds up the rest. Results are written back by a
single settler in group commits.

What happens on failure is decided here, from the port's error classes:
- 429 (`RateLimitedError`): the row waits exactly `retry_after`; the chat pauses too.
- network or 5xx (`TransientChannelError`): exponential backoff; after a few in a row the
  channel sits out the rest of this run (its rows are released untouched).
- blocked / chat not found (`PermanentChannelError`): the account or group is switched off,
  the admins are told (durably, through the outbox), the row fails.
- refused message (`BadMessageError`): a bug on our side; the row fails and is logged.
A process that dies mid-run leaves claimed rows whose lease runs out: they are sent by the
next run (at least once; never lost).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import (
    BadMessageError,
    ChannelError,
    ChannelSender,
    OutgoingMessage,
    PermanentChannelError,
    RateLimitedError,
    Recipient,
    SendResult,
    TransientChannelError,
)
from bot.channels.ratelimit import ChatKey, RealTimer, SendPacer, Ticket, Timer
from bot.channels.router import ChannelRouter
from storage.models import OutboxMessage, OutboxStatus
from storage.repositories import outbox as repo

log = logging.getLogger(__name__)

S = OutboxStatus
_CIRCUIT_BREAK_AFTER = 3  # transient failures in a row before a channel sits out the run
_GLOBAL_PAUSE_AFTER = 3  # 429s in a row before the whole channel pauses, not just the chat


@dataclass(slots=True)
class Job:
    """A claimed row, ready to send."""

    row_id: int
    token: str
    kind: str
    channel: str
    recipient: Recipient
    message: OutgoingMessage
    attempts: int
    officer_id: int | None
    group_chat_id: int | None
    assignment_id: int | None
    claimed_at: datetime | None = None

    @property
    def chat(self) -> ChatKey:
        return ChatKey(self.recipient.chat_id, self.recipient.is_group)


@dataclass(slots=True)
class Outcome:
    """What to write back for one row."""

    job: Job | None
    row_id: int
    token: str
    status: str
    result: SendResult | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    refund: bool = False
    unreachable: bool = False


@dataclass(slots=True)
class DispatchStats:
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    failed: int = 0
    cancelled: int = 0
    deactivated: int = 0
    released: int = 0
    claimed: int = 0
    lost_leases: int = 0


# Turns claimed rows into jobs; returns (jobs, outcomes for rows that must not be sent).
Preparer = Callable[
    [AsyncSession, Sequence[OutboxMessage], datetime], Awaitable[tuple[list[Job], list[Outcome]]]
]
# Writes extra consequences of outcomes (deactivations, alerts) in the settle transaction.
AfterSettle = Callable[[AsyncSession, Sequence[Outcome], datetime], Awaitable[None]]


@dataclass
class DispatchConfig:
    lease: timedelta = timedelta(seconds=300)
    batch_size: int = 200
    max_attempts: int = 12
    backoff: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(seconds=3600)
    margin: float = 0.02
    concurrency: int = 24


@dataclass
class _Lane:
    """One channel's queue and pacer during a run."""

    sender: ChannelSender
    pacer: SendPacer
    heap: list[tuple[float, int, Job]] = field(default_factory=list)
    broken: bool = False
    transient_streak: int = 0
    limited_streak: int = 0


class _Round:
    """Shared state of one round: the lanes, the results queue, who is still working."""

    def __init__(self, lanes: dict[str, _Lane]) -> None:
        self.lanes = lanes
        self.outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        self.sends: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()
        self.producing = True
        self.starved = False

    def queued(self) -> int:
        return sum(len(lane.heap) for lane in self.lanes.values())


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        channels: ChannelRouter,
        *,
        prepare: Preparer,
        after_settle: AfterSettle,
        config: DispatchConfig | None = None,
        timer: Timer | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._channels = channels
        self._prepare = prepare
        self._after_settle = after_settle
        self.config = config or DispatchConfig()
        self.timer: Timer = timer or RealTimer()
        # Pacers outlive runs: the platform remembers our last second even if we don't.
        self._pacers: dict[str, SendPacer] = {}
        self._seq = itertools.count()

    def pacer_for(self, kind: str, sender: ChannelSender) -> SendPacer:
        pacer = self._pacers.get(kind)
        if pacer is None or pacer.limits != sender.limits or pacer.timer is not self.timer:
            pacer = SendPacer(sender.limits, margin=self.config.margin, timer=self.timer)
            self._pacers[kind] = pacer
        return pacer

    async def run(
        self, now: Callable[[], datetime], *, office_open: Callable[[datetime], bool]
    ) -> DispatchStats:
        """Send everything due now; return when nothing due is left for a working channel."""
        stats = DispatchStats()
        lanes: dict[str, _Lane] = {}
        for kind in sorted(self._channels.kinds()):
            sender = self._channels.get(kind)
            if sender is not None:
                lanes[kind] = _Lane(sender, self.pacer_for(kind, sender))
        # Rounds until a round claims nothing: settling may enqueue new immediate rows
        # (an alert to the admins about an unreachable officer), which go out in this run.
        while lanes and any(not lane.broken for lane in lanes.values()):
            before = stats.claimed
            await self._round(lanes, stats, now, office_open)
            if stats.claimed == before:
                break
        return stats

    async def _round(
        self,
        lanes: dict[str, _Lane],
        stats: DispatchStats,
        now: Callable[[], datetime],
        office_open: Callable[[datetime], bool],
    ) -> None:
        run = _Round(lanes)
        settler = asyncio.create_task(self._settle_loop(run.outcomes, stats, now))
        in_flight = asyncio.Semaphore(self.config.concurrency)
        pacers = [
            asyncio.create_task(self._pace(lane, run, in_flight, now)) for lane in lanes.values()
        ]
        try:
            await self._produce(run, stats, now, office_open)
            await asyncio.gather(*pacers)
            while run.sends:
                await asyncio.gather(*list(run.sends))
        finally:
            run.producing = False
            run.changed.set()
            for task in [*pacers, *run.sends]:
                task.cancel()
            await asyncio.gather(*pacers, *run.sends, return_exceptions=True)
            # Anything still queued (a cancelled run) goes back untouched.
            for lane in lanes.values():
                while lane.heap:
                    _, _, job = heapq.heappop(lane.heap)
                    run.outcomes.put_nowait(_release(job))
            run.outcomes.put_nowait(None)
            await asyncio.shield(settler)

    async def _produce(
        self,
        run: _Round,
        stats: DispatchStats,
        now: Callable[[], datetime],
        office_open: Callable[[datetime], bool],
    ) -> None:
        """Keep the lanes fed: claim a batch when they run low or every head is cooling down."""
        batch = self.config.batch_size
        try:
            while True:
                active = [kind for kind, lane in run.lanes.items() if not lane.broken]
                if not active:
                    return
                queued = run.queued()
                if queued >= 2 * batch and not (run.starved and queued < 20 * batch):
                    run.changed.clear()
                    await run.changed.wait()
                    continue
                moment = now()
                async with self._sessionmaker() as session, session.begin():
                    rows = await repo.claim(
                        session,
                        now=moment,
                        channels=active,
                        office_open=office_open(moment),
                        limit=batch,
                        lease_until=moment + self.config.lease,
                    )
                if not rows:
                    return
                stats.claimed += len(rows)
                async with self._sessionmaker() as session:
                    jobs, skipped = await self._prepare(session, rows, moment)
                for outcome in skipped:
                    run.outcomes.put_nowait(outcome)
                for job in jobs:
                    job.claimed_at = moment
                    heapq.heappush(run.lanes[job.channel].heap, (0.0, next(self._seq), job))
                run.starved = False
                run.changed.set()
        finally:
            run.producing = False
            run.changed.set()

    async def _pace(
        self,
        lane: _Lane,
        run: _Round,
        in_flight: asyncio.Semaphore,
        now: Callable[[], datetime],
    ) -> None:
        pacer = lane.pacer
        while True:
            if lane.broken:
                while lane.heap:
                    _, _, job = heapq.heappop(lane.heap)
                    run.outcomes.put_nowait(_release(job))
                run.changed.set()
            if not lane.heap:
                if not run.producing:
                    return
                run.changed.clear()
                await run.changed.wait()
                continue
            ready, seq, job = lane.heap[0]
            chat_ready = pacer.chat_ready_at(job.chat)
            if chat_ready == math.inf:
                # Its chat's last message is unanswered: look again a little later. Yield
                # here: re-keying alone never awaits, so a send slower than its estimate
                # would spin the event loop and starve that very send.
                key = max(pacer.chat_estimate(job.chat), self.timer.monotonic() + 0.005)
                heapq.heapreplace(lane.heap, (key, seq, job))
                if lane.heap[0][0] > self.timer.monotonic():
                    await self.timer.sleep(0.005)
                continue
            key = chat_ready
            if abs(key - ready) > 1e-9:
                # Re-key by when its chat is free, so the head is always the message that
                # can go first and a busy chat never holds up the others.
                heapq.heapreplace(lane.heap, (key, seq, job))
                continue
            global_ready = pacer.global_ready_at()
            starved = ready > global_ready
            if starved and run.producing and not run.starved:
                # Every queued message waits on its chat: fetch more rows to fill the gap.
                run.starved = True
                run.changed.set()
            delay = max(ready, global_ready) - self.timer.monotonic()
            if delay > 0:
                # Look again soon: an answer may free a window early, new rows may arrive,
                # and a window waiting on an unanswered send reports an infinite delay.
                await self.timer.sleep(min(delay, pacer.global_interval))
                continue
            await in_flight.acquire()
            if lane.broken or not lane.heap or lane.heap[0][2] is not job:
                in_flight.release()
                continue
            heapq.heappop(lane.heap)
            if job.claimed_at is not None and now() - job.claimed_at > self.config.lease * 0.8:
                # Held so long its lease is nearly over: another dispatcher may take it.
                in_flight.release()
                run.outcomes.put_nowait(_release(job))
                continue
            ticket = pacer.take(job.chat)
            task = asyncio.create_task(self._send(lane, job, ticket, run.outcomes, in_flight, now))
            run.sends.add(task)
            task.add_done_callback(run.sends.discard)
            if run.queued() < 2 * self.config.batch_size:
                run.changed.set()

    async def _send(
        self,
        lane: _Lane,
        job: Job,
        ticket: Ticket,
        outcomes: asyncio.Queue[Outcome | None],
        in_flight: asyncio.Semaphore,
        now: Callable[[], datetime],
    ) -> None:
        try:
            try:
                try:
                    result = await lane.sender.send(job.recipient, job.message)
                finally:
                    lane.pacer.finish(ticket)
            except ChannelError as exc:
                outcome = self._failure(lane, job, exc, now())
            except Exception as exc:  # a sender bug must not lose the row: retry it later
                log.exception("sender %s crashed on outbox row %s", job.channel, job.row_id)
                outcome = self._failure(lane, job, TransientChannelError(type(exc).__name__), now())
            else:
                lane.transient_streak = 0
                lane.limited_streak = 0
                outcome = Outcome(job, job.row_id, job.token, S.SENT, result=result)
        finally:
            in_flight.release()
        outcomes.put_nowait(outcome)

    def _failure(self, lane: _Lane, job: Job, exc: ChannelError, moment: datetime) -> Outcome:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, RateLimitedError):
            lane.limited_streak += 1
            retry_after = max(0.0, float(exc.retry_after))
            lane.pacer.pause(retry_after, job.chat)
            if lane.limited_streak >= _GLOBAL_PAUSE_AFTER:
                lane.pacer.pause(retry_after)
            log.warning(
                "%s asked to wait %ss before writing to chat %s again",
                job.channel,
                retry_after,
                job.recipient.chat_id,
            )
            return Outcome(
                job,
                job.row_id,
                job.token,
                S.PENDING,
                error=f"429: retry after {retry_after:g}s",
                next_attempt_at=moment + timedelta(seconds=retry_after),
                refund=True,
            )
        lane.limited_streak = 0
        if isinstance(exc, PermanentChannelError):
            log.warning(
                "%s chat %s is unreachable: %s", job.channel, job.recipient.chat_id, message
            )
            return Outcome(job, job.row_id, job.token, S.FAILED, error=message, unreachable=True)
        if isinstance(exc, BadMessageError):
            log.error("%s refused outbox row %s: %s", job.channel, job.row_id, message)
            return Outcome(job, job.row_id, job.token, S.FAILED, error=message)
        # Transient (or an error class we do not know): back off, maybe sit this run out.
        lane.transient_streak += 1
        if lane.transient_streak >= _CIRCUIT_BREAK_AFTER and not lane.broken:
            lane.broken = True
            log.warning(
                "%s keeps failing (%s); pausing it until the next tick", job.channel, message
            )
        if job.attempts >= self.config.max_attempts:
            log.error(
                "giving up outbox row %s after %s attempts: %s", job.row_id, job.attempts, message
            )
            return Outcome(job, job.row_id, job.token, S.FAILED, error=message)
        backoff = min(
            self.config.backoff * (2 ** max(0, job.attempts - 1)), self.config.backoff_max
        )
        return Outcome(
            job, job.row_id, job.token, S.PENDING, error=message, next_attempt_at=moment + backoff
        )

    async def _settle_loop(
        self,
        outcomes: asyncio.Queue[Outcome | None],
        stats: DispatchStats,
        now: Callable[[], datetime],
    ) -> None:
        """Write outcomes back in group commits: whatever has arrived since the last one."""
        done = False
        while not done:
            first = await outcomes.get()
            if first is None:
                break
            batch = [first]
            while not outcomes.empty():
                item = outcomes.get_nowait()
                if item is None:
                    done = True
                    break
                batch.append(item)
            try:
                await self._settle(batch, stats, now())
            except Exception:  # the rows stay claimed; their lease brings them back
                log.exception("could not record %s outbox results", len(batch))

    async def _settle(
        self, batch: Sequence[Outcome], stats: DispatchStats, moment: datetime
    ) -> None:
        async with self._sessionmaker() as session, session.begin():
            for outcome in batch:
                job = outcome.job
                if outcome.status == S.SENT and job is not None and outcome.result is not None:
                    kept = await repo.mark_sent(
                        session,
                        row_id=outcome.row_id,
                        token=outcome.token,
                        now=moment,
                        channel=job.channel,
                        chat_id=job.recipient.chat_id,
                        message_ids=outcome.result.message_ids,
                        assignment_id=job.assignment_id,
                        kind=job.kind,
                    )
                    stats.sent += 1
                else:
                    kept = await repo.settle(
                        session,
                        row_id=outcome.row_id,
                        token=outcome.token,
                        now=moment,
                        status=outcome.status,
                        next_attempt_at=outcome.next_attempt_at,
                        error=outcome.error,
                        refund_attempt=outcome.refund,
                    )
                    _count(outcome, stats)
                if not kept:
                    stats.lost_leases += 1
                    log.warning("outbox row %s was re-claimed before we settled it", outcome.row_id)
            await self._after_settle(session, batch, moment)


def _release(job: Job) -> Outcome:
    return Outcome(job, job.row_id, job.token, S.PENDING, refund=True, error=None)


def _count(outcome: Outcome, stats: DispatchStats) -> None:
    if outcome.status == S.CANCELLED:
        stats.cancelled += 1
    elif outcome.status == S.FAILED:
        stats.failed += 1
        if outcome.unreachable:
            stats.deactivated += 1
    elif outcome.status == S.PENDING:
        if outcome.refund and outcome.error is None:
            stats.released += 1
        elif outcome.refund:
            stats.rate_limited += 1
        else:
            stats.retried += 1


def describe(stats: DispatchStats) -> dict[str, Any]:
    return {
        "sent": stats.sent,
        "retried": stats.retried,
        "rate_limited": stats.rate_limited,
        "failed": stats.failed,
        "cancelled": stats.cancelled,
        "deactivated": stats.deactivated,
    }
