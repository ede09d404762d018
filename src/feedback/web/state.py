"""What the running app shares between requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from feedback.config import Settings
from feedback.responses.writer import ResponseWriter
from feedback.web.formguard import FormGuard
from feedback.web.limits import Limits

AnyRequest = Request[Any, Any, Any]


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    writer: ResponseWriter
    limits: Limits
    form_guard: FormGuard
