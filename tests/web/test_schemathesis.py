"""Property-based fuzzing of every /api operation from the OpenAPI schema: no input gives a 5xx, and
every answer matches the response schema the route declares (its response model).

The app runs in-process (ASGI) on a fresh small SQLite database with a little imported, analysed
feedback, and every request carries an admin's Bearer token.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

MAX_EXAMPLES = 15

# Operations known to answer 500 for some input, with the fix the lead will apply (see the report).
KNOWN_500: dict[str, str] = {}  # operations with a known server error (none left)


def _small_site(tmp: Path) -> tuple[Any, str, str]:
    from datetime import datetime, timedelta

    import polars as pl

    from cxchange.api import create_app
    from cxchange.core.db import get_engine
    from cxchange.listen.service import ImportOptions, import_frame
    from cxchange.org.tree import import_org_rows
    from cxchange.testing import token_for

    url = f"sqlite:///{tmp / 'fuzz.db'}"
    engine = get_engine(url)
    import_org_rows(
        engine,
        [
            {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
            {"code": "R1", "name": "North", "parent": "HQ", "level": "region"},
            {"code": "S1", "name": "Ashby", "parent": "R1", "level": "store"},
        ],
        [{"name": "Sid Store", "email": "sid@x.test", "unit": "S1", "role": "store manager"}],
    )
    texts = ["The queue was endless", "Lovely staff", "Billing error again", "Delivery was late", "Great"]
    base = datetime(2026, 3, 1, 12)
    rows = [
        {"external_id": f"E{i}", "received_at": base + timedelta(days=i % 40), "nps": i % 11,
         "org_unit": "S1" if i % 2 else "R1", "text": texts[i % len(texts)], "customer_id": f"C{i % 7}"}
        for i in range(60)
    ]  # fmt: skip
    frame = pl.DataFrame(rows)
    maps = tuple(f"{c}={c}" for c in frame.columns)
    import_frame(engine, frame, ImportOptions(source="survey", kind="survey", map_options=maps))
    try:
        from cxchange.understand.analyze import analyze

        analyze(engine)
    except Exception:  # the fuzzing is still worth it on unanalysed data
        pass
    return create_app(url), url, token_for(engine, "admin")


# Built when the module is collected: schemathesis generates one test per operation from the schema
# (its fixture-based loader does not work with this pytest), so the app must exist by then.
_TMP = Path(tempfile.mkdtemp(prefix="cxchange-fuzz-"))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
SITE = _small_site(_TMP)
schema = schemathesis.openapi.from_asgi("/openapi.json", SITE[0])


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    database=None,
    derandomize=True,  # the same examples on every run: a found 500 stays found
)
def test_no_server_errors(case: Any) -> None:
    from cxchange.core.deps import set_database_url

    _, url, token = SITE
    set_database_url(url)  # the app's database is process-wide
    label = f"{case.method.upper()} {case.path}"
    if label in KNOWN_500:
        pytest.xfail(KNOWN_500[label])
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
