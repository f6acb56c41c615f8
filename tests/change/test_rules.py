"""The pure rules: barrier points, small-group merging, RACI checks, targets, impact load, frameworks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.change.frameworks import get_framework, list_rows, load_file
from cxchange.change.impact import Load, active_in, impact_score, monthly_load, months_between
from cxchange.change.metrics import is_met, parse_target, target_value, wilson
from cxchange.change.models import ADKAR
from cxchange.change.people import needed_agents
from cxchange.change.raci import Cell, check_raci, parse_letter
from cxchange.change.readiness import (
    aggregate,
    barrier_label,
    barrier_point,
    merge_small_groups,
    summarise,
    top_barriers,
)
from cxchange.change.service import risk_profile
from cxchange.core.errors import InputError

scores5 = st.tuples(*[st.integers(1, 5)] * 5)


# --- barrier point ---------------------------------------------------------------------------------


def test_barrier_point_is_the_first_low_element_not_the_lowest() -> None:
    assert barrier_point((4, 3, 1, 5, 2)) == "desire"
    assert barrier_point((3, 1, 1, 1, 1)) == "awareness"
    assert barrier_point((5, 5, 5, 5, 3)) == "reinforcement"
    assert barrier_point((4, 4, 5, 4, 5)) is None


@settings(deadline=None)
@given(scores5)
def test_barrier_point_property(scores: tuple[int, ...]) -> None:
    b = barrier_point(scores)
    if b is None:
        assert all(s >= 4 for s in scores)
    else:
        i = ADKAR.index(b)
        assert scores[i] <= 3 and all(s >= 4 for s in scores[:i])


@settings(deadline=None)
@given(st.lists(scores5, min_size=1, max_size=40))
def test_summary_shares_add_up_and_top_barrier_is_most_common(rows: list[tuple[int, ...]]) -> None:
    means, shares, top = summarise(rows)
    assert abs(sum(shares.values()) - 1) < 0.01
    assert all(1 <= m <= 5 for m in means.values())
    barriers = [barrier_point(r) for r in rows]
    tops = top_barriers(rows)
    if all(b is None for b in barriers):
        assert top == "none" and tops == ["none"]
    else:
        most = max(barriers.count(e) for e in ADKAR)
        assert barriers.count(top) == most and top == tops[0]
        assert tops == [e for e in ADKAR if barriers.count(e) == most]  # every tied element, in order


def test_top_barriers_ties() -> None:
    assert top_barriers([]) == []
    assert top_barriers([(5, 5, 5, 5, 5)]) == ["none"]
    assert top_barriers([(5, 3, 5, 5, 5), (2, 5, 5, 5, 5), (5, 5, 5, 5, 1)]) == [
        "awareness", "desire", "reinforcement"
    ]  # fmt: skip
    assert top_barriers([(5, 3, 5, 5, 5), (5, 2, 5, 5, 5), (1, 5, 5, 5, 5)]) == ["desire"]
    assert barrier_label({"top_barrier": "desire", "top_barriers": ["desire"]}) == "desire"
    assert barrier_label({"top_barrier": "awareness", "top_barriers": ["awareness", "ability"]}) == (
        "tie: awareness, ability"
    )


# --- small groups merge up the org tree ------------------------------------------------------------

# 1 HQ > 2 R-N > (3 S1, 4 S2), 1 HQ > 5 R-S > 6 S3
PARENT = {1: None, 2: 1, 3: 2, 4: 2, 5: 1, 6: 5}


def test_small_groups_merge_into_their_parent_until_big_enough() -> None:
    # S2 (2) joins R-N, still small, so on to HQ; big groups stay where they are.
    assert merge_small_groups({3: 6, 4: 2, 6: 7}, PARENT, 5) == {3: 3, 4: 1, 6: 6}
    assert merge_small_groups({3: 3, 4: 2, 6: 7}, PARENT, 5) == {3: 2, 4: 2, 6: 6}
    assert merge_small_groups({3: 6, 4: 2, 2: 1, 6: 7}, PARENT, 5) == {3: 3, 4: 1, 2: 1, 6: 6}
    stats = aggregate([(4, (5, 2, 5, 5, 5))] * 2 + [(3, (5, 5, 5, 5, 5))] * 5, {}, PARENT, 5)
    by = {g.group: g for g in stats}
    assert by[1].n == 2 and by[1].suppressed and by[1].means["desire"] is None  # nowhere to hide: withheld
    assert by[3].n == 5 and not by[3].suppressed
    stats = aggregate([(4, (5, 2, 5, 5, 5))] * 2 + [(6, (5, 5, 5, 5, 5))] * 3, {}, PARENT, 5)
    assert [(g.group, g.n, g.merged) for g in stats] == [(1, 5, [4, 6])]


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(PARENT)), st.integers(1, 12), min_size=1), st.integers(1, 8))
def test_merging_keeps_everyone_and_leaves_no_small_group_with_a_parent(
    counts: dict[int, int], min_n: int
) -> None:
    into = merge_small_groups(counts, PARENT, min_n)
    final: dict[int, int] = {}
    for g, n in counts.items():
        t = into[g]
        a = g  # the target is the group itself or one of its ancestors
        while a is not None and a != t:
            a = PARENT[a]
        assert a == t
        final[t] = final.get(t, 0) + n
    assert sum(final.values()) == sum(counts.values())
    for g, n in final.items():
        assert n >= min_n or PARENT[g] is None or all(into[c] == g for c in counts if into[c] == g)
        if n < min_n:
            assert PARENT[g] is None


# --- RACI ------------------------------------------------------------------------------------------


def test_raci_rules_by_example() -> None:
    cells = [
        Cell("Budget", "a", "A"),
        Cell("Budget", "b", "R"),
        Cell("Rota", "a", "A"),
        Cell("Rota", "b", "A"),
        Cell("Rota", "c", "R"),
        Cell("Report", "c", "C"),
        Cell("Report", "c", "I"),
        Cell("Publish", "a", "A", does_work=True),
        Cell("Train", "b", "A"),
        *[Cell("Train", p, "R") for p in "xyz"],
        *[Cell("Train", p, "C") for p in "klmn"],
    ]
    found = {
        (f["activity"], f["person"], f["level"], f["rule"]) for f in check_raci(cells, outside={"z", "q"})
    }
    assert ("Rota", None, "error", "one-accountable") in found
    assert ("Report", None, "error", "one-accountable") in found and (
        "Report",
        None,
        "error",
        "responsible",
    ) in found
    assert ("Report", "c", "error", "one-letter") in found
    assert not any(a == "Publish" for a, *_ in found) and not any(a == "Budget" for a, *_ in found)
    assert ("Train", None, "warning", "many-responsible") in found
    assert ("Train", None, "warning", "many-consulted") in found
    assert (None, "a", "warning", "accountable-for-most") in found
    assert (None, "k", "warning", "no-r-or-a") in found
    assert (None, "z", "warning", "outside-units") in found and not any(p == "q" for _, p, *_ in found)
    levels = [f["level"] for f in check_raci(cells)]
    assert levels == sorted(levels)  # errors first


def test_an_empty_matrix_is_no_clean_bill() -> None:
    """Every rule holds of a matrix nobody is in: the check said "no errors, no warnings" (and the
    initiative's status "0 error(s)") before anyone had a letter."""
    assert [(f["level"], f["rule"]) for f in check_raci([])] == [("warning", "no-matrix")]
    assert "raci import" in check_raci([])[0]["message"]
    assert not any(f["rule"] == "no-matrix" for f in check_raci([Cell("Rota", "a", "A", does_work=True)]))


def test_parse_letter() -> None:
    assert (
        parse_letter("r") == ("R", False)
        and parse_letter(" A/R ") == ("A", True)
        and parse_letter("") is None
    )
    with pytest.raises(ValueError):
        parse_letter("RC")


cell_st = st.builds(
    Cell,
    st.sampled_from(["x", "y", "z"]),
    st.sampled_from(["p", "q", "r", "s"]),
    st.sampled_from(["R", "A", "C", "I"]),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(cell_st, max_size=25))
def test_raci_check_property(cells: list[Cell]) -> None:
    findings = check_raci(cells)
    errors = {(f["activity"], f["rule"]) for f in findings if f["level"] == "error"}
    for activity in {c.activity for c in cells}:
        acts = [c for c in cells if c.activity == activity]
        n_a = len({c.person for c in acts if c.letter == "A"})
        has_r = any(c.letter == "R" for c in acts) or any(c.letter == "A" and c.does_work for c in acts)
        assert ((activity, "one-accountable") in errors) == (n_a != 1)
        assert ((activity, "responsible") in errors) == (not has_r)
        persons = [c.person for c in acts]
        assert ((activity, "one-letter") in errors) == (len(persons) != len(set(persons)))
    assert all(f["level"] in ("error", "warning") for f in findings)


# --- targets, intervals ----------------------------------------------------------------------------


def test_targets() -> None:
    assert parse_target("+5") == ("relative", 5.0, "up")
    assert parse_target("-2.5") == ("relative", -2.5, "down")
    assert parse_target("≥40") == parse_target(">=40") == ("absolute", 40.0, "up")
    assert parse_target("≤12") == parse_target("<= 12") == ("absolute", 12.0, "down")
    for bad in ("5", "=5", "+five", ""):
        with pytest.raises(InputError):
            parse_target(bad)
    assert (
        target_value("+5", 31.2) == 36.2
        and target_value("+5", None) is None
        and target_value(">=40", None) == 40
    )
    assert is_met(41, 40, "up") and not is_met(13, 12, "down") and is_met(None, 3, "up") is None


def test_wilson_interval() -> None:
    lo, hi = wilson(20, 100)
    assert lo is not None and hi is not None and lo < 0.2 < hi
    assert abs(lo - 0.1333) < 0.001 and abs(hi - 0.2888) < 0.001  # the textbook values
    assert wilson(0, 0) == (None, None)
    assert wilson(0, 10)[0] == 0.0


# --- impact and saturation, agents, risk ----------------------------------------------------------


def test_impact_score_leaves_out_zeros() -> None:
    assert impact_score({"processes": 4, "systems": 2, "tools": 0}) == 3.0
    assert impact_score({"processes": 0}) is None


def test_monthly_load_sums_active_initiatives_and_inherits_from_ancestors() -> None:
    months = months_between(date(2026, 1, 1), date(2026, 4, 1))
    assert months == [date(2026, m, 1) for m in (1, 2, 3, 4)]
    assert active_in(date(2026, 1, 31), None, date(2026, 1, 1)) and not active_in(
        date(2026, 2, 1), None, date(2026, 1, 1)
    )
    loads = [
        Load("a", date(2026, 1, 15), date(2026, 2, 10), {2: 3.0}),
        Load("b", date(2026, 2, 1), None, {3: 4.0, 2: 1.0}),
    ]
    cells = monthly_load(loads, months, PARENT)
    assert cells[(3, date(2026, 2, 1))] == (7.0, ["a", "b"])  # region's 3 + own 4 (b's own beats b's region)
    assert cells[(4, date(2026, 2, 1))] == (4.0, ["a", "b"])  # 3 from a + 1 from b, both via R-N
    assert cells[(3, date(2026, 3, 1))] == (4.0, ["b"])
    assert (6, date(2026, 2, 1)) not in cells and (1, date(2026, 2, 1)) not in cells


def test_agents_needed_and_risk_profile() -> None:
    assert needed_agents(0, 15) == 0 and needed_agents(15, 15) == 1 and needed_agents(16, 15) == 2
    assert risk_profile(None)["level"] == "unassessed"
    assert risk_profile({"size": {"scope": 2}, "organisation": {"culture": 2}})["level"] == "low"
    assert (
        risk_profile({"size": {"scope": 4}, "organisation": {"culture": 4, "resources": 2}})["level"]
        == "high"
    )


# --- frameworks -----------------------------------------------------------------------------------


def test_shipped_frameworks() -> None:
    kotter = get_framework("kotter")
    assert [s["key"] for s in kotter["steps"]] == [
        "urgency",
        "coalition",
        "vision",
        "communicate",
        "remove_barriers",
        "short_term_wins",
        "consolidate",
        "anchor",
    ]
    adkar = get_framework("adkar")
    assert tuple(s["key"] for s in adkar["steps"]) == ADKAR and all(s["actions"] for s in adkar["steps"])
    cx10 = get_framework("cx10")
    assert len(cx10["steps"]) == 10 and cx10["steps"][0]["key"] == "current_situation"
    for fw in (kotter, adkar, cx10):
        for s in fw["steps"]:
            assert s["title"] and s["purpose"] and s["checklist"] and s["artefacts"] and s["guidance"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("name: X\n", "'steps'"),
        ("steps:\n  - {key: a, title: A, purpose: P}\n", "'name'"),
        ("name: X\nsteps:\n  - {key: a, title: A}\n", "steps[0].purpose"),
        ("name: X\nsteps:\n  - {key: a, title: A, purpose: P, checklist: yes}\n", "steps[0].checklist"),
        (
            "name: X\nsteps:\n  - {key: a, title: A, purpose: P}\n  - {key: a, title: B, purpose: Q}\n",
            "steps[1].key",
        ),
        ("name: X\nsteps: [\n", "not valid YAML"),
    ],
)
def test_malformed_framework_names_file_and_key(tmp_path: Path, content: str, needle: str) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text(content)
    with pytest.raises(InputError) as err:
        load_file(f)
    assert "mine.yaml" in str(err.value) and needle in str(err.value)


def test_user_frameworks_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lean.yaml").write_text(
        "name: Lean change\nsteps:\n  - {key: see, title: See, purpose: Look}\n"
    )
    monkeypatch.setenv("CXCHANGE_FRAMEWORKS_DIR", str(tmp_path))
    rows = {r["key"]: r for r in list_rows()}
    assert rows["lean"]["origin"] == "user" and rows["kotter"]["origin"] == "shipped"
    assert get_framework("lean")["steps"][0]["checklist"] == []
    assert get_framework(str(tmp_path / "lean.yaml"))["origin"] == "file"
    monkeypatch.setenv("CXCHANGE_FRAMEWORKS_DIR", str(tmp_path / "missing"))
    with pytest.raises(InputError):
        list_rows()
