"""The report's period: a month, a quarter or a year, parsed from `--period` and stepped back from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cxchange.core.errors import InputError
from cxchange.core.period import Period

_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class ReportPeriod:
    kind: str  # month | quarter | year
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def window(self) -> Period:
        """The days it covers, as every service reads a window."""
        return Period(self.start, self.end)

    def previous(self) -> ReportPeriod:
        return period_containing(self.kind, self.start - timedelta(days=1))

    def months(self) -> list[str]:
        return months_between(self.start, self.end)


def add_months(d: date, n: int) -> date:
    m = d.year * 12 + d.month - 1 + n
    return date(m // 12, m % 12 + 1, 1)


def months_between(start: date, end: date) -> list[str]:
    out, d = [], date(start.year, start.month, 1)
    while d < end:
        out.append(f"{d:%Y-%m}")
        d = add_months(d, 1)
    return out


def period_containing(kind: str, d: date) -> ReportPeriod:
    if kind == "year":
        return ReportPeriod("year", date(d.year, 1, 1), date(d.year + 1, 1, 1))
    size = 1 if kind == "month" else 3
    start = date(d.year, (d.month - 1) // size * size + 1, 1)
    return ReportPeriod(kind, start, add_months(start, size))


def parse_period(text: str) -> ReportPeriod:
    """2026-Q3 (also 2026Q3), 2026-09 (a month) or 2026 (a year)."""
    s = (text or "").strip()
    bad = InputError(f"--period wants a quarter (2026-Q3), a month (2026-09) or a year (2026), got {text!r}")
    if m := _QUARTER.match(s):
        year, q = int(m.group(1)), int(m.group(2))
        if year < 1900:
            raise bad
        return period_containing("quarter", date(year, 3 * q - 2, 1))
    if m := _MONTH.match(s):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12 or year < 1900:
            raise bad
        return period_containing("month", date(year, month, 1))
    if m := _YEAR.match(s):
        if int(m.group(1)) < 1900:
            raise bad
        return period_containing("year", date(int(m.group(1)), 1, 1))
    raise bad


def as_date(x: Any) -> date | None:
    if x is None:
        return None
    if isinstance(x, datetime):
        return x.date()
    if isinstance(x, date):
        return x
    return datetime.fromisoformat(str(x)).date()
