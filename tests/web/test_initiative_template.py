"""The `unit_rows` macro (the initiative page's agents and resistance): the rows in a table under
their head, or the sentence that there are none, naming the user's units only when they see only theirs."""

from __future__ import annotations

from cxchange.web.common import templates

PAGE = (
    '{% from "_macros.html" import unit_rows %}'
    "{% call(r) unit_rows(rows, ['unit', 'agents'], 'No affected teams', scoped, 'in') %}"
    "<tr><td>{{ r.unit }}</td><td>{{ r.agents }}</td></tr>{% endcall %}"
)


def _render(rows: list[dict[str, object]], scoped: bool) -> str:
    page = templates().env.from_string(PAGE)
    return page.render(rows=rows, scoped=scoped)


def test_rows_in_a_table_under_their_head() -> None:
    html = _render([{"unit": "S-1", "agents": 2}, {"unit": "S-<2>", "agents": 0}], scoped=False)
    assert '<th scope="col">unit</th><th scope="col">agents</th>' in html
    assert "<tr><td>S-1</td><td>2</td></tr>" in html
    assert "<tr><td>S-&lt;2&gt;</td><td>0</td></tr>" in html  # escaped like the page's other text
    assert "No affected teams" not in html


def test_none_names_the_users_units_only_when_scoped() -> None:
    assert "<p>No affected teams.</p>" in _render([], scoped=False)
    assert "<p>No affected teams in your units.</p>" in _render([], scoped=True)
    assert "<table" not in _render([], scoped=True)
