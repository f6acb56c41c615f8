"""Discovery on the Themes page: propose for a source, accept with a rename, analyse with progress."""

from __future__ import annotations

import re
import time

from cxchange.core.db import get_engine
from cxchange.testing import signed_in_client

PHRASES = ["courier lost my parcel", "still waiting for my refund", "cannot reset my password"]


def _csv(n: int = 240) -> bytes:
    rows = [f"t{i},2026-03-{1 + i % 28:02d},{PHRASES[i % 3]} ({i % 7})" for i in range(n)]
    lines = ["id,day,comment", *rows]
    return ("\n".join(lines) + "\n").encode()


def test_propose_accept_and_analyse_from_the_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cx.db'}"
    engine = get_engine(url)
    client = signed_in_client(url, engine, role="analyst")
    mapping = {"source": "tickets", "map": ["external_id=id", "received_at=day", "text=comment"]}
    imported = client.post("/api/imports", data=mapping, files={"file": ("t.csv", _csv(), "text/csv")})
    assert imported.status_code == 200 and imported.json()["imported"] == 240, imported.text
    page = client.get("/themes/discover")
    assert page.status_code == 200
    assert re.search(r'id="n-not-analysed">240</strong> not analysed yet', page.text)
    proposed = client.post("/themes/discover", data={"source": "tickets", "max_themes": "4"})
    assert proposed.status_code == 200, proposed.text
    count = int(re.search(r'name="count" value="(\d+)"', proposed.text)[1])
    # "at most 4 themes" and then more proposals than 4 read as a broken limit: the top level is named
    heading = re.search(
        r"(\d+) proposals from 240 comments: (\d+) top-level themes and (\d+) sub-themes", proposed.text
    )
    assert heading and int(heading[1]) == count == int(heading[2]) + int(heading[3]) and int(heading[2]) <= 4
    assert "top-level themes</label>" in page.text
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', proposed.text)[1]
    embedder = re.search(r'name="embedder" value="([^"]+)"', proposed.text)[1]
    form = {"source": "tickets", "max_themes": "4", "seed": "0", "embedder": embedder,
            "fingerprint": fingerprint, "count": str(count), "name_0": "Named on the page"}  # fmt: skip
    form.update({f"keep_{i}": "on" for i in range(count)})
    saved = client.post("/themes/discover/accept", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    themes = client.get("/themes").text
    assert "Named on the page" in themes and "240 comments not analysed yet" in themes
    started = client.post("/themes/analysis", follow_redirects=False)
    assert started.status_code == 303
    deadline = time.monotonic() + 120
    while (p := client.get("/themes/analysis/progress").json())["running"] or p["not_analysed"]:
        assert time.monotonic() < deadline, p
        time.sleep(0.3)
    assert p["analysed"] == p["comments"] == 240
    # A viewer may read the progress but not propose or accept.
    viewer = signed_in_client(url, engine, role="viewer")
    assert viewer.get("/themes/analysis/progress").status_code == 200
    assert viewer.post("/themes/discover", data={"source": "tickets"}).status_code == 403
    assert client.post("/themes/discover/accept", data={**form, "count": "0"}).status_code == 400
