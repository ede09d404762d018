"""invitation token hash: a unique index instead of a unique constraint

SQLite cannot drop the index of a table's own UNIQUE constraint. As a unique index of its own, a large
invitation import drops it in its transaction and builds it in one sorted pass before the commit, as it
does the other indexes it does not read: each row stored no longer updates it at a random place.
On SQLite the upgrade copies the table (34 s for a million invitations on a 2-core machine); PostgreSQL
builds the index in place.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitations") as batch:  # SQLite: the table is copied without the constraint
        batch.drop_constraint("uq_invitations_token_hash", type_="unique")
        batch.create_index("ix_invitations_token_hash", ["token_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("invitations") as batch:
        batch.drop_index("ix_invitations_token_hash")
        batch.create_unique_constraint("uq_invitations_token_hash", ["token_hash"])
