"""Inviting customers in bulk: each row becomes a single-use personal link, at most once.

A re-import of the same rows creates nothing new: a row's recipient and interaction id form its
dedup key. The whole import is one transaction, so a crash or a rejected row leaves nothing behind.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple, cast

import polars as pl
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, selectinload

from feedback.db import bulk
from feedback.departments.service import department_slugs
from feedback.errors import Conflict, FieldError, Gone, InvalidInput, NotFound
from feedback.invitations.plain import (
    EMAIL,
    PLAIN_VALUES,
    RECIPIENT_CHARS,
    PlainValues,
    language,
    plain_block,
    plain_row,
)
from feedback.invitations.reading import RowBlock, read_csv
from feedback.metrics import rollups
from feedback.models import Invitation, Response, Survey, SurveyStatus, utcnow
from feedback.models.context import CONTEXT, CONTEXT_FIELDS
from feedback.responses.context import (
    company_fields,
    parse_context,
)
from feedback.tokens import hash_token, new_token_lists, new_tokens

MAX_ERRORS_LISTED = 1000
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


_new_link = functools.partial(tuple.__new__, NewLink)  # NewLink(*values) without its Python-level __new__
_Chunk = list[tuple[Sequence[Any], NewLink]]  # invitations' column values (_Inserter.COLUMNS), their links


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)


def link_for(base_url: str, token: str) -> str:
    return f"{base_url}/s/{token}"


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
        if len(text) > RECIPIENT_CHARS:
            errors.append(FieldError(f"{where}{name}", f"longer than {RECIPIENT_CHARS} characters"))
        values[name] = text or None
    if values["email"] and not EMAIL.match(values["email"]):
        errors.append(FieldError(f"{where}email", f"not an e-mail address: {values['email']!r}"))
    if not values["email"] and not values["customer_id"]:
        errors.append(FieldError(f"{where}email", "an e-mail or a customer_id is required"))
    try:
        values["expires_at"] = _parse_expiry(row.get("expires_at"))
    except ValueError as exc:
        errors.append(FieldError(f"{where}expires_at", str(exc)))
    tag = row.get("language")
    values["language"] = language(tag)
    if values["language"] is None and tag is not None and str(tag).strip():
        message = f"expected a language tag such as pt or pt-BR, not {tag!r}"
        errors.append(FieldError(f"{where}language", message))
    return values, errors


class _Inserter:
    """Stores invitations in bulk through the driver (db/bulk.py: COPY on PostgreSQL, executemany on
    SQLite), with the values converted as SQLAlchemy would."""

    # the token hash and dedup key are read at [1] and [2]; a plain row's values come last, in one piece
    COLUMNS = ("survey_id", "token_hash", "dedup_key", "created_at", "expires_at", *PLAIN_VALUES)

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

        Four of the table's five indexes are updated at random places for each row (e-mail, customer id, the
        token hash, the dedup key); past the page cache, that is most of a large import's time. All but the
        dedup key's (the insert's ON CONFLICT reads it) are re-created by restore_indexes() before the
        commit, each in one sorted pass. Both happen inside the import's transaction: readers (WAL) keep
        seeing the table as committed, with its indexes, and a rollback restores them with the rows. The
        token hash's uniqueness is then checked once, by its index's re-creation: a clash (of two random
        192-bit tokens) fails the import whole, as the insert of the row would have."""
        cursor = self.cursor()
        try:
            # sql is NULL for the index of the table's own UNIQUE constraint (dedup key): it stays
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql NOT NULL",
                (_INVITATIONS.name,),
            )
            indexes = cursor.fetchall()
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
        rows = [values for values, _ in chunk]  # converted for the driver already
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
    rows: Iterable[tuple[int, Mapping[str, Any]] | RowBlock],
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
    # A chunk is stored by a second thread while this one reads and checks the next. Only one thread uses
    # the session at a time, and links are handed out here, in order.
    with ThreadPoolExecutor(1, thread_name_prefix="invitations") as storer:
        run = _Import(session, survey, storer, base_url, on_link, expires_at, skip_invalid, where)
        try:
            for item in run.checked(rows):
                if isinstance(item, _PlainBatch):
                    run.take_batch(item)
                else:
                    run.take_row(*item)
            return run.finish()
        finally:
            run.wait()  # an error above: let the storing thread finish with the session


@dataclass(frozen=True)
class _PlainBatch:
    """A block's rows, every one plainly valid: their lines, values (in PLAIN_VALUES' order, converted for
    the driver) and table."""

    lines: list[int]
    values: list[PlainValues]
    table: pl.DataFrame


class _Import:
    """One import's progress: the rows waiting to be stored, the chunk being stored, the report."""

    def __init__(
        self,
        session: Session,
        survey: Survey,
        storer: ThreadPoolExecutor,
        base_url: str,
        on_link: Callable[[NewLink], None],
        expires_at: datetime | None,
        skip_invalid: bool,
        where: Callable[[int], str],
    ) -> None:
        self.session, self.storer, self.base_url, self.on_link = session, storer, base_url, on_link
        self.expires_at, self.skip_invalid, self.where = expires_at, skip_invalid, where
        self.departments = department_slugs(session)
        self.report = ImportReport()
        self.now = now = utcnow()
        self.inserter = inserter = _Inserter(session, survey.id)
        self.survey_id, self.department_id = survey.id, survey.department_id
        self.stored_now = inserter.stored("created_at", now)
        self.stored_expiry = None if expires_at is None else inserter.stored("expires_at", expires_at)
        # a plain block's flags, as the driver takes them (created_at and expires_at are, above; the other
        # columns of plain rows need no conversion)
        self.stored_flags = [
            pl.col(name).replace_strict(
                {flag: inserter.stored(name, flag) for flag in (True, False)}, default=None
            )
            for name in (spec.name for spec in CONTEXT if spec.kind == "flag")
        ]
        self.tokens = _tokens()
        # else every row is rejected, as the full checks say; company fields are parsed by them only
        self.plain_rows = (expires_at is None or expires_at > now) and not company_fields()
        # Rows already stored, by an earlier import or an earlier chunk of this one, are found in the
        # database (store() below); only the pending chunk's keys are kept here, so memory stays flat.
        self.seen: set[str] = set()
        self.pending: _Chunk = []
        self.counted: Counter[rollups.Key] | None = Counter()  # the pending rows' rollup counts, if known
        self.storing: list[tuple[int, Future[_Chunk]]] = []
        self.daily: Counter[rollups.Key] = Counter()  # the rollups' counts of the rows stored, added once
        self.rollup_context = itemgetter(*(_Inserter.COLUMNS.index(n) for n in rollups.INVITATION_CONTEXT))

    def checked(
        self, rows: Iterable[tuple[int, Mapping[str, Any]] | RowBlock]
    ) -> Iterator[tuple[int, PlainValues | None, Mapping[str, Any]] | _PlainBatch]:
        """Each row's line, its values if it is plainly valid (else None: it needs the full checks) and the
        row itself; or a block's rows at once, when every one of them is plainly valid."""
        departments, department_id = self.departments, self.department_id
        for item in rows:
            if not isinstance(item, RowBlock):
                line, row = item
                yield line, plain_row(row, departments, department_id) if self.plain_rows else None, row
            elif not self.plain_rows:
                for line, row in item.rows():
                    yield line, None, row
            else:
                checked = plain_block(item.table, departments, department_id)
                if checked["plain"].all():
                    values = checked.drop("plain").with_columns(self.stored_flags).rows()
                    yield _PlainBatch(item.table["line"].to_list(), values, checked)
                    continue
                values = checked.drop("plain").rows()
                for ok, plain, (line, row) in zip(checked["plain"], values, item.rows(), strict=True):
                    yield line, plain if ok else None, row

    def take_row(self, line: int, plain: PlainValues | None, row: Mapping[str, Any]) -> None:
        """Check one row (unless ``plain``: it is), and add it to the pending chunk if it is new."""
        report = self.report
        if plain is not None:
            email, customer_id, interaction_id, language, *context = plain
            expiry = self.expires_at
        else:
            prefix = self.where(line)
            recipient, errors = _clean_recipient(row, prefix)
            context_values, context_errors = parse_context(row, self.departments, prefix=prefix)
            errors.extend(context_errors)
            if errors:
                report.rejected += 1
                if len(report.errors) < MAX_ERRORS_LISTED:
                    report.errors.extend(errors)
                if not self.skip_invalid:
                    self.pending.clear()  # nothing will be stored; keep reading only to report every error
                return
            email, customer_id, interaction_id, language = (
                recipient["email"],
                recipient["customer_id"],
                recipient["interaction_id"],
                recipient["language"],
            )
            full = dict.fromkeys(CONTEXT_FIELDS)
            full["department_id"] = self.department_id
            full.update(context_values)
            context = list(full.values())
            expiry = recipient["expires_at"] or self.expires_at
        if expiry is not None and expiry <= self.now:
            report.rejected += 1
            report.errors.append(FieldError(f"{self.where(line)}expires_at", "already in the past"))
            return
        if report.errors and not self.skip_invalid:
            return
        key = _dedup_key(email, customer_id, interaction_id)
        if key in self.seen:
            report.duplicates += 1
            return
        self.seen.add(key)
        token, token_hash = next(self.tokens)
        values = [self.survey_id, token_hash, key, self.stored_now, expiry]  # in _Inserter.COLUMNS' order
        values += [email, customer_id, interaction_id, language, *context]
        bulk.convert([values], self.inserter.processors)
        link = NewLink(line, email, customer_id, interaction_id, link_for(self.base_url, token))
        self.pending.append((values, link))
        self.counted = None  # counted when stored
        if len(self.pending) >= _CHUNK:
            self.flush()

    def take_batch(self, batch: _PlainBatch) -> None:
        """Add a block's plainly valid rows to the pending chunk, those not in it already."""
        if self.report.errors and not self.skip_invalid:
            return
        recipients = [batch.table.get_column(name).to_list() for name in PLAIN_VALUES[:3]]
        keys = list(map(_dedup_key, *recipients))
        tokens, hashes = new_token_lists(len(keys))
        survey_id, created, expiry = self.survey_id, self.stored_now, self.stored_expiry
        rows = [
            (survey_id, token_hash, key, created, expiry, *plain)
            for token_hash, key, plain in zip(hashes, keys, batch.values, strict=True)
        ]
        urls = [link_for(self.base_url, token) for token in tokens]
        links = map(_new_link, zip(batch.lines, *recipients, urls, strict=True))
        seen, report = self.seen, self.report
        repeated = not seen.isdisjoint(keys) or len(set(keys)) < len(keys)
        if not repeated:
            self.pending.extend(zip(rows, links, strict=True))
            seen.update(keys)
        else:
            for key, row, link in zip(keys, rows, links, strict=True):
                if key in seen:
                    report.duplicates += 1
                else:
                    seen.add(key)
                    self.pending.append((row, link))
        if repeated or self.counted is None:
            self.counted = None
        else:
            rollups.invitation_days_of(batch.table, self.now, self.survey_id, into=self.counted)
        if len(self.pending) >= _CHUNK:
            self.flush()

    def store(self, chunk: _Chunk, counted: Counter[rollups.Key] | None) -> _Chunk:
        """Store a chunk's new invitations and count them for the rollups (in the storing thread)."""
        fresh = self.inserter.insert_new(chunk)
        if counted is not None and len(fresh) == len(chunk):
            self.daily.update(counted)
            return fresh
        contexts = Counter(map(self.rollup_context, (values for values, _ in fresh)))
        combos = {(self.now, self.survey_id, *context): count for context, count in contexts.items()}
        rollups.invitation_days(combos, into=self.daily)
        return fresh

    def stored(self) -> None:
        """Wait for the chunk being stored, count it and hand out its links."""
        if self.storing:
            size, future = self.storing.pop()
            fresh = future.result()
            self.report.duplicates += size - len(fresh)
            self.report.created += len(fresh)
            for _, link in fresh:
                self.on_link(link)

    def flush(self) -> None:
        """Hand the pending chunk to the storing thread, once the one before is stored."""
        self.stored()
        chunk, counted = self.pending[:], self.counted
        self.storing.append((len(chunk), self.storer.submit(self.store, chunk, counted)))
        self.pending.clear()
        self.seen.clear()
        self.counted = Counter()

    def finish(self) -> ImportReport:
        """Store what is pending and the rollups' counts, or reject the import if a row was invalid."""
        if self.report.errors and not self.skip_invalid:
            raise InvalidInput.of(self.report.errors)
        if self.pending:
            self.flush()
        self.stored()
        rollups.add_invitation_days(self.session.connection(), self.daily)
        self.inserter.restore_indexes()
        return self.report

    def wait(self) -> None:
        """Wait for the storing thread to be done with the session."""
        for _, future in self.storing:
            future.exception()


def _tokens() -> Iterator[tuple[str, str]]:
    """Link tokens and their hashes, drawn a chunk at a time."""
    while True:
        yield from new_tokens(_CHUNK)


def expiry_in(days: float | None) -> datetime | None:
    return utcnow() + timedelta(days=days) if days else None


def rows_from_text(text: str) -> Iterator[tuple[int, dict[str, str]] | RowBlock]:
    return read_csv(io.StringIO(text))


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
