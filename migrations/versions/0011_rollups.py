"""rollups: daily counts per survey and interaction context (responses and invitations), filled from the rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("grain", "day", "survey_id", "department_id", "channel", "facet")
SCORES = {"nps": range(0, 11), "csat": range(1, 6), "ces": range(1, 8)}


def _key() -> list[sa.Column]:
    return [
        sa.Column("grain", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("facet", sa.String(length=128), nullable=False),
    ]


def upgrade() -> None:
    counts = [
        "responses",
        *(f"{s}_{v}" for s, values in SCORES.items() for v in values),
        "fcr_yes",
        "fcr_no",
        "comments",
    ]
    op.create_table(
        "response_rollups",
        *_key(),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in counts),
        sa.Column("polarity_sum", sa.Float(), nullable=False),
        sa.Column("polarity_sq", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_response_rollups")),
    )
    op.create_table(
        "invitation_rollups",
        *_key(),
        sa.Column("invitations", sa.BigInteger(), nullable=False),
        sa.Column("responded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_invitation_rollups")),
    )
    # Existing rows are counted by 0012 (services.rollups.rebuild needs that revision's tables and
    # columns too); from then on every write path keeps the counts up to date.


def downgrade() -> None:
    op.drop_table("invitation_rollups")
    op.drop_table("response_rollups")
