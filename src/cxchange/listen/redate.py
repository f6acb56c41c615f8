"""`cxchange redate COLUMN`: date feedback stored without a date from a column kept at import.

An export whose date column has a name no rule knows (Google Play's `at`) is imported undated: the
import says which columns read as dates, but importing the file again with `--map received_at=at`
skips every row as a duplicate, so 4,949 app reviews stayed out of every trend and window for good.
This reads the kept column once, the way an import reads `received_at` (one reading for the whole
column, refused when day and month could swap, `--date-format` to say which), and dates the rows.
Rows that already have a date are never touched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, bindparam, select, update

from cxchange.core.errors import InputError
from cxchange.listen import dates
from cxchange.listen.tables import feedback
from cxchange.listen.tables import source as source_table


def redate(
    engine: Engine, attribute: str, *, source: str | None = None, date_format: str | None = None
) -> dict[str, Any]:
    """Set received_at of undated feedback (of `source`, when given) from its kept column `attribute`.
    Returns the rows dated, the rows whose value no format of the reading reads, and the reading."""
    name = attribute.strip()
    if not name:
        raise InputError("redate needs the name of a kept column, e.g. `cxchange redate at`")
    value = feedback.c.attributes[name].as_string()
    query = select(feedback.c.id, value).where(feedback.c.received_at.is_(None), value.is_not(None))
    if source is not None:
        query = query.join(source_table, source_table.c.id == feedback.c.source_id).where(
            source_table.c.name == source
        )
    with engine.begin() as conn:
        rows = [r for r in conn.execute(query).all() if r[1].strip()]  # a blank cell: no value
        if not rows:
            held = conn.execute(select(feedback.c.id).where(value.is_not(None)).limit(1)).first()
            if held is None:
                raise InputError(
                    f"no feedback has the attribute {name!r}: name a column kept at import (the "
                    "attributes of `cxchange feedback --format json`)"
                )
            return {"attribute": name, "dated": 0, "unread": 0, "reading": None}
        ids = [r[0] for r in rows]
        values = pl.Series(name, [r[1] for r in rows], dtype=pl.String)
        reading = dates.decide(
            values, column=name, file=f"attribute {name}", whole_column=True,
            date_format=date_format, origin="given",
        )  # fmt: skip
        dates.refuse_ambiguous(reading, file=f"attribute {name}")
        read = dates.read(values, reading, rows=np.arange(len(ids)), file=f"attribute {name}")
        pairs = [
            {"fid": fid, "when": when}
            for fid, when in zip(ids, read.to_list(), strict=True)
            if when is not None
        ]
        if pairs:
            conn.execute(
                update(feedback)
                .where(feedback.c.id == bindparam("fid"))
                .values(received_at=bindparam("when")),
                pairs,
            )
    return {
        "attribute": name,
        "dated": len(pairs),
        "unread": len(ids) - len(pairs),
        "reading": {**reading.as_dict(), "notes": reading.notes()},
    }
