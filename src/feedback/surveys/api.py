"""/api/surveys"""

from typing import Literal

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from feedback.db import transaction
from feedback.models import Role, SurveyStatus
from feedback.surveys import service as surveys
from feedback.surveys.service import SurveyOut, SurveySpec
from feedback.web.auth import READERS, authorize
from feedback.web.state import AnyRequest, AppContext


class SurveyPatch(msgspec.Struct, forbid_unknown_fields=True):
    status: Literal["open", "closed"]


class SurveyController(Controller):
    path = "/api/surveys"
    tags = ["surveys"]

    @get(sync_to_thread=True, summary="List surveys")
    def list(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> list[SurveyOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return surveys.read_surveys(session, caller, ctx.settings.base_url)

    @post(sync_to_thread=True, summary="Create a survey, or update the survey with this slug (admin)")
    def put(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[SurveySpec]
    ) -> SurveyOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            spec = surveys.parse_survey_spec(msgspec.to_builtins(data))
            return surveys.describe(session, surveys.load_survey(session, spec), ctx.settings.base_url)

    @get("/{slug:str}", sync_to_thread=True, summary="One survey")
    def one(self, request: AnyRequest, ctx: NamedDependency[AppContext], slug: FromPath[str]) -> SurveyOut:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return surveys.read_survey(session, caller, slug, ctx.settings.base_url)

    @patch("/{slug:str}", sync_to_thread=True, summary="Open or close a survey (admin)")
    def set_status(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        slug: FromPath[str],
        data: JSONBody[SurveyPatch],
    ) -> SurveyOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            survey = surveys.set_status(session, slug, SurveyStatus(data.status))
            return surveys.describe(session, survey, ctx.settings.base_url)
