"""Dashboard cache: one computation per data version; an import, or the time to live, recomputes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from cxchange.listen.service import ImportOptions, import_file
from cxchange.web import cache


def _import(engine: Engine, path: Path, rows: int) -> None:
    path.write_text("id,NPS,Comment\n" + "".join(f"{path.stem}{i},{i % 11},ok\n" for i in range(rows)))
    import_file(engine, path, ImportOptions(source="s"))


def test_recomputes_only_when_the_data_change(engine: Engine, tmp_path: Path) -> None:
    cache.clear()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    _import(engine, tmp_path / "a.csv", 3)
    assert cache.cached("t", engine, "k", compute) == 1
    assert cache.cached("t", engine, "k", compute) == 1  # same version: remembered
    assert cache.cached("t", engine, "other", compute) == 2  # another key
    _import(engine, tmp_path / "b.csv", 2)
    assert cache.cached("t", engine, "k", compute) == 3  # a new batch: a new version
    assert cache.cached("t", engine, "k", compute, ttl=0.0) == 4  # expired


def test_serve_creates_the_first_admin_once(engine: Engine, capsys) -> None:  # type: ignore[no-untyped-def]
    from cxchange.auth.service import authenticate, list_users
    from cxchange.web.cli import _first_admin

    _first_admin(engine)
    printed = capsys.readouterr().out
    password = printed.split("): ")[-1].strip()
    assert [u["role"] for u in list_users(engine)] == ["admin"]
    assert authenticate(engine, list_users(engine)[0]["email"], password) is not None
    _first_admin(engine)  # users exist: nothing more, nothing printed
    assert len(list_users(engine)) == 1 and capsys.readouterr().out == ""
