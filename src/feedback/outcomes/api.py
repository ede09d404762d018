"""/api/outcomes: what customers did after they answered (events, identity map) and what it shows."""

from dataclasses import asdict
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from feedback.db import transaction
from feedback.models import Role
from feedback.outcomes.batches import add_events, add_identities
from feedback.outcomes.report import (
    field_drivers,
    parse_edges,
    parse_scores,
    satisfaction_pays,
)
from feedback.web.auth import authorize
from feedback.web.state import AnyRequest, AppContext

Text = Annotated[str, QueryParameter(required=True, max_length=200)]
Scale = Annotated[str, QueryParameter(required=False, max_length=16)]
OptionalText = Annotated[str | None, QueryParameter(required=False, max_length=200)]
Days = Annotated[int, QueryParameter(required=False, ge=1, le=3660)]


class EventsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 10,000 events: ``customer_id``, ``occurred_at``, ``kind``; optional ``amount``, ``currency``,
    ``reference`` (with a reference, the same event sent again is the same event)."""

    events: list[dict[str, Any]]
    source: str = "api"


class IdentitiesIn(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 10,000 rows ``{"customer_id": ..., "person_id": ...}``: this id is one of that person's."""

    identities: list[dict[str, Any]]


class StoredOut(msgspec.Struct):
    received: int
    stored: int
    duplicates: int


class OutcomeController(Controller):
    path = "/api/outcomes"
    tags = ["outcomes"]

    @post(
        "/events",
        sync_to_thread=True,
        status_code=200,
        summary="Add outcome events (admin); all or none, and a retry stores nothing new",
    )
    def events(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[EventsIn]
    ) -> StoredOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            stored = add_events(session, data.source, data.events)
        return StoredOut(len(data.events), stored.stored, stored.duplicates)

    @post(
        "/identities",
        sync_to_thread=True,
        status_code=200,
        summary="Add identity-map rows (admin): several ids of one person",
    )
    def identities(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[IdentitiesIn]
    ) -> StoredOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            stored = add_identities(session, data.identities)
        return StoredOut(len(data.identities), stored.stored, stored.duplicates)

    @get(
        "/pays",
        sync_to_thread=True,
        summary="Does satisfaction pay? Outcome by band, adjusted difference, verdict (executive, admin)",
    )
    def pays(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        scale: Scale = "csat",
        outcome: Annotated[str, QueryParameter(required=False, max_length=32)] = "repeat_purchase",
        horizon_days: Days = 90,
        top: OptionalText = None,
        bottom: OptionalText = None,
        control: OptionalText = None,
    ) -> dict[str, Any]:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.EXECUTIVE, Role.ADMIN)
        controls = [c.strip() for c in (control or "").split(",") if c.strip()]
        report = satisfaction_pays(
            ctx.engine,
            scale=scale,
            outcome=outcome,  # type: ignore[arg-type]
            horizon_days=horizon_days,
            top=parse_scores(top, "top") if top else None,
            bottom=parse_scores(bottom, "bottom") if bottom else None,
            controls=controls,
        )
        return report.as_dict()

    @get(
        "/drivers",
        sync_to_thread=True,
        summary="The score by bands of a numeric company field, each band against the first (executives)",
    )
    def drivers(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        field: Text,
        bands: Text,
        scale: Scale = "csat",
    ) -> dict[str, Any]:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.EXECUTIVE, Role.ADMIN)
        result = field_drivers(ctx.engine, scale=scale, field_name=field, edges=parse_edges(bands))
        return asdict(result)
