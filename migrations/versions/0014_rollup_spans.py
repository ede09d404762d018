"""rollups 3: weekly and monthly rows beside the daily ones (grain "product:week", "product:month"), summed from
the daily rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from feedback.metrics.rollups import rebuild_spans

    rebuild_spans(op.get_bind())  # no new table or column: rows of a coarser grain in the same tables


def downgrade() -> None:
    for table in ("response_rollups", "invitation_rollups"):
        op.execute(f"DELETE FROM {table} WHERE grain LIKE '%:%'")  # noqa: S608 - our own table names
