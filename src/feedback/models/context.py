"""The context of the interaction a survey asks about, shared by invitations and responses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

CONTEXT_TEXT_FIELDS = ("channel", "product", "team", "agent", "contractor", "region")
CONTEXT_FIELDS = (
    "department_id",
    *CONTEXT_TEXT_FIELDS,
    "handle_time_s",
    "wait_time_s",
    "first_contact_resolved",
    "context_fields",
)


class InteractionContext:
    """Columns copied from an invitation onto its response, so analysis reads one table."""

    @declared_attr
    def department_id(cls) -> Mapped[int | None]:  # noqa: N805 (SQLAlchemy passes the class)
        return mapped_column(ForeignKey("departments.id"), index=True)

    channel: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    agent: Mapped[str | None] = mapped_column(String(128))
    contractor: Mapped[str | None] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(64))
    handle_time_s: Mapped[int | None] = mapped_column(Integer)
    wait_time_s: Mapped[int | None] = mapped_column(Integer)
    first_contact_resolved: Mapped[bool | None] = mapped_column()
    # The company's own fields (settings: FEEDBACK_CONTEXT_FIELDS_FILE), by name: a number or a text.
    context_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
