"""/api/privacy/erasures: erase one customer on request (admin) and answer with what was erased."""

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from feedback.db import transaction
from feedback.keys import derive_key
from feedback.models import Role, utcnow
from feedback.privacy.erase import erase_customer
from feedback.privacy.identifiers import HASH_PURPOSE, IdentifierKind, one_identifier
from feedback.web.auth import authorize
from feedback.web.state import AnyRequest, AppContext

Identifier = Annotated[str, msgspec.Meta(max_length=320)]


class ErasureIn(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one of: the customer's e-mail, their customer id, or their public handle."""

    email: Identifier | None = None
    customer_id: Identifier | None = None
    handle: Identifier | None = None


class ErasureOut(msgspec.Struct):
    id: int
    requested_at: datetime
    identifier_kind: str
    counts: dict[str, int]


class PrivacyController(Controller):
    path = "/api/privacy"
    tags = ["privacy"]

    @post(
        "/erasures",
        sync_to_thread=True,
        status_code=201,
        summary="Erase one customer's data (admin); the rows erased per table. Unknown customers give zeros",
    )
    def erase(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[ErasureIn]
    ) -> ErasureOut:
        given = {
            IdentifierKind.EMAIL: data.email,
            IdentifierKind.CUSTOMER_ID: data.customer_id,
            IdentifierKind.HANDLE: data.handle,
        }
        now = utcnow()
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            kind, value = one_identifier(given)
            result = erase_customer(
                session,
                derive_key(ctx.settings, HASH_PURPOSE),
                kind,
                value,
                requested_by=f"api token {caller.name}",
                via="api",
                now=now,
            )
        return ErasureOut(result.request_id, now, result.identifier_kind, result.counts)
