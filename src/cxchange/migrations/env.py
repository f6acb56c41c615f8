"""Alembic environment: the engine comes from cxchange (never from an ini file)."""

from __future__ import annotations

from alembic import context

from cxchange.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from cxchange.core.db import get_engine

        engine = get_engine(upgrade=False)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run_migrations_online()
