"""Seeded demo company: realistic feedback with planted, documented truths (see ``generate``)."""

from cxchange.demo.generate import DEMO_END, TRUTH, DemoCompany, DemoSource, generate

__all__ = ["DEMO_END", "TRUTH", "DemoCompany", "DemoSource", "generate"]
