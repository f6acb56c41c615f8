"""Settings from the environment (CXCHANGE_*), overridable per command with --db."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CXCHANGE_", extra="ignore")

    database_url: str = "sqlite:///cxchange.db"
    # Rows handed to the database per executemany / COPY round trip: large enough to amortise the
    # round trip, small enough to keep memory flat.
    import_chunk_rows: int = 50_000
    min_n: int = 30
    # Score SQLite feedback from a Parquet copy kept beside the database file (listen/columnar.py).
    columnar: bool = True
    # Sentiment back-end when none is named: "fast" (lexicon, no model) or "best" (shipped linear model).
    sentiment_backend: str = "fast"
    # Dask scheduler address for `cxchange analyze` (empty: run in this process or a LocalCluster).
    dask_scheduler: str | None = None
    # Comments per analysis partition (one Dask task, one database write).
    analyze_partition_rows: int = 5_000
    # Alert e-mail (sustain/delivery.py): the SMTP server, sender and optional log-in.
    smtp_host: str | None = None  # empty: e-mail alerts stay pending with a clear last_error
    smtp_port: int = 25
    smtp_from: str = "cxchange@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # STARTTLS after connecting (port 587 servers)
    smtp_timeout: float = 10.0  # seconds per connection attempt (SMTP and webhooks)
    # Failed deliveries are retried after alert_retry_base_seconds * 2**(attempts-1), capped at
    # alert_retry_max_seconds, until alert_retry_max_attempts; then the delivery is marked failed.
    alert_retry_base_seconds: int = 60
    alert_retry_max_seconds: int = 6 * 3600
    alert_retry_max_attempts: int = 8
    # Sign-in (auth/): the session-signing key (empty: one generated and kept in the database), the
    # first admin created by `cxchange serve` on a database without users, and session lifetime.
    secret_key: str | None = None
    admin_email: str = "admin@cxchange.local"
    admin_password: str | None = None  # empty: a one-time password is generated and printed once
    session_hours: int = 12
    login_max_failures: int = 5  # per client address and e-mail, within login_window_seconds
    login_window_seconds: int = 300


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
