"""The dashboards' static files under fingerprinted URLs (``/assets/dashboards.3f2a9c1e.js``), cached for a
year by browsers (``immutable``: the URL changes when the file does), and sent compressed.

plotly.js is a partial bundle of plotly.js 4.1.1 with the bar and scatter traces (every chart the dashboards
draw) and only the components they use, built by docs/plotly-bundle/build.sh and vendored in web/static with
its licence and with brotli and gzip copies made when it was built.
Our own small files are compressed on first use.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
PLOTLY = "plotly-feedback.min.js"
FILES = (PLOTLY, "dashboards.js", "dashboards.css", "feedback.css")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = "public, max-age=31536000, immutable"
_lock = threading.Lock()
_compressed: dict[str, bytes] = {}


@cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """The fingerprinted URL of one of ``FILES``."""
    stem, dot, suffix = name.rpartition(".")
    return f"/assets/{stem}.{_digest(name)}{dot}{suffix}"


def asset_urls() -> dict[str, str]:
    return {name: asset_url(name) for name in FILES}


def resolve(file: str) -> str | None:
    """The file behind a fingerprinted name (None: unknown, or an old fingerprint)."""
    return next((name for name in FILES if asset_url(name) == f"/assets/{file}"), None)


def body(name: str, accept_encoding: str) -> tuple[bytes, str | None]:
    """The file's bytes in the best encoding the client accepts: (bytes, Content-Encoding or None)."""
    accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    path = STATIC / name
    if "br" in accepted and (brotli := Path(f"{path}.br")).exists():
        return brotli.read_bytes(), "br"
    if "gzip" in accepted:
        ready = Path(f"{path}.gz")
        if ready.exists():
            return ready.read_bytes(), "gzip"
        with _lock:
            if name not in _compressed:
                _compressed[name] = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
            return _compressed[name], "gzip"
    return path.read_bytes(), None


def content_type(name: str) -> str:
    return TYPES[Path(name).suffix]
