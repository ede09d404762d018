"""invitation survey index dropped: the unique (survey_id, dedup_key) index begins with the survey

Every invitation stored paid for a second index that answers nothing the unique one does not.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_invitations_survey_id", table_name="invitations")


def downgrade() -> None:
    op.create_index("ix_invitations_survey_id", "invitations", ["survey_id"])
