"""The staggered path of `outcomes`: pilot units with their own starts (`outcomes set ID --start-for
UNIT=DATE`) are estimated with the imputation estimator and randomization inference over arrangements of
the starts (`sustain.staggered`), not with one TWFE coefficient, which is biased when effects differ by
wave or grow with time.

Cells are unit-by-calendar-month; a unit is treated from the month of its start when it starts on the
1st, else from the month after (the start month mixes before and after, so it is left out for that
unit). Units of one assignment cluster must share a start: the waves follow the level at which pilot and
control were chosen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from cxchange.core.errors import InputError
from cxchange.org.tree import OrgTree
from cxchange.sustain import panel, staggered
from cxchange.sustain.outcome_design import check_clusters, cluster_map

METHOD = (
    "staggered rollout: imputation estimator (Borusyak, Jaravel & Spiess; unit and month effects fitted on "
    "the cells not yet treated, the effect = observed − imputed over treated cells, respondent-weighted) "
    "with randomization inference over arrangements of the starts across clusters"
)


def _month(d: date) -> int:
    return d.year * 12 + d.month - 1


def assess_staggered(
    *,
    tree: OrgTree,
    pilot_codes: list[str],
    control_codes: list[str],
    pilot_ids: set[int],
    starts: dict[str, date],
    first: date,
    data: np.ndarray,
    cluster_level: str | None,
    level: float,
    higher: bool,
    name: str,
) -> tuple[panel.Assessment, dict[str, Any]]:
    """The assessment and the result fields that differ from the single-start path."""
    base = _month(first)
    # unit id -> (first treated month index, month left out or None)
    treated_from: dict[int, tuple[int, int | None]] = {}
    for code in pilot_codes:
        d = starts.get(code, first)
        m = _month(d) - base
        for uid in tree.subtree_ids(code):
            treated_from[uid] = (m, None) if d.day == 1 else (m + 1, m)
    unit, month, y, w = data[:, 0].astype(int), data[:, 1].astype(int), data[:, 3], data[:, 4]
    keep = np.array([treated_from.get(int(u), (0, None))[1] != m for u, m in zip(unit, month, strict=True)])
    unit, month, y, w = unit[keep], month[keep], y[keep], w[keep]
    with_data = {int(u) for u in np.unique(unit)}
    cluster_of, names, level_name, level_plural = cluster_map(
        tree, pilot_codes, control_codes, with_data, cluster_level
    )
    check_clusters(cluster_of, names, pilot_ids, level_name)
    start_of = np.full(len(names), staggered.NEVER, dtype=np.int64)
    for uid in with_data & pilot_ids:
        c, m = cluster_of[uid], treated_from[uid][0]
        if start_of[c] not in (staggered.NEVER, m):
            raise InputError(
                f"{name!r}: units of {level_name} {names[c]} start in different months; give the units "
                f"of one {level_name} one start (the waves follow the level pilot and control were chosen at)"
            )
        start_of[c] = m
    keys = np.stack([unit, month], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.bincount(inv, weights=w)
    cells = staggered.Rollout(
        unit=uniq[:, 0],
        cluster=np.array([cluster_of[int(u)] for u in uniq[:, 0]]),
        month=uniq[:, 1],
        y=np.bincount(inv, weights=y * w) / n,
        n=n,
        start=start_of,
    )
    try:
        a = staggered.assess(cells, level=level, higher_is_better=higher, cluster_word=level_plural)
    except ValueError as exc:  # a rollout the data cannot identify: say what is missing
        raise InputError(f"{name!r}: {exc}") from None
    waves = sorted({int(m) for m in start_of if m != staggered.NEVER})
    return a, {
        "cluster_level": level_name,
        "waves": [
            {
                "month": f"{(base + m) // 12:04d}-{(base + m) % 12 + 1:02d}",
                "clusters": int((start_of == m).sum()),
            }
            for m in waves
        ],
        "post": np.array(
            [
                m >= treated_from[int(u)][0] if int(u) in pilot_ids else m >= 0
                for u, m in zip(unit, month, strict=True)
            ]
        ),
        "rows": (unit, month, y, w),
    }
