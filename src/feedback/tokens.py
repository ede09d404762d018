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
    """``count`` tokens as new_token makes them, and their hashes."""
    return zip(*new_token_lists(count, nbytes), strict=True)


def new_token_lists(count: int, nbytes: int = 24) -> tuple[list[str], list[str]]:
    """``count`` tokens as new_token makes them, and their hashes, from one read of the system's random
    source (a read per token costs a system call each, which a bulk import of a million rows notices)."""
    random = secrets.token_bytes(count * nbytes)
    if nbytes % 3:
        encode = base64.urlsafe_b64encode
        tokens = [
            encode(random[i : i + nbytes]).rstrip(b"=").decode() for i in range(0, count * nbytes, nbytes)
        ]
    else:  # whole groups of 3 bytes: each token's text is a slice of the whole's, without padding
        text, width = base64.urlsafe_b64encode(random).decode(), nbytes // 3 * 4
        tokens = [text[i : i + width] for i in range(0, len(text), width)]
    sha256 = hashlib.sha256
    return tokens, [sha256(token.encode()).hexdigest() for token in tokens]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
