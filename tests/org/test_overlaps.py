"""Pilot and control units that overlap, named as a user reads them (pure: an OrgTree built in memory)."""

from __future__ import annotations

from cxchange.org.tree import OrgTree, Unit, pilot_control_overlaps

TREE = OrgTree(
    {
        u.id: u
        for u in (
            Unit(1, "CO", "Company", None, "company", 0, "CO"),
            Unit(2, "N", "North", 1, "region", 1, "CO/N"),
            Unit(3, "N1", "Leeds", 2, "store", 2, "CO/N/N1"),
            Unit(4, "S", "South", 1, "region", 1, "CO/S"),
            Unit(5, "N10", "Not beneath N1", 2, "store", 2, "CO/N/N10"),
        )
    }
)


def test_each_overlap_is_named_with_its_direction() -> None:
    assert pilot_control_overlaps(TREE, ["N"], ["S"]) == []
    assert pilot_control_overlaps(TREE, ["N"], ["n"]) == ["N"]  # codes are case-insensitive
    assert pilot_control_overlaps(TREE, ["N"], ["N1", "S"]) == ["N1 (control) lies beneath N (pilot)"]
    assert pilot_control_overlaps(TREE, ["N1"], ["CO"]) == ["N1 (pilot) lies beneath CO (control)"]


def test_a_code_that_starts_like_another_is_not_beneath_it() -> None:
    assert pilot_control_overlaps(TREE, ["N1"], ["N10"]) == []
