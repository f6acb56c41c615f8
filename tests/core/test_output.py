"""Rendering: a one-row table wider than the terminal prints as field / value lines; counts in words."""

from __future__ import annotations

import pytest

from cxchange.core.output import counted, print_rows


def test_a_wide_single_row_prints_as_field_value_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "80")
    row = {f"column_number_{i}": i for i in range(12)}  # far wider than 80 characters as one row
    print_rows([row])
    out = capsys.readouterr().out
    assert "field" in out and "value" in out
    assert all(f"column_number_{i}" in out for i in range(12))  # every name whole, not folded
    narrow = {"a": 1, "b": 2, "c": 3}
    print_rows([narrow])
    out = capsys.readouterr().out
    assert "field" not in out  # a row that fits stays a row
    print_rows([row, row])
    assert "field" not in capsys.readouterr().out  # several rows stay a table


def test_many_rows_too_wide_to_read_print_as_numbered_field_value_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A dry run's first rows of a 21-column export at 80 columns: every column folded to under a letter,
    one letter a line (the Skytrax preview ran to hundreds of lines). Each record prints as numbered
    field / value lines instead; a table whose columns get a few letters each stays a table."""
    monkeypatch.setenv("COLUMNS", "80")
    rows = [{f"col{i}": f"value {r}-{i}" for i in range(21)} for r in range(3)]
    print_rows(rows, title="first rows")
    out = capsys.readouterr().out
    assert "field" in out and "value 2-20" in out and all(f"col{i} " in out for i in range(21))
    assert len(out.splitlines()) < 3 * 21 + 10  # one line a field, not a letter a line
    print_rows([{f"c{i}": i for i in range(12)}] * 2)
    assert "field" not in capsys.readouterr().out


def test_counts_in_words() -> None:
    assert counted([("rating", 1257)]) == "1,257 rating"
    assert counted([("nps", 47), ("csat", 12)]) == "47 nps and 12 csat"
    assert counted([("nps", 1), ("csat", 2), ("ces", 3)]) == "1 nps, 2 csat and 3 ces"
