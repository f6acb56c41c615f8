"""One feedback read path: the same filter gives the same rows from `cxchange feedback`, /api/feedback and
the explorer's CSV export (all three go through `understand.explore`), on the analysed demo company."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from cxchange.testing import signed_in_client

CXCHANGE = str(Path(sys.executable).with_name("cxchange"))

# (CLI/API filters, the explorer's form fields for the same filter). The explorer's "to" date is
# inclusive, the CLI's and API's --until exclusive, so only --since is compared here.
FILTERS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"q": "refund", "where": "unit=R-NORTH"}, {"q": "refund", "unit": "R-NORTH"}),
    (
        {"theme": "Waiting time", "sentiment": "negative", "since": "2026-09-01"},
        {"theme": "Waiting time", "sentiment": "negative", "since": "2026-09-01"},
    ),
    ({"q": "staff friendly", "where": "unit=S-NOR-01"}, {"q": "staff friendly", "unit": "S-NOR-01"}),
]


def _cli_ids(url: str, filters: dict[str, Any]) -> set[int]:
    args = [CXCHANGE, "feedback", "--db", url, "--format", "json", "--limit", "100000"]
    for key, value in filters.items():
        args += [f"--{key}", value]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    return {int(r["id"]) for r in json.loads(done.stdout)}


def _api_ids(client: Any, filters: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    offset = 0
    while True:
        response = client.get("/api/feedback", params={**filters, "limit": 1000, "offset": offset})
        assert response.status_code == 200, response.text[:300]
        page = response.json()
        ids |= {int(r["id"]) for r in page}
        if len(page) < 1000:
            return ids
        offset += 1000


def _web_ids(client: Any, form: dict[str, str]) -> set[int]:
    response = client.get("/feedback.csv", params=form)
    assert response.status_code == 200, response.text[:300]
    return {int(r["id"]) for r in csv.DictReader(io.StringIO(response.text))}


@pytest.mark.parametrize(("filters", "form"), FILTERS, ids=lambda f: json.dumps(f) if "q" in f else "")
def test_the_same_filter_gives_the_same_rows_everywhere(
    demo_engine: Engine, filters: dict[str, Any], form: dict[str, str]
) -> None:
    url = demo_engine.url.render_as_string(hide_password=False)
    client = signed_in_client(url, demo_engine)
    cli, api, web = _cli_ids(url, filters), _api_ids(client, filters), _web_ids(client, form)
    assert cli, f"the filter {filters} finds nothing on the demo: the comparison would prove nothing"
    assert cli == api == web
