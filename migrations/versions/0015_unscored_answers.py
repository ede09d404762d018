"""unscored answers: an index of the comments whose sentiment is still to be scored

The response writer stores a comment first and scores its sentiment after the commit
(responses/scoring.py); the scorer finds the comments left to score through this partial index.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSCORED = "analyzer IS NULL AND text IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_answers_unscored",
        "answers",
        ["response_id"],
        sqlite_where=sa.text(UNSCORED),
        postgresql_where=sa.text(UNSCORED),
    )


def downgrade() -> None:
    op.drop_index("ix_answers_unscored", table_name="answers")
