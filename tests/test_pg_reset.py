"""The PostgreSQL fixture's reset (conftest `_truncate_all`) leaves what migrations leave in a new database:
no rows but the ones they seed, as they seed them, and every id sequence counting from 1 again, even one
a rolled-back insert advanced on a table left empty."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import text
from tests.conftest import MIGRATION_SEEDS

from cxchange.core.base import Base, register_models
from cxchange.core.db import get_engine
from cxchange.listen.service import ImportOptions, import_frame

OWNED_SEQUENCES = """
SELECT q.relname FROM pg_class q JOIN pg_depend d ON d.objid = q.oid AND d.deptype IN ('a', 'i')
WHERE q.relkind = 'S' AND q.relnamespace = current_schema()::regnamespace
"""


def test_reset_empties_every_table_and_restarts_every_sequence(
    postgres_databases: Any, truncate_all: Any
) -> None:
    with postgres_databases("cx_reset_") as url:
        engine = get_engine(url)
        register_models()
        names = [t.name for t in Base.metadata.sorted_tables]
        seeded = _rows(engine, names)
        assert set(seeded) == set(MIGRATION_SEEDS)  # a new seed in a migration: add it to the reset
        opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps"))
        import_frame(engine, pl.DataFrame({"id": ["a", "b"], "nps": ["10", "0"]}), opts)
        with engine.connect() as conn:  # an insert rolled back: the table stays empty, its sequence moved
            conn.execute(text("INSERT INTO org_unit (code, name, path, depth) VALUES ('X', 'X', 'X', 0)"))
            conn.rollback()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM org_unit")).scalar() == 0
            used = conn.execute(text("SELECT count(*) FROM pg_sequences WHERE last_value IS NOT NULL"))
            used = used.scalar()
            assert used and used >= 3  # feedback, source, import_batch ... and org_unit's
        truncate_all(engine)
        reset = _rows(engine, names)
        # the same seed rows (store_identity: a new random id, as a new database gets), nothing else
        assert {k: v for k, v in reset.items() if k != "store_identity"} == {
            k: v for k, v in seeded.items() if k != "store_identity"
        }
        assert len(reset["store_identity"]) == 1
        with engine.connect() as conn:
            sequences = conn.execute(text(OWNED_SEQUENCES)).scalars().all()
            assert sequences
            for seq in sequences:
                assert conn.execute(text(f"SELECT nextval('{seq}')")).scalar() == 1, seq
        engine.dispose()


def _rows(engine: Any, names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (sorted), for the tables holding any."""
    out = {}
    with engine.connect() as conn:
        for name in names:
            rows = sorted(tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}"')))
            if rows:
                out[name] = rows
    return out
