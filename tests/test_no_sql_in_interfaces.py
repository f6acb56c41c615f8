"""Commands, API routes and web pages hold no SQL (issue 19, parts 1 and 2): they call the stage services,
which hold the queries and the access rules, so the CLI, the API and the web cannot answer the same
question differently. Checked on the AST: an interface module may name `Engine` (to pass it on) and
sqlalchemy's exceptions, and never builds or runs a statement or opens a session itself."""

from __future__ import annotations

import ast
from pathlib import Path

import cxchange

ROOT = Path(cxchange.__file__).parent
ALLOWED_FROM_SQLALCHEMY = {"Engine"}
RUNS_SQL = {"execute", "exec_driver_sql", "scalars", "scalar", "session_for", "Session", "sessionmaker"}


def interface_modules() -> list[Path]:
    """Command, route and page modules: `cli*.py` and `api*.py` in any stage, the web package, and the
    top-level command and app."""
    found = [p for p in ROOT.rglob("*.py") if p.name.startswith(("cli", "api"))]
    found += (ROOT / "web").rglob("*.py")
    return sorted(set(found))


def sql_in(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, f"import {a.name}") for a in node.names if a.name.startswith("sqlalchemy")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            if node.module == "sqlalchemy.exc":
                continue
            names = [a.name for a in node.names if a.name not in ALLOWED_FROM_SQLALCHEMY]
            out += [(node.lineno, f"from {node.module} import {n}") for n in names]
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in RUNS_SQL:
                out.append((node.lineno, f"{called}(…)"))
    return out


def test_no_interface_module_holds_sql() -> None:
    modules = interface_modules()
    assert len(modules) > 40  # the enumeration itself works
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in modules
        for line, what in sql_in(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "SQL in commands, routes or pages (move it into a service):\n" + "\n".join(found)


def test_the_check_sees_sql() -> None:
    source = (
        "from sqlalchemy import Engine, select\n"
        "from sqlalchemy.exc import OperationalError\n"
        "def page(engine: Engine):\n"
        "    with engine.connect() as conn:\n"
        "        return conn.execute(select(1)).all()\n"
    )
    assert [what for _, what in sql_in(ast.parse(source))] == ["from sqlalchemy import select", "execute(…)"]
