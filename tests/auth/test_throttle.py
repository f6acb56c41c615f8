"""Sign-in limits and request rates counted in the database, the client address behind trusted proxies,
and server-side sessions (sign-out and a new password end them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.auth import service, throttle
from cxchange.auth.throttle import Counted, account_delay, client_address, login_wait, window_wait
from cxchange.core.config import get_settings

PASSWORD = "correct-horse-battery"
NOW = datetime(2026, 12, 6, 12, 0, 0)
NONE = Counted(0, None, None)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set CXCHANGE_* variables for one test (settings are cached per process)."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


# --- pure decisions ------------------------------------------------------------------------------


def test_window_wait_counts_down_from_the_oldest_event() -> None:
    assert window_wait(Counted(4, NOW, NOW), 5, 300, NOW) == 0
    full = Counted(5, NOW - timedelta(seconds=100), NOW)
    assert window_wait(full, 5, 300, NOW) == pytest.approx(200)
    assert window_wait(full, 5, 300, NOW + timedelta(seconds=300)) == 0


def test_account_delay_doubles_and_is_capped() -> None:
    assert [account_delay(n, 5, 2, 900) for n in (0, 4, 5, 6, 7)] == [0, 0, 2, 4, 8]
    assert account_delay(40, 5, 2, 900) == 900
    assert account_delay(10_000, 5, 2, 900) == 900  # no overflow


def _wait(**kw: object) -> float:
    args = {"per_address": NONE, "per_pair": NONE, "per_account": NONE, "known_address": False,
            "now": NOW, "max_failures": 5, "window_seconds": 300, "delay_seconds": 2,
            "max_delay_seconds": 900}  # fmt: skip
    return login_wait(**{**args, **kw})  # type: ignore[arg-type]


def test_a_strangers_failures_slow_down_new_addresses_but_not_the_owners() -> None:
    many = Counted(12, NOW - timedelta(hours=1), NOW - timedelta(seconds=1))  # from rotating addresses
    assert _wait(per_account=many) == pytest.approx(2 * 2**7 - 1)  # a new address waits
    assert _wait(per_account=many, known_address=True) == 0  # the owner's usual address does not
    # and the delay ends: an hour after the last failure even a new address may try
    old = Counted(12, NOW - timedelta(hours=3), NOW - timedelta(hours=1))
    assert _wait(per_account=old) == 0


def test_hard_limits_are_per_address() -> None:
    recent = NOW - timedelta(seconds=10)
    assert _wait(per_pair=Counted(5, recent, recent)) > 0
    assert _wait(per_pair=Counted(5, recent, recent), known_address=True) > 0  # the guesser's own address
    assert _wait(per_address=Counted(19, recent, recent)) == 0
    assert _wait(per_address=Counted(20, recent, recent)) == pytest.approx(290)


def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    assert client_address("203.0.113.9", "1.2.3.4", "") == "203.0.113.9"  # no proxy configured
    assert client_address("203.0.113.9", "1.2.3.4", "127.0.0.1") == "203.0.113.9"  # peer is not the proxy
    assert client_address("127.0.0.1", "1.2.3.4", "127.0.0.1") == "1.2.3.4"
    # what the client wrote before the proxy's own entry is ignored: the right-most untrusted hop counts
    assert client_address("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1", "10.0.0.0/8") == "198.51.100.7"
    assert client_address("127.0.0.1", "not-an-address", "127.0.0.1") == "127.0.0.1"
    with pytest.raises(
        ValueError, match="CXCHANGE_TRUSTED_PROXIES: not an address or network: 'nonsense/99'"
    ):
        client_address("127.0.0.1", "1.2.3.4", "nonsense/99")


# --- in the database -----------------------------------------------------------------------------


def test_failures_are_shared_by_every_process(db_url: str, engine: Engine) -> None:
    """Two engines on one database stand for two `serve --workers` processes: one count."""
    from cxchange.core.db import get_engine

    other = get_engine(db_url)
    limit = get_settings().login_max_failures
    for i in range(limit):
        assert throttle.sign_in_wait(engine if i % 2 else other, "198.51.100.1", "ann@x.test") == 0
        throttle.sign_in_failed(engine if i % 2 else other, "198.51.100.1", "ann@x.test")
    assert throttle.sign_in_wait(engine, "198.51.100.1", "ann@x.test") > 0
    assert throttle.sign_in_wait(other, "198.51.100.1", "Ann@X.test") > 0


def test_a_stranger_cannot_lock_the_owner_out(engine: Engine) -> None:
    throttle.sign_in_succeeded(engine, "192.0.2.10", "ann@x.test")  # the owner's usual address
    for i in range(30):  # a stranger rotating addresses
        throttle.sign_in_failed(engine, f"203.0.113.{i}", "ann@x.test")
    assert throttle.sign_in_wait(engine, "203.0.113.200", "ann@x.test") > 60  # strangers slowed down
    assert throttle.sign_in_wait(engine, "192.0.2.10", "ann@x.test") == 0  # the owner is not


def test_request_rate_is_per_user(engine: Engine) -> None:
    assert [throttle.request_wait(engine, "simulate", 1, 3) for _ in range(3)] == [0, 0, 0]
    assert 0 < throttle.request_wait(engine, "simulate", 1, 3) <= 60
    assert throttle.request_wait(engine, "simulate", 2, 3) == 0  # another user
    assert throttle.request_wait(engine, "drivers", 1, 3) == 0  # another kind


# --- over HTTP -----------------------------------------------------------------------------------


def _app(db_url: str, engine: Engine) -> TestClient:
    from cxchange.api import create_app

    service.add_user(engine, "eve@x.test", "viewer", password=PASSWORD)
    return TestClient(create_app(db_url))


def test_sign_out_ends_the_session_on_the_server(db_url: str, engine: Engine) -> None:
    from cxchange.auth.web import SESSION_COOKIE
    from cxchange.testing import login

    client = _app(db_url, engine)
    assert login(client, "eve@x.test", PASSWORD).status_code == 303
    kept = client.cookies.get(SESSION_COOKIE)
    assert kept and client.get("/api/org").status_code == 200
    page = client.get("/").text
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    stolen = TestClient(client.app)
    stolen.cookies.set(SESSION_COOKIE, kept)  # the old cookie, kept by a browser or a thief
    assert stolen.get("/api/org").status_code == 401
    assert stolen.get("/", follow_redirects=False).status_code == 303  # to the sign-in page


def test_forwarded_for_rotation_does_not_dodge_the_limit(db_url: str, engine: Engine) -> None:
    """Without trusted proxies the header is ignored: rotating it gave 12 wrong passwords without a 429."""
    from cxchange.testing import login

    client = _app(db_url, engine)
    codes = []
    for i in range(8):
        client.headers["X-Forwarded-For"] = f"10.9.8.{i}"
        codes.append(login(client, "eve@x.test", "wrong-password-1").status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}


def test_trusted_proxy_separates_clients(
    db_url: str, engine: Engine, settings_env: pytest.MonkeyPatch
) -> None:
    """Behind a trusted proxy, one client's failures do not lock out another client's correct password."""
    from cxchange.testing import login

    settings_env.setenv("CXCHANGE_TRUSTED_PROXIES", "127.0.0.1")
    client = _app(db_url, engine)
    client = TestClient(client.app, client=("127.0.0.1", 40000))  # the proxy is the direct peer
    throttle.sign_in_succeeded(engine, "192.0.2.44", "eve@x.test")  # the owner signed in from there before
    client.headers["X-Forwarded-For"] = "198.51.100.66"
    for _ in range(25):
        login(client, "eve@x.test", "wrong-password-1")
    assert login(client, "eve@x.test", PASSWORD).status_code == 429
    response = login(client, "eve@x.test", "wrong-password-1")
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    owner = TestClient(client.app, client=("127.0.0.1", 40001))
    owner.headers["X-Forwarded-For"] = "192.0.2.44"
    assert login(owner, "eve@x.test", PASSWORD).status_code == 303


def test_control_characters_in_the_sign_in_e_mail_are_refused(db_url: str, engine: Engine) -> None:
    """A NUL cannot be stored by PostgreSQL: the failure count and the audit entry would answer 500."""
    from cxchange.testing import login

    client = _app(db_url, engine)
    assert login(client, "eve\x00@x.test", "wrong-password-1").status_code == 400
    assert login(client, "eve@x.test", PASSWORD).status_code == 303
