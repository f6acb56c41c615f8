"""Filters shared by every command that reads feedback (`--where`, `--since`, `--until`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine, Select, or_, select

from cxchange.core.errors import InputError
from cxchange.core.period import ALL_TIME, Columns, Period
from cxchange.listen.tables import feedback as feedback_table
from cxchange.listen.tables import source as source_table

if TYPE_CHECKING:
    from cxchange.org.tree import OrgTree

COLUMN_FIELDS = ("channel", "customer_id", "language", "external_id")


@dataclass
class Filters:
    sources: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    attrs: dict[str, list[str]] = field(default_factory=dict)


def parse_where(items: Sequence[str]) -> Filters:
    """FIELD=VALUE, repeated: the same field twice means either value; different fields must all hold.

    FIELD is source, unit (a unit code: that unit and everything beneath), channel, customer_id,
    language, external_id, or attr:NAME (a bare NAME means the attribute too).
    """
    f = Filters()
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--where wants FIELD=VALUE, got {item!r}")
        if name == "source":
            f.sources.append(value)
        elif name in ("unit", "org_unit", "org"):
            f.units.append(value)
        elif name in COLUMN_FIELDS:
            f.columns.setdefault(name, []).append(value)
        else:
            f.attrs.setdefault(name.removeprefix("attr:"), []).append(value)
    return f


def scope_filters(
    engine: Engine, where: Sequence[str] = (), source: str | None = None
) -> tuple[Filters, OrgTree | None]:
    """`--where` items plus an optional `--source`, and the org tree when a unit filter needs it."""
    filters = parse_where(where)
    if source:
        filters.sources.append(source)
    tree = None
    if filters.units:
        from cxchange.org.tree import load_org_tree

        tree = load_org_tree(engine)
    return filters, tree


def apply_filters(
    stmt: Select[*Columns],
    filters: Filters,
    *,
    period: Period = ALL_TIME,
    tree: OrgTree | None = None,
) -> Select[*Columns]:
    """Add WHERE clauses (bound parameters only): the filters, and feedback received in `period`."""
    stmt = period.where(stmt, feedback_table.c.received_at)
    if filters.sources:
        stmt = stmt.where(
            feedback_table.c.source_id.in_(
                select(source_table.c.id).where(source_table.c.name.in_(filters.sources))
            )
        )
    if filters.units:
        if tree is None:
            raise ValueError("unit filters need the org tree")
        ids: set[int] = set()
        for code in filters.units:
            ids |= tree.subtree_ids(code)
        stmt = stmt.where(feedback_table.c.org_unit_id.in_(sorted(ids)))
    for name, values in filters.columns.items():
        stmt = stmt.where(feedback_table.c[name].in_(values))
    for name, values in filters.attrs.items():
        stmt = stmt.where(or_(*[feedback_table.c.attributes[name].as_string() == v for v in values]))
    return stmt


def source_scales(engine: Engine) -> dict[str, int]:
    """Each source's rating scale (5 or 10): what bounds a mean rating's interval, and what keeps
    ratings on different scales apart (`measure.mixed`). One row per source."""
    with engine.connect() as conn:
        rows = conn.execute(select(source_table.c.name, source_table.c.rating_scale)).all()
    return {str(name): int(scale or 5) for name, scale in rows}
