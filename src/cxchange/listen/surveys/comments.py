"""ADKAR pulse comments, held back and released in shuffled groups, so none joins back to its answer.

A pulse answer carries its unit and five scores (`pulse_answer.received_at`, the instant). Its comment,
stored at once as its own import batch, was joined back to it by the batch's time (`cxchange batches`)
or by the order of ids. So the comment is held (`pulse_comment_held`: its survey, a random key, the
text), in the pulse answer's own transaction, and released as feedback of the survey's source only when
at least `pulse_comment_group` (K, default 5) comments of that survey wait: all of them, as one batch, in
shuffled order, every one dated the release's day, the batch's times that day's midnight (not any
answer's instant), each with its random key as external id (not the pulse's nonce).

A survey with fewer than K comments waiting shows "N comments held until K" (`survey show`): they are
stored, not lost, and released with the comment that makes K; once it is closed, that they never will
be. The release is after-commit work recorded with the K-th comment (core/events.py): a process
killed before it leaves it pending, and the next process (or `cxchange doctor`) does it. What a reader
still learns: that the answer completing a group wrote one of the group's comments (one in K), and the
day of the release.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, delete, func, insert, select

from cxchange.core.config import get_settings
from cxchange.core.errors import CxError
from cxchange.core.events import record
from cxchange.listen.surveys.models import HeldComment, Survey
from cxchange.listen.surveys.writer import DATE_FORMAT

PULSE_COMMENTS_HELD = "pulse comments held"  # payload: {"survey_id"}


class _Taken(CxError):
    """Another process released these comments first (its batch stands; this one rolls back)."""


def group_size() -> int:
    """K: comments of a survey released together at least (the setting is at least 3)."""
    return get_settings().pulse_comment_group


def hold(conn: Connection, survey_id: int, text: str) -> int | None:
    """Hold one comment in the caller's transaction (the pulse answer's). When K or more of the survey
    now wait, records their release as after-commit work and returns its id, for `complete`."""
    conn.execute(insert(HeldComment).values(key=secrets.token_urlsafe(18), survey_id=survey_id, text=text))
    if held_count(conn, survey_id) < group_size():
        return None
    return record(conn, PULSE_COMMENTS_HELD, {"survey_id": survey_id})


def release_due(engine: Engine, survey_id: int) -> int | None:
    """After the commit of a comment whose own count stayed under K: K or more may wait all the same
    (two answers committing at once on PostgreSQL each counted without the other's comment). Records
    their release then, as `hold` would have."""
    with engine.connect() as conn:
        if held_count(conn, survey_id) < group_size():
            return None
    with engine.begin() as conn:
        return record(conn, PULSE_COMMENTS_HELD, {"survey_id": survey_id})


def held_count(conn: Connection, survey_id: int) -> int:
    stmt = select(func.count()).select_from(HeldComment).where(HeldComment.survey_id == survey_id)
    return int(conn.execute(stmt).scalar() or 0)


def held_note(held: int, *, closed: bool = False) -> str:
    """What `survey show` says of the comments waiting: until K, or, the survey closed (no answer can
    make K any more), that they stay held."""
    k = group_size()
    words = f"{held} comment{'s' if held != 1 else ''}"
    if closed:
        return (
            f"{words} held and never released: the survey closed before {k} waited, and pulse comments "
            f"are released as feedback only in shuffled groups of at least {k}, so none can be joined to "
            "its answer"
        )
    return (
        f"{words} held until {k}: pulse comments are released as "
        f"feedback in shuffled groups of at least {k}, so none can be joined to its answer"
    )


def release(engine: Engine, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The subscriber of "pulse comments held": the survey's held comments as one import batch when K
    or more wait (none otherwise: idempotent, as a resumed subscriber must be)."""
    from cxchange.listen.service import ImportOptions, import_frame

    survey_id = int(payload["survey_id"])
    with engine.connect() as conn:
        name = conn.execute(select(Survey.name).where(Survey.id == survey_id)).scalar()
        rows = [tuple(r) for r in conn.execute(select(HeldComment.key, HeldComment.text).where(
            HeldComment.survey_id == survey_id)).all()]  # fmt: skip
    if name is None or len(rows) < group_size():
        return {"released": 0}
    random.SystemRandom().shuffle(rows)  # the batch's order (and so the feedback ids) says nothing
    keys = [k for k, _ in rows]
    day = datetime.utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    frame = pl.DataFrame(
        {
            "external_id": keys,
            "received_at": [day.strftime(DATE_FORMAT.replace("%.f", ".%f"))] * len(rows),
            "text": [t for _, t in rows],
        }
    )
    options = ImportOptions(
        source=f"survey:{name}",
        map_options=tuple(f"{c}={c}" for c in frame.columns),
        date_format=DATE_FORMAT,
        close_loop=True,
        # Its cases, alerts, columnar copy and search index before the subscriber returns: it runs off
        # any request already (the background worker, or the next process resuming it).
        after_commit="now",
        dated=day,
    )

    def take(conn: Connection) -> None:
        """The held rows go in the batch's transaction: released once, or not at all."""
        if conn.execute(delete(HeldComment).where(HeldComment.key.in_(keys))).rowcount != len(keys):
            raise _Taken("released by another process")

    try:
        result = import_frame(engine, frame, options, name=f"survey:{name}", in_transaction=take)
    except _Taken:
        return {"released": 0}
    return {"released": result.imported, "batch_id": result.batch_id}
