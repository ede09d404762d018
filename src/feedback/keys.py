"""The installation's secret key, and keys derived from it for each purpose (sessions, CSRF, links)."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from feedback.config import Settings


def secret_key(settings: Settings) -> bytes:
    """FEEDBACK_SECRET_KEY, or a random key created once in the data directory (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def derive_key(settings: Settings, purpose: str) -> bytes:
    """32 bytes for one purpose; a key for sessions never signs a link, and the reverse."""
    return hashlib.sha256(purpose.encode() + b"\0" + secret_key(settings)).digest()
