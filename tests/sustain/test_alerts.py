"""Alerts: rules, firing only on meaningful change, de-duplication, theme spikes, and delivery by e-mail
(a tiny SMTP server started here) and webhook (http.server), with recorded failures and retries."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select

from cxchange.core.config import Settings
from cxchange.core.errors import InputError, NotFoundError
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.sustain import alerts, hooks
from cxchange.sustain.delivery import backoff, deliver_due
from cxchange.sustain.models import AlertDelivery, AlertRule
from cxchange.testing import local_smtp_server

UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "S1", "name": "Ashby", "parent": "HQ", "level": "store"},
    {"code": "S2", "name": "Barton", "parent": "HQ", "level": "store"},
    {"code": "S3", "name": "Empty", "parent": "HQ", "level": "store"},
]
END = datetime(2026, 6, 30, 12)
NOW = datetime(2026, 7, 1, 9)  # the clock alert rules are judged at: the data is recent on it


def nps_rows() -> list[dict[str, Any]]:
    """S1: NPS +60 for 30 days, then -20 for the last 30 (150 answers each). S2: 4-5 answers a window."""
    rows = []
    for day in range(60):
        at = END - timedelta(days=day)
        recent = day < 30
        for k in range(5):
            score = (3 if k < 3 else 10) if recent else (10 if k < 4 else 5)
            rows.append({"org_unit": "S1", "received_at": at + timedelta(minutes=k), "nps": score})
        if day % 7 == 0:
            rows.append({"org_unit": "S2", "received_at": at, "nps": 4 if recent else 9})
    for i, r in enumerate(rows):
        r["external_id"] = f"N{i}"
    return rows


def load(engine: Engine, rows: list[dict[str, Any]], source: str = "survey") -> int:
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    res = import_frame(
        engine, frame, ImportOptions(source=source, kind="survey", map_options=maps, close_loop=False)
    )
    assert res.batch_id is not None
    return res.batch_id


@pytest.fixture
def world(engine: Engine) -> Engine:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    return engine


# --- servers ----------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    with local_smtp_server() as server:
        yield server


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_server() -> Iterator[Any]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def deliveries(engine: Engine) -> list[AlertDelivery]:
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return list(s.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


# --- rules and evaluation -----------------------------------------------------------------------------


def test_rules_fire_only_on_meaningful_change_once(world: Engine) -> None:
    with pytest.raises(NotFoundError, match="no org unit"):
        alerts.add_rule(world, metric="nps", unit="NOPE", drop=5)
    with pytest.raises(NotFoundError, match="no theme"):
        alerts.add_rule(world, metric="theme-spike", theme="Nope")
    with pytest.raises(InputError, match="either --drop"):
        alerts.add_rule(world, metric="nps", unit="S1")
    with pytest.raises(InputError, match="either --drop"):
        alerts.add_rule(world, metric="nps", unit="S1", drop=5, below=10)
    with pytest.raises(InputError, match="--metric"):
        alerts.add_rule(world, metric="mood", unit="S1", drop=5)
    with pytest.raises(InputError, match="e-mail"):
        alerts.add_rule(world, metric="nps", unit="S1", drop=5, email="not-an-address")
    with pytest.raises(InputError, match="http"):
        alerts.add_rule(world, metric="nps", unit="S1", drop=5, webhook="ftp://x")
    with pytest.raises(InputError, match="--window"):
        alerts.add_rule(world, metric="nps", unit="S1", drop=5, window="soon")
    r = alerts.add_rule(world, metric="nps", unit="s1", drop=5, window="30d", email="cx@x.test")
    assert r["unit"] == "S1" and r["channels"] == "email:cx@x.test" and r["window_days"] == 30
    assert [x["id"] for x in alerts.list_rules(world)] == [r["id"]]
    alerts.evaluate(world, now=NOW)  # no feedback yet: a note, nothing fired, nothing raised
    load(world, nps_rows())
    with world.begin() as conn:
        conn.execute(AlertRule.__table__.delete())
    drop = alerts.add_rule(world, metric="nps", unit="S1", drop=20, window="30d", name="S1 drop")
    # a CUSUM grows only while the fall exceeds half the drop it is tuned to (80 < 170 / 2)
    alerts.add_rule(world, metric="nps", unit="S1", drop=170, window="30d", name="S1 huge drop")
    alerts.add_rule(world, metric="nps", unit="S2", drop=5, window="30d", name="S2 drop")  # n too small
    alerts.add_rule(world, metric="nps", unit="S1", below=0, window="30d", name="S1 below 0")
    alerts.add_rule(world, metric="nps", unit="S1", below=-80, window="30d", name="S1 below -80")
    alerts.add_rule(world, metric="csat", unit="S1", below=50, window="30d", name="S1 csat")  # no data
    alerts.add_rule(world, metric="nps", unit="S3", drop=5, window="30d", name="S3 drop")  # no feedback
    out = alerts.evaluate(world, now=NOW)
    assert out["checked"] == 7
    assert sorted(a["rule"] for a in out["fired"]) == ["S1 below 0", "S1 drop"]
    assert any(n.startswith("S1 csat: no csat data") for n in out["notes"])
    assert any(n.startswith("S3 drop: no feedback") for n in out["notes"])
    assert any(n.startswith("S2 drop: too few nps answers") for n in out["notes"])
    fired = {a["rule"]: a for a in alerts.list_alerts(world)}
    d = fired["S1 drop"]["detail"]
    assert d["before"] > 50 and d["after"] < -10 and d["p_value"] < 0.05 and d["window_end"] == "2026-07-01"
    assert "fell" in fired["S1 drop"]["message"]
    assert fired["S1 below 0"]["detail"]["ci_high"] < 0
    assert alerts.evaluate(world, now=NOW)["fired"] == []  # the same window does not fire twice
    assert alerts.evaluate(world, rule_ids=[drop["id"]], now=NOW)["checked"] == 1


def test_history_is_not_judged(world: Engine) -> None:
    """The same data as above, judged three months after it ends: every rule is skipped with a note
    saying why, and nothing fires (an import of last year's history raises no alerts)."""
    load(world, nps_rows())
    alerts.add_rule(world, metric="nps", unit="S1", drop=20, window="30d", name="S1 drop")
    alerts.add_rule(world, metric="nps", below=0, window="90d", name="all below 0")
    later = alerts.evaluate(world, now=NOW + timedelta(days=90))
    assert later["checked"] == 2 and later["evaluated"] == 0 and later["fired"] == []
    assert [n.split(":")[0] for n in later["notes"]] == ["S1 drop", "all below 0"]
    assert "history is not judged" in later["notes"][0] and "2026-06-30" in later["notes"][0]
    # 80 days on, the 90-day rule still has the data in its window: it is judged, the 30-day one is not
    sooner = alerts.evaluate(world, now=NOW + timedelta(days=80))
    assert sooner["evaluated"] == 1 and [n.split(":")[0] for n in sooner["notes"]] == ["S1 drop"]
    on_time = alerts.evaluate(world, now=NOW)
    assert on_time["evaluated"] == 2 and "S1 drop" in [a["rule"] for a in on_time["fired"]]


def test_theme_spike_rule(world: Engine) -> None:
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import add_theme

    add_theme(world, "Login", keywords=["login"])
    add_theme(world, "Prices", keywords=["price"])
    rows = []
    for day in range(63):
        at = END - timedelta(days=day)
        for k in range(8):
            login = (day < 7 and k < 5) or (day >= 7 and day % 9 == 0 and k == 0)
            text = "the login keeps failing" if login else "the price is fair"
            rows.append({"org_unit": "S1", "received_at": at + timedelta(minutes=k), "text": text})
    for i, r in enumerate(rows):
        r["external_id"] = f"T{i}"
    load(world, rows, source="reviews")
    analyze(world, backend="fast")
    with pytest.raises(InputError, match="theme-spike"):
        alerts.add_rule(world, metric="theme-spike", drop=3)
    alerts.add_rule(world, metric="theme-spike", unit="S1", theme="Login", window="7d", name="login spike")
    alerts.add_rule(world, metric="theme-spike", unit="S1", theme="Prices", window="7d", name="price spike")
    out = alerts.evaluate(world, now=NOW)
    assert [a["rule"] for a in out["fired"]] == ["login spike"], out
    assert "Login is spiking in S1" in out["fired"][0]["message"]
    assert alerts.evaluate(world, now=NOW)["fired"] == []


# --- delivery -----------------------------------------------------------------------------------------


def test_email_and_webhook_delivery(
    world: Engine, smtp_server: Any, webhook_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXCHANGE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXCHANGE_SMTP_PORT", str(smtp_server.server_address[1]))
    monkeypatch.setenv("CXCHANGE_SMTP_FROM", "alerts@x.test")
    alerts.add_rule(world, metric="nps", unit="S1", drop=20, email="cx@x.test", webhook=webhook_server.url)
    batch = load(world, nps_rows())
    out = hooks.after_import(world, batch, deliver="now", now=NOW)
    assert out["alerts_raised"] == 1 and out["alerts_evaluated"] == 1
    assert out["deliveries"] == {"sent": 2, "retry": 0, "failed": 0}
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert "To: cx@x.test" in msg and "From: alerts@x.test" in msg and "fell" in msg
    assert (
        webhook_server.received[0]["metric"] == "nps" and webhook_server.received[0]["detail"]["unit"] == "S1"
    )
    assert [(d.channel, d.status, d.attempts) for d in deliveries(world)] == [
        ("email", "sent", 1),
        ("webhook", "sent", 1),
    ]
    assert alerts.check(world)["deliveries"] == {"sent": 0, "retry": 0, "failed": 0}  # nothing sent twice


def test_failures_are_recorded_and_retried_with_backoff(
    world: Engine, webhook_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXCHANGE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXCHANGE_SMTP_PORT", str(_free_port()))  # nobody listens
    monkeypatch.setenv("CXCHANGE_SMTP_TIMEOUT", "2")
    webhook_server.status = 500
    alerts.add_rule(world, metric="nps", unit="S1", drop=20, email="cx@x.test", webhook=webhook_server.url)
    batch = load(world, nps_rows())
    out = hooks.after_import(world, batch, deliver="now", now=NOW)  # never raises into the import
    assert out["alerts_raised"] == 1 and out["alerts_evaluated"] == 1
    assert out["deliveries"] == {"sent": 0, "retry": 2, "failed": 0}
    email, hook = deliveries(world)
    assert email.status == "pending" and email.attempts == 1 and "SMTP 127.0.0.1" in (email.last_error or "")
    assert hook.status == "pending" and "HTTP 500" in (hook.last_error or "")
    assert hook.next_attempt_at is not None and hook.next_attempt_at > datetime.utcnow() + timedelta(
        seconds=50
    )
    assert alerts.check(world)["deliveries"]["retry"] == 0  # not due yet
    webhook_server.status = 204
    later = datetime.utcnow() + timedelta(hours=1)
    assert deliver_due(world, now=later) == {"sent": 1, "retry": 1, "failed": 0}
    email, hook = deliveries(world)
    assert hook.status == "sent" and hook.attempts == 2 and hook.last_error is None
    assert email.attempts == 2 and email.status == "pending"
    listed = alerts.list_alerts(world)[0]["deliveries"]
    assert [d["status"] for d in listed] == ["pending", "sent"]
    # after the last allowed attempt a delivery is marked failed, with its error kept
    monkeypatch.setenv("CXCHANGE_ALERT_RETRY_MAX_ATTEMPTS", "3")
    assert deliver_due(world, now=later + timedelta(days=1)) == {"sent": 0, "retry": 0, "failed": 1}
    email = deliveries(world)[0]
    assert email.status == "failed" and email.attempts == 3 and email.last_error


def test_unconfigured_smtp_and_backoff() -> None:
    s = Settings(alert_retry_base_seconds=60, alert_retry_max_seconds=600)
    assert [backoff(n, s).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [60, 120, 240, 480, 600, 600]
    from cxchange.core.mail import MailError, send_email
    from cxchange.sustain.delivery import DeliveryError, send_webhook

    with pytest.raises(MailError, match="CXCHANGE_SMTP_HOST"):
        send_email(Settings(smtp_host=None), "a@b.c", "s", "b")
    with pytest.raises(DeliveryError, match="http"):
        send_webhook("file:///etc/passwd", {}, 1)


def test_background_delivery_does_not_block_the_import(world: Engine, webhook_server: Any) -> None:
    alerts.add_rule(world, metric="nps", unit="S1", drop=20, webhook=webhook_server.url)
    batch = load(world, nps_rows())
    out = hooks.after_import(world, batch, now=NOW)  # default: a daemon thread delivers
    assert out["alerts_raised"] == 1 and out["alerts_evaluated"] == 1 and "deliveries" not in out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and deliveries(world)[0].status != "sent":
        time.sleep(0.05)
    assert deliveries(world)[0].status == "sent"
    assert len(webhook_server.received) == 1
