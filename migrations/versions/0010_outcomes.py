"""outcomes: outcome_events, customer_identities, and company-defined context fields on invitations/responses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outcome_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_events")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_outcome_events_dedup_key")),
    )
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcome_events_customer_id_occurred_at", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outcome_events_occurred_at"), ["occurred_at"], unique=False)
    op.create_table(
        "customer_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identities")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_customer_identities_customer_id")),
    )
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_identities_person_id"), ["person_id"], unique=False)
    for table in ("invitations", "responses"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("context_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("responses", "invitations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("context_fields")
    with op.batch_alter_table("customer_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_identities_person_id"))
    op.drop_table("customer_identities")
    with op.batch_alter_table("outcome_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_events_occurred_at"))
        batch_op.drop_index("ix_outcome_events_customer_id_occurred_at")
    op.drop_table("outcome_events")
