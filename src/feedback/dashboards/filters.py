"""A dashboard's filters, as they travel in the URL's query string: dates, department, channel, product,
the company's own fields (FEEDBACK_CONTEXT_FIELDS_FILE: a category's values, a number's declared bands),
a cause (which narrows the comment tables to that cause's comments), and any other dimension a chart breaks
down by (``contractor``, ``region``, a mention's ``source``...: what a bar of that breakdown leads to).

``since`` and ``until`` are whole days (UTC), both included; without them the dashboard shows its last
``days`` days up to today. A department head's department is always their own: asking for another is
refused (403), so a link an executive shares never shows a department head someone else's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from feedback.errors import FieldError, Forbidden, InvalidInput
from feedback.metrics.service import DIMENSIONS

# Dimensions filtered only when a link from a bar asks (the form offers department, channel and product).
OTHER_DIMENSIONS = tuple(d for d in DIMENSIONS if d not in ("department", "channel", "product", "survey"))
FILTER_NAMES = ("since", "until", "department", "channel", "product", "cause", *OTHER_DIMENSIONS)
MAX_DAYS = 3660


@dataclass(frozen=True)
class PageFilters:
    since: date
    until: date  # included
    department: str | None = None
    channel: tuple[str, ...] = ()
    product: tuple[str, ...] = ()
    cause: str | None = None  # a cause's id: the comments assigned to it (comment tables only)
    fields: tuple[tuple[str, tuple[str, ...]], ...] = ()  # company field -> any of these values (or bands)
    others: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name in OTHER_DIMENSIONS, values), in that order

    @property
    def window(self) -> tuple[datetime, datetime]:
        """[since 00:00 UTC, the day after until 00:00 UTC)."""
        start = datetime.combine(self.since, time(), UTC)
        return start, datetime.combine(self.until + timedelta(days=1), time(), UTC)

    def dimensions(self) -> dict[str, tuple[str, ...]]:
        """The filters that limit dimensions (metrics' ``filters``)."""
        out: dict[str, tuple[str, ...]] = {}
        if self.department:
            out["department"] = (self.department,)
        if self.channel:
            out["channel"] = self.channel
        if self.product:
            out["product"] = self.product
        out.update(self.fields)
        out.update(self.others)
        return out

    def narrowed(self, name: str, value: str) -> PageFilters:
        """These filters with dimension ``name`` set to ``value`` alone: what one bar of a breakdown shows."""
        if name == "department":
            return replace(self, department=value)
        if name == "channel":
            return replace(self, channel=(value,))
        if name == "product":
            return replace(self, product=(value,))
        others = dict(self.others)
        others[name] = (value,)
        return replace(self, others=tuple((n, others[n]) for n in OTHER_DIMENSIONS if n in others))

    def query_items(self) -> list[tuple[str, str]]:
        items = [("since", self.since.isoformat()), ("until", self.until.isoformat())]
        if self.department:
            items.append(("department", self.department))
        if self.channel:
            items.append(("channel", ",".join(self.channel)))
        if self.product:
            items.append(("product", ",".join(self.product)))
        items.extend((name, ",".join(values)) for name, values in self.fields)
        if self.cause:
            items.append(("cause", self.cause))
        items += [(name, ",".join(values)) for name, values in self.others]
        return items

    def query_string(self) -> str:
        return urlencode(self.query_items())

    def describe(self) -> str:
        """The filters in words, for exported files and titles."""
        parts = [f"{self.since.isoformat()} to {self.until.isoformat()}"]
        for name, values in self.dimensions().items():
            parts.append(f"{name}: {', '.join(values)}")
        if self.cause:
            parts.append(f"cause: {self.cause}")
        return "; ".join(parts)


def _values(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in (text or "").split(",") if v.strip()))


def _day(text: str | None, name: str, errors: list[FieldError]) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        errors.append(FieldError(name, "expected a date, e.g. 2026-11-01"))
        return None


def parse_page_filters(
    params: Mapping[str, str | None],
    days: int,
    today: date | None = None,
    own_department: str | None = None,
) -> PageFilters:
    """Filters from a query string. ``own_department``: the only department the caller may see."""
    errors: list[FieldError] = []
    until = _day(params.get("until"), "until", errors) or today or datetime.now(UTC).date()
    since = _day(params.get("since"), "since", errors) or until - timedelta(days=days - 1)
    if since > until:
        errors.append(FieldError("since", "must be on or before until"))
    elif (until - since).days >= MAX_DAYS:
        errors.append(FieldError("since", f"at most {MAX_DAYS} days at once"))
    department = (params.get("department") or "").strip() or None
    fields = _company_filters(params, errors)
    if errors:
        raise InvalidInput.of(errors)
    if own_department is not None:
        if department not in (None, own_department):
            raise Forbidden("a department head sees only their own department")
        department = own_department
    return PageFilters(
        since=since,
        until=until,
        department=department,
        channel=_values(params.get("channel")),
        product=_values(params.get("product")),
        cause=(params.get("cause") or "").strip() or None,
        fields=fields,
        others=tuple((name, v) for name in OTHER_DIMENSIONS if (v := _values(params.get(name)))),
    )


def _company_filters(
    params: Mapping[str, str | None], errors: list[FieldError]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The company fields' filters, checked as /api/metrics checks them."""
    from feedback.metrics.service import company_dimensions, parse_filters  # Polars, only for a dashboard

    wanted = {name: params.get(name) for name in company_dimensions() if params.get(name)}
    try:
        return tuple(parse_filters(wanted).items())
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return ()
