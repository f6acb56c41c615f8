"""Small static SVG charts for reports: no JavaScript, no network, rendered by browsers and WeasyPrint.

Every label passes through `html.escape`: theme and unit names are user data.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def line_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    title: str,
    unit: str = "%",
    width: int = 640,
    height: int = 220,
) -> str:
    """A single-series line chart; None values leave a gap."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 28, 36
    pts = [v for v in values if v is not None]
    if not pts:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40">'
            f'<text x="4" y="24">{escape(title)}: no data</text></svg>'
        )
    lo, hi = min(0.0, min(pts)), max(pts)
    hi = hi if hi > lo else lo + 1.0
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_l + iw * i / n, pad_t + ih * (1 - (v - lo) / (hi - lo))

    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
            continue
        x, y = xy(i, v)
        segments[-1].append(f"{x:.1f},{y:.1f}")
    paths = "".join(
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="{" ".join(s)}"/>'
        for s in segments
        if s
    )
    dots = "".join(
        f'<circle cx="{xy(i, v)[0]:.1f}" cy="{xy(i, v)[1]:.1f}" r="2.5" fill="#1f6feb"/>'
        for i, v in enumerate(values)
        if v is not None
    )
    step = max(1, len(labels) // 8)
    xlabels = "".join(
        f'<text x="{xy(i, lo)[0]:.1f}" y="{height - 14}" font-size="10" text-anchor="middle">'
        f"{escape(lab)}</text>"
        for i, lab in enumerate(labels)
        if i % step == 0
    )
    ylabels = "".join(
        f'<text x="{pad_l - 6}" y="{xy(0, v)[1] + 3:.1f}" font-size="10" text-anchor="end">'
        f"{v:.1f}{escape(unit)}</text>"
        f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{xy(0, v)[1]:.1f}" '
        f'y2="{xy(0, v)[1]:.1f}" stroke="#ddd"/>'
        for v in (lo, (lo + hi) / 2, hi)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><text x="{pad_l}" y="16" font-size="12" font-weight="bold">'
        f"{escape(title)}</text>{ylabels}{paths}{dots}{xlabels}</svg>"
    )


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, unit: str = "%", width: int = 640
) -> str:
    """Horizontal bars, one per label, largest first as given."""
    row, pad_l, pad_t = 20, 170, 26
    height = pad_t + row * max(len(labels), 1) + 8
    top = max([abs(v) for v in values] + [1e-9])
    bars = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        y = pad_t + i * row
        w = (width - pad_l - 60) * abs(v) / top
        bars.append(
            f'<text x="{pad_l - 6}" y="{y + 13}" font-size="11" text-anchor="end">{escape(lab[:28])}</text>'
            f'<rect x="{pad_l}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="#d1495b"/>'
            f'<text x="{pad_l + w + 4:.1f}" y="{y + 13}" font-size="11">{v:.1f}{escape(unit)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><text x="4" y="16" font-size="12" font-weight="bold">'
        f"{escape(title)}</text>{''.join(bars)}</svg>"
    )
