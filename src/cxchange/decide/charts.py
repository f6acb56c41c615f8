"""Small static SVG charts for reports: no JavaScript, no network, rendered by browsers and WeasyPrint.

Every label passes through `html.escape`: theme and unit names are user data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape


def _polylines(
    values: Sequence[float | None], x: Callable[[int], float], y: Callable[[float], float], colour: str
) -> list[str]:
    """One polyline per run of values that are not None: a missing value leaves a gap in the line."""
    segments: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            segments.append([])
            continue
        segments[-1].append(f"{x(i):.1f},{y(v):.1f}")
    return [
        f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(s)}"/>'
        for s in segments
        if s
    ]


def _month_labels(labels: Sequence[str], x: Callable[[int], float], height: int) -> list[str]:
    """At most about twelve x-axis labels, evenly spaced, under their slots."""
    step = max(1, -(-len(labels) // 12))
    return [
        f'<text x="{x(i):.1f}" y="{height - 14}" font-size="10" text-anchor="middle">{escape(lab)}</text>'
        for i, lab in enumerate(labels)
        if i % step == 0
    ]


def _no_data(width: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="40">'
        f'<text x="4" y="24" font-size="12">{escape(title)}: no data</text></svg>'
    )


def _titled_svg(width: int, height: int, title: str, title_x: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><text x="{title_x}" y="16" font-size="12" font-weight="bold">'
        f"{escape(title)}</text>{''.join(parts)}</svg>"
    )


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
        return _no_data(width, title)
    lo, hi = min(0.0, min(pts)), max(pts)
    hi = hi if hi > lo else lo + 1.0
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad_l + iw * i / n, pad_t + ih * (1 - (v - lo) / (hi - lo))

    paths = "".join(_polylines(values, lambda i: xy(i, lo)[0], lambda v: xy(0, v)[1], "#1f6feb"))
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
    return _titled_svg(width, height, title, pad_l, [ylabels, paths, dots, xlabels])


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
    return _titled_svg(width, height, title, 4, bars)


def band_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 200,
    highlight: Sequence[bool] | None = None,
    y_range: tuple[float, float] | None = None,
) -> str:
    """A line with its confidence band (shaded); None values leave a gap. `highlight` marks labels
    (e.g. the months of the reported period) with a light background."""
    pad_l, pad_r, pad_t, pad_b = 52, 12, 28, 34
    pts = [v for v in (*values, *lows, *highs) if v is not None]
    if not pts:
        return _no_data(width, title)
    lo, hi = (min(pts), max(pts)) if y_range is None else y_range
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    margin = (hi - lo) * 0.05
    lo, hi = lo - margin, hi + margin
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b
    count = len(values)
    slot = iw / max(count, 1)

    def x(i: int) -> float:
        return pad_l + slot * (i + 0.5)

    def y(v: float) -> float:
        return pad_t + ih * (1 - (v - lo) / (hi - lo))

    parts: list[str] = []
    if highlight:
        for i, on in enumerate(highlight):
            if on:
                parts.append(
                    f'<rect x="{pad_l + slot * i:.1f}" y="{pad_t}" width="{slot:.1f}" height="{ih}" '
                    f'fill="#f1f5fb"/>'
                )
    for v in (lo + margin, (lo + hi) / 2, hi - margin):
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{pad_l - 6}" y="{y(v) + 3:.1f}" font-size="10" text-anchor="end">'
            f"{v:.1f}{escape(unit)}</text>"
        )
    if lo < 0 < hi:
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999" '
            f'stroke-dasharray="3,3"/>'
        )
    # The band: one polygon per run of months that have both bounds.
    run: list[int] = []
    runs: list[list[int]] = []
    for i in range(count):
        if lows[i] is not None and highs[i] is not None:
            run.append(i)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    for r in runs:
        upper = [f"{x(i):.1f},{y(highs[i]):.1f}" for i in r]  # type: ignore[arg-type]
        lower = [f"{x(i):.1f},{y(lows[i]):.1f}" for i in reversed(r)]  # type: ignore[arg-type]
        if len(r) == 1:  # a lone month: a whisker instead of a polygon
            i = r[0]
            parts.append(
                f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(lows[i]):.1f}" '  # type: ignore[arg-type]
                f'y2="{y(highs[i]):.1f}" stroke="#9ec1f7" stroke-width="4"/>'  # type: ignore[arg-type]
            )
        else:
            parts.append(f'<polygon fill="#cfe0fb" stroke="none" points="{" ".join(upper + lower)}"/>')
    parts.extend(_polylines(values, x, y, "#1f6feb"))
    parts.extend(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="#1f6feb"/>'
        for i, v in enumerate(values)
        if v is not None
    )
    parts.extend(_month_labels(labels, x, height))
    return _titled_svg(width, height, title, pad_l, parts)


def diverging_bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    lows: Sequence[float | None] | None = None,
    highs: Sequence[float | None] | None = None,
    unit: str = "",
    width: int = 640,
) -> str:
    """Signed horizontal bars around a zero line (red below, green above), with optional interval
    whiskers; one row per label, in the order given."""
    row, pad_l, pad_r, pad_t = 22, 170, 56, 26
    height = pad_t + row * max(len(labels), 1) + 8
    spans = [abs(v) for v in values]
    for seq in (lows, highs):
        spans += [abs(v) for v in (seq or []) if v is not None]
    top = max([*spans, 1e-9])
    iw = width - pad_l - pad_r
    zero = pad_l + iw / 2

    def x(v: float) -> float:
        return zero + (iw / 2) * v / top

    parts = [f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{pad_t}" y2="{height - 6}" stroke="#999"/>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        yy = pad_t + i * row
        x0, x1 = sorted((zero, x(v)))
        colour = "#2f9e44" if v >= 0 else "#d1495b"
        parts.append(
            f'<text x="{pad_l - 6}" y="{yy + 14}" font-size="11" text-anchor="end">{escape(lab[:28])}</text>'
            f'<rect x="{x0:.1f}" y="{yy + 4}" width="{max(x1 - x0, 0.5):.1f}" height="{row - 8}" '
            f'fill="{colour}"/>'
        )
        lo_v = lows[i] if lows is not None else None
        hi_v = highs[i] if highs is not None else None
        if lo_v is not None and hi_v is not None:
            parts.append(
                f'<line x1="{x(lo_v):.1f}" x2="{x(hi_v):.1f}" y1="{yy + row / 2:.1f}" '
                f'y2="{yy + row / 2:.1f}" stroke="#333" stroke-width="1"/>'
            )
        tx = max(x(v), x(hi_v) if hi_v is not None else x(v)) + 4
        parts.append(
            f'<text x="{min(tx, width - 4):.1f}" y="{yy + 14}" font-size="10">{v:+.1f}{escape(unit)}</text>'
        )
    return _titled_svg(width, height, title, 4, parts)


_SERIES_COLOURS = ("#1f6feb", "#d1495b", "#2f9e44", "#8250df", "#bf8700")


def multi_line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 200,
    marker: str | None = None,
) -> str:
    """Several lines over the same labels with a legend; None values leave a gap. `marker` draws a
    dashed vertical line at that label (e.g. an initiative's start month)."""
    pad_l, pad_r, pad_t, pad_b = 52, 12, 40, 34
    pts = [v for vals in series.values() for v in vals if v is not None]
    if not pts:
        return _no_data(width, title)
    lo, hi = min(pts), max(pts)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    iw, ih = width - pad_l - pad_r, height - pad_t - pad_b
    slot = iw / max(len(labels), 1)

    def x(i: int) -> float:
        return pad_l + slot * (i + 0.5)

    def y(v: float) -> float:
        return pad_t + ih * (1 - (v - lo) / (hi - lo))

    parts: list[str] = []
    for v in (lo, (lo + hi) / 2, hi):
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
            f'<text x="{pad_l - 6}" y="{y(v) + 3:.1f}" font-size="10" text-anchor="end">'
            f"{v:.1f}{escape(unit)}</text>"
        )
    if marker is not None and marker in labels:
        mx = x(list(labels).index(marker)) - slot / 2
        parts.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{pad_t}" y2="{pad_t + ih}" stroke="#555" '
            f'stroke-dasharray="4,3"/>'
        )
    for k, (name, vals) in enumerate(series.items()):
        colour = _SERIES_COLOURS[k % len(_SERIES_COLOURS)]
        parts.extend(_polylines(vals, x, y, colour))
        lx = pad_l + 110 * k
        parts.append(
            f'<rect x="{lx}" y="24" width="10" height="10" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="33" font-size="10">{escape(name[:16])}</text>'
        )
    parts.extend(_month_labels(labels, x, height))
    return _titled_svg(width, height, title, pad_l, parts)
