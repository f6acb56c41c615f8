"""Dashboard results remembered per database, scope and data version.

A page like the overview aggregates every row (scores by month, theme impact with intervals, emerging
issues): seconds at a million rows, while the data changes only when something is imported, analysed
or edited. The data version is a handful of indexed lookups (max ids, the change counter, the
taxonomy version), re-read on every request, so an import or analysis shows at once; what it cannot
see cheaply (case updates, root causes) is bounded by a short time to live.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Engine

from cxchange.understand.data_version import data_version

T = TypeVar("T")

TTL_SECONDS = 60.0
MAX_ENTRIES = 64

_entries: OrderedDict[tuple[Hashable, ...], tuple[float, Any]] = OrderedDict()
_lock = threading.Lock()
_computing: dict[tuple[Hashable, ...], threading.Lock] = {}

__all__ = ["cached", "clear", "data_version"]


def cached(
    namespace: str, eng: Engine, key: Hashable, compute: Callable[[], T], ttl: float = TTL_SECONDS
) -> T:
    """`compute()` remembered under (namespace, database, key, data version) for at most `ttl` seconds.

    Concurrent requests for the same missing entry compute it once; the others wait for it.
    """
    full = (namespace, eng.url.render_as_string(hide_password=True), key, data_version(eng))
    now = time.monotonic()
    with _lock:
        hit = _entries.get(full)
        if hit is not None and now - hit[0] < ttl:
            _entries.move_to_end(full)
            return hit[1]  # type: ignore[no-any-return]
        gate = _computing.setdefault(full, threading.Lock())
    with gate:
        with _lock:
            hit = _entries.get(full)
            if hit is not None and time.monotonic() - hit[0] < ttl:
                return hit[1]  # type: ignore[no-any-return]
        value = compute()
        with _lock:
            _entries[full] = (time.monotonic(), value)
            _entries.move_to_end(full)
            while len(_entries) > MAX_ENTRIES:
                _entries.popitem(last=False)
            _computing.pop(full, None)
        return value


def clear() -> None:
    with _lock:
        _entries.clear()
