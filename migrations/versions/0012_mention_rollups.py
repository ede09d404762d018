"""rollups 2: daily mention counts and polarity sums per source, department and product; responses judged
and dissatisfied per daily rollup row, for the cut-offs rollup_settings records

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
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
    for name in ("judged", "dissatisfied"):
        op.add_column(
            "response_rollups", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "rollup_settings",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_settings")),
    )
    # Existing rows are counted once here; from now on every write path keeps the counts up to date.
    from feedback.metrics.rollups import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("rollup_settings")
    with op.batch_alter_table("response_rollups") as batch:
        batch.drop_column("dissatisfied")
        batch.drop_column("judged")
    op.drop_table("mention_rollups")
