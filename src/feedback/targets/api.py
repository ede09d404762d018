"""/api/targets: metric targets per department or contractor (admins set them; readers list them)."""

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from feedback.db import transaction
from feedback.models import Role
from feedback.targets import service as targets
from feedback.targets.service import TargetOut, TargetSpec
from feedback.web.auth import READERS, authorize
from feedback.web.state import AnyRequest, AppContext


class TargetController(Controller):
    path = "/api/targets"
    tags = ["targets"]

    @get(
        sync_to_thread=True,
        summary="List targets (a department head sees their department's and contractors')",
    )
    def list_targets(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> list[TargetOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return targets.read_targets(session, caller)

    @post(sync_to_thread=True, summary="Set the target for a metric of a department or contractor (admin)")
    def put(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[TargetSpec]
    ) -> TargetOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            return targets.set_target(session, data)

    @delete(
        "/{metric:str}/{dimension:str}/{value:str}", sync_to_thread=True, summary="Delete a target (admin)"
    )
    def remove(
        self,
        request: AnyRequest,
        ctx: NamedDependency[AppContext],
        metric: FromPath[str],
        dimension: FromPath[str],
        value: FromPath[str],
    ) -> None:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            targets.delete_target(session, metric, dimension, value)
