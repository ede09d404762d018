"""Settings, read once from ``FEEDBACK_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FEEDBACK_{name}", default)


def _default_database_url() -> str:
    return f"sqlite:///{Path(_env('DATA_DIR', '.')).resolve() / 'feedback.db'}"


@dataclass(frozen=True)
class Settings:
    """Everything that differs between installations. Secrets never have a default in the repo."""

    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "") or _default_database_url())
    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000").rstrip("/"))
    max_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BODY_BYTES", str(256 * 1024))))
    max_text_chars: int = field(default_factory=lambda: int(_env("MAX_TEXT_CHARS", "5000")))
    write_batch_max: int = field(default_factory=lambda: int(_env("WRITE_BATCH_MAX", "256")))
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; call once per process or app)."""
    return Settings()
