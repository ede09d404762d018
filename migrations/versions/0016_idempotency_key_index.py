"""idempotency key index: a retried submission is found by its key alone

The writer looked earlier submissions up by survey and key. Without fresh statistics (a new
database, a new survey) PostgreSQL read them through the (survey, submitted_at) index, so each batch
read every response of the survey. An index on the key alone leaves no such choice.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":  # SQLite finds a key through the unique constraint
        return
    op.create_index("ix_responses_idempotency_key", "responses", ["idempotency_key"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_responses_idempotency_key", table_name="responses")
