"""The pages' Content-Security-Policy (no inline script) in a real browser: every chart still draws,
and Chromium reports no violation."""

from __future__ import annotations

from typing import Any

from .conftest import screenshot

# Page, and the chart on it that must draw under the policy.
CHARTED = [
    ("/", "#chart-nps svg.main-svg"),
    ("/themes", "#impact-chart svg.main-svg"),
    ("/decide", "#driver-chart svg.main-svg"),
]


def test_charts_draw_and_nothing_violates_the_policy(admin_page: Any) -> None:
    page = admin_page
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    for path, chart in CHARTED:
        response = page.goto(path)
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.wait_for_selector(chart)
    page.goto("/themes")
    page.wait_for_selector("#impact-chart svg.main-svg")
    screenshot(page, "themes-under-csp")
    assert violations == []
