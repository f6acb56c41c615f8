"""Tables of the organisation: units in a hierarchy and the people in them (below every stage that
reads them: auth scopes users to units, listen files feedback under them, change assigns people)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base


class OrgUnit(Base):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    level: Mapped[str | None] = mapped_column(String(64))
    # Materialised path of codes ("HQ/R-NORTH/S-NOR-01"): roll-ups and "unit or beneath" are prefix tests.
    path: Mapped[str] = mapped_column(String(1000), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(64))
