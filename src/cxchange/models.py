"""Every stage's tables on the one Base, so Alembic sees the whole schema."""

from cxchange.core.db import Base
from cxchange.listen.models import (
    Feedback,
    FeedbackChanges,
    ImportBatch,
    OrgUnit,
    Person,
    RejectedRow,
    Source,
)

__all__ = ["Base", "Feedback", "FeedbackChanges", "ImportBatch", "OrgUnit", "Person", "RejectedRow", "Source"]
