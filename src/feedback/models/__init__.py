"""All tables. Import models from here."""

from feedback.models.auth import ApiToken, Role
from feedback.models.base import Base, utcnow
from feedback.models.cause import (
    AnalysisRun,
    Cause,
    CauseAssignment,
    CauseEvent,
    CauseLedger,
    CauseStatus,
    RunState,
)
from feedback.models.department import Department
from feedback.models.digest import (
    Alert,
    AlertCooldown,
    CauseFollowup,
    Delivery,
    DeliveryChannel,
    DeliveryState,
    DepartmentHead,
    DigestChart,
    DigestRun,
    FollowupState,
    RunStatus,
)
from feedback.models.invitation import Invitation
from feedback.models.login import LoginSession, LoginThrottle
from feedback.models.mention import FeedCursor, Mention
from feedback.models.outcome import CustomerIdentity, OutcomeEvent
from feedback.models.privacy import ErasureRequest
from feedback.models.response import Answer, Response
from feedback.models.rollup import (
    invitation_rollups,
    mention_rollups,
    response_rollups,
    rollup_settings,
)
from feedback.models.survey import SCALES, Question, QuestionKind, Survey, SurveyStatus
from feedback.models.target import Target
from feedback.models.user import User

__all__ = [
    "SCALES",
    "Alert",
    "AlertCooldown",
    "AnalysisRun",
    "Answer",
    "ApiToken",
    "Base",
    "Cause",
    "CauseAssignment",
    "CauseEvent",
    "CauseFollowup",
    "CauseLedger",
    "CauseStatus",
    "CustomerIdentity",
    "Delivery",
    "DeliveryChannel",
    "DeliveryState",
    "Department",
    "DepartmentHead",
    "DigestChart",
    "DigestRun",
    "ErasureRequest",
    "FeedCursor",
    "FollowupState",
    "Invitation",
    "LoginSession",
    "LoginThrottle",
    "Mention",
    "OutcomeEvent",
    "Question",
    "QuestionKind",
    "Response",
    "Role",
    "RunState",
    "RunStatus",
    "Survey",
    "SurveyStatus",
    "Target",
    "User",
    "invitation_rollups",
    "mention_rollups",
    "response_rollups",
    "rollup_settings",
    "utcnow",
]
