"""Themes: discovery (`discover`), matching (`matcher`) and the user's taxonomy (`taxonomy`).

Discovery needs scikit-learn, which takes seconds to import: it loads only when asked for, so
commands that merely edit or list the taxonomy start fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DiscoveredTheme", "Discovery", "discover_themes"]
# What an empty taxonomy's listings say (here, not in taxonomy.py: `themes list` declares it at startup).
NO_TAXONOMY = (
    "no themes yet: load the built-in taxonomy (`cxchange themes import --builtin cx_default`) "
    "or discover one from your comments (`cxchange themes discover --save`), then `cxchange analyze`"
)


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cxchange.understand.themes import discover

        return getattr(discover, name)
    raise AttributeError(name)
