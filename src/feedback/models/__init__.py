"""All tables. Import models from here."""

from feedback.models.auth import ApiToken, Role
from feedback.models.base import Base, utcnow
from feedback.models.department import Department
from feedback.models.invitation import Invitation
from feedback.models.mention import FeedCursor, Mention
from feedback.models.response import Answer, Response
from feedback.models.survey import SCALES, Question, QuestionKind, Survey, SurveyStatus
from feedback.models.target import Target

__all__ = [
    "SCALES",
    "Answer",
    "ApiToken",
    "Base",
    "Department",
    "FeedCursor",
    "Invitation",
    "Mention",
    "Question",
    "QuestionKind",
    "Response",
    "Role",
    "Survey",
    "SurveyStatus",
    "Target",
    "utcnow",
]
