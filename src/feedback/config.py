"""Settings, read once from ``FEEDBACK_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FEEDBACK_{name}", default)


def _float_or_none(name: str) -> float | None:
    value = _env(name, "")
    return float(value) if value else None


def _default_database_url() -> str:
    return f"sqlite:///{Path(_env('DATA_DIR', '.')).resolve() / 'feedback.db'}"


@dataclass(frozen=True)
class Rate:
    """At most ``count`` requests per ``seconds``; written ``COUNT/SECONDS`` (``60/60``), ``0``: no limit."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, name: str, text: str) -> Rate:
        count, _, seconds = text.strip().partition("/")
        try:
            rate = cls(int(count), float(seconds or "1"))
        except ValueError:
            raise ValueError(f"FEEDBACK_{name}={text!r}: expected COUNT/SECONDS, e.g. 60/60") from None
        if rate.count < 0 or rate.seconds <= 0:
            raise ValueError(f"FEEDBACK_{name}={text!r}: expected COUNT >= 0 and SECONDS > 0")
        return rate


def _rate(name: str, default: str) -> Rate:
    return Rate.parse(name, _env(name, default))


@dataclass(frozen=True)
class Settings:
    """Everything that differs between installations. Secrets never have a default in the repo."""

    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", "") or _default_database_url())
    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000").rstrip("/"))
    max_body_bytes: int = field(default_factory=lambda: int(_env("MAX_BODY_BYTES", str(256 * 1024))))
    max_text_chars: int = field(default_factory=lambda: int(_env("MAX_TEXT_CHARS", "5000")))
    write_batch_max: int = field(default_factory=lambda: int(_env("WRITE_BATCH_MAX", "256")))
    # Where submissions are stored: auto (a child process; in-memory database: a thread), process, thread.
    writer: str = field(default_factory=lambda: _env("WRITER", "auto"))
    # A submission not stored within this time (a database that hangs) gets 503; a retry is safe.
    write_timeout_s: float = field(default_factory=lambda: float(_env("WRITE_TIMEOUT_S", "60")))
    # SQLite's PRAGMA synchronous: FULL (a commit is on disk before the answer), EXTRA, NORMAL (measuring).
    sqlite_synchronous: str = field(default_factory=lambda: _env("SQLITE_SYNCHRONOUS", "FULL").upper())
    log_level: str = field(default_factory=lambda: _env("LOG_LEVEL", "INFO"))
    # Hostile input (web/limits.py, web/formguard.py). Rate limits are counted per web worker process.
    bulk_max_body_bytes: int = field(default_factory=lambda: int(_env("BULK_MAX_BODY_BYTES", str(8 << 20))))
    max_import_bytes: int = field(default_factory=lambda: int(_env("MAX_IMPORT_BYTES", str(256 << 20))))
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: tuple(p.strip() for p in _env("TRUSTED_PROXIES", "").split(",") if p.strip())
    )
    rate_survey_ip: Rate = field(default_factory=lambda: _rate("RATE_SURVEY_IP", "60/60"))
    rate_survey: Rate = field(default_factory=lambda: _rate("RATE_SURVEY", "600/60"))
    rate_webhook: Rate = field(default_factory=lambda: _rate("RATE_WEBHOOK", "120/60"))
    login_failures_account: Rate = field(default_factory=lambda: _rate("LOGIN_FAILURES_ACCOUNT", "5/900"))
    login_failures_ip: Rate = field(default_factory=lambda: _rate("LOGIN_FAILURES_IP", "20/900"))
    form_min_seconds: float = field(default_factory=lambda: float(_env("FORM_MIN_SECONDS", "2")))
    form_max_age_s: float = field(default_factory=lambda: float(_env("FORM_MAX_AGE_S", "86400")))
    # Root causes (feedback analyze, feedback causes ...).
    causes_engine: str = field(default_factory=lambda: _env("CAUSES_ENGINE", "auto"))
    causes_min_size: int = field(default_factory=lambda: int(_env("CAUSES_MIN_SIZE", "5")))
    causes_assign_threshold: float | None = field(
        default_factory=lambda: _float_or_none("CAUSES_ASSIGN_THRESHOLD")
    )
    causes_match_threshold: float = field(
        default_factory=lambda: float(_env("CAUSES_MATCH_THRESHOLD", "0.5"))
    )
    causes_period: str = field(default_factory=lambda: _env("CAUSES_PERIOD", "week"))
    # Signs login sessions and action links. Unset: a random key kept in FEEDBACK_DATA_DIR/secret.key.
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", ""))
    data_dir: str = field(default_factory=lambda: _env("DATA_DIR", "."))
    mention_replay_window_s: int = field(default_factory=lambda: int(_env("MENTION_REPLAY_WINDOW_S", "300")))
    mention_batch_max: int = field(default_factory=lambda: int(_env("MENTION_BATCH_MAX", "1000")))
    mention_max_text_chars: int = field(default_factory=lambda: int(_env("MENTION_MAX_TEXT_CHARS", "40000")))
    mention_min_words: int = field(default_factory=lambda: int(_env("MENTION_MIN_WORDS", "3")))
    mention_copypasta_accounts: int = field(default_factory=lambda: int(_env("MENTION_COPYPASTA", "3")))
    mention_rules_file: str = field(default_factory=lambda: _env("MENTION_RULES_FILE", ""))
    pollers_file: str = field(default_factory=lambda: _env("POLLERS_FILE", ""))

    metrics_min_n: int = field(default_factory=lambda: int(_env("METRICS_MIN_N", "30")))
    dashboards_dir: str = field(default_factory=lambda: _env("DASHBOARDS_DIR", ""))
    dashboard_cache_s: float = field(default_factory=lambda: float(_env("DASHBOARD_CACHE_S", "60")))
    sentiment_model: str = field(
        default_factory=lambda: (
            _env("SENTIMENT_MODEL", "")
            or str(Path(_env("DATA_DIR", ".")).resolve() / "sentiment-model.joblib")
        )
    )
    sentiment_min_training_rows: int = field(
        default_factory=lambda: int(_env("SENTIMENT_MIN_TRAINING_ROWS", "200"))
    )

    # Digests, alerts and the closed loop (services/digests). SMTP password only from the environment.
    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", ""))
    smtp_port: int = field(default_factory=lambda: int(_env("SMTP_PORT", "587")))
    smtp_security: str = field(default_factory=lambda: _env("SMTP_SECURITY", "starttls"))  # ssl, none
    smtp_username: str = field(default_factory=lambda: _env("SMTP_USERNAME", ""))
    smtp_password: str = field(default_factory=lambda: _env("SMTP_PASSWORD", ""))
    smtp_from: str = field(default_factory=lambda: _env("SMTP_FROM", "feedback@localhost"))
    admin_emails: tuple[str, ...] = field(
        default_factory=lambda: tuple(e.strip() for e in _env("ADMIN_EMAILS", "").split(",") if e.strip())
    )
    digest_grace_s: int = field(default_factory=lambda: int(_env("DIGEST_GRACE_S", "21600")))
    digest_max_attempts: int = field(default_factory=lambda: int(_env("DIGEST_MAX_ATTEMPTS", "12")))
    digest_retry_s: float = field(default_factory=lambda: float(_env("DIGEST_RETRY_S", "60")))
    digest_retry_max_s: float = field(default_factory=lambda: float(_env("DIGEST_RETRY_MAX_S", "21600")))
    digest_link_days: int = field(default_factory=lambda: int(_env("DIGEST_LINK_DAYS", "30")))
    digest_charts: bool = field(default_factory=lambda: _env("DIGEST_CHARTS", "1") not in ("0", "false"))
    alert_window_h: float = field(default_factory=lambda: float(_env("ALERT_WINDOW_H", "3")))
    alert_baseline_days: int = field(default_factory=lambda: int(_env("ALERT_BASELINE_DAYS", "28")))
    alert_min_count: int = field(default_factory=lambda: int(_env("ALERT_MIN_COUNT", "8")))
    alert_max_p: float = field(default_factory=lambda: float(_env("ALERT_MAX_P", "0.001")))
    alert_cooldown_h: float = field(default_factory=lambda: float(_env("ALERT_COOLDOWN_H", "24")))
    verify_window_days: int = field(default_factory=lambda: int(_env("VERIFY_WINDOW_DAYS", "14")))
    verify_max_ratio: float = field(default_factory=lambda: float(_env("VERIFY_MAX_RATIO", "0.3")))
    verify_min_count: int = field(default_factory=lambda: int(_env("VERIFY_MIN_COUNT", "10")))
    # Privacy (services/privacy): free text older than this many days is dropped; 0 or empty: kept forever.
    # The company's own context fields (a TOML file of [[fields]] name, type = "numeric" | "categorical").
    context_fields_file: str = field(default_factory=lambda: _env("CONTEXT_FIELDS_FILE", ""))
    retention_text_days: int = field(default_factory=lambda: int(_env("RETENTION_TEXT_DAYS", "") or "0"))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; call once per process or app)."""
    return Settings()
