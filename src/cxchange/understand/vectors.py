"""Discovery's sentence embeddings, stored per comment so that `analyze` need not embed it again.

`themes discover --save` embeds every comment it reads (short corpora: MiniLM); the saved matcher of
an embedding theme assigns a comment by the cosine of the same embedder's vector with the theme's
centroid. Before, `analyze` embedded every comment again: half of a short-text session's time
(bench/results/themes_session_banking77_before.json). A vector is stored with the hash of the exact
string embedded (relevance.text_key); `analyze` reads the vectors of a partition's comments and the
model uses those whose hash matches the string it would embed, so a reused vector is the one the
model would compute itself (the same comment and taxonomy version give the same themes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from cxchange.understand.models import ThemeVector

CHUNK = 500  # ids per IN (...) list


def store_vectors(conn: Connection, embedder: str, rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
    """Store (feedback id, text key, vector) rows for ``embedder``, replacing the comments' older ones.
    Returns how many were stored."""
    items = [(int(fid), key, np.asarray(v, np.float32).tobytes()) for fid, key, v in rows]
    ids = [fid for fid, _, _ in items]
    for lo in range(0, len(ids), CHUNK):
        conn.execute(
            delete(ThemeVector).where(
                ThemeVector.embedder == embedder, ThemeVector.feedback_id.in_(ids[lo : lo + CHUNK])
            )
        )
    for lo in range(0, len(items), CHUNK):
        conn.execute(
            insert(ThemeVector),
            [
                {"feedback_id": f, "embedder": embedder, "text_key": k, "vector": b}
                for f, k, b in items[lo : lo + CHUNK]
            ],
        )
    return len(items)


def load_vectors(
    conn: Connection, ids: Sequence[int], embedders: Iterable[str]
) -> dict[str, dict[str, np.ndarray]]:
    """Per embedder, the stored vectors of comments ``ids`` by text key (empty when none)."""
    wanted = sorted(set(embedders))
    out: dict[str, dict[str, np.ndarray]] = {e: {} for e in wanted}
    if not wanted or not ids:
        return out
    for lo in range(0, len(ids), CHUNK):
        stmt = select(ThemeVector.embedder, ThemeVector.text_key, ThemeVector.vector).where(
            ThemeVector.embedder.in_(wanted), ThemeVector.feedback_id.in_(list(ids[lo : lo + CHUNK]))
        )
        for embedder, key, blob in conn.execute(stmt):
            out[embedder][key] = np.frombuffer(blob, np.float32)
    return out
