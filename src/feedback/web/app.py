"""The Litestar application: wiring only. Routes live in api/ and pages/, rules in services/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
from litestar import Litestar, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from feedback import __version__
from feedback.config import Settings, get_settings
from feedback.db import make_engine, make_sessionmaker
from feedback.services.writer import ResponseWriter
from feedback.web.api.departments import DepartmentController
from feedback.web.api.invitations import InvitationController
from feedback.web.api.responses import ResponseController
from feedback.web.api.surveys import SurveyController
from feedback.web.errors import EXCEPTION_HANDLERS
from feedback.web.pages.surveys import SurveyPages
from feedback.web.state import AppContext

HERE = Path(__file__).parent


class Health(msgspec.Struct):
    status: str


@get("/health", sync_to_thread=False, tags=["health"], summary="Liveness: the process answers")
def health() -> Health:
    return Health("ok")


@get("/", include_in_schema=False, sync_to_thread=False)
def home() -> Redirect:
    return Redirect("/schema")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    ctx = AppContext(
        settings, engine, sessions, ResponseWriter(sessions, settings.max_text_chars, settings.write_batch_max)
    )

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        ctx.writer.start()
        try:
            yield
        finally:
            ctx.writer.stop()
            engine.dispose()

    def provide_ctx() -> AppContext:
        return ctx

    return Litestar(
        route_handlers=[
            health,
            home,
            DepartmentController,
            SurveyController,
            InvitationController,
            ResponseController,
            SurveyPages,
            create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
        ],
        dependencies={"ctx": Provide(provide_ctx, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="feedback",
            version=__version__,
            description="Customer-satisfaction surveys and the feedback loop after the score.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
        ),
        request_max_body_size=settings.max_body_bytes,
    )
