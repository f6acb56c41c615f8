"""`cxchange survey …` and `cxchange ingest …` as a user runs them, on a fresh database (not the demo)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from tests.e2e.conftest import Cx
from tests.e2e.world import write_world


@pytest.mark.slow
def test_survey_commands_and_their_refusals(cx: Cx) -> None:
    files = write_world(cx.workdir, date.today())
    cx.json("org", "import", str(files["units"]), "--people", str(files["people"]))
    made = cx.json("survey", "create", "--name", "After visit", "--kind", "nps", "--units", "N1,N2",
                   "--question", "Would you recommend our store?")  # fmt: skip
    assert set(made) == {"id", "name", "kind", "links", "links_note"}
    assert [link["unit"] for link in made["links"]] == ["N1", "N2"]
    # No CXCHANGE_PUBLIC_URL: the links are paths, and the output says what to do about it.
    assert all(link["url"].startswith("/s/") for link in made["links"])
    assert "CXCHANGE_PUBLIC_URL" in made["links_note"]
    assert all("/s/" in link["url"] for link in made["links"])
    listed = cx.json("survey", "list")
    assert [(s["name"], s["status"], s["responses"]) for s in listed] == [("After visit", "open", 0)]
    shown = cx.json("survey", "show", str(made["id"]))
    assert shown["links"] == made["links"] and shown["question"] == "Would you recommend our store?"
    assert shown["links_note"] == made["links_note"]
    cx.env["CXCHANGE_PUBLIC_URL"] = "https://cx.example.test"
    whole = cx.json("survey", "show", str(made["id"]))
    assert whole["links_note"] is None and whole["links"][0]["url"].startswith("https://cx.example.test/s/")
    del cx.env["CXCHANGE_PUBLIC_URL"]
    assert cx.json("survey", "close", "After visit")["status"] == "closed"
    # Refused with one clear line and exit 1, nothing created.
    cx.run("survey", "create", "--name", "X", "--kind", "stars", ok=False)
    cx.run("survey", "create", "--name", "X", "--kind", "csat", "--units", "N1,NOWHERE", ok=False)
    cx.run("survey", "create", "--name", "X", "--kind", "adkar", "--units", "N1", ok=False)
    cx.run(
        "survey", "create", "--name", "X", "--kind", "adkar", "--units", "N1", "--initiative", "99", ok=False
    )
    cx.run("survey", "create", "--name", "After visit", "--kind", "csat", ok=False)
    cx.run("survey", "show", "404", ok=False)
    assert len(cx.json("survey", "list")) == 1


def test_ingest_mapping_commands(cx: Cx) -> None:
    mapping = cx.workdir / "map.json"
    mapping.write_text(json.dumps({"items": "/tickets", "fields": {"text": "/body", "external_id": "/id"}}))
    out = cx.run("ingest", "map", "zendesk", str(mapping)).json()
    assert out["mapping"]["fields"]["text"] == "/body"
    assert json.loads(cx.run("ingest", "show", "zendesk").out)["mapping"]["items"] == "/tickets"
    bad = cx.workdir / "bad.json"
    bad.write_text('{"fields": {"colour": "/c"}}')
    cx.run("ingest", "map", "zendesk", str(bad), ok=False)
    bad.write_text("{not json")
    cx.run("ingest", "map", "zendesk", str(bad), ok=False)
