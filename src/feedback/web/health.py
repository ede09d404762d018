"""Liveness and readiness: ``/health`` answers while the process runs and says whether the database can be
reached and whether messages are getting through; ``/ready`` is 503 (with Retry-After) while the database
or the writer is down, so a load balancer sends traffic elsewhere.

``deliveries`` (digests/health.py) counts the digests, alerts and notices failed for good (last 7
days, not resent) and overdue, with the oldest one's age: ``/health`` says ``degraded`` while any is, so a
monitor that watches it hears of a failing mail server by another path than the mail. ``/ready`` shows the
same but stays 200 for it: a mail outage is no reason to stop taking survey answers.
"""

import logging
from datetime import UTC, datetime

import msgspec
from litestar import MediaType, Response, get
from litestar.di import NamedDependency
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from feedback.db import unavailable
from feedback.digests.health import DeliveryHealth, delivery_health
from feedback.web.state import AppContext

log = logging.getLogger(__name__)


class Deliveries(msgspec.Struct):
    status: str  # ok | failing
    failed: int
    overdue: int
    retrying: int
    oldest_age_s: int | None
    errors: list[str]


class Health(msgspec.Struct):
    status: str  # ok | degraded (messages are not getting through) | unavailable
    database: str  # ok | unavailable
    writer: str  # ok | restarting: the process storing submissions is being replaced
    deliveries: Deliveries | None  # None while the database cannot be reached


def _database(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        log.warning("readiness: the database cannot be reached: %s", exc.orig)
        return "unavailable"
    return "ok"


def _deliveries(ctx: AppContext) -> tuple[Deliveries | None, str | None]:
    """The deliveries' health, and the database's when that read says it (it answered, or it is out of
    reach); None when the read failed otherwise (a missing table, say): SELECT 1 then tells."""
    try:
        with ctx.sessions() as session:
            h: DeliveryHealth = delivery_health(session, ctx.settings, datetime.now(UTC))
    except DBAPIError as exc:
        log.warning("health: the deliveries cannot be read: %s", exc.orig)
        return None, "unavailable" if unavailable(exc) else None
    return Deliveries(h.status, h.failed, h.overdue, h.retrying, h.oldest_age_s, list(h.errors)), "ok"


def _state(ctx: AppContext) -> Health:
    writer = "ok" if ctx.writer.alive() else "restarting"
    deliveries, database = _deliveries(ctx)  # one connection, one read in the usual case
    database = database or _database(ctx.engine)
    if database != "ok" or writer != "ok":
        status = "unavailable"
    else:
        status = "degraded" if deliveries is None or deliveries.status != "ok" else "ok"
    return Health(status, database, writer, deliveries)


@get(
    "/health",
    sync_to_thread=True,
    tags=["health"],
    summary="Liveness: the process answers (200 always); degraded while messages fail",
)
def health(ctx: NamedDependency[AppContext]) -> Health:
    return _state(ctx)


@get(
    "/ready",
    sync_to_thread=True,
    tags=["health"],
    summary="Readiness: 200 when the database and the writer can take requests, else 503",
)
def ready(ctx: NamedDependency[AppContext]) -> Response[Health]:
    state = _state(ctx)
    if state.status != "unavailable":
        return Response(state, media_type=MediaType.JSON)
    return Response(state, status_code=503, media_type=MediaType.JSON, headers={"Retry-After": "5"})
