"""From raw fields (a CSV row, a JSON item, a feed entry) to a row ready to insert, or the reasons why not.

Pure code over the analysis functions: no database, so import worker processes can run it.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from feedback.analysis.matching import Matcher
from feedback.analysis.noise import NoiseRules, classify
from feedback.analysis.text import content_words, is_retweet, normalize, words_hash
from feedback.errors import FieldError, InvalidInput
from feedback.responses.context import parse_bool

if TYPE_CHECKING:
    from feedback.analysis.sentiment import Sentiment

FIELDS = (
    "source_id",
    "text",
    "posted_at",
    "author",
    "url",
    "lang",
    "followers",
    "likes",
    "shares",
    "product",
    "brand",
    "repost",
)
REQUIRED = ("source_id", "text", "posted_at")
SOURCE_ALIASES = {"x": "twitter", "x.com": "twitter", "fb": "facebook", "ig": "instagram"}
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_MAX_COUNT = 2**31 - 1
_LIMITS = {"source_id": 255, "author": 255, "url": 2048, "lang": 16, "product": 128, "brand": 128}
_SCORES: dict[str, Sentiment] = {}  # the same words score the same: reposts and copies are scored once
_SCORES_MAX = 50_000


def canonical_source(name: str) -> str:
    """The stored name of a source: lower case, one name per network ("x" is "twitter")."""
    source = name.strip().lower()
    source = SOURCE_ALIASES.get(source, source)
    if not _SOURCE.match(source):
        raise InvalidInput.on("source", "expected a short lowercase name: letters, digits, '.', '-' or '_'")
    return source


def parse_time(value: Any) -> datetime:
    """A point in time from ISO 8601 (2026-11-23, 2026-11-23T10:00:00Z), RFC 2822 or Unix seconds; UTC if
    no zone is given."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = datetime.fromtimestamp(value, UTC)
    else:
        text = str(value).strip()
        try:
            if text.replace(".", "", 1).isdigit() and len(text.split(".")[0]) >= 9:  # 20261123 is a date
                parsed = datetime.fromtimestamp(float(text), UTC)
            else:
                parsed = datetime.fromisoformat(text)
        except (ValueError, OverflowError, OSError):
            try:
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise ValueError(
                    "expected a date or time: 2026-11-23, 2026-11-23T10:00:00Z, RFC 2822 or Unix seconds"
                ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_count(value: Any) -> int | None:
    """A whole number from 0 to 2^31-1 (followers, likes, shares); None if blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:  # the usual case
        return int(value)
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    try:
        number = value if isinstance(value, int) else int(str(value).strip().replace(",", ""))
    except ValueError:
        raise ValueError("expected a whole number") from None
    if not 0 <= number <= _MAX_COUNT:
        raise ValueError(f"expected a whole number from 0 to {_MAX_COUNT}")
    return number


def stored_time(value: datetime, style: str) -> Any:
    """A timestamp as the database stores it (UTC without a zone): ``text`` for SQLite (SQLAlchemy's
    format, checked against it by store.time_style), ``datetime`` for drivers that take datetimes."""
    utc = value.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(" ", "microseconds") if style == "text" else utc


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


@functools.cache
def scoring() -> tuple[Callable[[str], Sentiment], str]:
    """The sentiment scorer and its name, imported when first needed: analysis.sentiment loads textblob,
    and textblob nltk, scikit-learn and scipy (2.4 s of CPU), which a process that only stores prepared
    rows (a file import's main process: its workers score) or parses times never needs."""
    from feedback.analysis.sentiment import ANALYZER, score_text

    return score_text, ANALYZER


def _sentiment(text_norm: str) -> Sentiment:
    score = _SCORES.get(text_norm)
    if score is None:
        if len(_SCORES) >= _SCORES_MAX:
            _SCORES.clear()
        score = _SCORES[text_norm] = scoring()[0](text_norm)
    return score


# The columns of a prepared row, in order (a tuple is what crosses between processes cheapest).
COLUMNS = (
    "source",
    "source_id",
    "via",
    "author",
    "url",
    "text",
    "text_norm",
    "text_hash",
    "lang",
    "posted_at",
    "received_at",
    "followers",
    "likes",
    "shares",
    "product",
    "brand",
    "department_id",
    "polarity",
    "subjectivity",
    "analyzer",
    "noise",
)
AT = {name: i for i, name in enumerate(COLUMNS)}
Row = tuple[Any, ...]
Prepared = Row | list[FieldError] | None  # a row, what is wrong with it, or None: no text


@dataclass(frozen=True)
class Preparer:
    """Checks, normalizes, flags, matches and scores one mention at a time. Picklable."""

    source: str
    via: str  # webhook, import, rss, mastodon
    received_at: datetime
    matcher: Matcher
    noise: NoiseRules
    max_text_chars: int
    departments: Mapping[str, int]  # the rules' department slugs -> ids
    time_style: str  # how the database takes timestamps: store.time_style
    _received: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_received", stored_time(self.received_at, self.time_style))

    def prepare(self, raw: Mapping[str, Any], where: str = "") -> Prepared:
        """The row to insert (COLUMNS), the errors, each named ``where`` + field, or None when the text is
        blank (the caller decides what that means)."""
        errors: list[FieldError] = []
        text = raw.get("text")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        if not text.strip():
            return None
        if len(text) > self.max_text_chars:
            errors.append(FieldError(f"{where}text", f"longer than {self.max_text_chars} characters"))
        values: dict[str, Any] = {}
        for name, limit in _LIMITS.items():
            value = _text(raw.get(name))
            if value is not None and len(value) > limit:
                errors.append(FieldError(f"{where}{name}", f"longer than {limit} characters"))
            values[name] = value
        if values["source_id"] is None:
            errors.append(FieldError(f"{where}source_id", "required: the source's own id of the post"))
        if values["url"] is not None and not values["url"].lower().startswith(("https://", "http://")):
            errors.append(FieldError(f"{where}url", "expected an http:// or https:// address"))
        posted = raw.get("posted_at")
        if posted is None or (isinstance(posted, str) and not posted.strip()):
            errors.append(FieldError(f"{where}posted_at", "required: when the post was published"))
        else:
            try:
                values["posted_at"] = parse_time(posted)
            except ValueError as exc:
                errors.append(FieldError(f"{where}posted_at", str(exc)))
        for name in ("followers", "likes", "shares"):
            try:
                values[name] = parse_count(raw.get(name))
            except ValueError as exc:
                errors.append(FieldError(f"{where}{name}", str(exc)))
        try:
            repost = bool(parse_bool(raw.get("repost")))
        except ValueError as exc:
            errors.append(FieldError(f"{where}repost", str(exc)))
            repost = False
        if errors:
            return errors
        text_norm = normalize(text)
        words = content_words(text_norm)
        match = self.matcher.match(text_norm, values["product"])
        sentiment = _sentiment(text_norm)
        department = match.department if match else None
        return (
            self.source,
            values["source_id"],
            self.via,
            values["author"],
            values["url"],
            text,
            text_norm,
            words_hash(words),
            values["lang"].lower() if values["lang"] else None,
            stored_time(values["posted_at"], self.time_style),
            self._received,
            values["followers"],
            values["likes"],
            values["shares"],
            values["product"] or (match.product if match else None),
            values["brand"] or (match.brand if match else None),
            self.departments.get(department) if department else None,
            sentiment.polarity,
            sentiment.subjectivity,
            scoring()[1],
            classify(text_norm, repost=repost or is_retweet(text), rules=self.noise, words=words),
        )
