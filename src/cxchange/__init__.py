"""cxchange: turn customer feedback into organisational change that lasts.

The Python API (`cxchange.library`) is loaded on first use, so `cxchange` on the command line starts
without it: `import cxchange; db = cxchange.connect(URL); cxchange.scores(db, by=["month"])`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cxchange.core.errors import CxError, InputError, NotFoundError

if TYPE_CHECKING:
    from cxchange.library import analyze, connect, drivers, import_file, outcomes, scores, simulate

__all__ = [
    "CxError",
    "InputError",
    "NotFoundError",
    "analyze",
    "connect",
    "drivers",
    "import_file",
    "outcomes",
    "scores",
    "simulate",
]

_LIBRARY = {"analyze", "connect", "drivers", "import_file", "outcomes", "scores", "simulate"}


def __getattr__(name: str) -> Any:
    if name in _LIBRARY:
        from cxchange import library

        return getattr(library, name)
    raise AttributeError(f"module 'cxchange' has no attribute {name!r}")
