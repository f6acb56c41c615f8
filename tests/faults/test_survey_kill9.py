"""A `cxchange serve` killed with SIGKILL while survey answers pour in loses no answer it acknowledged,
and stores none twice (the answer's external id is the form's nonce)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def _nonce(form_token: str) -> str:
    payload = form_token.rsplit(".", 2)[0]  # itsdangerous: signed, not encrypted
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["n"])


def test_kill9_loses_no_acknowledged_answer(tmp_path: Path, cxchange_server: Any) -> None:
    from cxchange.core.db import get_engine
    from cxchange.listen.surveys.service import create_survey
    from cxchange.listen.surveys.spec import SurveySpec
    from cxchange.org.tree import import_org_rows

    db = tmp_path / "kill.db"
    url = f"sqlite:///{db}"
    engine = get_engine(url)
    import_org_rows(
        engine, [{"code": "CO", "name": "Co", "parent": ""}, {"code": "U1", "name": "U", "parent": "CO"}], []
    )
    link = create_survey(engine, SurveySpec(name="k", kind="nps", units=["U1"]))["links"][0]["url"]
    path = link[link.index("/s/") :]
    engine.dispose()
    env = {"CXCHANGE_DATABASE_URL": url, "CXCHANGE_SURVEY_POSTS_PER_ADDRESS": "1000000"}
    acked: list[str] = []
    lock = threading.Lock()
    with cxchange_server(["--db", url], tmp_path / "server.log", env) as (base, proc):
        stop = time.monotonic() + 20

        def answer() -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                while time.monotonic() < stop:
                    try:
                        token = TOKEN.search(client.get(path).text)
                        assert token
                        r = client.post(path, data={"form_token": token.group(1), "score": "8"})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if r.status_code == 303:
                        with lock:
                            acked.append(_nonce(token.group(1)))

        threads = [threading.Thread(target=answer) for _ in range(6)]
        for t in threads:
            t.start()
        while len(acked) < 20 and time.monotonic() < stop:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # one process (--workers 1): the whole server
        for t in threads:
            t.join()
    assert len(acked) >= 20
    conn = sqlite3.connect(db)
    stored = [r[0] for r in conn.execute("SELECT external_id FROM feedback")]
    conn.close()
    assert set(acked) <= set(stored), "an acknowledged answer was lost"
    assert len(stored) == len(set(stored)), "an answer was stored twice"
