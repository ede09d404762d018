"""/api/departments"""

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from feedback.db import transaction
from feedback.departments import service as departments
from feedback.departments.service import DepartmentOut, DepartmentSpec
from feedback.models import Role
from feedback.web.auth import READERS, authorize
from feedback.web.state import AnyRequest, AppContext


class DepartmentController(Controller):
    path = "/api/departments"
    tags = ["departments"]

    @get(sync_to_thread=True, summary="List departments")
    def list(self, request: AnyRequest, ctx: NamedDependency[AppContext]) -> list[DepartmentOut]:
        with transaction(ctx.sessions) as session:
            caller = authorize(request, session, *READERS)
            return departments.read_departments(session, caller)

    @post(sync_to_thread=True, summary="Create or update a department, its digests, heads, channels (admin)")
    def put(
        self, request: AnyRequest, ctx: NamedDependency[AppContext], data: JSONBody[DepartmentSpec]
    ) -> DepartmentOut:
        with transaction(ctx.sessions) as session:
            authorize(request, session, Role.ADMIN)
            return departments.to_out(departments.upsert_department(session, data), session)
