"""All tables. Import models from here."""

from feedback.models.auth import ApiToken, Role
from feedback.models.base import Base, utcnow
from feedback.models.department import Department
from feedback.models.invitation import Invitation
from feedback.models.response import Answer, Response
from feedback.models.survey import SCALES, Question, QuestionKind, Survey, SurveyStatus

__all__ = [
    "SCALES",
    "Answer",
    "ApiToken",
    "Base",
    "Department",
    "Invitation",
    "Question",
    "QuestionKind",
    "Response",
    "Role",
    "Survey",
    "SurveyStatus",
    "utcnow",
]
