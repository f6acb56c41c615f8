"""Alert delivery: e-mail (smtplib, CXCHANGE_SMTP_* settings) and HTTP webhooks (JSON POST, urllib).

Every channel of every alert is an `alert_delivery` row. `deliver_due` sends the rows whose
`next_attempt_at` has come; a failure is recorded (attempts, last_error) and retried after an
exponential back-off (alert_retry_base_seconds · 2^(attempts−1), capped at alert_retry_max_seconds)
until alert_retry_max_attempts, then the row is marked failed. Nothing here raises into the caller.

A row is claimed before it is sent (its next_attempt_at is moved forward by a lease in one UPDATE that
only one process can win), so a background thread and `cxchange alerts check` never send it twice.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from cxchange.core.config import Settings
from cxchange.core.mail import MailError, send_email
from cxchange.sustain.models import Alert, AlertDelivery, AlertRule

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)


class DeliveryError(MailError):
    """A channel refused or could not be reached; the message goes into last_error (as a `MailError`)."""


def backoff(attempts: int, settings: Settings) -> timedelta:
    seconds = settings.alert_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.alert_retry_max_seconds))


def send_webhook(url: str, payload: dict[str, Any], timeout: float) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise DeliveryError(f"webhook {url!r}: only http:// and https:// URLs are supported")
    data = json.dumps(payload, default=str).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": "cxchange"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # scheme checked above
            if resp.status >= 300:
                raise DeliveryError(f"webhook {url}: HTTP {resp.status}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook {url}: HTTP {exc.code} {exc.reason}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"webhook {url}: {exc.__class__.__name__}: {exc}") from exc


def payload(alert: Alert, rule: AlertRule | None) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "rule": rule.name if rule else None,
        "metric": rule.metric if rule else None,
        "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
        "message": alert.message,
        "detail": alert.detail,
    }


def _claim(engine: Engine, d_id: int, seen: datetime | None, now: datetime) -> bool:
    with engine.begin() as conn:
        cond = (
            AlertDelivery.next_attempt_at.is_(None) if seen is None else AlertDelivery.next_attempt_at == seen
        )
        res = conn.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == d_id, AlertDelivery.status == "pending", cond)
            .values(next_attempt_at=now + LEASE)
        )
        return bool(res.rowcount)


def deliver_one(engine: Engine, delivery_id: int, settings: Settings | None = None) -> str:
    """Try one delivery now; returns its new status. Records the attempt either way."""
    settings = settings or Settings()
    now = datetime.utcnow()
    with Session(engine) as s:
        d = s.get(AlertDelivery, delivery_id)
        if d is None or d.status != "pending":
            return d.status if d else "missing"
        alert = s.get(Alert, d.alert_id)
        rule = s.get(AlertRule, alert.rule_id) if alert else None
        if alert is None:
            return "missing"
        body = payload(alert, rule)
        channel, target = d.channel, d.target
    error: str | None = None
    try:
        if channel == "email":
            subject = f"[cxchange] {rule.name if rule else 'alert'}"
            text = f"{alert.message}\n\n{json.dumps(alert.detail, indent=2, default=str)}\n"
            send_email(settings, target, subject, text)
        elif channel == "webhook":
            send_webhook(target, body, settings.smtp_timeout)
        else:
            raise DeliveryError(f"unknown channel {channel!r}")
    except MailError as exc:  # DeliveryError is one
        error = str(exc)
    except Exception as exc:  # never into the caller
        error = f"{exc.__class__.__name__}: {exc}"
    with Session(engine) as s, s.begin():
        d = s.get(AlertDelivery, delivery_id)
        assert d is not None
        d.attempts = (d.attempts or 0) + 1
        if error is None:
            d.status, d.sent_at, d.last_error, d.next_attempt_at = "sent", datetime.utcnow(), None, None
        else:
            log.warning("alert delivery %s (%s %s) failed: %s", delivery_id, channel, target, error)
            d.last_error = error[:2000]
            if d.attempts >= settings.alert_retry_max_attempts:
                d.status, d.next_attempt_at = "failed", None
            else:
                d.next_attempt_at = now + backoff(d.attempts, settings)
        return d.status


def deliver_due(
    engine: Engine, *, now: datetime | None = None, settings: Settings | None = None
) -> dict[str, int]:
    """Send every pending delivery whose time has come. Returns counts by outcome; never raises."""
    settings = settings or Settings()
    now = now or datetime.utcnow()
    out = {"sent": 0, "retry": 0, "failed": 0}
    try:
        with engine.connect() as conn:
            due = conn.execute(
                select(AlertDelivery.id, AlertDelivery.next_attempt_at)
                .where(
                    AlertDelivery.status == "pending",
                    or_(AlertDelivery.next_attempt_at.is_(None), AlertDelivery.next_attempt_at <= now),
                )
                .order_by(AlertDelivery.id)
            ).all()
        for d_id, seen in due:
            if not _claim(engine, d_id, seen, now):
                continue  # another process has it
            status = deliver_one(engine, d_id, settings)
            out["sent" if status == "sent" else "failed" if status == "failed" else "retry"] += 1
    except Exception as exc:
        log.warning("alert delivery pass stopped: %s", exc)
    return out


def deliver_in_background(engine: Engine) -> threading.Thread:
    """Start `deliver_due` in a daemon thread: the caller (an import) does not wait for SMTP or HTTP.
    What the thread does not finish (the process exits first) stays pending for `alerts check`."""
    t = threading.Thread(target=deliver_due, args=(engine,), name="cxchange-alert-delivery", daemon=True)
    t.start()
    return t
