"""Unguessable tokens. Only their SHA-256 is stored: a stolen database holds no usable link or key."""

from __future__ import annotations

import hashlib
import secrets


def new_token(nbytes: int = 24) -> tuple[str, str]:
    """A fresh URL-safe token and the hash to store for it."""
    token = secrets.token_urlsafe(nbytes)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
