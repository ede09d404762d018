"""Signed action links in digests and alerts: acknowledge a cause, mark its fix in progress, mark it fixed.

A link is ``{base_url}/actions/{token}`` with

    token = "1.<cause id>.<action>.<run id or 0>.<expires, Unix seconds>" "." base64url(HMAC-SHA256)[:24]

signed with ``derive_key(settings, "links")``, so only this installation can make one and no part of it can
be changed (another cause, another action, a later expiry) without the signature failing. The page behind
the link shows a form on GET and acts only on POST: mail scanners that follow links change nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feedback.config import Settings
from feedback.errors import Forbidden, Gone
from feedback.keys import derive_key

VERSION = "1"
ACTIONS = {"acknowledge": "ack", "in_progress": "wip", "fixed": "fix"}
ACTION_OF = {code: action for action, code in ACTIONS.items()}
LABELS = {"acknowledge": "Acknowledge", "in_progress": "Fix in progress", "fixed": "Mark fixed"}


@dataclass(frozen=True)
class ActionClaim:
    cause_id: int
    action: str  # acknowledge, in_progress, fixed
    run_id: int | None  # the digest the link came in (None: an alert or the API)
    expires_at: datetime


def _signature(key: bytes, payload: str) -> str:
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def sign(key: bytes, claim: ActionClaim) -> str:
    if claim.action not in ACTIONS:
        raise ValueError(f"unknown action {claim.action!r}")
    expires = int(claim.expires_at.timestamp())
    payload = f"{VERSION}.{claim.cause_id}.{ACTIONS[claim.action]}.{claim.run_id or 0}.{expires}"
    return f"{payload}.{_signature(key, payload)}"


def verify(key: bytes, token: str, now: datetime) -> ActionClaim:
    """The claim a token carries. Forbidden (403) when it was not made here or was changed; Gone (410)
    when it expired."""
    payload, _, signature = token.rpartition(".")
    if not payload or not hmac.compare_digest(signature.encode(), _signature(key, payload).encode()):
        raise Forbidden("this link is not valid: it was changed or not made by this installation")
    version, cause, code, run, expires = payload.split(".")
    if version != VERSION or code not in ACTION_OF:
        raise Forbidden("this link is not valid")
    claim = ActionClaim(
        int(cause), ACTION_OF[code], int(run) or None, datetime.fromtimestamp(int(expires), UTC)
    )
    if now >= claim.expires_at:
        raise Gone(
            f"this link expired on {claim.expires_at:%Y-%m-%d %H:%M} UTC; use the link in the latest digest"
        )
    return claim


def action_links(settings: Settings, cause_id: int, run_id: int | None, now: datetime) -> dict[str, str]:
    """The three action URLs for a cause, valid for FEEDBACK_DIGEST_LINK_DAYS."""
    key = derive_key(settings, "links")
    expires = now + timedelta(days=settings.digest_link_days)
    return {
        action: f"{settings.base_url}/actions/{sign(key, ActionClaim(cause_id, action, run_id, expires))}"
        for action in ACTIONS
    }
