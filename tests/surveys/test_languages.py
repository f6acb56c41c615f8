"""A survey in another language: its respondent page, thank-you, closed page and e-mails speak it, and a
language that does not ship is refused when the survey is created, not shown in English under its code."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.listen.surveys.models import ADKAR
from cxchange.listen.surveys.service import close_survey, create_survey
from cxchange.listen.surveys.spec import SurveySpec


def _path(url: str) -> str:
    return url[url.index("/s/") :]


def _lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]*)"', page)
    return found[1] if found else ""


def test_a_language_that_does_not_ship_is_refused_with_the_ones_that_do(org_engine: Engine) -> None:
    with pytest.raises(InputError, match=r"does not ship in 'de'.*available: en, fr"):
        create_survey(org_engine, SurveySpec(name="Besuch", kind="nps", units=["N1"], language="de"))
    # A regional variant falls back to its language's page.
    made = create_survey(
        org_engine, SurveySpec(name="Visite QC", kind="csat", units=["N1"], language="fr-CA")
    )
    assert made["links"]


def test_the_french_survey_speaks_french_from_form_to_closed_page(
    org_engine: Engine, public: TestClient
) -> None:
    made = create_survey(org_engine, SurveySpec(name="Visite", kind="nps", units=["N1"], language="fr"))
    path = _path(made["links"][0]["url"])
    form = public.get(path)
    assert _lang(form.text) == "fr"
    assert "Envoyer" in form.text and "recommandiez" in form.text and "Send" not in form.text
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)[1]  # type: ignore[index]
    sent = public.post(path, data={"form_token": token, "score": "9", "comment": "Très bien"})
    assert sent.status_code == 200 and sent.url.path.endswith("/thanks")
    assert _lang(sent.text) == "fr" and "Merci" in sent.text
    replay = public.post(path, data={"form_token": token, "score": "9"})
    assert replay.status_code == 409 and _lang(replay.text) == "fr" and "Déjà répondu" in replay.text
    close_survey(org_engine, made["id"])
    closed = public.get(path)
    assert (
        closed.status_code == 410 and _lang(closed.text) == "fr" and "Cette enquête est close" in closed.text
    )
    unknown = public.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert unknown.status_code == 404 and _lang(unknown.text) == "en"


def test_a_french_pulse_and_the_users_own_file_keep_the_french_page(
    org_engine: Engine, tmp_path: Any
) -> None:
    from cxchange.listen.surveys.service import load_definition

    pulse = load_definition("adkar", None, "fr")
    assert [e["name"] for e in pulse["elements"]] == list(ADKAR)
    assert pulse["elements"][0]["question"].startswith("Je comprends")
    own = tmp_path / "own.yaml"
    own.write_text('question: "Nos cabines d\'essayage ?"\n', encoding="utf-8")
    merged = load_definition("csat", own, "fr")
    assert merged["question"] == "Nos cabines d'essayage ?"
    assert merged["scale"] == {"min": 1, "max": 5, "low": "Très insatisfait", "high": "Très satisfait"}


def test_the_invitation_of_a_french_survey_is_written_in_french(
    org_engine: Engine, smtp: Any, tmp_path: Any
) -> None:
    from cxchange.listen.surveys.invitations import invite

    create_survey(org_engine, SurveySpec(name="Visite", kind="nps", units=["N1"], language="fr"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email,unit,name\nmia@example.test,N1,Mia\n", encoding="utf-8")
    assert invite(org_engine, "Visite", contacts)["sent"] == 1
    (raw,) = smtp.messages
    message = email.message_from_string(raw, policy=email.policy.default)
    assert message["Subject"] == "Une petite question de notre part"
    body = message.get_content()  # type: ignore[attr-defined]
    assert "Bonjour Mia" in body and "recommandiez" in body
