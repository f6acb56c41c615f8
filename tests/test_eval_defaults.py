"""`make eval` runs each eval script without arguments, and the Makefile promises that "each script's
default run writes its committed results": a script whose committed results came from a run with other
options would be overwritten by `make eval` with a different run (other worlds, other numbers) than the
one the round notes cite. Checked on the scripts that record their command line: their `main()` is run
as `make eval` runs it, with the process pool replaced so that nothing is simulated, and the worlds it
would simulate must be those of the committed command."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EVAL = Path(__file__).resolve().parents[1] / "eval"


class _Asked(Exception):
    """Raised by the stand-in pool: the run has said what it would simulate."""


def _script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EVAL))  # the scripts import each other by name, as `make eval` runs them
    spec = importlib.util.spec_from_file_location(f"eval_{name}", EVAL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["outcomes_coverage", "outcomes_model_se"])
def test_the_default_run_is_the_committed_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = (EVAL / "results" / f"{name}_tuning.md").read_text()
    found = re.search(rf"Command: `\.venv/bin/python eval/{name}\.py([^`]*)`", committed)
    assert found, f"eval/results/{name}_tuning.md names no command"
    asked: dict[str, Any] = {}

    class Pool:
        def __init__(self, **_: Any) -> None:
            pass

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *_: Any) -> None:
            return None

        def map(self, _fn: Any, seeds: Any, worlds: Any) -> Any:
            asked["seeds"], asked["worlds"] = list(seeds), set(worlds)
            raise _Asked

    module = _script(name, monkeypatch)
    monkeypatch.setattr(module, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(sys, "argv", [f"eval/{name}.py"])  # as make eval's loop runs it
    with pytest.raises(_Asked):
        module.main()
    assert asked["seeds"] == [101, 202, 303]  # tuning seeds only, as the Makefile says
    assert found.group(1).split() == ["--worlds", str(*asked["worlds"])]
