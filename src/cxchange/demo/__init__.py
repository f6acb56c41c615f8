"""Seeded demo company: realistic feedback with planted, documented truths (see ``generate``).

The names are loaded lazily (PEP 562) so that the CLI does not pay for building TRUTH on every command.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEMO_END", "TRUTH", "DemoCompany", "DemoSource", "generate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        module = importlib.import_module("cxchange.demo.generate")
        # Importing the submodule binds `generate` to the module; bind the public names over it.
        globals().update({n: getattr(module, n) for n in __all__})
        return globals()[name]
    raise AttributeError(f"module 'cxchange.demo' has no attribute {name!r}")
