"""Types as documentation (issue 19, part 5), as configured: the package says it is typed, CI runs the
linter and the type checker, mypy reads all of src/ (leaving no file out) and the pure modules strictly."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MYPY = PYPROJECT["tool"]["mypy"]
# The modules the issue names as pure, which mypy must check strictly.
PURE = {"cxchange.measure.stats", "cxchange.decide.importance", "cxchange.sustain.did"}
STRICT_FLAGS = {"disallow_untyped_defs", "disallow_any_generics", "warn_return_any", "strict_equality"}


def test_the_package_ships_py_typed() -> None:
    assert (ROOT / "src" / "cxchange" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["cxchange"]


def test_ci_runs_the_linter_and_the_type_checker() -> None:
    assert re.search(r"^make lint$", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    lint = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for tool in ("ruff check", "ruff format --check", "mypy"):
        assert tool in lint, f"make lint does not run {tool}"


def test_mypy_reads_all_of_src_and_the_pure_modules_strictly() -> None:
    assert MYPY["files"] == ["src/cxchange"]
    strict = [o for o in MYPY.get("overrides", []) if all(o.get(flag) for flag in STRICT_FLAGS)]
    modules = {m for o in strict for m in o["module"]}
    assert modules >= PURE
    for module in modules:
        path = ROOT / "src" / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"the strict list names {module}, which does not exist"


def test_mypy_leaves_no_file_out() -> None:
    """The exclude list that once kept 34 files out of `make lint` is gone: every file is checked."""
    assert "exclude" not in MYPY
