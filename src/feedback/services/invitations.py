"""Inviting customers in bulk: each row becomes a single-use personal link, at most once.

A re-import of the same rows creates nothing new: a row's recipient and interaction id form its
dedup key. The whole import is one transaction, so a crash or a rejected row leaves nothing behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from feedback.errors import Conflict, FieldError, Gone, InvalidInput, NotFound
from feedback.models import Invitation, Survey, SurveyStatus, utcnow
from feedback.models.context import CONTEXT_FIELDS
from feedback.services.context import CONTEXT_INPUT_FIELDS, parse_context
from feedback.services.departments import department_slugs
from feedback.services.tokens import hash_token, new_token

RECIPIENT_FIELDS = ("email", "customer_id", "interaction_id", "expires_at")
COLUMNS = (*RECIPIENT_FIELDS, *CONTEXT_INPUT_FIELDS)
MAX_ERRORS_LISTED = 1000
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_CHUNK = 5000


@dataclass(frozen=True)
class NewLink:
    """A created invitation: its source line, recipient and personal link (shown only now)."""

    line: int
    email: str | None
    customer_id: str | None
    interaction_id: str | None
    link: str


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)


def link_for(base_url: str, token: str) -> str:
    return f"{base_url}/s/{token}"


def read_csv_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs; the header is line 1. Unknown columns are an error, not ignored."""
    reader = csv.DictReader(stream)
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    if not header:
        raise InvalidInput.on("line 1", "the file is empty; expected a header row")
    if unknown:
        raise InvalidInput.on("line 1", f"unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
    if "email" not in header and "customer_id" not in header:
        raise InvalidInput.on("line 1", "a column email or customer_id is required")
    reader.fieldnames = header
    for row in reader:
        if None in row:
            raise InvalidInput.on(f"line {reader.line_num}", "more values than columns in the header")
        yield reader.line_num, row


def _dedup_key(email: str | None, customer_id: str | None, interaction_id: str | None) -> str:
    raw = f"{(email or '').lower()}\x1f{customer_id or ''}\x1f{interaction_id or ''}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _parse_expiry(value: Any) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError("expected an ISO date or time, e.g. 2026-12-31 or 2026-12-31T18:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _clean_recipient(row: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for name in ("email", "customer_id", "interaction_id"):
        value = row.get(name)
        text = str(value).strip() if value is not None else ""
        if len(text) > 200:
            errors.append(FieldError(f"{where}{name}", "longer than 200 characters"))
        values[name] = text or None
    if values["email"] and not _EMAIL.match(values["email"]):
        errors.append(FieldError(f"{where}email", f"not an e-mail address: {values['email']!r}"))
    if not values["email"] and not values["customer_id"]:
        errors.append(FieldError(f"{where}email", "an e-mail or a customer_id is required"))
    try:
        values["expires_at"] = _parse_expiry(row.get("expires_at"))
    except ValueError as exc:
        errors.append(FieldError(f"{where}expires_at", str(exc)))
    return values, errors


def import_invitations(
    session: Session,
    survey: Survey,
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    base_url: str,
    on_link: Callable[[NewLink], None],
    expires_at: datetime | None = None,
    skip_invalid: bool = False,
    where: Callable[[int], str] = lambda line: f"line {line}: ",
) -> ImportReport:
    """Create an invitation per valid row. Any invalid row rejects the whole import (InvalidInput
    with each row's line and field) unless ``skip_invalid``, which stores the valid rows only."""
    if survey.status != SurveyStatus.OPEN:
        raise Gone(f"survey {survey.slug!r} is closed; open it before inviting customers")
    departments = department_slugs(session)
    report = ImportReport()
    seen: set[str] = set()
    now = utcnow()
    pending: list[tuple[dict[str, Any], NewLink]] = []

    def flush() -> None:
        keys = [values["dedup_key"] for values, _ in pending]
        existing = set(
            session.scalars(
                select(Invitation.dedup_key).where(
                    Invitation.survey_id == survey.id, Invitation.dedup_key.in_(keys)
                )
            )
        )
        fresh = [(values, link) for values, link in pending if values["dedup_key"] not in existing]
        report.duplicates += len(pending) - len(fresh)
        if fresh:
            session.execute(insert(Invitation.__table__), [values for values, _ in fresh])
            report.created += len(fresh)
            for _, link in fresh:
                on_link(link)
        pending.clear()

    for line, row in rows:
        prefix = where(line)
        recipient, errors = _clean_recipient(row, prefix)
        context, context_errors = parse_context(row, departments, prefix=prefix)
        errors.extend(context_errors)
        if errors:
            report.rejected += 1
            if len(report.errors) < MAX_ERRORS_LISTED:
                report.errors.extend(errors)
            if not skip_invalid:
                pending.clear()  # nothing will be stored; keep reading only to report every error
            continue
        key = _dedup_key(recipient["email"], recipient["customer_id"], recipient["interaction_id"])
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        token, token_hash = new_token()
        values = {
            "survey_id": survey.id,
            "token_hash": token_hash,
            "dedup_key": key,
            "created_at": now,
            **dict.fromkeys(CONTEXT_FIELDS),
            "department_id": survey.department_id,
            **recipient,
            **context,
        }
        values["expires_at"] = recipient["expires_at"] or expires_at
        if values["expires_at"] is not None and values["expires_at"] <= now:
            report.rejected += 1
            report.errors.append(FieldError(f"{prefix}expires_at", "already in the past"))
            continue
        if report.errors and not skip_invalid:
            continue
        link = NewLink(line, recipient["email"], recipient["customer_id"], recipient["interaction_id"],
                       link_for(base_url, token))
        pending.append((values, link))
        if len(pending) >= _CHUNK:
            flush()
    if report.errors and not skip_invalid:
        raise InvalidInput.of(report.errors)
    if pending:
        flush()
    return report


def expiry_in(days: float | None) -> datetime | None:
    return utcnow() + timedelta(days=days) if days else None


def rows_from_text(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    return read_csv_rows(io.StringIO(text))


def open_invitation(session: Session, token: str) -> tuple[Survey, Invitation]:
    """The survey and invitation behind a personal link, if the link can still be answered."""
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
    if invitation is None:
        raise NotFound("This survey link is not valid. Please check that the whole link was copied.")
    survey = session.scalar(
        select(Survey).where(Survey.id == invitation.survey_id).options(selectinload(Survey.questions))
    )
    assert survey is not None
    if survey.status != SurveyStatus.OPEN:
        raise Gone("This survey is closed. Thank you for your interest.")
    if invitation.responded_at is not None:
        raise Conflict("You have already answered this survey. Thank you!")
    if invitation.expires_at is not None and invitation.expires_at <= utcnow():
        raise Gone("This survey link has expired.")
    return survey, invitation


def public_survey(session: Session, key: str) -> Survey:
    """The open survey behind an anonymous public link."""
    survey = session.scalar(
        select(Survey).where(Survey.public_key == key).options(selectinload(Survey.questions))
    )
    if survey is None:
        raise NotFound("This survey link is not valid.")
    if survey.status != SurveyStatus.OPEN:
        raise Gone("This survey is closed. Thank you for your interest.")
    return survey
