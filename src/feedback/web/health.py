"""Liveness and readiness: ``/health`` answers while the process runs and says whether the database can be
reached; ``/ready`` is 503 (with Retry-After) while it cannot, so a load balancer sends traffic elsewhere."""

import logging

import msgspec
from litestar import MediaType, Response, get
from litestar.di import NamedDependency
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from feedback.web.state import AppContext

log = logging.getLogger(__name__)


class Health(msgspec.Struct):
    status: str
    database: str  # ok | unavailable
    writer: str  # ok | restarting: the process storing submissions is being replaced


def _database(engine: Engine) -> str:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        log.warning("readiness: the database cannot be reached: %s", exc.orig)
        return "unavailable"
    return "ok"


def _state(ctx: AppContext) -> Health:
    database = _database(ctx.engine)
    writer = "ok" if ctx.writer.alive() else "restarting"
    return Health("ok" if database == writer == "ok" else "unavailable", database, writer)


@get("/health", sync_to_thread=True, tags=["health"], summary="Liveness: the process answers (200 always)")
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
    if state.status == "ok":
        return Response(state, media_type=MediaType.JSON)
    return Response(state, status_code=503, media_type=MediaType.JSON, headers={"Retry-After": "5"})
