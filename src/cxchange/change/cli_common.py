"""What the change commands share: the initiative argument."""

from __future__ import annotations

from typing import Annotated

import typer

Id = Annotated[str, typer.Argument(help="Initiative id (or exact name).")]
