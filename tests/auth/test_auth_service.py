"""Users, passwords, API tokens, sessions and the audit log (cxchange.auth), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from cxchange.auth import service
from cxchange.auth.models import ApiToken, User
from cxchange.auth.passwords import hash_password, needs_rehash, verify_password
from cxchange.auth.roles import get_role, permission_for_write, roles
from cxchange.core.errors import InputError, NotFoundError
from cxchange.org.tree import import_org_rows

PASSWORD = "correct-horse-battery"
UNITS = [
    {"code": "HQ", "name": "HQ", "parent": None, "level": "company"},
    {"code": "R1", "name": "North", "parent": "HQ", "level": "region"},
    {"code": "S1", "name": "Ashby", "parent": "R1", "level": "store"},
]


@pytest.fixture
def org(engine: Engine) -> Engine:
    import_org_rows(engine, [dict(u) for u in UNITS], [])
    return engine


def _stored_hash(engine: Engine, email: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(User.password_hash).where(User.email == email)).scalar()


# --- passwords (no database) ------------------------------------------------------------------------


def test_argon2id_hash_is_salted_and_verifies() -> None:
    h1, h2 = hash_password(PASSWORD), hash_password(PASSWORD)
    assert h1.startswith("$argon2id$") and PASSWORD not in h1
    assert h1 != h2  # salted
    assert verify_password(h1, PASSWORD)
    assert not verify_password(h1, PASSWORD + "x")
    assert not verify_password(h1, "")
    assert not verify_password(None, PASSWORD)
    assert not verify_password("not-a-hash", PASSWORD)
    assert not verify_password(PASSWORD, PASSWORD)  # a plain value stored by mistake never matches
    assert not needs_rehash(h1)


def test_weak_parameters_need_a_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    assert verify_password(weak, PASSWORD)
    assert needs_rehash(weak)


def test_short_password_is_refused() -> None:
    with pytest.raises(InputError, match="too short"):
        hash_password("short")


def test_roles_and_write_permissions() -> None:
    assert set(roles()) == {"admin", "analyst", "change-lead", "manager", "viewer"}
    assert get_role("manager").requires_units
    assert get_role("admin").can("anything")
    assert not get_role("viewer").can("import")
    with pytest.raises(InputError, match="unknown role"):
        get_role("root")
    assert permission_for_write("POST", "/api/imports") == "import"
    assert permission_for_write("POST", "/api/cases/rules") == "rules"
    assert permission_for_write("PATCH", "/api/cases/12") == "cases"
    assert permission_for_write("PATCH", "/api/initiatives/3") == "initiatives"
    assert permission_for_write("POST", "/api/simulate") == "read"
    assert permission_for_write("post", "/api/themes/x") == "taxonomy"
    # unlisted or merely similar paths need admin
    assert permission_for_write("POST", "/api/importsX") == "*"
    assert permission_for_write("DELETE", "/api/imports") == "*"
    assert permission_for_write("POST", "/api/users") == "*"


# --- users --------------------------------------------------------------------------------------------


def test_add_user_stores_an_argon2_hash_only(org: Engine) -> None:
    user = service.add_user(org, "  Ann@Example.TEST ", "manager", units=["r1"], password=PASSWORD)
    assert user["email"] == "ann@example.test" and user["role"] == "manager"
    assert user["units"] == ["R1"] and user["active"]
    stored = _stored_hash(org, "ann@example.test")
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert service.get_user(org, "ANN@example.test")["id"] == user["id"]
    assert [u["email"] for u in service.list_users(org)] == ["ann@example.test"]
    assert "password_hash" not in user and "fingerprint" not in user


def test_user_without_password_cannot_sign_in(org: Engine) -> None:
    service.add_user(org, "nopw@x.test", "viewer")
    assert _stored_hash(org, "nopw@x.test") is None
    assert service.authenticate(org, "nopw@x.test", "") is None
    assert service.authenticate(org, "nopw@x.test", PASSWORD) is None


@pytest.mark.parametrize(
    ("email", "role", "units", "error", "match"),
    [
        ("not-an-email", "viewer", (), InputError, "not an e-mail"),
        ("two@@x.test", "viewer", (), InputError, "not an e-mail"),
        ("a b@x.test", "viewer", (), InputError, "not an e-mail"),
        ("a@x.test", "superuser", (), InputError, "unknown role"),
        ("a@x.test", "manager", (), InputError, "at least one --unit"),
        ("a@x.test", "admin", ("R1",), InputError, "drop --unit"),
        ("a@x.test", "manager", ("NOPE",), NotFoundError, "NOPE"),
    ],
)
def test_add_user_validation(org: Engine, email: str, role: str, units: tuple[str, ...], error: type,
                             match: str) -> None:  # fmt: skip
    with pytest.raises(error, match=match):
        service.add_user(org, email, role, units=units, password=PASSWORD)
    assert service.count_users(org) == 0  # nothing half-written


def test_duplicate_user_is_refused_whatever_the_case(org: Engine) -> None:
    service.add_user(org, "dup@x.test", "viewer", password=PASSWORD)
    with pytest.raises(InputError, match="already exists"):
        service.add_user(org, "DUP@x.test", "analyst", password=PASSWORD)
    assert service.count_users(org) == 1


def test_unknown_users(org: Engine) -> None:
    for call in (
        lambda: service.get_user(org, "ghost@x.test"),
        lambda: service.set_password(org, "ghost@x.test", PASSWORD),
        lambda: service.create_token(org, "ghost@x.test"),
        lambda: service.revoke_tokens(org, "ghost@x.test"),
        lambda: service.delete_user(org, "ghost@x.test"),
    ):
        with pytest.raises(NotFoundError):
            call()


# --- sign-in ------------------------------------------------------------------------------------------


def test_authenticate(org: Engine) -> None:
    service.add_user(org, "bob@x.test", "analyst", password=PASSWORD)
    assert service.authenticate(org, "bob@x.test", "wrong-password") is None
    assert service.authenticate(org, "nobody@x.test", PASSWORD) is None
    user = service.authenticate(org, " BOB@x.test", PASSWORD)
    assert user is not None and user["email"] == "bob@x.test" and user["fingerprint"]
    assert service.get_user(org, "bob@x.test")["last_login_at"] is not None
    with org.begin() as conn:
        conn.execute(update(User).where(User.email == "bob@x.test").values(active=False))
    assert service.authenticate(org, "bob@x.test", PASSWORD) is None
    assert service.load_user(org, user["id"]) is None


def test_sign_in_rehashes_a_weak_hash(org: Engine) -> None:
    service.add_user(org, "old@x.test", "viewer", password=PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with org.begin() as conn:
        conn.execute(update(User).where(User.email == "old@x.test").values(password_hash=weak))
    user = service.authenticate(org, "old@x.test", PASSWORD)
    assert user is not None
    stored = _stored_hash(org, "old@x.test")
    assert stored != weak and not needs_rehash(stored or "") and verify_password(stored, PASSWORD)
    # the session made at this sign-in carries the new hash's fingerprint, so it stays valid
    assert service.load_user(org, user["id"])["fingerprint"] == user["fingerprint"]  # type: ignore[index]


def test_password_change_changes_the_fingerprint(org: Engine) -> None:
    service.add_user(org, "carol@x.test", "viewer", password=PASSWORD)
    user = service.authenticate(org, "carol@x.test", PASSWORD)
    assert user is not None
    assert service.load_user(org, user["id"])["fingerprint"] == user["fingerprint"]  # type: ignore[index]
    service.set_password(org, "carol@x.test", "another-long-password")
    assert service.load_user(org, user["id"])["fingerprint"] != user["fingerprint"]  # type: ignore[index]
    assert service.authenticate(org, "carol@x.test", PASSWORD) is None
    assert service.authenticate(org, "carol@x.test", "another-long-password") is not None
    with pytest.raises(InputError):
        service.set_password(org, "carol@x.test", "short")


def test_password_change_ends_existing_sessions(db_url: str, org: Engine) -> None:
    """Over HTTP: a session cookie stops working once the password changes."""
    from fastapi.testclient import TestClient

    from cxchange.api import create_app
    from cxchange.auth.web import SESSION_COOKIE

    service.add_user(org, "dave@x.test", "viewer", password=PASSWORD)
    with TestClient(create_app(db_url)) as client:
        from cxchange.testing import login

        signed = login(client, "dave@x.test", PASSWORD)
        assert signed.status_code == 303 and client.cookies.get(SESSION_COOKIE)
        assert client.get("/api/org").status_code == 200
        service.set_password(org, "dave@x.test", "a-brand-new-password")
        assert client.get("/api/org").status_code == 401
        # and a tampered cookie is nobody
        client.cookies.set(SESSION_COOKIE, "x" + (client.cookies.get(SESSION_COOKIE) or ""))
        assert client.get("/api/org").status_code == 401


# --- tokens ---------------------------------------------------------------------------------------------


def test_token_is_stored_as_a_hash_only(org: Engine) -> None:
    service.add_user(org, "tok@x.test", "viewer")
    token = service.create_token(org, "tok@x.test", name="ci")
    assert token.startswith(service.TOKEN_PREFIX) and len(token) > 40
    with org.connect() as conn:
        row = conn.execute(select(ApiToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in row)  # the token itself is nowhere
    assert row.prefix == token[:10] and row.name == "ci" and not row.revoked
    user = service.user_for_token(org, token)
    assert user is not None and user["email"] == "tok@x.test"
    assert service.user_for_token(org, token + "x") is None
    assert service.user_for_token(org, "") is None
    assert service.user_for_token(org, row.token_hash) is None  # the stored hash is not a token


def test_revoked_token_is_refused(org: Engine) -> None:
    service.add_user(org, "rev@x.test", "viewer")
    first, second = service.create_token(org, "rev@x.test"), service.create_token(org, "rev@x.test")
    assert service.revoke_tokens(org, "rev@x.test") == 2
    assert service.user_for_token(org, first) is None and service.user_for_token(org, second) is None
    third = service.create_token(org, "rev@x.test")  # a new one after revoking works
    assert service.user_for_token(org, third) is not None


def test_token_of_deleted_or_inactive_user_is_refused(org: Engine) -> None:
    service.add_user(org, "gone@x.test", "viewer")
    token = service.create_token(org, "gone@x.test")
    with org.begin() as conn:
        conn.execute(update(User).where(User.email == "gone@x.test").values(active=False))
    assert service.user_for_token(org, token) is None
    service.delete_user(org, "gone@x.test")
    assert service.user_for_token(org, token) is None


def test_token_last_used_is_noted_at_most_once_a_minute(org: Engine) -> None:
    service.add_user(org, "use@x.test", "viewer")
    token = service.create_token(org, "use@x.test")

    def last_used() -> datetime | None:
        with org.connect() as conn:
            return conn.execute(select(ApiToken.last_used_at)).scalar()

    assert last_used() is None
    service.user_for_token(org, token)
    first = last_used()
    assert first is not None and abs((datetime.utcnow() - first).total_seconds()) < 60
    service.user_for_token(org, token)
    assert last_used() == first  # within the minute: no write
    old = datetime.utcnow() - timedelta(minutes=5)
    with org.begin() as conn:
        conn.execute(update(ApiToken).values(last_used_at=old))
    service.user_for_token(org, token)
    assert last_used() is not None and last_used() > old  # type: ignore[operator]


# --- audit ------------------------------------------------------------------------------------------------


def test_audit_entries_are_written(org: Engine) -> None:
    service.add_user(org, "eve@x.test", "manager", units=["R1"], password=PASSWORD, actor="admin@x.test")
    service.set_password(org, "eve@x.test", "another-long-password", actor="admin@x.test")
    service.create_token(org, "eve@x.test", name="n", actor="admin@x.test")
    service.revoke_tokens(org, "eve@x.test", actor="admin@x.test")
    service.audit(org, "cli:someone", "import", "batch 1", rows=3)
    service.delete_user(org, "eve@x.test", actor="admin@x.test")
    entries = service.list_audit(org)
    assert [e["action"] for e in entries] == [
        "user.delete", "import", "token.revoke", "token.create", "user.passwd", "user.add",
    ]  # fmt: skip
    add = entries[-1]
    assert add["actor"] == "admin@x.test" and add["target"] == "eve@x.test"
    assert add["detail"] == {"role": "manager", "units": ["R1"]}
    assert entries[1]["detail"] == {"rows": 3} and entries[1]["actor"] == "cli:someone"
    assert all(PASSWORD not in str(e) and "another-long-password" not in str(e) for e in entries)
    tokens = service.list_audit(org, action="token.*")
    assert [e["action"] for e in tokens] == ["token.revoke", "token.create"]
    assert [e["action"] for e in service.list_audit(org, action="user.add")] == ["user.add"]
    assert len(service.list_audit(org, limit=2)) == 2


def test_secret_key_is_made_once_per_database(org: Engine) -> None:
    first = service.secret_key(org)
    assert len(first) > 40 and service.secret_key(org) == first
