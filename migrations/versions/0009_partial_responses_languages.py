"""partial responses and languages: responses.complete and .language, surveys.language and .translations,
invitations.language

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complete", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), server_default="en", nullable=False))
        batch_op.add_column(sa.Column("translations", sa.JSON(), nullable=True))
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("translations")
        batch_op.drop_column("language")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("language")
        batch_op.drop_column("complete")
