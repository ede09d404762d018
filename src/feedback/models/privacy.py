"""Proof that a customer's erasure request was carried out, without keeping who the customer was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from feedback.models.base import Base, UTCDateTime, utcnow


class ErasureRequest(Base):
    """One erasure, done. The identifier is kept only as a keyed hash (HMAC-SHA256), never in clear."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(200))  # the API token's name, or the CLI's OS user
    via: Mapped[str] = mapped_column(String(16))  # api, cli
    identifier_kind: Mapped[str] = mapped_column(String(16))  # email, customer_id, handle
    identifier_hash: Mapped[str] = mapped_column(String(64), index=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rows erased or scrubbed, per table
