"""Plain-text e-mail through the configured SMTP server (CXCHANGE_SMTP_* settings).

In core because two stages send mail: listen (survey invitations) and sustain (alert delivery), and
listen may not import sustain.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from cxchange.core.config import Settings


class MailError(Exception):
    """The message could not be sent (no server configured, refused, unreachable); says why."""


def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; any failure is a `MailError` naming the server."""
    if not settings.smtp_host:
        raise MailError("SMTP is not configured: set CXCHANGE_SMTP_HOST (and CXCHANGE_SMTP_PORT)")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, to, subject
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"SMTP {settings.smtp_host}:{settings.smtp_port}: {exc.__class__.__name__}: {exc}"
        ) from exc
