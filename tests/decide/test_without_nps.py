"""A store of star ratings has no NPS: the simulator and opportunities say so, and point to what does
rank its themes (drivers against the rating), never an empty ranking."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import CxError
from cxchange.decide.service import opportunities
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.understand.analyze import analyze
from cxchange.understand.cli_taxonomy import builtin_taxonomy
from cxchange.understand.themes import taxonomy as tx


def test_opportunities_on_ratings_only_name_the_ratings_and_the_drivers_command(engine: Engine) -> None:
    texts = ["The staff were rude and slow", "Waited an hour in the queue", "Great price, friendly staff"]
    frame = pl.DataFrame(
        {
            "Comment": [f"{texts[i % 3]} (visit {i})" for i in range(30)],
            "Stars": [str(1 + i % 5) for i in range(30)],
        }
    )
    import_frame(engine, frame, ImportOptions(source="reviews", map_options=("text=Comment", "rating=Stars")))
    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    analyze(engine)
    with pytest.raises(CxError) as err:
        opportunities(engine)
    message = str(err.value)
    assert message.startswith("no NPS answers in scope: the simulator needs 0–10 scores")
    assert "30 rating answers" in message and "cxchange drivers --target rating --from themes" in message
