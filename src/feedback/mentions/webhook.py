"""Signed batches of mentions pushed by another system: ``POST /api/mentions/webhook/{source}``.

The signature scheme (the same idea as Stripe's and Slack's):

    X-Feedback-Timestamp: 1795420800                      (Unix seconds when the batch was sent)
    X-Feedback-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

The secret is per source, from the environment variable FEEDBACK_MENTION_SECRET_<SOURCE> (the source in
upper case, "-" and "." as "_"); a source without a secret accepts nothing. The signature is compared in
constant time; a timestamp further than the replay window (FEEDBACK_MENTION_REPLAY_WINDOW_S, 300 s) from
now, in either direction, is refused, so a captured request cannot be replayed later. A replay inside the
window changes nothing: every mention is stored once per (source, source_id).

The body: ``{"mentions": [{"source_id": "...", "text": "...", "posted_at": "...", ...}, ...]}``; a batch
is stored whole or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import msgspec
from sqlalchemy.orm import Session, sessionmaker

from feedback.db import transaction
from feedback.errors import FieldError, InvalidInput, Unauthorized
from feedback.mentions.prepare import Row
from feedback.mentions.rules import IngestOptions
from feedback.mentions.store import Stored, store_mentions, target
from feedback.specs import convert

TIMESTAMP_HEADER = "X-Feedback-Timestamp"
SIGNATURE_HEADER = "X-Feedback-Signature"
SECRET_PREFIX = "FEEDBACK_MENTION_SECRET_"  # noqa: S105 - the variables' names, not a secret

Str = Annotated[str, msgspec.Meta(max_length=2048)]
Time = str | int | float


class MentionIn(msgspec.Struct, forbid_unknown_fields=True):
    """One mention as another system sends it."""

    # Required, but checked with the other values, so that a missing one is named like a bad one.
    source_id: Annotated[str, msgspec.Meta(max_length=255)] | int | None = None
    text: str | None = None
    posted_at: Time | None = None
    author: Str | None = None
    url: Str | None = None
    lang: Str | None = None
    followers: int | None = None
    likes: int | None = None
    shares: int | None = None
    product: Str | None = None
    brand: Str | None = None
    repost: bool = False  # a reblog, retweet or share of someone else's post


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    mentions: list[MentionIn]


def secret_env_name(source: str) -> str:
    return SECRET_PREFIX + source.upper().replace("-", "_").replace(".", "_")


def secret_for(source: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The shared secret of ``source``, from the environment (never stored in the repo or the database)."""
    value = (os.environ if environ is None else environ).get(secret_env_name(source), "")
    return value or None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str | None,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: datetime,
    window_s: int,
) -> None:
    """Raise Unauthorized unless ``signature`` signs ``body`` at ``timestamp``, inside the replay window."""
    if secret is None:
        raise Unauthorized("this source has no webhook secret configured; nothing is accepted from it")
    if not timestamp or not signature:
        raise Unauthorized(f"sign the request: headers {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}")
    try:
        sent = int(timestamp.strip())
    except ValueError:
        raise Unauthorized(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    expected = sign(secret, timestamp.strip(), body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("the signature does not match the body")
    if abs(now.timestamp() - sent) > window_s:
        raise Unauthorized(f"the timestamp is more than {window_s} s away from now; send a fresh request")


def parse_batch(body: bytes, max_items: int) -> list[dict[str, Any]]:
    """The batch's items as raw fields; malformed JSON or items are a 422 naming ``mentions[i].field``."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise InvalidInput.on("body", f"not valid JSON: {exc}") from exc
    batch = convert(data, BatchIn)
    if len(batch.mentions) > max_items:
        raise InvalidInput.on("mentions", f"at most {max_items} mentions per request")
    return [msgspec.structs.asdict(item) for item in batch.mentions]


def receive_batch(
    factory: sessionmaker[Session],
    source: str,
    items: list[dict[str, Any]],
    options: IngestOptions,
    now: datetime,
) -> Stored:
    """Check every item, then store them all in one transaction; any bad item: 422 and nothing stored."""
    with transaction(factory) as session:
        preparer = options.preparer(source, "webhook", now, target(session, options.matcher))
        rows: list[Row] = []
        errors: list[FieldError] = []
        for i, item in enumerate(items):
            prepared = preparer.prepare(item, f"mentions[{i}].")
            if prepared is None:
                errors.append(FieldError(f"mentions[{i}].text", "empty: a mention needs its text"))
            elif isinstance(prepared, list):
                errors.extend(prepared)
            else:
                rows.append(prepared)
        if errors:
            raise InvalidInput.of(errors)
        return store_mentions(session, rows, options.copypasta_accounts)
