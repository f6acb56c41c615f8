"""What a command interrupted by Ctrl-C leaves undone, in the one line the CLI prints (exit 130).

The code that knows says it: `with on_interrupt("nothing imported: the batch was rolled back"): ...`
around the work the line is true of (innermost wins). A KeyboardInterrupt leaving such a block records
its note; `cxchange.cli.main` prints it (only the main thread is ever interrupted).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_left: list[str] = []  # the note of the innermost block a KeyboardInterrupt left (one at most)


@contextmanager
def on_interrupt(note: str) -> Iterator[None]:
    """While the block runs, an interruption means `note` (what was and was not done)."""
    try:
        yield
    except KeyboardInterrupt:
        if not _left:
            _left.append(note)
        raise


def interrupted_note() -> str | None:
    """The note of the block an interruption left, if one said what it means."""
    return _left[0] if _left else None
