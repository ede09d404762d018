"""Webhooks: a JSON body with Slack-compatible ``blocks`` (and a ``text`` fallback), signed.

    X-Feedback-Timestamp: 1795420800                 (Unix seconds when sent)
    X-Feedback-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>
    X-Feedback-Delivery: 1234                        (the same id on every retry: deduplicate on it)
    X-Feedback-Event: digest | alert

The same scheme as the mention webhooks this service receives. The secret comes from the environment
variable the channel names (``secret_env``); a channel's URL may itself be read from one (``env:NAME``),
since a Slack webhook URL is a secret too. Answers: 2xx delivered; 408, 425, 429 and 5xx or a network error
are retried; any other status is permanent. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx

from feedback import __version__
from feedback.digests.channels import DeliveryError

TIMEOUT_S = 15.0
RETRY_STATUSES = {408, 425, 429}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def resolve_url(target: str, environ: Mapping[str, str] | None = None) -> str:
    """A channel's URL: as configured, or from the variable ``env:NAME`` names."""
    if not target.startswith("env:"):
        return target
    name = target[4:]
    value = (os.environ if environ is None else environ).get(name, "")
    if not value:
        raise DeliveryError(f"the webhook URL variable {name} is not set", permanent=True)
    return value


def secret_of(secret_env: str | None, environ: Mapping[str, str] | None = None) -> str:
    if not secret_env:
        raise DeliveryError(
            "the webhook channel names no secret_env: refusing to send unsigned", permanent=True
        )
    value = (os.environ if environ is None else environ).get(secret_env, "")
    if not value:
        raise DeliveryError(f"the webhook secret variable {secret_env} is not set", permanent=True)
    return value


def post(
    client: httpx.Client,
    target: str,
    payload: dict[str, Any],
    *,
    secret_env: str | None,
    delivery_id: int,
    event: str,
) -> None:
    """POST ``payload`` to the channel; DeliveryError when it was not accepted."""
    url = resolve_url(target)
    secret = secret_of(secret_env)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))  # the receiver's replay check compares it with the real clock
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"feedback/{__version__}",
        "X-Feedback-Timestamp": timestamp,
        "X-Feedback-Signature": signature(secret, timestamp, body),
        "X-Feedback-Delivery": str(delivery_id),
        "X-Feedback-Event": event,
    }
    try:
        answer = client.post(url, content=body, headers=headers, timeout=TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as error:
        raise DeliveryError(f"webhook unreachable: {type(error).__name__}: {error}") from error
    if 200 <= answer.status_code < 300:
        return
    status = answer.status_code
    permanent = not (status >= 500 or status in RETRY_STATUSES)
    raise DeliveryError(f"webhook answered {status}: {answer.text[:200]}", permanent=permanent)
