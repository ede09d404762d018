"""mention rollups: daily mention counts and polarity sums per source, department and product

Revision ID: 0012_h24
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_h24"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mention_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=128), nullable=False),
        sa.Column("mentions", sa.BigInteger(), nullable=False),
        sa.Column("scored", sa.BigInteger(), nullable=False),
        sa.Column("polarity_sum", sa.Float(), nullable=False),
        sa.Column("polarity_sq", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "source", "department_id", "product", name=op.f("pk_mention_rollups")),
    )
    # Existing mentions are counted once here; from now on every way in keeps the counts up to date.
    from feedback.services.rollups import rebuild_mentions

    rebuild_mentions(op.get_bind())


def downgrade() -> None:
    op.drop_table("mention_rollups")
