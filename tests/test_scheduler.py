"""The in-process scheduler: its jobs, their triggers and safety settings, and the runtime
wiring; time is moved by hand, never waited for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import scheduler as scheduler_module
from bot.app import build_context
from bot.channels.base import ChannelKind
from bot.clock import FrozenClock, SystemClock
from bot.i18n import I18n
from bot.runtime import RunOptions, SenderSessions, build_components
from bot.scheduler import DIGEST_JOB, SUMMARY_JOB, TICK_JOB, ReminderScheduler, tick_job
from tests import reminder_support
from tests.conftest import make_settings
from tests.reminder_support import Harness, local

# Fixtures, by the names the tests ask for.
harness = reminder_support.harness
shared_bot = reminder_support.shared_bot
tg_shared = reminder_support.tg_shared


async def test_scheduler_jobs_and_their_triggers(harness: Harness) -> None:
    # APScheduler runs on the wall clock: its first tick is put an hour ahead so that
    # nothing fires during the test (a 2023 start would replay every missed minute).
    start = FrozenClock(SystemClock().now() + timedelta(hours=1))
    component = ReminderScheduler(harness.reminders, harness.ctx.settings, start)
    await component.start()
    try:
        scheduler = component.scheduler
        assert scheduler is not None and scheduler.running
        assert str(scheduler.timezone) == "UTC"
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {TICK_JOB, DIGEST_JOB, SUMMARY_JOB}
        tick = jobs[TICK_JOB]
        assert isinstance(tick.trigger, IntervalTrigger)
        assert tick.trigger.interval == timedelta(seconds=60)
        assert tick.misfire_grace_time == 60 and tick.coalesce and tick.max_instances == 1
        assert tick.next_run_time == start.now()  # a tick at start-up
        assert tick.args == (component.service_id,)
        for job_id in (DIGEST_JOB, SUMMARY_JOB):
            assert isinstance(jobs[job_id].trigger, CronTrigger)
            assert jobs[job_id].misfire_grace_time == 3600 and jobs[job_id].coalesce
        # Fire times, computed from a chosen instant rather than waited for.
        friday_evening = local(2023, 6, 23, 18, 0)
        digest = jobs[DIGEST_JOB].trigger.get_next_fire_time(None, friday_evening)
        assert digest == local(2023, 6, 24, 8, 0)  # the job runs Mon–Sat; the tick decides
        summary = jobs[SUMMARY_JOB].trigger.get_next_fire_time(None, local(2023, 6, 26, 9, 0))
        assert summary == local(2023, 6, 26, 16, 0)
        # Building again replaces, never duplicates, the jobs.
        assert {job.id for job in component.build().get_jobs()} == set(jobs)
    finally:
        await component.stop()
    assert component.scheduler is None
    assert component.service_id not in scheduler_module._services


async def test_scheduler_tick_job_sends_what_is_due(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    component = ReminderScheduler(harness.reminders, harness.ctx.settings, harness.clock)
    scheduler_module._services[component.service_id] = harness.reminders
    try:
        harness.clock.set(local(2023, 6, 23, 8, 0))
        await tick_job(component.service_id)
        await tick_job(component.service_id)  # a late duplicate firing sends nothing more
    finally:
        scheduler_module._services.pop(component.service_id)
    assert len(harness.tg.messages_to(uid)) == 1
    await tick_job("unknown")  # a job left from a stopped component does nothing


async def test_scheduler_runtime_components(tmp_path: Path, i18n: I18n, db_url: str) -> None:
    settings = make_settings(
        db_url, tmp_path, telegram_bot_token="123456:TEST-fake-token", web_port=18089
    )
    ctx = build_context(settings, i18n=i18n)
    try:
        with i18n.context():
            components = await build_components(ctx, RunOptions(scheduler=True))
            names = [type(c).__name__ for c in components]
            assert names[-1] == "ReminderScheduler"
            assert any(isinstance(c, SenderSessions) for c in components)
            assert ChannelKind.TELEGRAM in ctx.channels
            without = await build_components(ctx, RunOptions(scheduler=False))
            assert "ReminderScheduler" not in [type(c).__name__ for c in without]
            for component in (*components, *without):
                if isinstance(component, SenderSessions):
                    await component.stop()
    finally:
        await ctx.aclose()


def test_scheduler_uses_the_injected_clock_for_the_first_tick(harness: Harness) -> None:
    harness.clock.set(datetime(2030, 1, 2, 3, 4, tzinfo=UTC))
    component = ReminderScheduler(harness.reminders, harness.ctx.settings, harness.clock)
    job = component.build().get_job(TICK_JOB)
    assert job is not None
    assert job.next_run_time == datetime(2030, 1, 2, 3, 4, tzinfo=UTC)
