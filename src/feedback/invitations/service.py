"""Inviting customers in bulk: each row becomes a single-use personal link, at most once.

A re-import of the same rows creates nothing new: a row's recipient and interaction id form its
dedup key. The whole import is one transaction, so a crash or a rejected row leaves nothing behind.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, TextIO, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, selectinload

from feedback.db import bulk
from feedback.departments.service import department_slugs
from feedback.errors import Conflict, FieldError, Gone, InvalidInput, NotFound
from feedback.i18n import LANGUAGE_TAG
from feedback.metrics import rollups
from feedback.models import Invitation, Response, Survey, SurveyStatus, utcnow
from feedback.models.context import CONTEXT, CONTEXT_FIELDS
from feedback.responses.context import (
    CONTEXT_INPUT_FIELDS,
    company_fields,
    parse_context,
    parse_field,
)
from feedback.tokens import hash_token, new_tokens

RECIPIENT_FIELDS = ("email", "customer_id", "interaction_id", "expires_at", "language")
COLUMNS = (*RECIPIENT_FIELDS, *CONTEXT_INPUT_FIELDS)
MAX_ERRORS_LISTED = 1000
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_CHUNK = 5000
# SQLite: once an import has stored this many rows, and at least as many as the table held before it, the
# indexes it does not read are dropped and re-created before the commit (see _Inserter.defer_indexes).
DEFER_INDEXES_AFTER = 50_000
_INVITATIONS = cast(Table, Invitation.__table__)
_DEDUP = (("survey_id", "dedup_key"), "dedup_key")  # an invitation's unique dedup columns, and its key


class NewLink(NamedTuple):
    """A created invitation: its source line, recipient and personal link (shown only now). A tuple: a
    million of them are made in a bulk import, and a frozen dataclass costs three times as much to make."""

    line: int
    email: str | None
    customer_id: str | None
    interaction_id: str | None
    link: str


_Chunk = list[tuple[list[Any], NewLink]]  # invitations' column values, and their links


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
    reader = csv.reader(stream)
    header = [h.strip() for h in next(reader, [])]
    declared = {f.name for f in company_fields()}
    unknown = [h for h in header if h not in COLUMNS and h not in declared]
    if not header:
        raise InvalidInput.on("line 1", "the file is empty; expected a header row")
    if unknown:
        known = ", ".join([*COLUMNS, *sorted(declared)])
        raise InvalidInput.on("line 1", f"unknown column(s) {', '.join(unknown)}; known: {known}")
    if "email" not in header and "customer_id" not in header:
        raise InvalidInput.on("line 1", "a column email or customer_id is required")
    width = len(header)
    done = reader.line_num  # the last line read whole: a row that cannot be read starts after it
    try:
        for values in reader:  # as csv.DictReader reads them, without its cost per row
            done = reader.line_num
            if len(values) != width:
                if not values:
                    continue  # a blank line
                if len(values) > width:
                    raise InvalidInput.on(f"line {done}", "more values than columns in the header")
                values += [None] * (width - len(values))  # type: ignore[list-item]
            yield done, dict(zip(header, values, strict=True))
    except csv.Error as error:  # e.g. a value longer than csv.field_size_limit()
        raise InvalidInput.on(f"line {done + 1}", f"not readable as CSV: {error}") from None


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
    language = row.get("language")
    values["language"] = _language(language)
    if values["language"] is None and language is not None and str(language).strip():
        errors.append(
            FieldError(f"{where}language", f"expected a language tag such as pt or pt-BR, not {language!r}")
        )
    return values, errors


def _language(value: Any) -> str | None:
    """A valid language tag (``pt``, ``pt-BR``), else None."""
    text = value.strip() if isinstance(value, str) else ""
    return text if len(text) <= 16 and LANGUAGE_TAG.match(text) else None


def _plain_row(
    row: Mapping[str, Any], departments: Mapping[str, int], default_department: int
) -> tuple[tuple[str | None, str | None, str | None, str | None], dict[str, Any]] | None:
    """The recipient and context of a plainly valid row, as _clean_recipient and parse_context would
    clean them; None when anything needs a closer look (they then check the row and name the errors).
    """
    get = row.get
    recipient: list[str | None] = []
    for name in ("email", "customer_id", "interaction_id"):
        value = get(name)
        if value is None:
            recipient.append(None)
            continue
        if type(value) is not str or len(value := value.strip()) > 200:
            return None
        recipient.append(value or None)
    email, customer_id, interaction_id = recipient
    if (email is None and customer_id is None) or (email is not None and not _EMAIL.match(email)):
        return None
    expiry = get("expires_at")
    if expiry is not None and (type(expiry) is not str or expiry.strip()):
        return None
    language = get("language")
    if language is not None and (type(language) is not str or (language.strip() and not _language(language))):
        return None
    context: dict[str, Any] = dict.fromkeys(CONTEXT_FIELDS)
    context["department_id"] = default_department
    for spec in CONTEXT:
        value = get(spec.name)
        if spec.kind != "text":
            try:
                context[spec.name] = parse_field(spec, value)
            except ValueError:
                return None
        elif value is not None:
            if type(value) is not str or len(value := value.strip()) > spec.max_chars:
                return None
            context[spec.name] = value or None
    department = get("department")
    if department is not None and (slug := str(department).strip()):
        if slug not in departments:
            return None
        context["department_id"] = departments[slug]
    return (email, customer_id, interaction_id, _language(language)), context


class _Inserter:
    """Stores invitations in bulk through the driver (db/bulk.py: COPY on PostgreSQL, executemany on
    SQLite), with the values converted as SQLAlchemy would."""

    COLUMNS = (
        "survey_id",
        "token_hash",
        "dedup_key",
        "created_at",
        "email",
        "customer_id",
        "interaction_id",
        "expires_at",
        "language",
        *CONTEXT_FIELDS,
    )

    def __init__(self, session: Session, survey_id: int) -> None:
        connection = session.connection()
        self.connection = connection
        self.dialect = connection.dialect
        self.driver = connection.connection.driver_connection
        self.survey_id = survey_id
        table = _INVITATIONS
        self.processors = [  # created_at is the same for every row: see stored()
            (i, processor)
            for i, processor in bulk.bind_processors(self.dialect, table, self.COLUMNS)
            if self.COLUMNS[i] != "created_at"
        ]
        quote = self.dialect.identifier_preparer.quote
        self.quote = quote
        self.table = quote(table.name)
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self.deferred: list[tuple[str, str]] = []  # (name, CREATE INDEX statement) of the dropped indexes
        self.stored_rows = 0
        self.defer_after: int | None = None  # rows stored by this import before defer_indexes(); None: never
        if self.dialect.name == "sqlite":
            before = connection.scalar(select(func.max(_INVITATIONS.c.id))) or 0  # about the rows stored
            self.defer_after = max(DEFER_INDEXES_AFTER, before)

    def stored(self, name: str, value: Any) -> Any:
        """``value`` as the driver gets it for column ``name``."""
        row = [value]
        bulk.convert([row], bulk.bind_processors(self.dialect, _INVITATIONS, [name]))
        return row[0]

    def token_hashes(self, keys: list[str]) -> dict[str, str]:
        """SQLite: the stored token hash of each of these dedup keys that this survey has."""
        cursor = self.cursor()
        found: dict[str, str] = {}
        try:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ", ".join([self.mark] * len(part))
                query = (
                    f"SELECT dedup_key, token_hash FROM {self.table} "  # noqa: S608 (our names; values bound)
                    f"WHERE survey_id = {self.mark} AND dedup_key IN ({marks})"
                )
                cursor.execute(query, (self.survey_id, *part))
                found.update(cursor.fetchall())
        finally:
            cursor.close()
        return found

    def defer_indexes(self) -> None:
        """SQLite: drop the invitations' indexes that the import does not read, in its transaction.

        Four of the table's six indexes are updated at random places for each row (e-mail, customer id, the
        token hash, the dedup key); past the page cache, that is most of a large import's time. The
        non-unique ones (e-mail, customer id, department, survey: read by erasure and the reports, not here)
        are re-created by restore_indexes() before the commit, each in one sorted pass. Both happen inside
        the import's transaction: readers (WAL) keep seeing the table as committed, with its indexes, and a
        rollback restores them with the rows. The unique ones stay, so the token hash and the dedup key are
        checked as each row is stored (the dedup key by the insert's ON CONFLICT)."""
        cursor = self.cursor()
        try:
            # sql is NULL for the indexes of the table's own UNIQUE constraints (they cannot be dropped)
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql NOT NULL",
                (_INVITATIONS.name,),
            )
            indexes = [
                (name, sql) for name, sql in cursor.fetchall() if not re.match(r"(?i)\s*create\s+unique", sql)
            ]
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {self.quote(name)}")
        finally:
            cursor.close()
        self.deferred = indexes

    def restore_indexes(self) -> None:
        """Re-create what defer_indexes() dropped, as it was."""
        cursor = self.cursor()
        try:
            while self.deferred:
                cursor.execute(self.deferred[-1][1])
                self.deferred.pop()
        finally:
            cursor.close()

    def cursor(self) -> Any:
        assert self.driver is not None
        return self.driver.cursor()

    def insert_new(self, chunk: _Chunk) -> _Chunk:
        """Store the chunk's invitations whose dedup key the survey does not have yet; those stored.

        Both find them as they insert: PostgreSQL returns them (bulk.insert_new_values); SQLite's driver
        cannot, but counts them, and only when it stored fewer than the chunk (a re-import) are they
        looked up: those whose stored token hash is the one made now."""
        rows = [values for values, _ in chunk]
        bulk.convert(rows, self.processors)
        if self.dialect.name == "postgresql":
            stored = set(bulk.insert_new_values(self.connection, _INVITATIONS, self.COLUMNS, rows, *_DEDUP))
            return chunk if len(stored) == len(chunk) else [item for item in chunk if item[0][2] in stored]
        if self.defer_after is not None and not self.deferred and self.stored_rows >= self.defer_after:
            self.defer_after = None
            self.defer_indexes()
        count = bulk.insert_values(self.connection, _INVITATIONS, self.COLUMNS, rows, skip_stored=_DEDUP[0])
        self.stored_rows += count
        if count == len(chunk):
            return chunk
        mine = self.token_hashes([values[2] for values, _ in chunk])
        return [(values, link) for values, link in chunk if mine.get(values[2]) == values[1]]


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
    # Rows already stored, by an earlier import or an earlier chunk of this one, are found in the database
    # (store() below); only this chunk's keys are kept here, so memory does not grow with the file.
    seen: set[str] = set()
    tokens = _tokens()
    now = utcnow()
    inserter = _Inserter(session, survey.id)
    pending: _Chunk = []
    survey_id, department_id = survey.id, survey.department_id
    stored_now = inserter.stored("created_at", now)
    context_values_of = itemgetter(*CONTEXT_FIELDS)
    rollup_context = itemgetter(*(_Inserter.COLUMNS.index(name) for name in rollups.INVITATION_CONTEXT))
    # else every row is rejected, as the slow path says; company fields are parsed by the slow path only
    plain_rows = (expires_at is None or expires_at > now) and not company_fields()

    # A chunk is stored by a second thread while this one reads and checks the next: the database's
    # own work (index updates, mostly) runs outside the interpreter lock, so the two overlap. Only one
    # thread uses the session at a time, and links are handed out here, in order.
    storing: list[tuple[int, Future[_Chunk]]] = []
    daily: Counter[rollups.Key] = Counter()  # the rollups' counts of the rows stored, added to them once

    def store(chunk: _Chunk) -> _Chunk:
        fresh = inserter.insert_new(chunk)
        contexts = Counter(map(rollup_context, (values for values, _ in fresh)))
        combos = {(now, survey_id, *context): count for context, count in contexts.items()}
        rollups.invitation_days(combos, into=daily)
        return fresh

    def stored() -> None:
        """Wait for the chunk being stored, count it and hand out its links."""
        if storing:
            size, future = storing.pop()
            fresh = future.result()
            report.duplicates += size - len(fresh)
            report.created += len(fresh)
            for _, link in fresh:
                on_link(link)

    def flush(storer: ThreadPoolExecutor) -> None:
        stored()
        storing.append((len(pending), storer.submit(store, pending[:])))
        pending.clear()
        seen.clear()

    with ThreadPoolExecutor(1, thread_name_prefix="invitations") as storer:
        try:
            for line, row in rows:
                plain = _plain_row(row, departments, department_id) if plain_rows else None
                if plain is not None:
                    (email, customer_id, interaction_id, language), context = plain
                    expiry = expires_at
                else:
                    prefix = where(line)
                    recipient, errors = _clean_recipient(row, prefix)
                    context_values, context_errors = parse_context(row, departments, prefix=prefix)
                    errors.extend(context_errors)
                    if errors:
                        report.rejected += 1
                        if len(report.errors) < MAX_ERRORS_LISTED:
                            report.errors.extend(errors)
                        if not skip_invalid:
                            pending.clear()  # nothing will be stored; keep reading only to report every error
                        continue
                    email, customer_id, interaction_id, language = (
                        recipient["email"],
                        recipient["customer_id"],
                        recipient["interaction_id"],
                        recipient["language"],
                    )
                    context = dict.fromkeys(CONTEXT_FIELDS)
                    context["department_id"] = department_id
                    context.update(context_values)
                    expiry = recipient["expires_at"] or expires_at
                if expiry is not None and expiry <= now:
                    report.rejected += 1
                    report.errors.append(FieldError(f"{where(line)}expires_at", "already in the past"))
                    continue
                if report.errors and not skip_invalid:
                    continue
                key = _dedup_key(email, customer_id, interaction_id)
                if key in seen:
                    report.duplicates += 1
                    continue
                seen.add(key)
                token, token_hash = next(tokens)
                values = [
                    survey_id,
                    token_hash,
                    key,
                    stored_now,
                    email,
                    customer_id,
                    interaction_id,
                    expiry,
                    language,
                    *context_values_of(context),
                ]
                link = NewLink(line, email, customer_id, interaction_id, link_for(base_url, token))
                pending.append((values, link))
                if len(pending) >= _CHUNK:
                    flush(storer)
            if report.errors and not skip_invalid:
                raise InvalidInput.of(report.errors)
            if pending:
                flush(storer)
            stored()
            rollups.add_invitation_days(session.connection(), daily)
            inserter.restore_indexes()
        finally:
            for _, future in storing:  # an error above: let the storing thread finish with the session
                future.exception()
    return report


def _tokens() -> Iterator[tuple[str, str]]:
    """Link tokens and their hashes, drawn a chunk at a time."""
    while True:
        yield from new_tokens(_CHUNK)


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
    if invitation.responded_at is not None and partial_response(session, invitation) is None:
        raise Conflict("You have already answered this survey. Thank you!")
    if invitation.expires_at is not None and invitation.expires_at <= utcnow():
        raise Gone("This survey link has expired.")
    return survey, invitation


def partial_response(session: Session, invitation: Invitation) -> Response | None:
    """What the customer saved so far (the score clicked in the e-mail), while Send has not completed it."""
    return session.scalar(
        select(Response)
        .where(Response.invitation_id == invitation.id, Response.complete.is_(False))
        .options(selectinload(Response.answers))
    )


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
