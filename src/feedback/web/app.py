"""The Litestar application: wiring only. Each domain's api.py and pages.py hold its routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router, get
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from feedback import __version__
from feedback.accounts.pages import LoginPages
from feedback.causes.api import CauseController
from feedback.causes.pages import CausePages
from feedback.config import Settings, get_settings
from feedback.dashboards.pages import DashboardPages
from feedback.db import make_engine, make_sessionmaker
from feedback.departments.api import DepartmentController
from feedback.digests.api import DigestController
from feedback.digests.pages import ActionPages
from feedback.heap import startup_heap_frozen
from feedback.i18n import SOURCE_LANGUAGE, gettext_for
from feedback.invitations.api import InvitationController
from feedback.mentions.api import MentionController
from feedback.metrics.api import MetricsController
from feedback.outcomes.api import OutcomeController
from feedback.privacy.api import PrivacyController
from feedback.responses.api import ResponseController
from feedback.responses.writer import ResponseWriter
from feedback.sentiment.api import SentimentController
from feedback.surveys.api import SurveyController
from feedback.surveys.pages import SurveyPages
from feedback.targets.api import TargetController
from feedback.web.apidocs import OfflineSwaggerUI, swagger_assets
from feedback.web.errors import EXCEPTION_HANDLERS, allowed_methods, document_errors
from feedback.web.formguard import FormGuard
from feedback.web.guards import InputChecks
from feedback.web.health import health, ready
from feedback.web.limits import Limits, RateLimitMiddleware
from feedback.web.schema import StrictStructSchemaPlugin
from feedback.web.session import csrf_config
from feedback.web.state import AppContext

HERE = Path(__file__).parent


@get("/", include_in_schema=False, sync_to_thread=False)
def home() -> Redirect:
    return Redirect("/dashboards")


def _english_by_default(engine: JinjaTemplateEngine) -> None:
    """Pages that pass no ``_`` of their own (a language's gettext) show the English text."""
    engine.engine.globals["_"] = gettext_for(SOURCE_LANGUAGE)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, sqlite_synchronous_level=settings.sqlite_synchronous)
    sessions = make_sessionmaker(engine)
    writer = ResponseWriter(
        sessions,
        settings.max_text_chars,
        settings.write_batch_max,
        mode=settings.writer,
        sqlite_synchronous=settings.sqlite_synchronous,
        timeout_s=settings.write_timeout_s,
    )
    limits = Limits(settings)
    ctx = AppContext(settings, engine, sessions, writer, limits, FormGuard(settings))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        ctx.writer.start()
        try:
            with startup_heap_frozen():
                yield
        finally:
            ctx.writer.stop()
            engine.dispose()

    def provide_ctx() -> AppContext:
        return ctx

    app = Litestar(
        route_handlers=[
            health,
            ready,
            home,
            DepartmentController,
            DigestController,
            SurveyController,
            # Bulk bodies (10,000 invitations, a webhook batch of mentions) get their own, larger limit.
            Router(
                "/",
                route_handlers=[InvitationController, MentionController, OutcomeController],
                request_max_body_size=settings.bulk_max_body_bytes,
            ),
            ResponseController,
            CauseController,
            MetricsController,
            TargetController,
            SentimentController,
            PrivacyController,
            SurveyPages,
            LoginPages,
            ActionPages,
            DashboardPages,
            CausePages,
            create_static_files_router(
                path="/static", directories=[HERE / "static"], include_in_schema=False
            ),
            swagger_assets(),
        ],
        dependencies={"ctx": Provide(provide_ctx, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_english_by_default
        ),
        openapi_config=OpenAPIConfig(
            title="feedback",
            version=__version__,
            description="Customer-satisfaction surveys and the feedback loop after the score.",
            path="/schema",
            render_plugins=[OfflineSwaggerUI()],
        ),
        request_max_body_size=settings.max_body_bytes,
        middleware=[RateLimitMiddleware(limits), InputChecks()],
        csrf_config=csrf_config(settings),
        plugins=[StrictStructSchemaPlugin()],
    )
    document_errors(app)
    app.before_send.append(allowed_methods(app))
    return app
