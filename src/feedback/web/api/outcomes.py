"""/api/outcomes: what customers did after they answered (events, identity map) and what it shows."""

from typing import Any

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from feedback.db import transaction
from feedback.models import Role
from feedback.services.outcomes.batches import add_events, add_identities
from feedback.web.auth import authorize
from feedback.web.state import AnyRequest, AppContext


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
