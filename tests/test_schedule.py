"""How `make test` saves time without testing less.

The order it hands its work to the two workers in (tests/conftest.py, `heavy_first`): the tests marked
slow first, then the groups sharing a module's fixture (largest first, each kept whole and in its order),
then the single tests as collected. A long test handed out last ran alone at the end. And a throwaway
PostgreSQL database is dropped on a thread of its own."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from tests.conftest import _DROPS as conftest_drops
from tests.conftest import PG_URL, heavy_first, pytest_configure

from cxchange.core.db import normalise_url


@dataclass
class _Item:
    nodeid: str
    slow: bool = False

    def get_closest_marker(self, name: str) -> object:
        return object() if name == "slow" and self.slow else None


def test_slow_units_first_then_groups_by_size_then_the_rest_as_collected() -> None:
    a, b = _Item("a.py::one"), _Item("a.py::two")
    group_small = [_Item("g.py::x@g.py"), _Item("g.py::y@g.py")]
    group_large = [_Item("h.py::x@h.py"), _Item("h.py::y@h.py", slow=False), _Item("h.py::z@h.py")]
    group_slow = [_Item("s.py::x@s.py"), _Item("s.py::y@s.py", slow=True)]
    tour = _Item("e2e.py::tour", slow=True)
    units = [[a], group_small, [tour], group_large, [b], group_slow]
    ordered = [i.nodeid for i in heavy_first(units)]  # type: ignore[arg-type]
    assert ordered == [
        "e2e.py::tour", "s.py::x@s.py", "s.py::y@s.py",  # slow, in collection order; the group whole
        "h.py::x@h.py", "h.py::y@h.py", "h.py::z@h.py", "g.py::x@g.py", "g.py::y@g.py",  # larger first
        "a.py::one", "a.py::two",  # the rest as collected
    ]  # fmt: skip


def test_loadgroup_keeps_that_order_and_other_modes_are_left_alone() -> None:
    grouped = SimpleNamespace(option=SimpleNamespace(dist="loadgroup", loadscopereorder=True))
    pytest_configure(grouped)  # type: ignore[arg-type]
    assert grouped.option.loadscopereorder is False  # pytest-xdist would sort the groups ahead again
    plain = SimpleNamespace(option=SimpleNamespace(dist="load", loadscopereorder=True))
    pytest_configure(plain)  # type: ignore[arg-type]
    assert plain.option.loadscopereorder is True


def test_a_throwaway_database_is_dropped_on_the_side(postgres_databases: Any) -> None:
    """The test goes on while its database is dropped (PostgreSQL's checkpoint for a drop took 1-5 s);
    the drop is made all the same, and the session's end waits for it."""
    with postgres_databases("cx_dropped_") as url:
        name = make_url(url).database
    dropped, done = conftest_drops[-1]
    assert dropped == name
    done.result(timeout=120)
    admin = create_engine(normalise_url(PG_URL))
    try:
        with admin.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
            assert left.scalar() == 0
    finally:
        admin.dispose()
