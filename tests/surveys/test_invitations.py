"""Invitations over SMTP: one-time links, one answer each, a reminder after N days, unsubscribe honoured."""

from __future__ import annotations

import quopri
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.core.errors import InputError


def _links(message: str) -> tuple[str, str]:
    body = quopri.decodestring(message.encode()).decode("utf-8", "replace")
    answer = re.search(r"https://cx\.example\.test(/s/[A-Za-z0-9_.\-]+)\s", body)
    leave = re.search(r"https://cx\.example\.test(/s/unsubscribe/[A-Za-z0-9_.\-]+)", body)
    assert answer and leave, body
    return answer.group(1), leave.group(1)


def _contacts(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text("email,unit,customer_id,name\n" + "\n".join(rows) + "\n")
    return path


def test_invite_answer_once_remind_and_unsubscribe(
    client: TestClient, public: TestClient, org_engine: Engine, smtp: Any, tmp_path: Path, counter: Any
) -> None:
    from cxchange.listen.surveys.invitations import invite, remind

    survey = client.post("/api/surveys", json={"name": "Invited", "kind": "csat"}).json()
    contacts = _contacts(tmp_path, ["ann@x.test,N1,C-1,Ann", "bob@x.test,N2,C-2,Bob", "cid@x.test,N1,,"])
    out = invite(org_engine, survey["id"], contacts, remind_after_days=2)
    assert (out["invited"], out["sent"], out["failed"]) == (3, 3, 0)
    assert len(smtp.messages) == 3 and "To: ann@x.test" in smtp.messages[0]
    ann_link, _ = _links(smtp.messages[0])
    _, bob_leave = _links(smtp.messages[1])
    # Ann answers once: the answer carries her unit and customer id; her link then refuses a second one.
    token = re.search(r'name="form_token" value="([^"]+)"', public.get(ann_link).text)
    assert token
    form = {"form_token": token.group(1), "score": "2", "comment": "the queue again"}
    assert public.post(ann_link, data=form, follow_redirects=False).status_code == 303
    assert counter("feedback", "WHERE customer_id = 'C-1' AND csat = 2") == 1
    assert public.post(ann_link, data=form, follow_redirects=False).status_code == 409
    assert public.get(ann_link).status_code == 409
    assert counter("feedback") == 1
    # Bob unsubscribes: a GET only shows the button; the POST records it.
    assert public.get(bob_leave).status_code == 200 and counter("survey_optout") == 0
    assert public.post(bob_leave).status_code == 200 and counter("survey_optout") == 1
    # Reminders: not before 2 days; then only Cid (Ann answered, Bob left); and only once.
    assert remind(org_engine, survey["id"])["due"] == 0
    later = datetime.utcnow() + timedelta(days=2, minutes=1)
    assert remind(org_engine, survey["id"], now=later)["sent"] == 1
    assert "To: cid@x.test" in smtp.messages[-1] and "Reminder" in smtp.messages[-1]
    assert remind(org_engine, survey["id"], now=later)["due"] == 0
    # A later survey does not invite Bob again.
    other = client.post("/api/surveys", json={"name": "Next", "kind": "nps"}).json()
    again = invite(org_engine, other["id"], contacts)
    assert again["invited"] == 2 and again["unsubscribed"] == 1


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (["not-an-email,N1,,"], "row 2"),
        (["a@x.test,NOWHERE,,"], "unknown unit"),
        (["a@x.test,N1,,", "A@x.test,N1,,"], "twice"),
    ],
)
def test_a_bad_contacts_file_stores_and_sends_nothing(
    client: TestClient,
    org_engine: Engine,
    smtp: Any,
    tmp_path: Path,
    counter: Any,
    rows: list[str],
    reason: str,
) -> None:
    from cxchange.listen.surveys.invitations import invite

    survey = client.post("/api/surveys", json={"name": "Invited", "kind": "csat"}).json()
    with pytest.raises(InputError, match=reason):
        invite(org_engine, survey["id"], _contacts(tmp_path, rows))
    assert counter("survey_invitation") == 0 and smtp.messages == []


def test_forged_unsubscribe_and_invitation_links_are_404(public: TestClient) -> None:
    assert public.get("/s/unsubscribe/abc.def").status_code == 404
    assert public.post("/s/unsubscribe/abc.def").status_code == 404
    assert public.get("/s/WyJpIiwxXQ.forged").status_code == 404


def test_remind_says_when_the_next_reminders_fall_due(
    client: TestClient, org_engine: Engine, smtp: Any, tmp_path: Path
) -> None:
    """`remind` right after `invite` finds none due: it says when they will be, not just "due 0"."""
    from cxchange.listen.surveys.invitations import invite, remind

    survey = client.post("/api/surveys", json={"name": "Invited", "kind": "csat"}).json()
    before = datetime.utcnow()
    invite(org_engine, survey["id"], _contacts(tmp_path, ["ann@x.test,N1,,", "bob@x.test,N2,,"]))
    now = remind(org_engine, survey["id"])
    assert (now["due"], now["sent"]) == (0, 0)
    assert before + timedelta(days=3) <= now["next_due"] <= datetime.utcnow() + timedelta(days=3)
    done = remind(org_engine, survey["id"], now=datetime.utcnow() + timedelta(days=3, minutes=1))
    assert (done["due"], done["sent"], done["next_due"]) == (2, 2, None)
