"""An ADKAR pulse for an initiative feeds `readiness report`: per unit only where enough answered."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

ADKAR = ("awareness", "desire", "knowledge", "ability", "reinforcement")


def _initiative(engine: Engine) -> int:
    from cxchange.change.service import create

    ada = "ada@acme.test"
    out = create(
        engine,
        name="Queue busting",
        framework="adkar",
        sponsor=ada,
        owner=ada,
        units=["N"],
        start="2026-01-01",
    )
    return int(out["id"])


def _n1_pulse(client: TestClient, org_engine: Engine, name: str) -> tuple[dict[str, Any], str]:
    """A new ADKAR pulse of a new initiative with one link, N1's: (the survey, the link's path)."""
    ini = _initiative(org_engine)
    out = client.post("/api/surveys", json={"name": name, "kind": "adkar", "units": ["N1"],
                                            "initiative": ini}).json()  # fmt: skip
    return out, out["links"][0]["url"][out["links"][0]["url"].index("/s/") :]


def _answer(public: TestClient, path: str, scores: tuple[int, ...], comment: str = "") -> int:
    page = public.get(path).text
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    form = {
        "form_token": token.group(1),
        "website": "",
        "comment": comment,
        **dict(zip(ADKAR, map(str, scores), strict=True)),
    }
    return public.post(path, data=form, follow_redirects=False).status_code


def test_pulse_answers_feed_readiness_with_small_units_merged(
    client: TestClient, public: TestClient, org_engine: Engine, counter: Any
) -> None:
    from cxchange.change.readiness import report

    ini = _initiative(org_engine)
    out = client.post("/api/surveys", json={"name": "Pulse 1", "kind": "adkar", "units": ["N1", "N2"],
                                            "initiative": ini}).json()  # fmt: skip
    n1, n2 = (link["url"][link["url"].index("/s/") :] for link in out["links"])
    page = public.get(n1).text
    assert page.count("<fieldset") == 5
    for _ in range(5):
        assert _answer(public, n1, (4, 2, 4, 4, 4)) == 303
    assert _answer(public, n2, (2, 4, 4, 4, 4), comment="need more training") == 303
    assert _answer(public, n2, (4, 4, 4, 4, 6)) == 400  # out of range: nothing stored
    assert counter("pulse_answer") == 6
    rows = report(org_engine, ini)
    by_group = {r["group"]: r for r in rows}
    assert by_group["N1"]["n"] == 5 and by_group["N1"]["top_barrier"] == "desire"
    # York's one answer is merged upwards (still under 5 at the top: its n only, nothing else shown).
    assert set(by_group) == {"N1", "CO"}
    assert by_group["CO"]["merged"] == ["N2"] and by_group["CO"]["suppressed"] and by_group["CO"]["n"] == 1
    assert by_group["CO"]["means"]["awareness"] is None and by_group["CO"]["top_barrier"] is None
    # The comment waits (one alone would join back to its answer), stored: scores without a person.
    assert counter("feedback") == 0 and counter("pulse_comment_held") == 1


def test_pulse_needs_an_initiative_and_a_known_one(client: TestClient) -> None:
    assert (
        client.post("/api/surveys", json={"name": "P", "kind": "adkar", "units": ["N1"]}).status_code == 400
    )
    assert client.post("/api/surveys", json={"name": "P", "kind": "adkar", "units": ["N1"],
                                             "initiative": 999}).status_code == 404  # fmt: skip
    # Refused before the initiative is looked up (999 does not exist), in the CLI's words.
    wrong_kind = client.post("/api/surveys", json={"name": "P", "kind": "nps", "initiative": 999})
    assert wrong_kind.status_code == 400
    assert wrong_kind.json()["detail"] == "--initiative is for --kind adkar (an employee pulse on a change)"


def test_a_pulse_comment_cannot_be_joined_back_to_its_scores_and_unit(
    client: TestClient, public: TestClient, org_engine: Engine, counter: Any
) -> None:
    """Comments are held until K (5) of the survey wait, then released as one batch of feedback without
    the unit: neither their ids, their times nor the batch's may match a pulse answer's (which carries
    the unit and the five scores), or one employee's answer is readable after all."""
    from sqlalchemy import text

    from cxchange.core.events import wait_for_background

    out, n1 = _n1_pulse(client, org_engine, "Pulse 2")
    for i in range(4):
        assert _answer(public, n1, (1, 2, 3, 4, 5), comment=f"my manager ignores us {i}") == 303
    wait_for_background(org_engine)
    # Four wait, stored and said so; nothing is feedback yet, no batch.
    assert counter("pulse_comment_held") == 4 and counter("feedback") == 0 and counter("import_batch") == 0
    shown = client.get("/api/surveys/Pulse 2").json()
    assert shown["comments_held"] == 4 and shown["comments_note"].startswith("4 comments held until 5")
    assert "4 comments held until 5" in client.get(f"/surveys/{out['id']}").text  # the survey's page too
    assert _answer(public, n1, (1, 2, 3, 4, 5)) == 303  # no comment: nothing released
    assert _answer(public, n1, (1, 2, 3, 4, 5), comment="my manager ignores us 4") == 303
    wait_for_background(org_engine)
    assert counter("pulse_comment_held") == 0 and counter("feedback") == 5
    with org_engine.connect() as conn:
        answers = conn.execute(text("SELECT nonce, received_at FROM pulse_answer")).all()
        comments = conn.execute(text("SELECT external_id, received_at, org_unit_id FROM feedback")).all()
        batch = conn.execute(text("SELECT started_at, finished_at, rows_imported FROM import_batch")).one()
    nonces, instants = {a[0] for a in answers}, {str(a[1]) for a in answers}
    assert all(unit is None and ext not in nonces for ext, _, unit in comments)
    # One day for all five (the release's), not any answer's instant; the batch dated by that day too.
    assert len({str(at) for _, at, _ in comments}) == 1 and not {str(at) for _, at, _ in comments} & instants
    assert batch[2] == 5 and str(batch[0])[11:19] == "00:00:00" and str(batch[1]) == str(batch[0])
    assert not {str(batch[0]), str(batch[1])} & instants


def test_held_comments_released_after_a_crash_by_the_next_process(
    client: TestClient, org_engine: Engine, counter: Any
) -> None:
    """The K-th comment commits with its release recorded as pending work: a process killed before the
    release leaves the comments held and the work undone, and the next process releases them."""
    from sqlalchemy import text

    from cxchange.core import events
    from cxchange.listen.surveys.comments import hold

    ini = _initiative(org_engine)
    out = client.post("/api/surveys", json={"name": "Pulse 3", "kind": "adkar", "units": ["N1"],
                                            "initiative": ini}).json()  # fmt: skip
    with org_engine.begin() as conn:
        works = [hold(conn, out["id"], f"comment {i}") for i in range(5)]
        # The process that held them dies here: its claim lapses (as a dead process's does).
        conn.execute(text("UPDATE pending_work SET claimed_by = NULL, claimed_at = NULL"))
    assert works[:4] == [None] * 4 and works[4] is not None
    assert counter("pulse_comment_held") == 5 and counter("feedback") == 0
    done = events.resume(org_engine)
    events.wait_for_background(org_engine)
    assert [w.results.get("release", {}).get("released") for w in done] == [5]
    assert counter("pulse_comment_held") == 0 and counter("feedback") == 5
    assert events.resume(org_engine) == []  # idempotent: nothing left, nothing released twice


def test_comments_that_reached_k_uncounted_are_released_after_the_commit(
    client: TestClient, org_engine: Engine, counter: Any
) -> None:
    """Two answers committing at once (PostgreSQL) each count the other's comment out: 4 + 1 seen as 4
    twice. Whoever commits last sees 5 after its commit, and records the release `hold` did not."""
    from sqlalchemy import insert

    from cxchange.core import events
    from cxchange.listen.surveys.comments import release_due
    from cxchange.listen.surveys.models import HeldComment

    ini = _initiative(org_engine)
    out = client.post("/api/surveys", json={"name": "Pulse 4", "kind": "adkar", "units": ["N1"],
                                            "initiative": ini}).json()  # fmt: skip
    rows = [{"key": f"k{i}", "survey_id": out["id"], "text": f"c{i}"} for i in range(5)]
    with org_engine.begin() as conn:
        conn.execute(insert(HeldComment), rows[:4])
    assert release_due(org_engine, out["id"]) is None  # 4 of 5: nothing to release
    with org_engine.begin() as conn:
        conn.execute(insert(HeldComment), rows[4:])
    work = release_due(org_engine, out["id"])
    assert work is not None and events.complete(org_engine, work).done
    assert counter("pulse_comment_held") == 0 and counter("feedback") == 5


def test_the_cli_and_the_api_create_through_one_path_with_one_spec(
    org_engine: Engine, client: TestClient, db_url: str, monkeypatch: Any
) -> None:
    """`survey create` and POST /api/surveys (so the Surveys page) hand the same `SurveySpec` to
    `change.readiness.create_survey_or_pulse`, which reserves each pulse its own assessment; only the
    CLI's --definition reaches the service as a path: a `definition_file` in the API's body is dropped."""
    from typer.testing import CliRunner

    import cxchange.change.readiness as readiness
    from cxchange.cli import app
    from cxchange.listen.surveys.spec import SurveySpec

    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    real = readiness.create_survey

    def spy(engine: Engine, spec: SurveySpec, **kw: Any) -> dict[str, Any]:
        seen.append(({k: getattr(spec, k) for k in SurveySpec.model_fields}, kw))
        return real(engine, spec, **kw)

    monkeypatch.setattr(readiness, "create_survey", spy)
    ini = _initiative(org_engine)
    fields = {"kind": "adkar", "question": "Ready?", "comment_prompt": "Why?", "units": ["N1", "N2"]}
    api = client.post(
        "/api/surveys", json={"name": "P", **fields, "initiative": ini, "definition_file": "/etc/passwd"}
    )
    assert api.status_code == 201, api.text
    cli = CliRunner().invoke(app, [
        "survey", "create", "--name", "P", "--kind", "adkar", "--question", "Ready?", "--comment-prompt",
        "Why?", "--units", "N1,N2", "--initiative", "Queue busting", "--db", db_url,
    ])  # fmt: skip
    assert "a survey named 'P' exists already" in str(cli.exception)  # the same spec, refused
    (api_spec, api_kw), (cli_spec, cli_kw) = seen
    assert api_spec == cli_spec == {"name": "P", **fields, "language": "en"}
    assert api_kw == {"initiative_id": ini, "assessment": 1, "definition_file": None}
    assert cli_kw == {"initiative_id": ini, "assessment": 2, "definition_file": None}


def test_comments_held_when_the_survey_closes_are_said_never_to_be_released(
    client: TestClient, public: TestClient, org_engine: Engine, counter: Any
) -> None:
    """Closed with fewer than K comments waiting: no answer can make K, so "held until 5" would mislead."""
    out, n1 = _n1_pulse(client, org_engine, "Pulse 5")
    for i in range(2):
        assert _answer(public, n1, (1, 2, 3, 4, 5), comment=f"too fast {i}") == 303
    closed = client.post(f"/api/surveys/{out['id']}/close").json()
    assert closed["comments_held"] == 2 and counter("feedback") == 0
    assert closed["comments_note"].startswith(
        "2 comments held and never released: the survey closed before 5"
    )
    assert "until 5" not in closed["comments_note"]
