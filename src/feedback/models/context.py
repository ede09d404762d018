"""The context of the interaction a survey asks about, shared by invitations and responses.

``CONTEXT`` is the one list of context fields: the columns of invitations and responses, the input schema
(CSV, forms, JSON), the metrics' ``by=`` dimensions and filters, the dashboards' filters and the reads are all
made from it. A new field is one line here (and a migration for its columns); company-defined fields go on
top of this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

ContextKind = Literal["text", "seconds", "flag"]


@dataclass(frozen=True)
class ContextField:
    """One field of an interaction's context. Text fields are dimensions: metrics split and filter by them."""

    name: str
    kind: ContextKind
    max_chars: int = 128  # the column's length, for text

    @property
    def is_dimension(self) -> bool:
        return self.kind == "text"


CONTEXT: tuple[ContextField, ...] = (
    ContextField("channel", "text", 64),
    ContextField("product", "text"),
    ContextField("team", "text"),
    ContextField("agent", "text"),
    ContextField("contractor", "text"),
    ContextField("region", "text", 64),
    ContextField("handle_time_s", "seconds"),
    ContextField("wait_time_s", "seconds"),
    ContextField("first_contact_resolved", "flag"),
)
# Names: the dimensions (text fields), and every context column (the department too: its id, given by slug).
CONTEXT_TEXT_FIELDS = tuple(f.name for f in CONTEXT if f.is_dimension)
COMPANY_FIELDS = "context_fields"  # one JSON column holds the company-defined fields
CONTEXT_FIELDS = ("department_id", *(f.name for f in CONTEXT), COMPANY_FIELDS)


class InteractionContext:
    """Columns copied from an invitation onto its response, so analysis reads one table (one per field of
    ``CONTEXT``, made below, plus the department)."""

    @declared_attr
    def department_id(cls) -> Mapped[int | None]:  # noqa: N805 (SQLAlchemy passes the class)
        return mapped_column(ForeignKey("departments.id"), index=True)

    # The company's own fields (FEEDBACK_CONTEXT_FIELDS_FILE, responses/context.py), by name: number or text.
    context_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


def _column_type(spec: ContextField) -> Any:
    return {"text": String(spec.max_chars), "seconds": Integer(), "flag": Boolean()}[spec.kind]


for _spec in CONTEXT:
    setattr(
        InteractionContext,
        _spec.name,
        declared_attr(lambda cls, spec=_spec: mapped_column(spec.name, _column_type(spec), nullable=True)),
    )


def context_column(model: type[InteractionContext], name: str) -> Any:
    """The column of context field ``name`` on ``model`` (Response or Invitation)."""
    if name not in CONTEXT_FIELDS:
        raise KeyError(f"not a context field: {name!r}")
    return getattr(model, name)
