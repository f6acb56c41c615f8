"""Settings from the environment (CXCHANGE_*), overridable per command with --db.

Read by every command before anything else, so with the standard library only: pydantic-settings cost a
`cxchange scores` ~40 ms of start-up (its import, its model's schema, and pydantic's scan of every
installed package's entry points for plugins), for a few dozen flat values. The rules are
pydantic-settings' ones, which configured this class before: CXCHANGE_ + the field's name in any case;
keyword arguments win over the environment, which wins over the defaults; booleans 1/0, true/false,
yes/no, on/off, t/f, y/n; unknown names are ignored; a value that does not parse is refused naming
the variable (tests/core/test_config.py), as is a whole number below the least that means anything
(`at_least`: pydantic's `Field(ge=…)`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from functools import lru_cache
from typing import Any

from cxchange.core.errors import SettingsError

ENV_PREFIX = "CXCHANGE_"
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
# The field types the environment can set; a field of another type is refused when it is read, never
# handed over as a string (e.g. a future `int | None` would otherwise arrive as "5").
PARSED_KINDS = frozenset({"bool", "int", "float", "str", "str | None"})


def _parse(name: str, kind: str, raw: str) -> Any:
    """An environment value as the field's type (annotations are strings here: `from __future__`)."""
    if kind not in PARSED_KINDS:
        raise TypeError(
            f"{ENV_PREFIX}{name.upper()}: settings of type {kind} cannot be read from the environment"
        )
    text = raw.strip()
    try:
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}: expected {kind}, got {raw!r}") from None
    return raw  # str and str | None: as given


@lru_cache(maxsize=8)
def proxy_networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CXCHANGE_TRUSTED_PROXIES: addresses or networks, comma-separated (empty: none)."""
    nets = []
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}TRUSTED_PROXIES: not an address or network: {item!r}") from None
    return tuple(nets)


def at_least(low: int, default: int) -> Any:
    """A whole-number setting and the least value that means anything (a pool of -1 connections, a
    session of 0 hours): a smaller one is refused when the settings are read, naming the variable."""
    return dataclasses.field(default=default, metadata={"at_least": low})


@dataclasses.dataclass(init=False)
class Settings:
    database_url: str = "sqlite:///cxchange.db"
    # Connections each process keeps (db_pool_size) and may open beyond it under load (db_max_overflow).
    # A request that finds every one taken waits db_pool_timeout seconds, then answers 503 with
    # Retry-After: under load requests wait or fail, never hang.
    db_pool_size: int = at_least(1, 5)
    db_max_overflow: int = 10
    db_pool_timeout: float = 10.0
    # Rows handed to the database at a time (one SQLite image, one COPY round trip): large enough to
    # amortise the round trip, small enough to keep memory flat.
    import_chunk_rows: int = at_least(1, 50_000)
    min_n: int = at_least(0, 30)
    # Score SQLite feedback from a Parquet copy kept beside the database file (listen/columnar.py).
    columnar: bool = True
    # Sentiment back-end when none is named: "fast" (lexicon, no model) or "best" (shipped linear model).
    sentiment_backend: str = "fast"
    # Dask scheduler address for `cxchange analyze` (empty: run in this process or a LocalCluster).
    dask_scheduler: str | None = None
    # Seconds `cxchange analyze --scheduler` keeps trying to reach the scheduler before saying it cannot.
    dask_connect_timeout: float = 10.0
    # Comments per analysis partition (one Dask task, one database write).
    analyze_partition_rows: int = at_least(1, 5_000)
    # Alert e-mail (sustain/delivery.py): the SMTP server, sender and optional log-in.
    smtp_host: str | None = None  # empty: e-mail alerts stay pending with a clear last_error
    smtp_port: int = at_least(1, 25)
    smtp_from: str = "cxchange@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False  # STARTTLS after connecting (port 587 servers)
    smtp_timeout: float = 10.0  # seconds per connection attempt (SMTP and webhooks)
    # Failed deliveries are retried after alert_retry_base_seconds * 2**(attempts-1), capped at
    # alert_retry_max_seconds, until alert_retry_max_attempts; then the delivery is marked failed.
    alert_retry_base_seconds: int = at_least(0, 60)
    alert_retry_max_seconds: int = at_least(0, 6 * 3600)
    alert_retry_max_attempts: int = at_least(1, 8)
    # Sign-in (auth/): the session-signing key (empty: one generated and kept in the database), the
    # first admin created by `cxchange serve` on a database without users, and session lifetime.
    secret_key: str | None = None
    admin_email: str = "admin@cxchange.local"
    admin_password: str | None = None  # empty: a one-time password is generated and printed once
    session_hours: int = at_least(1, 12)
    login_max_failures: int = at_least(1, 5)  # per client address and e-mail, within login_window_seconds
    login_window_seconds: int = at_least(1, 300)
    # After login_max_failures failures of one account (from any address), each further attempt waits
    # login_delay_seconds * 2**(extra failures), at most login_max_delay_seconds: a stranger slows a
    # guesser down but cannot lock the owner out for long (and never at an address they signed in from).
    login_delay_seconds: int = at_least(0, 2)
    login_max_delay_seconds: int = at_least(0, 900)
    # Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); empty: the
    # header is ignored and the client is the direct peer.
    trusted_proxies: str = dataclasses.field(default="", metadata={"check": proxy_networks})
    # Request bodies: JSON and forms, and file uploads (imports, RACI and readiness CSVs); counted while
    # they arrive, refused with 413 before anything is stored.
    max_body_kb: int = at_least(1, 1024)
    max_upload_mb: int = at_least(1, 200)
    # Expensive analyses: calls per user per minute, counted in the database so every `serve --workers N`
    # process shares the count. The decide page's sliders call simulate as they move, hence its own limit;
    # the others are drivers, the report, theme analysis and sentiment scoring.
    simulate_per_minute: int = at_least(1, 120)
    analysis_per_minute: int = at_least(1, 20)
    # Analyses running at once in one server process; more answer 503 (retry) instead of exhausting memory.
    analysis_concurrency: int = at_least(1, 4)
    # Surveys (listen/surveys): the address public links start with (empty: links are paths, /s/TOKEN),
    # and answers allowed per minute from one client address and into one link (429 beyond).
    public_url: str = ""
    survey_posts_per_address: int = at_least(1, 20)
    survey_posts_per_link: int = at_least(1, 600)
    # ADKAR pulse comments are held and released as feedback only when this many of a survey wait, in
    # shuffled order and dated by the day (listen/surveys/comments.py): none can be joined to its answer.
    # At least 3, as the smallest groups anonymous-survey tools report: 1 would release each comment
    # right after its answer, in the answers' order.
    pulse_comment_group: int = at_least(3, 5)

    def __init__(self, **values: Any) -> None:
        """The defaults, then the environment, then `values` (names not fields are ignored)."""
        env = {key.lower(): value for key, value in os.environ.items()}
        for field in dataclasses.fields(self):
            if field.name in values:
                value = values[field.name]
            elif (raw := env.get((ENV_PREFIX + field.name).lower())) is not None:
                value = _parse(field.name, str(field.type), raw)
            else:
                value = field.default
            low = field.metadata.get("at_least")
            if low is not None and value < low:
                raise SettingsError(
                    f"{ENV_PREFIX}{field.name.upper()}: expected at least {low}, got {value!r}"
                )
            if (check := field.metadata.get("check")) is not None:
                check(value)  # refused now, naming the variable, not by the first request it is used on
            setattr(self, field.name, value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
