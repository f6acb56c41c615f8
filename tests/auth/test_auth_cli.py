"""`cxchange user …`, `cxchange token …` and `cxchange audit`, on SQLite and PostgreSQL.

Most commands run in-process through Typer's CliRunner; the one-line error and the audit row of a
changing command need the real `main()` entry point, so those run `python -m cxchange` in a subprocess.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cxchange.auth import service
from cxchange.cli import app
from cxchange.org.tree import import_org_rows

PASSWORD = "correct-horse-battery"
UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "R-NORTH", "name": "North", "parent": "HQ", "level": "region"},
    {"code": "S-N1", "name": "Ashby", "parent": "R-NORTH", "level": "store"},
]


@pytest.fixture
def org(engine: Engine) -> Engine:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    return engine


def run(db: str, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(app, [*args, "--db", db], input=stdin)
    return result


def cx(db: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db}
    return subprocess.run(
        [sys.executable, "-m", "cxchange", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_user_add_list_passwd(db_url: str, org: Engine) -> None:
    added = run(db_url, "user", "add", "North@X.test", "--role", "manager", "--unit", "R-NORTH",
                "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "added north@x.test (manager for R-NORTH)"
    assert PASSWORD not in added.output
    assert service.authenticate(org, "north@x.test", PASSWORD) is not None

    generated = run(db_url, "user", "add", "viewer@x.test", "--role", "viewer")
    assert generated.exit_code == 0, generated.output
    one_time = generated.output.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    assert "one-time password" in generated.output
    assert service.authenticate(org, "viewer@x.test", one_time) is not None

    listed = run(db_url, "user", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    users = json.loads(listed.output)
    assert [(u["email"], u["role"], u["units"]) for u in users] == [
        ("north@x.test", "manager", ["R-NORTH"]),
        ("viewer@x.test", "viewer", []),
    ]
    assert all("password" not in k and "fingerprint" not in k for u in users for k in u)

    changed = run(db_url, "user", "passwd", "north@x.test", "--password-stdin", stdin="a-new-long-password\n")
    assert changed.exit_code == 0 and changed.output.strip() == "password changed for north@x.test"
    assert service.authenticate(org, "north@x.test", PASSWORD) is None
    assert service.authenticate(org, "north@x.test", "a-new-long-password") is not None


def test_token_create_prints_a_working_token(db_url: str, org: Engine) -> None:
    from fastapi.testclient import TestClient

    from cxchange.api import create_app

    assert run(db_url, "user", "add", "an@x.test", "--role", "analyst").exit_code == 0
    made = run(db_url, "token", "create", "an@x.test", "--name", "ci")
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert token.startswith("cxt_") and "\n" not in token
    with TestClient(create_app(db_url)) as client:
        assert client.get("/api/org").status_code == 401
        ok = client.get("/api/org", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()[0]["code"] == "HQ"
        revoked = run(db_url, "token", "revoke", "an@x.test")
        assert revoked.exit_code == 0 and "revoked 1 token(s)" in revoked.output
        assert client.get("/api/org", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_audit_lists_user_and_token_changes(db_url: str, org: Engine) -> None:
    assert run(db_url, "user", "add", "a@x.test", "--role", "viewer").exit_code == 0
    assert run(db_url, "token", "create", "a@x.test").exit_code == 0
    out = run(db_url, "audit", "--format", "json")
    assert out.exit_code == 0, out.output
    entries = json.loads(out.output)
    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("token.create", "a@x.test", "cli"),
        ("user.add", "a@x.test", "cli"),
    ]
    only = json.loads(run(db_url, "audit", "--action", "user.*", "--format", "json").output)
    assert [e["action"] for e in only] == ["user.add"]
    table = run(db_url, "audit")
    assert table.exit_code == 0 and "token.create" in table.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("user", "add", "x", "--role", "nope"), None, "not an e-mail"),
        (("user", "add", "x@y.test", "--role", "nope"), None, "unknown role"),
        (("user", "add", "m@y.test", "--role", "manager"), None, "at least one --unit"),
        (("user", "add", "m@y.test", "--role", "manager", "--unit", "NOPE"), None, "no org unit"),
        (("user", "add", "m@y.test", "--role", "viewer", "--password-stdin"), "short\n", "too short"),
        (("user", "passwd", "ghost@y.test", "--password-stdin"), PASSWORD + "\n", "no user"),
        (("token", "create", "ghost@y.test"), None, "no user"),
        (("user", "list", "--format", "xml"), None, "unknown --format"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_1(
    db_url: str, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    done = cx(db_url, *args, stdin=stdin)
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_import_writes_an_audit_row_with_the_os_user(db_url: str, org: Engine, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("id,When,NPS,Comment\n1,2025-03-01,9,Lovely\n2,2025-03-02,3,Slow\n")
    done = cx(db_url, "import", str(f), "--source", "web", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["imported"] == 2
    entries = service.list_audit(org, action="import")
    assert len(entries) == 1
    assert entries[0]["actor"] == f"cli:{getpass.getuser()}"
    # a dry run and a failing import are not recorded
    assert cx(db_url, "import", str(f), "--source", "web", "--dry-run").returncode == 0
    assert cx(db_url, "import", str(tmp_path / "missing.csv"), "--source", "web").returncode == 1
    assert len(service.list_audit(org, action="import")) == 1
