"""The declarative base every stage's ORM classes hang from, and the one registry of them.

Apart from `core.db` (engines, Core only) so that a command reading through Core tables never loads
SQLAlchemy's ORM (tests/measure/test_startup.py). Every ORM class imports this module, so the hook
below is in place wherever a session can flush one.
"""

from __future__ import annotations

import importlib
import sys

from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session

from cxchange.core.tables import METADATA


class Base(DeclarativeBase):
    """The one declarative base every stage's tables hang from. Its metadata is `core.tables`' one,
    which the tables declared in Core (`core.tables`, `listen.tables`) are on too."""

    metadata = METADATA


# The module that imports every stage's tables. Loaded by name, not imported here: core sits below the
# stages, yet any session may flush a row whose foreign key points into another stage's table (an
# initiative's theme), and SQLAlchemy resolves those only when every table is on Base.
MODEL_REGISTRY = "cxchange.models"


def register_models() -> None:
    """Put every stage's tables on Base, whatever this process imported so far (idempotent)."""
    if MODEL_REGISTRY not in sys.modules:
        importlib.import_module(MODEL_REGISTRY)


def _register_for_session(*_args: object) -> None:
    register_models()


# When the registry is loaded: by the first ORM session of the process (its first transaction, before
# any flush), by Alembic (migrations/env.py) and by anything else that reads Base.metadata as a whole,
# which calls `register_models` first. Those are the places SQLAlchemy resolves a foreign key to
# another stage's table: a flush sorts the mapper's tables by their keys (the crash of issue 14 was
# there), DDL creates them. A Core statement over tables its module imported resolves nothing else,
# so a read such as `cxchange scores` never pays for the whole schema's classes (~40 % of its start-up
# before this: the sign-in, change, sustain, understand and decide tables it never touches). None of
# the models declares a relationship(), so configuring the mappers needs no other stage's classes.
event.listen(Session, "after_transaction_create", _register_for_session)
