"""Workers: a run's lease (the worker running it and its last heartbeat) and the egress allow-list.

Revision ID: 0003_workers
Revises: 0002_statements
Create Date: 2026-12-07 05:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_workers"
down_revision = "0002_statements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_runs_heartbeat"), ["heartbeat"], unique=False)
    op.create_table(
        "egress_allow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=300), nullable=False),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["added_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry"),
    )


def downgrade() -> None:
    op.drop_table("egress_allow")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_heartbeat"))
        batch_op.drop_column("heartbeat")
        batch_op.drop_column("worker_id")
