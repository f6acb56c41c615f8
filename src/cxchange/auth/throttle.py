"""Counted events shared by every server process: sign-in failures and expensive requests.

Each event is a row of `rate_event` in a named bucket. Counting in the database (not in process memory)
means `serve --workers N` allows the same number of attempts as one worker. The decisions themselves
(`login_wait`, `window_wait`) are pure functions of what was counted.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from cxchange.auth.models import RateEvent
from cxchange.core.config import get_settings, proxy_networks

# An account's failures are remembered this long (or until it signs in); an address it signed in from
# this long.
ACCOUNT_MEMORY = timedelta(hours=24)
KNOWN_ADDRESS_MEMORY = timedelta(days=30)
_PURGE_EVERY_SECONDS = 60.0
_last_purge = 0.0


@dataclass(frozen=True)
class Counted:
    """Events of one bucket since some moment: how many, the first and the last."""

    n: int
    first: datetime | None
    last: datetime | None


def record(engine: Engine, bucket: str, keep: timedelta, *, now: datetime | None = None) -> None:
    now = now or datetime.utcnow()
    with engine.begin() as conn:
        conn.execute(insert(RateEvent).values(bucket=bucket[:400], at=now, expires_at=now + keep))
    purge_expired(engine, now)


def counted(engine: Engine, bucket: str, since: datetime) -> Counted:
    stmt = select(func.count(), func.min(RateEvent.at), func.max(RateEvent.at)).where(
        RateEvent.bucket == bucket[:400], RateEvent.at > since
    )
    with engine.connect() as conn:
        n, first, last = conn.execute(stmt).one()
    return Counted(int(n or 0), first, last)


def forget(engine: Engine, bucket: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(RateEvent).where(RateEvent.bucket == bucket[:400]))


def purge_expired(engine: Engine, now: datetime) -> None:
    """Drop expired events, at most once a minute per process (the table stays small)."""
    global _last_purge
    if time.monotonic() - _last_purge < _PURGE_EVERY_SECONDS:
        return
    _last_purge = time.monotonic()
    with engine.begin() as conn:
        conn.execute(delete(RateEvent).where(RateEvent.expires_at < now))


# --- pure decisions ------------------------------------------------------------------------------


def window_wait(c: Counted, limit: int, window_seconds: float, now: datetime) -> float:
    """Seconds until a sliding window of `window_seconds` holds fewer than `limit` events (0: go)."""
    if c.n < limit or c.first is None:
        return 0.0
    return max(0.0, (c.first + timedelta(seconds=window_seconds) - now).total_seconds())


def account_delay(failures: int, free: int, base_seconds: float, cap_seconds: float) -> float:
    """Wait before the next attempt on an account with `failures` failures: none for the first `free`,
    then base * 2**(failures - free), capped so the owner is never locked out for long."""
    if failures < free:
        return 0.0
    return float(min(cap_seconds, base_seconds * 2 ** min(failures - free, 30)))


def login_wait(
    *,
    per_address: Counted,
    per_pair: Counted,
    per_account: Counted,
    known_address: bool,
    now: datetime,
    max_failures: int,
    window_seconds: float,
    delay_seconds: float,
    max_delay_seconds: float,
) -> float:
    """Seconds a sign-in from this address to this account must wait (0: check the password).

    Hard limits apply per address (any account: a guesser's address) and per address and account;
    an account's own failures from anywhere only slow attempts down, and never at an address the
    account signed in from before, so a stranger cannot keep its owner out.
    """
    wait = max(
        window_wait(per_address, max_failures * 4, window_seconds, now),
        window_wait(per_pair, max_failures, window_seconds, now),
    )
    if not known_address and per_account.last is not None:
        delay = account_delay(per_account.n, max_failures, delay_seconds, max_delay_seconds)
        wait = max(wait, (per_account.last + timedelta(seconds=delay) - now).total_seconds())
    return max(0.0, wait)


# --- sign-in -------------------------------------------------------------------------------------


def _buckets(client: str, email: str) -> dict[str, str]:
    email = email.strip().lower()[:320]
    return {
        "address": f"login-fail-addr:{client}",
        "pair": f"login-fail:{client}|{email}",
        "account": f"login-fail-acct:{email}",
        "known": f"login-ok:{email}|{client}",
    }


def sign_in_wait(engine: Engine, client: str, email: str) -> float:
    """Seconds before this client may try this account again (0: go ahead)."""
    s = get_settings()
    now = datetime.utcnow()
    b = _buckets(client, email)
    window = now - timedelta(seconds=s.login_window_seconds)
    return login_wait(
        per_address=counted(engine, b["address"], window),
        per_pair=counted(engine, b["pair"], window),
        per_account=counted(engine, b["account"], now - ACCOUNT_MEMORY),
        known_address=counted(engine, b["known"], now - KNOWN_ADDRESS_MEMORY).n > 0,
        now=now,
        max_failures=s.login_max_failures,
        window_seconds=s.login_window_seconds,
        delay_seconds=s.login_delay_seconds,
        max_delay_seconds=s.login_max_delay_seconds,
    )


def sign_in_failed(engine: Engine, client: str, email: str) -> None:
    window = timedelta(seconds=get_settings().login_window_seconds)
    b = _buckets(client, email)
    record(engine, b["address"], window)
    record(engine, b["pair"], window)
    record(engine, b["account"], ACCOUNT_MEMORY)


def sign_in_succeeded(engine: Engine, client: str, email: str) -> None:
    b = _buckets(client, email)
    forget(engine, b["pair"])
    forget(engine, b["account"])
    forget(engine, b["known"])
    record(engine, b["known"], KNOWN_ADDRESS_MEMORY)


# --- expensive requests --------------------------------------------------------------------------


def request_wait(engine: Engine, kind: str, user_id: int, per_minute: int) -> float:
    """Count one `kind` request for the user; seconds to wait instead when the last minute is full."""
    now = datetime.utcnow()
    bucket = f"api:{kind}:{user_id}"
    wait = window_wait(counted(engine, bucket, now - timedelta(seconds=60)), per_minute, 60, now)
    if wait <= 0:
        record(engine, bucket, timedelta(seconds=60), now=now)
    return wait


# --- the client's address ------------------------------------------------------------------------


def _trusted(address: str, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: str) -> str:
    """The client's address: the direct peer, unless it is a trusted proxy; then the right-most address
    of X-Forwarded-For that is not itself a trusted proxy (what a client writes there is ignored)."""
    peer = peer or "?"
    nets = proxy_networks(trusted_proxies)
    if not nets or not forwarded_for or not _trusted(peer, nets):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, nets):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # junk in the header: fall back to the proxy rather than trust it
    return hops[0] if hops else peer  # every hop a trusted proxy: the first one is the client
