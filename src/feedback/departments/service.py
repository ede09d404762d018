"""Departments: create, update and look up by slug; their digest settings, heads and delivery channels.

A department file (``feedback departments load FILE.toml``) holds ``[[departments]]`` tables with the same
fields as the JSON API (POST /api/departments). Fields left out keep their current value; ``heads`` and
``channels``, when given, replace the department's list. Secrets are never in the file: a webhook names the
environment variables holding its signing secret (``secret_env``) and, if the URL is secret too, the URL
(``url_env``).
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from feedback.accounts.access import Caller
from feedback.digests.cron import check_schedule
from feedback.errors import FieldError, InvalidInput, NotFound
from feedback.models import DeliveryChannel, Department, DepartmentHead
from feedback.specs import Name, convert

Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["support"])]
# No white space or control character, spelled out so that Python's and the schema's ECMA regex agree
# (their \s differ: Python's has \x1c-\x1f and \x85, ECMA's has \ufeff).
_NOT_IN_ADDRESS = r"@\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
Email = Annotated[
    str,
    msgspec.Meta(
        pattern=rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}]+$", max_length=320
    ),
]
EnvName = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z][A-Z0-9_]{0,127}$", examples=["FEEDBACK_WEBHOOK_SECRET"])
]
# No whitespace or control character; spelled out so that Python and the schema's ECMA regex agree.
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$", max_length=1000)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/Berlin"])]


class HeadSpec(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    email: Email


class ChannelSpec(msgspec.Struct, forbid_unknown_fields=True):
    """An e-mail address (``to``) or a webhook (``url`` or ``url_env``, and ``secret_env``)."""

    kind: Literal["email", "webhook"]
    to: Email | None = None
    url: Url | None = None
    url_env: EnvName | None = None
    secret_env: EnvName | None = None


class DepartmentSpec(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name
    timezone: TimeZone | None = None
    digest_schedule: Annotated[str, msgspec.Meta(max_length=100, examples=["0 8 * * mon"])] | None = None
    noise_budget: Annotated[int, msgspec.Meta(ge=1, le=50)] | None = None
    quiet_period: Literal["note", "nothing"] | None = None
    acknowledge_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None
    heads: list[HeadSpec] | None = None
    channels: list[ChannelSpec] | None = None


class HeadOut(msgspec.Struct):
    name: str
    email: str


class ChannelOut(msgspec.Struct):
    kind: str
    target: str  # an address, a URL, or env:NAME
    secret_env: str | None


class DepartmentOut(msgspec.Struct):
    slug: str
    name: str
    timezone: str = "UTC"
    digest_schedule: str | None = None  # cron in the department's time zone; null: no digests
    noise_budget: int = 5
    quiet_period: str = "note"
    acknowledge_days: int = 7
    heads: list[HeadOut] = []
    channels: list[ChannelOut] = []


def to_out(department: Department, session: Session | None = None) -> DepartmentOut:
    """The department as the API shows it (with ``session``: also its heads and channels)."""
    out = DepartmentOut(
        slug=department.slug,
        name=department.name,
        timezone=department.timezone,
        digest_schedule=department.digest_schedule,
        noise_budget=department.noise_budget,
        quiet_period=department.quiet_period,
        acknowledge_days=department.acknowledge_days,
    )
    if session is not None:
        heads = session.scalars(
            select(DepartmentHead)
            .where(DepartmentHead.department_id == department.id)
            .order_by(DepartmentHead.id)
        )
        channels = session.scalars(
            select(DeliveryChannel)
            .where(DeliveryChannel.department_id == department.id)
            .order_by(DeliveryChannel.id)
        )
        out.heads = [HeadOut(h.name, h.email) for h in heads]
        out.channels = [ChannelOut(c.kind, c.target, c.secret_env) for c in channels]
    return out


def _channel_rows(spec: DepartmentSpec, prefix: str) -> list[tuple[str, str, str | None]]:
    rows: list[tuple[str, str, str | None]] = []
    errors: list[FieldError] = []
    for i, channel in enumerate(spec.channels or []):
        where = f"{prefix}channels[{i}]"
        if channel.kind == "email":
            if not channel.to or channel.url or channel.url_env or channel.secret_env:
                errors.append(FieldError(where, "an e-mail channel has `to` (an address) and nothing else"))
                continue
            rows.append(("email", channel.to, None))
        else:
            if bool(channel.url) == bool(channel.url_env) or channel.to:
                errors.append(
                    FieldError(where, "a webhook has either `url` or `url_env` (not both), no `to`")
                )
                continue
            if not channel.secret_env:
                errors.append(
                    FieldError(f"{where}.secret_env", "a webhook needs the variable holding its secret")
                )
                continue
            rows.append(("webhook", channel.url or f"env:{channel.url_env}", channel.secret_env))
    if errors:
        raise InvalidInput.of(errors)
    return rows


def _check(spec: DepartmentSpec, department: Department | None, prefix: str = "") -> None:
    timezone = spec.timezone or (department.timezone if department else "UTC")
    schedule = (
        spec.digest_schedule
        if spec.digest_schedule is not None
        else (department.digest_schedule if department else None)
    )
    try:
        if schedule:
            check_schedule(schedule, timezone)
        elif spec.timezone:
            check_schedule("0 8 * * mon", timezone)  # the time zone alone
    except InvalidInput as error:
        raise InvalidInput.of([FieldError(prefix + e.field, e.message) for e in error.errors]) from None


def upsert_department(
    session: Session, spec: DepartmentSpec, now: datetime | None = None, prefix: str = ""
) -> Department:
    """Create or update the department; digest settings left out (None) keep their value.

    A new or changed schedule applies from ``now``: fire times before it are never due, nor missed."""
    now = now or datetime.now(UTC)
    department = session.scalar(select(Department).where(Department.slug == spec.slug))
    _check(spec, department, prefix)
    channels = _channel_rows(spec, prefix)
    if department is None:
        department = Department(slug=spec.slug, name=spec.name)
        session.add(department)
    department.name = spec.name
    old_schedule = (department.digest_schedule, department.timezone)
    if spec.timezone is not None:
        department.timezone = spec.timezone
    if spec.digest_schedule is not None:
        department.digest_schedule = spec.digest_schedule.strip() or None
    if (
        department.digest_schedule,
        department.timezone,
    ) != old_schedule or department.digest_schedule_since is None:
        department.digest_schedule_since = now if department.digest_schedule else None
    for name in ("noise_budget", "quiet_period", "acknowledge_days"):
        value = getattr(spec, name)
        if value is not None:
            setattr(department, name, value)
    session.flush()
    if spec.heads is not None:
        session.execute(delete(DepartmentHead).where(DepartmentHead.department_id == department.id))
        seen = set()
        for head in spec.heads:
            if head.email.lower() not in seen:
                seen.add(head.email.lower())
                session.add(DepartmentHead(department_id=department.id, name=head.name, email=head.email))
    if spec.channels is not None:
        session.execute(delete(DeliveryChannel).where(DeliveryChannel.department_id == department.id))
        for kind, target, secret_env in dict.fromkeys(channels):
            session.add(
                DeliveryChannel(department_id=department.id, kind=kind, target=target, secret_env=secret_env)
            )
    session.flush()
    return department


def parse_departments_file(text: str) -> list[DepartmentSpec]:
    """``[[departments]]`` tables of a TOML file, each checked; every problem named by its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput.on("file", f"not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"departments"})
    if unknown or not isinstance(data.get("departments"), list):
        raise InvalidInput.on("file", "expected [[departments]] tables and nothing else")
    return [
        convert(entry, DepartmentSpec, prefix=f"departments[{i}]")
        for i, entry in enumerate(data["departments"])
    ]


def load_departments(
    session: Session, specs: list[DepartmentSpec], now: datetime | None = None
) -> list[Department]:
    """Apply every spec (all or nothing: the caller's transaction)."""
    return [
        upsert_department(session, spec, now, prefix=f"departments[{i}].") for i, spec in enumerate(specs)
    ]


def get_department(session: Session, slug: str, field: str | None = None) -> Department:
    """The department with this slug. Unknown: 404, or 422 on ``field`` when the slug came in a body."""
    department = session.scalar(select(Department).where(Department.slug == slug))
    if department is None:
        known = ", ".join(session.scalars(select(Department.slug).order_by(Department.slug)).all())
        message = f"unknown department {slug!r} (known: {known or 'none yet'})"
        raise InvalidInput.on(field, message) if field else NotFound(message)
    return department


def get_visible_department(session: Session, caller: Caller, slug: str) -> Department:
    """``get_department`` for ``caller``: for a head, another department is as unknown as one that does not
    exist, and the 404 names no other department."""
    scope = caller.scope()
    if scope is None:
        return get_department(session, slug)
    department = session.scalar(select(Department).where(Department.slug == slug, Department.id == scope))
    if department is None:
        raise NotFound(f"unknown department {slug!r}")
    return department


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.slug)))


def read_departments(session: Session, caller: Caller) -> list[DepartmentOut]:
    """The departments ``caller`` may see (their own, for a head), with heads and channels."""
    return [to_out(d, session) for d in list_departments(session) if caller.may_see(d.id)]


def department_slugs(session: Session) -> dict[str, int]:
    return {slug: id_ for id_, slug in session.execute(select(Department.id, Department.slug))}
