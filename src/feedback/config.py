"""Settings, read once from ``FEEDBACK_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from feedback.analysis.scales import DEFAULT_BANDS, DEFAULT_NEGATIVE_POLARITY, SCALE_NAMES, Bands, Cutoffs


def _env(name: str, default: str) -> str:
    return os.environ.get(f"FEEDBACK_{name}", default)


def _float_or_none(name: str) -> float | None:
    value = _env(name, "")
    return float(value) if value else None


def _int_or_none(name: str) -> int | None:
    value = _env(name, "")
    return int(value) if value else None


def _bool_or_none(name: str) -> bool | None:
    """Empty: None (the default applies); ``1``/``true``/``yes`` or ``0``/``false``/``no``."""
    value = _env(name, "").strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "0", "false", "no"):
        return value in ("1", "true", "yes")
    raise ValueError(f"FEEDBACK_{name}={value!r}: expected 1 or 0 (empty: the engine's default)")


def _range(name: str, default: str) -> tuple[float, float]:
    """``LOW-HIGH`` (``0.5-64``): two positive numbers, LOW <= HIGH."""
    text = _env(name, default)
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high))
    except ValueError:
        raise ValueError(f"FEEDBACK_{name}={text!r}: expected LOW-HIGH, e.g. 0.5-64") from None
    if not 0 < bounds[0] <= bounds[1]:
        raise ValueError(f"FEEDBACK_{name}={text!r}: expected 0 < LOW <= HIGH")
    return bounds


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


def _cutoffs() -> Cutoffs:
    """FEEDBACK_NPS_BANDS=6,9 (detractors up to 6, promoters from 9), FEEDBACK_CSAT_BANDS=2,4,
    FEEDBACK_CES_BANDS=3,5 and FEEDBACK_NEGATIVE_POLARITY=-0.05 (analysis/scales.py)."""
    bands: dict[str, Bands] = {}
    for scale in SCALE_NAMES:
        default = DEFAULT_BANDS[scale]
        text = _env(f"{scale.upper()}_BANDS", f"{default.low_max},{default.high_min}")
        try:
            bands[scale] = Bands.parse(scale, text)
        except ValueError as exc:
            raise ValueError(f"FEEDBACK_{scale.upper()}_BANDS: {exc}") from None
    polarity = _env("NEGATIVE_POLARITY", str(DEFAULT_NEGATIVE_POLARITY))
    try:
        return Cutoffs(bands["nps"], bands["csat"], bands["ces"], float(polarity))
    except ValueError:
        raise ValueError(f"FEEDBACK_NEGATIVE_POLARITY={polarity!r}: expected a number from -1 to 0") from None


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
    # Slow clients (web/slow_clients.py): a request's headers, and its body, must arrive within these
    # seconds (0: no limit); a connection idle between requests is closed after keep_alive_s.
    header_timeout_s: float = field(default_factory=lambda: float(_env("HEADER_TIMEOUT_S", "10")))
    body_timeout_s: float = field(default_factory=lambda: float(_env("BODY_TIMEOUT_S", "30")))
    keep_alive_s: int = field(default_factory=lambda: int(_env("KEEP_ALIVE_S", "5")))
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
    # Discovery (analysis/causes/discover.py says what each does); empty: automatic or the engine's default.
    causes_neighbours: int | None = field(default_factory=lambda: _int_or_none("CAUSES_NEIGHBOURS"))
    causes_resolution: float | None = field(default_factory=lambda: _float_or_none("CAUSES_RESOLUTION"))
    causes_resolution_range: tuple[float, float] = field(
        default_factory=lambda: _range("CAUSES_RESOLUTION_RANGE", "0.5-64")
    )
    causes_tolerance: float | None = field(default_factory=lambda: _float_or_none("CAUSES_TOLERANCE"))
    causes_scan_size: int = field(default_factory=lambda: int(_env("CAUSES_SCAN_SIZE", "2000")))
    causes_margin: float = field(default_factory=lambda: float(_env("CAUSES_MARGIN", "-0.05")))
    causes_member_similarity: float = field(
        default_factory=lambda: float(_env("CAUSES_MEMBER_SIMILARITY", "0.2"))
    )
    causes_second_order: bool | None = field(default_factory=lambda: _bool_or_none("CAUSES_SECOND_ORDER"))
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
    # How often the scheduler polls the feeds of FEEDBACK_POLLERS_FILE and runs the cause analysis, in
    # minutes (jobs.py); 0: never (run `feedback mentions poll` or `feedback analyze` yourself).
    poll_every_min: float = field(default_factory=lambda: float(_env("POLL_EVERY_MIN", "15")))
    analyze_every_min: float = field(default_factory=lambda: float(_env("ANALYZE_EVERY_MIN", "60")))

    # The survey vocabulary's cut-offs: bands of each scale, "dissatisfied" (analysis/scales.py).
    cutoffs: Cutoffs = field(default_factory=_cutoffs)
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

    # Digests, alerts and the closed loop (digests/). SMTP password only from the environment.
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
    smtp_timeout_s: float = field(default_factory=lambda: float(_env("SMTP_TIMEOUT_S", "30")))
    # A sender's claim on the message it is sending; renewed while it sends, so only a dead sender's expires.
    delivery_lease_s: float = field(default_factory=lambda: float(_env("DELIVERY_LEASE_S", "300")))
    # A delivery not done this long after it was queued is overdue: /health degrades, the admins are alarmed.
    delivery_alarm_s: float = field(default_factory=lambda: float(_env("DELIVERY_ALARM_S", "1800")))
    # A second way to reach the admins (a chat webhook), so a failing mail server cannot silence its alarm.
    admin_webhook_url: str = field(default_factory=lambda: _env("ADMIN_WEBHOOK_URL", ""))
    alert_window_h: float = field(default_factory=lambda: float(_env("ALERT_WINDOW_H", "3")))
    alert_baseline_days: int = field(default_factory=lambda: int(_env("ALERT_BASELINE_DAYS", "28")))
    alert_min_count: int = field(default_factory=lambda: int(_env("ALERT_MIN_COUNT", "8")))
    alert_max_p: float = field(default_factory=lambda: float(_env("ALERT_MAX_P", "0.001")))
    alert_cooldown_h: float = field(default_factory=lambda: float(_env("ALERT_COOLDOWN_H", "24")))
    verify_window_days: int = field(default_factory=lambda: int(_env("VERIFY_WINDOW_DAYS", "14")))
    verify_max_ratio: float = field(default_factory=lambda: float(_env("VERIFY_MAX_RATIO", "0.3")))
    verify_min_count: int = field(default_factory=lambda: int(_env("VERIFY_MIN_COUNT", "10")))
    # Privacy (privacy/): free text older than this many days is dropped; 0 or empty: kept forever.
    # The company's own context fields (a TOML file of [[fields]] name, type = "numeric" | "categorical").
    context_fields_file: str = field(default_factory=lambda: context_fields_file())
    retention_text_days: int = field(default_factory=lambda: int(_env("RETENTION_TEXT_DAYS", "") or "0"))

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def context_fields_file() -> str:
    """FEEDBACK_CONTEXT_FIELDS_FILE alone: every stored response reads it, and a whole Settings reads
    every variable (about a third of what the response writer spent on a submission)."""
    return _env("CONTEXT_FIELDS_FILE", "")


def get_settings() -> Settings:
    """Fresh settings from the current environment (cheap; call once per process or app)."""
    return Settings()
