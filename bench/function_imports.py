"""Issue 19's third measure: imports inside functions (an `import` or `from … import` whose nearest
enclosing scope is a function or method), counted on the AST of every module under src/, for a git
revision and for this tree side by side. "cxchange" counts the project's own modules (absolute
`cxchange…` or relative); "other" the standard library and third parties (kept inside functions on
purpose where they are heavy and optional: weasyprint, onnxruntime, scipy…).

    python bench/function_imports.py [--base REV ...] [--top 15] [--out bench/results/function_imports.json]
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import subprocess
import tarfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _in_functions(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            visit(
                child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            )

    visit(tree, False)
    return found


def _own(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "cxchange"
    return node.names[0].name.split(".")[0] == "cxchange"


def count(sources: dict[str, str], top: int) -> dict[str, object]:
    per_file: Counter[str] = Counter()
    own = other = 0
    for path, text in sources.items():
        for node in _in_functions(ast.parse(text, filename=path)):
            per_file[path] += 1
            if _own(node):
                own += 1
            else:
                other += 1
    return {
        "total": own + other,
        "cxchange": own,
        "other": other,
        "top_files": dict(per_file.most_common(top)),
    }


def _tree_sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "src").rglob("*.py"))}


def _rev_sources(rev: str) -> dict[str, str]:
    blob = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".py"):
                handle = tar.extractfile(member)
                assert handle is not None
                out[member.name] = handle.read().decode()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", action="append", default=[], help="a git revision to count too (repeatable)")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    result: dict[str, object] = {}
    for rev in args.base:
        result[f"base {rev}"] = count(_rev_sources(rev), args.top)
    result[f"tree (HEAD {head} + working files)"] = count(_tree_sources(), args.top)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
