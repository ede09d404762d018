"""/api/causes: root causes with their ledger and history; the taxonomy and candidate decisions (admin)."""

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from feedback.analysis.causes.taxonomy import parse_cause
from feedback.causes import decisions, evidence, query
from feedback.causes.evidence import EvidencePage
from feedback.causes.query import CauseDetailOut, CauseOut, RunOut
from feedback.db import transaction
from feedback.errors import FieldError, InvalidInput
from feedback.models import CauseStatus, Role
from feedback.specs import Name
from feedback.web.auth import READERS, authorize
from feedback.web.params import choices_pattern
from feedback.web.state import AnyRequest, AppContext

Phrases = Annotated[list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=200)]
STATUSES = ",".join(s.value for s in CauseStatus)


class CauseIn(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str  # checked with the rest by parse_cause: every problem at once, a 422
    department: str | None = None
    description: str = ""
    keywords: Phrases = []
    examples: Phrases = []


class CausePatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: Name | None = None
    department: str | None = None
    description: Annotated[str, msgspec.Meta(max_length=5000)] | None = None
    keywords: Phrases | None = None
    examples: Phrases | None = None


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True):
    department: str
    name: Name | None = None
    id: str | None = None  # a new id for the cause (default: keep candidate-N)


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    into: str


class DismissIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


def _statuses(raw: str) -> tuple[str, ...]:
    wanted = tuple(s.strip() for s in raw.split(",") if s.strip())
    unknown = [s for s in wanted if s not in {c.value for c in CauseStatus}]
    if unknown:
        raise InvalidInput.on("status", f"unknown status {unknown[0]!r} (choose from {STATUSES})")
    return wanted


class CauseController(Controller):
    path = "/api/causes"
    tags = ["causes"]

    @get(sync_to_thread=True, summary="Causes with their latest ledger row, most frequent first (readers)")
    def list(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        status: Annotated[
            str,
            QueryParameter(
                description=f"comma-separated: {STATUSES}",
                pattern=choices_pattern(s.value for s in CauseStatus),
            ),
        ] = "active,candidate",
    ) -> list[CauseOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return query.read_causes(session, caller, _statuses(status))

    @get(
        "/runs/latest",
        sync_to_thread=True,
        summary="The last complete analysis: negative items explained, how many fit no cause (admin, exec)",
    )
    def latest_run(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> RunOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN, Role.EXECUTIVE)
            return query.latest_run(session)

    @get(
        "/{key:str}",
        sync_to_thread=True,
        summary="One cause: ledger per period, history, verbatims (readers)",
    )
    def one(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str]
    ) -> CauseDetailOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return query.read_cause(session, caller, key)

    @get(
        "/{key:str}/items",
        sync_to_thread=True,
        summary="The comments and mentions behind a cause, newest first, cursor-paged (readers)",
    )
    def items(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        limit: Annotated[int, QueryParameter(ge=1, le=evidence.MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> EvidencePage:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return evidence.read_evidence(session, caller, key, limit, cursor)

    @post(sync_to_thread=True, status_code=201, summary="Add a cause to the taxonomy (admin)")
    def create(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[CauseIn]
    ) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            errors: list[FieldError] = []
            spec = parse_cause(msgspec.to_builtins(data), "cause", errors)
            if spec is None:
                raise InvalidInput.of([FieldError(e.field.removeprefix("cause."), e.message) for e in errors])
            cause = decisions.create_cause(session, spec, caller.name)
            return query.cause_detail(session, cause.key, None, examples=0).cause

    @patch(
        "/{key:str}", sync_to_thread=True, summary="Edit a cause: name, owner, description, keywords (admin)"
    )
    def edit(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: JSONBody[CausePatch],
    ) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            changes: dict[str, Any] = msgspec.to_builtins(data)
            cause = decisions.update_cause(session, key, changes, caller.name)
            return query.cause_detail(session, cause.key, None, examples=0).cause

    @delete(
        "/{key:str}", sync_to_thread=True, status_code=200, summary="Retire a cause; history stays (admin)"
    )
    def retire(self, request: AnyRequest, ctx: NamedDependency[AppContext], key: FromPath[str]) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            cause = decisions.retire_cause(session, key, caller.name)
            return query.cause_detail(session, cause.key, None, examples=0).cause

    @post("/candidates/{key:str}/accept", sync_to_thread=True, status_code=200, summary="Accept a candidate")
    def accept(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: JSONBody[AcceptIn],
    ) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            cause = decisions.accept(session, key, data.department, caller.name, data.name, data.id)
            return query.cause_detail(session, cause.key, None, examples=0).cause

    @post("/candidates/{key:str}/merge", sync_to_thread=True, status_code=200, summary="Merge into a cause")
    def merge(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: JSONBody[MergeIn],
    ) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            cause = decisions.merge(session, key, data.into, caller.name)
            return query.cause_detail(session, cause.key, None, examples=0).cause

    @post(
        "/candidates/{key:str}/dismiss", sync_to_thread=True, status_code=200, summary="Dismiss a candidate"
    )
    def dismiss(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        key: FromPath[str],
        data: JSONBody[DismissIn],
    ) -> CauseOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, Role.ADMIN)
            cause = decisions.dismiss(session, key, caller.name, data.reason)
            return query.cause_detail(session, cause.key, None, examples=0).cause
