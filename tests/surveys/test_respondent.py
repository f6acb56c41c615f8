"""The public form /s/TOKEN: an answer lands as feedback at once; every abuse is a 4xx, nothing stored."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _create(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post(
        "/api/surveys", json={"name": "After visit", "kind": "nps", "units": ["N1", "N2"], **body}
    )
    assert r.status_code == 201, r.text
    return r.json()


def _path(url: str) -> str:
    return url[url.index("/s/") :]


def _load(public: TestClient, path: str) -> dict[str, str]:
    page = public.get(path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token
    return {"form_token": token.group(1), "website": ""}


def test_create_returns_one_link_per_unit(client: TestClient) -> None:
    out = _create(client)
    assert set(out) == {"id", "name", "kind", "links", "links_note"}
    assert [link["unit"] for link in out["links"]] == ["N1", "N2"]
    assert all(re.fullmatch(r".*/s/[A-Za-z0-9_.\-]{20,}", link["url"]) for link in out["links"])
    single = client.post("/api/surveys", json={"name": "Web", "kind": "csat"}).json()
    assert [link["unit"] for link in single["links"]] == [None]


def test_the_form_is_accessible_and_self_contained(client: TestClient, public: TestClient) -> None:
    path = _path(_create(client)["links"][0]["url"])
    page = public.get(path)
    html = page.text
    assert page.status_code == 200 and "<fieldset" in html and "<legend>" in html
    assert html.count('type="radio"') == 11 and html.count("<label for=") >= 12
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_an_answer_lands_as_feedback_with_the_links_unit(
    client: TestClient, public: TestClient, counter: Any
) -> None:
    out = _create(client)
    path = _path(out["links"][1]["url"])
    form = {**_load(public, path), "score": "9", "comment": "<script>alert(1)</script> great"}
    r = public.post(path, data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("/thanks")
    assert counter("feedback", "WHERE nps = 9") == 1
    assert counter("feedback f JOIN org_unit u ON u.id = f.org_unit_id", "WHERE u.code = 'N2'") == 1
    shown = client.get(f"/api/surveys/{out['id']}").json()
    assert shown["responses"] == 1 and shown["by_unit"] == [{"unit": "N2", "n": 1}]
    # The same form again is a replay: refused, still one answer.
    assert public.post(path, data=form, follow_redirects=False).status_code == 409
    assert counter("feedback") == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"score": "11"}, 400),
        ({"score": "-1"}, 400),
        ({"score": "nine"}, 400),
        ({"score": ""}, 400),
        ({"form_token": "forged.token.value"}, 403),
        ({"form_token": ""}, 403),
        ({"website": "http://spam.example"}, 403),
        ({"admin": "1"}, 400),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(
    client: TestClient, public: TestClient, counter: Any, change: dict[str, str], status: int
) -> None:
    path = _path(_create(client)["links"][0]["url"])
    form = {**_load(public, path), "score": "7", **change}
    assert public.post(path, data=form, follow_redirects=False).status_code == status
    assert counter("feedback") == 0 and counter("import_batch") == 0


def test_unknown_closed_oversized_and_a_token_from_another_link(
    client: TestClient, public: TestClient, counter: Any
) -> None:
    out = _create(client)
    one, two = (_path(link["url"]) for link in out["links"])
    assert public.get("/s/MQ.forgedsignature").status_code == 404
    form = _load(public, one)
    assert public.post(two, data={**form, "score": "5"}).status_code == 403  # token of another link
    big = public.post(one, data={**form, "score": "5", "comment": "x" * 70_000})
    assert big.status_code == 413
    client.post(f"/api/surveys/{out['id']}/close")
    assert public.get(one).status_code == 410
    assert public.post(one, data={**form, "score": "5"}).status_code == 410
    assert counter("feedback") == 0


def test_rate_limit_per_address(
    client: TestClient, public: TestClient, counter: Any, monkeypatch: Any
) -> None:
    from cxchange.core.config import get_settings

    monkeypatch.setattr(get_settings(), "survey_posts_per_address", 3)
    path = _path(_create(client)["links"][0]["url"])
    codes = []
    for _ in range(5):
        form = {**_load(public, path), "score": "8"}
        codes.append(public.post(path, data=form, follow_redirects=False).status_code)
    assert codes == [303, 303, 303, 429, 429]
    assert counter("feedback") == 3


def test_a_nul_in_a_comment_is_refused(client: TestClient, public: TestClient, counter: Any) -> None:
    path = _path(_create(client)["links"][0]["url"])
    form = {**_load(public, path), "score": "7", "comment": "bad\u0000"}
    assert public.post(path, data=form, follow_redirects=False).status_code == 400
    assert counter("feedback") == 0
