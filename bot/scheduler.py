"""APScheduler 3, kept at arm's length: it only decides *when* to call `tick()`.

What is due lives in our own tables (the outbox), so the scheduler needs no job store: a
restart loses nothing, and a tick that runs late or twice sends nothing twice. Three jobs:
an interval tick (TICK_INTERVAL_SECONDS) that plans and sends whatever is due, and two cron
jobs that make sure a tick happens exactly at the digest time (Monday 08:00) and at the
admins' summary time (16:00). The digest and summary themselves are queued by the tick,
which knows the working calendar (a holiday Monday moves the digest to Tuesday).

Jobs are module-level coroutines taking only an id, as APScheduler prefers; the id finds
the service in a registry this component fills on start and empties on stop.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.config import Settings
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)

TICK_JOB = "nhacviec.reminders.tick"
DIGEST_JOB = "nhacviec.reminders.weekly_digest"
SUMMARY_JOB = "nhacviec.reminders.admin_summary"

# A late cron firing (the process was busy or asleep) still runs within this window; the
# default of 1 s silently drops it.
CRON_GRACE_SECONDS = 3600

_services: dict[str, ReminderService] = {}


async def tick_job(service_id: str) -> None:
    """Plan, queue digests, send what is due."""
    service = _services.get(service_id)
    if service is None:
        return
    try:
        await service.tick()
    except Exception:  # the next tick tries again; the outbox keeps everything
        log.exception("reminder tick failed")


class ReminderScheduler:
    """A runtime component: starts the jobs inside the running loop, stops them cleanly."""

    def __init__(self, reminders: ReminderService, settings: Settings, clock: Clock) -> None:
        self._reminders = reminders
        self._settings = settings
        self._clock = clock
        self.service_id = uuid.uuid4().hex
        self.scheduler: AsyncIOScheduler | None = None

    def build(self) -> AsyncIOScheduler:
        settings = self._settings
        scheduler = AsyncIOScheduler(timezone=UTC)
        interval = settings.tick_interval_seconds
        scheduler.add_job(
            tick_job,
            IntervalTrigger(seconds=interval, timezone=UTC),
            id=TICK_JOB,
            name="plan and send due reminders",
            args=[self.service_id],
            replace_existing=True,
            misfire_grace_time=interval,
            coalesce=True,
            max_instances=1,
            next_run_time=self._clock.now(),  # tick once at start: catch up after downtime
        )
        tz = settings.tz
        digest = settings.digest_time
        scheduler.add_job(
            tick_job,
            CronTrigger(day_of_week="mon-sat", hour=digest.hour, minute=digest.minute, timezone=tz),
            id=DIGEST_JOB,
            name="weekly group digest",
            args=[self.service_id],
            replace_existing=True,
            misfire_grace_time=CRON_GRACE_SECONDS,
            coalesce=True,
            max_instances=1,
        )
        summary = settings.admin_summary_time
        scheduler.add_job(
            tick_job,
            CronTrigger(
                day_of_week="mon-sat", hour=summary.hour, minute=summary.minute, timezone=tz
            ),
            id=SUMMARY_JOB,
            name="daily overdue summary to admins",
            args=[self.service_id],
            replace_existing=True,
            misfire_grace_time=CRON_GRACE_SECONDS,
            coalesce=True,
            max_instances=1,
        )
        return scheduler

    async def start(self) -> None:
        """Must run inside the event loop: AsyncIOScheduler binds to the running loop."""
        _services[self.service_id] = self._reminders
        self.scheduler = self.build()
        self.scheduler.start()
        log.info(
            "scheduler started: tick every %ss, digest %s, admin summary %s",
            self._settings.tick_interval_seconds,
            self._settings.digest_time.strftime("%H:%M"),
            self._settings.admin_summary_time.strftime("%H:%M"),
        )

    async def stop(self) -> None:
        _services.pop(self.service_id, None)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        # Let a tick in progress settle what it sent before the database goes away.
        await self._reminders.drain()
