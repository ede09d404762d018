"""Digest schedules: cron expressions in a department's time zone, and the fire times around a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from feedback.errors import InvalidInput

MIN_INTERVAL = timedelta(hours=1)
DEFAULT_LENGTH = timedelta(days=7)


def trigger(cron: str, tz: str) -> CronTrigger:
    """A cron expression (minute hour day month day-of-week, e.g. "0 8 * * mon") in the time zone ``tz``."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.on("timezone", f"unknown time zone {tz!r} (e.g. Europe/Berlin)") from None
    try:
        return CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as error:
        raise InvalidInput.on("digest_schedule", f"not a cron expression ({error}): {cron!r}") from None


def check_schedule(cron: str, tz: str) -> None:
    """A valid cron that fires at most once an hour (a digest is a summary, not a stream)."""
    cron_trigger = trigger(cron, tz)
    first = cron_trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    second = cron_trigger.get_next_fire_time(None, first + timedelta(microseconds=1)) if first else None
    if first is None or second is None:
        raise InvalidInput.on("digest_schedule", f"{cron!r} never fires again")
    if second - first < MIN_INTERVAL:
        raise InvalidInput.on("digest_schedule", f"{cron!r} fires more than once an hour")


def _next_at_or_after(cron_trigger: CronTrigger, moment: datetime) -> datetime | None:
    fire: datetime | None = cron_trigger.get_next_fire_time(None, moment)
    return fire


def latest_fire(cron: str, tz: str, now: datetime) -> datetime | None:
    """The last fire time at or before ``now`` (UTC), or None within the last year."""
    cron_trigger = trigger(cron, tz)
    for window in (
        timedelta(hours=2),
        timedelta(days=2),
        timedelta(days=9),
        timedelta(days=33),
        timedelta(days=370),
    ):
        fire = _next_at_or_after(cron_trigger, now - window)
        if fire is None or fire > now:
            continue
        while True:
            following = _next_at_or_after(cron_trigger, fire + timedelta(microseconds=1))
            if following is None or following > now:
                return fire.astimezone(UTC)
            fire = following
    return None


def fires_between(cron: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Fire times in (start, end], oldest first."""
    cron_trigger = trigger(cron, tz)
    out = []
    fire = _next_at_or_after(cron_trigger, start + timedelta(microseconds=1))
    while fire is not None and fire <= end:
        out.append(fire.astimezone(UTC))
        fire = _next_at_or_after(cron_trigger, fire + timedelta(microseconds=1))
    return out


def period_of(cron: str, tz: str, fire: datetime) -> tuple[datetime, datetime]:
    """The period a scheduled digest covers: from the fire before ``fire`` to ``fire``."""
    before = latest_fire(cron, tz, fire - timedelta(microseconds=1))
    return (before or fire - DEFAULT_LENGTH), fire


def period_key(fire: datetime) -> str:
    return fire.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
