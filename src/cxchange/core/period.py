"""A window of days, [since, until): what `--since`/`--until` (CLI), `?since=&until=` (API) and
`since=`/`until=` (library) mean everywhere. Read, bounded, described and stepped back from here, so
no service writes "received_at >= the start of that day" again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVarTuple

from cxchange.core.errors import InputError

if TYPE_CHECKING:  # the command line reads dates here; it need not load SQLAlchemy to start
    from sqlalchemy import Select

Columns = TypeVarTuple("Columns")


def parse_date(value: str | None, option: str) -> date | None:
    """`value` as a date (2025-01-31), None for None; anything else is refused naming `option`."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} wants a date like 2025-01-31, got {value!r}") from None


def day_start(d: date) -> datetime:
    """Midnight at the start of `d` (a datetime is kept as it is)."""
    return d if isinstance(d, datetime) else datetime.combine(d, time.min)


@dataclass(frozen=True)
class Period:
    since: date | None = None  # from this day on
    until: date | None = None  # before this day (exclusive)

    @property
    def bounded(self) -> bool:
        """True when either end is set (an unbounded period filters nothing)."""
        return self.since is not None or self.until is not None

    @property
    def start(self) -> datetime | None:
        return None if self.since is None else day_start(self.since)

    @property
    def end(self) -> datetime | None:
        return None if self.until is None else day_start(self.until)

    def conditions(self, column: Any) -> list[Any]:
        """The bounds as comparisons on `column` (a timestamp: SQLAlchemy's or polars'), to combine."""
        conds = []
        if self.start is not None:
            conds.append(column >= self.start)
        if self.end is not None:
            conds.append(column < self.end)
        return conds

    def where(self, stmt: Select[*Columns], column: Any) -> Select[*Columns]:
        """`stmt` keeping the rows whose `column` falls in the period."""
        return stmt.where(*self.conditions(column)) if self.bounded else stmt

    def words(self) -> list[str]:
        """["since 2025-01-01", "before 2025-04-01"] (the set ends only), for messages."""
        out = []
        if self.since is not None:
            out.append(f"since {self.since}")
        if self.until is not None:
            out.append(f"before {self.until}")
        return out

    def previous(self) -> Period:
        """The period of the same length just before this one (both ends must be set)."""
        if self.since is None or self.until is None:
            raise ValueError("previous() needs both ends of the period")
        return Period(self.since - (self.until - self.since), self.since)


ALL_TIME = Period()
