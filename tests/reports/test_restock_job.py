"""The nightly job: one email per site and date across restarts and agents, same-day catch-up,
retries with backoff while SMTP is down, and a recorded failure with an open alert when it stays down."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from agent.config import AgentConfig
from agent.jobs.restock import make_restock_job, schedule_restock_jobs
from agent.services.supplies import list_restock_reports
from tests.inventory.harness import InventoryHarness
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock
from tests.support.wait import wait_until

DAY = datetime(2026, 1, 6, tzinfo=UTC)  # London is on GMT in January: local 06:00 is 06:00 UTC


def at(hour: int, minute: int = 0, second: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute, seconds=second)


def scheduler_run(agent: InventoryHarness, clock: FakeClock) -> BackgroundScheduler:
    """One agent process's scheduler with the restock jobs, as the runtime schedules them."""
    scheduler = BackgroundScheduler(timezone="Europe/London")
    schedule_restock_jobs(
        scheduler, config=agent.config, sessions=agent.sessions, pipeline=agent.pipeline, clock=clock
    )
    scheduler.start()
    return scheduler


def startup_ran(scheduler: BackgroundScheduler) -> bool:
    # The catch-up job is a one-off: APScheduler drops it once it has run.
    return scheduler.get_job("restock-report-startup") is None


def test_not_before_the_scheduled_time_then_once(agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock) -> None:
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock, pipeline=agent.pipeline)
    clock.set(at(5, 59, 59))
    assert job.tick().action == "not_due"
    clock.set(at(6, 0))
    assert job.tick().action == "sent"
    clock.set(at(6, 1))
    assert job.tick().action == "done"
    assert len(smtp.messages()) == 1
    # The next day's report is its own.
    clock.set(at(6, 0, days=1))
    assert job.tick().action == "sent"
    assert len(smtp.messages()) == 2
    reports = list_restock_reports(agent.sessions)
    assert [(r.date, r.state, r.attempts, r.lines) for r in reports] == [
        ("2026-01-07", "sent", 1, 2),
        ("2026-01-06", "sent", 1, 2),
    ]


def test_restart_around_the_scheduled_time_sends_exactly_one_email(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock
) -> None:
    clock.set(at(6, 0, 1))
    first = scheduler_run(agent, clock)
    try:
        wait_until(lambda: len(smtp.messages()) == 1, 15, what="the first agent's email")
    finally:
        first.shutdown(wait=True)
    # Restarted a minute later, next to a second agent on the same database.
    clock.set(at(6, 1))
    second, third = scheduler_run(agent, clock), scheduler_run(agent, clock)
    try:
        wait_until(lambda: startup_ran(second) and startup_ran(third), 15, what="both catch-up runs")
        for scheduler in (second, third):
            scheduler.get_job("restock-report-check").modify(next_run_time=datetime.now(UTC))
        wait_until(
            lambda: all(s.get_job("restock-report-check").next_run_time > datetime.now(UTC) for s in (second, third)),
            15,
            what="the periodic checks to run",
        )
    finally:
        second.shutdown(wait=True)
        third.shutdown(wait=True)
    assert len(smtp.messages()) == 1
    [report] = list_restock_reports(agent.sessions)
    assert (report.date, report.state, report.attempts) == ("2026-01-06", "sent", 1)


def test_many_agents_racing_send_one(agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock) -> None:
    clock.set(at(6, 0))
    jobs = [
        make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock, instance=f"agent-{i}")
        for i in range(6)
    ]
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []

    def run(job: object) -> None:
        barrier.wait()
        outcomes.append(job.tick().action)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("sent") == 1, outcomes
    assert set(outcomes) <= {"sent", "busy", "done"}
    assert len(smtp.messages()) == 1


def test_catch_up_the_same_day_but_not_the_next(agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock) -> None:
    clock.set(at(14, 30))  # the agent was down at 06:00 and comes back in the afternoon
    scheduler = scheduler_run(agent, clock)
    try:
        wait_until(lambda: len(smtp.messages()) == 1, 15, what="the catch-up email")
    finally:
        scheduler.shutdown(wait=True)
    assert smtp.messages()[0].message["Subject"].startswith("Restock list for St Mary's East, 2026-01-06")
    # Down all of the next day until 05:00 the day after: nothing for the missed day, nothing early.
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock)
    clock.set(at(5, 0, days=2))
    assert job.tick().action == "not_due"
    assert len(smtp.messages()) == 1


def test_smtp_down_at_the_scheduled_time_retries_and_succeeds_when_back(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.stop()
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock, pipeline=agent.pipeline)
    clock.set(at(6, 0))
    first = job.tick()
    assert (first.action, first.attempts) == ("retrying", 1)
    assert "can't reach SMTP server" in first.error
    [report] = list_restock_reports(agent.sessions)
    assert report.state == "retrying" and "can't reach" in report.last_error
    clock.advance(timedelta(seconds=30))
    assert job.tick().action == "waiting"  # backoff: not before a minute has passed
    clock.advance(timedelta(seconds=31))
    assert job.tick().action == "retrying"  # second attempt, still down; next in 2 minutes
    smtp.start()
    clock.advance(timedelta(minutes=1))
    assert job.tick().action == "waiting"
    clock.advance(timedelta(minutes=1, seconds=1))
    done = job.tick()
    assert (done.action, done.attempts) == ("sent", 3)
    assert len(smtp.messages()) == 1
    [report] = list_restock_reports(agent.sessions)
    assert (report.state, report.attempts, report.last_error) == ("sent", 3, "")
    assert not [a for a in agent.open_alerts() if a.rule_id == "restock-report-failed"]


def test_smtp_down_for_good_records_failed_and_opens_an_alert(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock, config: AgentConfig
) -> None:
    smtp.stop()
    assert config.notifications.restock_report.retry_for == timedelta(hours=2)
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock, pipeline=agent.pipeline)
    clock.set(at(6, 0))
    actions = []
    for _ in range(200):
        outcome = job.tick()
        actions.append(outcome.action)
        if outcome.action == "failed":
            break
        clock.advance(timedelta(minutes=1))
    assert actions[-1] == "failed"
    attempts = actions.count("retrying") + 1
    assert 5 <= attempts <= 12  # 1, 2, 4, 8, 16, 30, 30 ... minutes apart over two hours
    assert clock() - at(6, 0) >= timedelta(hours=2)
    [report] = list_restock_reports(agent.sessions)
    assert (report.state, report.attempts) == ("failed", attempts)
    assert "can't reach SMTP server" in report.last_error and report.finished_at is not None
    assert job.tick().action == "done"  # a failed day is not retried behind the coordinator's back
    assert agent.pipeline is not None
    agent.pipeline.flush()
    [alert] = [a for a in agent.open_alerts() if a.rule_id == "restock-report-failed"]
    assert alert.team == "coordinator" and alert.status == "open"
    assert f"after {attempts} attempts" in alert.message


def test_a_send_that_died_half_way_is_taken_over_after_its_lease(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock
) -> None:
    from agent.storage.models import JobClaim

    with agent.sessions() as session:
        session.add(
            JobClaim(job="restock-report", site_id="st-marys-east", period="2026-01-06", state="sending",
                     attempts=0, claimed_by="dead-agent", claimed_at=at(6, 0), details={})
        )
        session.commit()
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock)
    clock.set(at(6, 5))
    assert job.tick().action == "busy"  # it may still be sending
    clock.set(at(6, 11))
    assert job.tick().action == "sent"
    assert len(smtp.messages()) == 1
    [report] = list_restock_reports(agent.sessions)
    assert report.state == "sent" and report.claimed_by != "dead-agent"


def test_a_later_successful_report_clears_the_failure_alert(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock
) -> None:
    smtp.stop()
    job = make_restock_job(
        config=agent.config, sessions=agent.sessions, clock=clock, pipeline=agent.pipeline,
        first_delay=timedelta(hours=1), max_delay=timedelta(hours=1),
    )
    clock.set(at(6, 0))
    actions = []
    for _ in range(4):
        actions.append(job.tick().action)
        clock.advance(timedelta(hours=1))
    assert actions == ["retrying", "retrying", "failed", "done"]
    assert agent.pipeline is not None
    agent.pipeline.flush()
    assert [a.rule_id for a in agent.open_alerts() if a.rule_id == "restock-report-failed"]
    smtp.start()
    clock.set(at(6, 0, days=1))
    assert job.tick().action == "sent"
    agent.pipeline.flush()
    assert not [a for a in agent.open_alerts() if a.rule_id == "restock-report-failed"]


def test_due_follows_the_sites_clock_across_daylight_saving() -> None:
    from datetime import time

    from agent.jobs.restock import daily_due
    from agent.jobs.weekly import weekly_due

    due = daily_due("Europe/London", time(6, 0))
    # 29 March 2026: clocks go forward; 06:00 BST is 05:00 UTC.
    assert due(datetime(2026, 3, 29, 4, 59, tzinfo=UTC)) is None
    assert due(datetime(2026, 3, 29, 5, 0, tzinfo=UTC)) == "2026-03-29"
    # 25 October 2026: clocks go back; 06:00 GMT is 06:00 UTC.
    assert due(datetime(2026, 10, 25, 5, 30, tzinfo=UTC)) is None
    assert due(datetime(2026, 10, 25, 6, 0, tzinfo=UTC)) == "2026-10-25"
    # Just after midnight local time is the new day, though UTC is still on the old one.
    assert daily_due("America/New_York", time(0, 0))(datetime(2026, 1, 7, 5, 0, tzinfo=UTC)) == "2026-01-07"
    weekly = weekly_due("Europe/London", "mon", time(7, 0))
    assert weekly(datetime(2026, 2, 2, 7, 0, tzinfo=UTC)) == "2026-W06"
    assert weekly(datetime(2026, 2, 3, 7, 0, tzinfo=UTC)) is None


def test_only_this_sites_items_are_in_its_report(agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock) -> None:
    from agent.storage.models import SupplyItem

    with agent.sessions() as session:
        session.add(SupplyItem(sku="OTHER-1", site_id="another-site", name="Other", par=10, reorder_point=5,
                               on_hand=0, updated_at=clock()))
        session.commit()
    clock.set(at(6, 0))
    assert make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock).tick().action == "sent"
    body = smtp.messages()[0].message.get_body(preferencelist=("plain",))
    assert body is not None and "OTHER-1" not in body.get_content() and "GLV-M" in body.get_content()
