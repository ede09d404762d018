"""/api/surveys/{slug}/invitations: invite customers in bulk (admin)."""

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from feedback.db import transaction
from feedback.invitations.service import NewLink, expiry_in, import_invitations
from feedback.models import Role
from feedback.responses.api import ContextIn
from feedback.surveys import service as surveys
from feedback.web.auth import authorize
from feedback.web.state import AnyRequest, AppContext

Short = Annotated[str, msgspec.Meta(max_length=200)]


class InvitationIn(ContextIn, forbid_unknown_fields=True, omit_defaults=True):
    email: Short | None = None
    customer_id: Short | None = None
    interaction_id: Short | None = None
    expires_at: datetime | None = None
    # The customer's language (pt, pt-BR): the survey page uses it when the survey has it.
    language: (
        Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=16)] | None
    ) = None


class InvitationsIn(msgspec.Struct, forbid_unknown_fields=True):
    invitations: Annotated[list[InvitationIn], msgspec.Meta(min_length=1, max_length=10_000)]
    expires_in_days: Annotated[float, msgspec.Meta(ge=0.01, le=3650)] | None = None


class LinkOut(msgspec.Struct):
    index: int
    email: str | None
    customer_id: str | None
    interaction_id: str | None
    link: str


class InvitationsOut(msgspec.Struct):
    created: int
    duplicates: int
    links: list[LinkOut]


class InvitationController(Controller):
    path = "/api/surveys/{slug:str}/invitations"
    tags = ["invitations"]

    @post(sync_to_thread=True, summary="Invite customers; a row already invited is skipped, not duplicated")
    def create(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        slug: FromPath[str],
        data: JSONBody[InvitationsIn],
    ) -> InvitationsOut:
        links: list[LinkOut] = []

        def keep(link: NewLink) -> None:
            links.append(LinkOut(link.line, link.email, link.customer_id, link.interaction_id, link.link))

        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            survey = surveys.get_survey(session, slug)
            report = import_invitations(
                session,
                survey,
                ((i, msgspec.to_builtins(row)) for i, row in enumerate(data.invitations)),
                base_url=ctx.settings.base_url,
                on_link=keep,
                expires_at=expiry_in(data.expires_in_days),
                where=lambda i: f"invitations[{i}].",
            )
        return InvitationsOut(report.created, report.duplicates, links)
