"""Unguessable tokens. Only their SHA-256 is stored: a stolen database holds no usable link or key."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator


def new_token(nbytes: int = 24) -> tuple[str, str]:
    """A fresh URL-safe token and the hash to store for it."""
    token = secrets.token_urlsafe(nbytes)
    return token, hash_token(token)


def new_tokens(count: int, nbytes: int = 24) -> Iterator[tuple[str, str]]:
    """``count`` tokens as new_token makes them, from one read of the system's random source (a read per
    token costs a system call each, which a bulk import of a million rows notices)."""
    random = secrets.token_bytes(count * nbytes)
    encode, sha256 = base64.urlsafe_b64encode, hashlib.sha256
    for start in range(0, count * nbytes, nbytes):
        token = encode(random[start : start + nbytes]).rstrip(b"=")
        yield token.decode(), sha256(token).hexdigest()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
