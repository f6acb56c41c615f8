"""The stage order, enforced: a module never imports one of a higher stage, at the top or inside a
function. Interfaces (CLI commands, API routes, web pages, the demo, the Python API) may import any
stage; stages signal upwards with events (`core/events.py`), never by import.

    core < org < auth < listen < measure < understand < decide < change < sustain < report < interfaces
"""

from __future__ import annotations

import ast
from pathlib import Path

import cxchange

ORDER = ("core", "org", "auth", "listen", "measure", "understand", "decide", "change", "sustain", "report")
RANK = {stage: i for i, stage in enumerate(ORDER)}
INTERFACES = len(ORDER)
ROOT = Path(cxchange.__file__).parent
# Modules directly under cxchange that are not a stage: the app, the command, the Python API, the web
# pages, the demo, the registries of models and subscribers, test helpers.
TOP_LEVEL_INTERFACES = {
    "api",
    "cli",
    "web",
    "demo",
    "library",
    "migrations",
    "models",
    "subscribers",
    "testing",
}


def rank(module: str) -> int:
    """A module's stage: its package under cxchange; command, route and page modules are interfaces."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in TOP_LEVEL_INTERFACES or parts[1] not in RANK:
        return INTERFACES
    leaf = parts[-1]
    if leaf.startswith(("cli", "api")) or leaf == "web":
        return INTERFACES
    return RANK[parts[1]]


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cxchange"):
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("cxchange."))
    return out


def test_no_stage_imports_a_higher_one() -> None:
    wrong = []
    for path in sorted(ROOT.rglob("*.py")):
        module = "cxchange." + ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mine = rank(module.removesuffix(".__init__"))
        for line, target in imported(ast.parse(path.read_text(encoding="utf-8"))):
            if rank(target) > mine:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "lower stages import higher ones:\n" + "\n".join(wrong)


def test_the_rule_itself() -> None:
    assert rank("cxchange.listen.service") < rank("cxchange.sustain.hooks")
    assert rank("cxchange.listen.cli") == rank("cxchange.web.pages.overview") == INTERFACES
    assert rank("cxchange.org.tree") < rank("cxchange.auth.scope") < rank("cxchange.listen.models")
