"""Seeded demo company: realistic feedback with planted, documented truths (see ``generate``).

The names are loaded lazily (PEP 562) so that the CLI does not pay for building TRUTH on every command.
"""

from __future__ import annotations

from typing import Any

# Public name -> the module that defines it.
_HOME = {
    "DEMO_END": "cxchange.demo.company",
    "TRUTH": "cxchange.demo.truth",
    "DemoCompany": "cxchange.demo.generator",
    "DemoSource": "cxchange.demo.generator",
    "generate": "cxchange.demo.generator",
}
__all__ = list(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        # The submodules' names differ from the public ones (generator, not generate): importing a
        # submodule binds its name on this package, which would otherwise shadow the function.
        modules = {home: importlib.import_module(home) for home in set(_HOME.values())}
        globals().update({n: getattr(modules[home], n) for n, home in _HOME.items()})
        return globals()[name]
    raise AttributeError(f"module 'cxchange.demo' has no attribute {name!r}")
