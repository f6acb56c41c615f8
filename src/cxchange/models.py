"""Every stage's tables on the one Base, so Alembic sees the whole schema."""

from cxchange.auth.models import (  # noqa: F401  (registers the sign-in tables on Base)
    ApiToken,
    AppSecret,
    AuditEntry,
    User,
    UserUnit,
)
from cxchange.change.models import (  # noqa: F401  (registers the change tables on Base)
    ChangeAgent,
    Communication,
    ImpactAssessment,
    Initiative,
    InitiativeStep,
    InitiativeUnit,
    RaciAssignment,
    ReadinessResponse,
    ResistanceItem,
    SuccessMetric,
    TrainingAttendance,
    TrainingSession,
)
from cxchange.core.base import Base
from cxchange.core.models import PendingWork, StoreIdentity  # noqa: F401  (identity, after-commit work)
from cxchange.decide.models import DecideSnapshot  # noqa: F401  (the decide page's stored figures)
from cxchange.listen.models import Feedback, FeedbackChanges, ImportBatch, RejectedRow, Source
from cxchange.listen.rollup_tables import (  # noqa: F401  (PostgreSQL's score roll-up, Core tables)
    feedback_rollup,
    feedback_rollup_state,
)
from cxchange.listen.search import SearchIndexState  # noqa: F401  (the search index's bookkeeping)
from cxchange.listen.surveys.models import (  # noqa: F401  (surveys, links, pulses, invitations)
    HeldComment,
    IngestMapping,
    PulseAnswer,
    Survey,
    SurveyInvitation,
    SurveyLink,
    SurveyOptOut,
)
from cxchange.org.models import OrgUnit, Person
from cxchange.sustain.models import (  # noqa: F401  (registers the sustain tables on Base)
    Alert,
    AlertDelivery,
    AlertRule,
    Case,
    CaseRule,
    Recognition,
)
from cxchange.understand.models import (
    AnalysisRun,
    FeedbackSentiment,
    FeedbackTheme,
    TaxonomyVersion,
    Theme,
)

__all__ = [
    "AnalysisRun",
    "Base",
    "Feedback",
    "FeedbackChanges",
    "FeedbackSentiment",
    "FeedbackTheme",
    "ImportBatch",
    "OrgUnit",
    "Person",
    "RejectedRow",
    "Source",
    "TaxonomyVersion",
    "Theme",
]
