"""Rehearsals (legacy user_version 3).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rehearsals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("scenario", sa.Text, nullable=False),
        sa.Column("difficulty", sa.Text, nullable=False),
        sa.Column("turns", sa.Text, nullable=False),
        sa.Column("scorecard", sa.Text),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("ended", sa.Float),
    )
    op.create_index("rehearsals_workspace", "rehearsals", ["workspace", "updated"])


def downgrade() -> None:
    op.drop_index("rehearsals_workspace", "rehearsals")
    op.drop_table("rehearsals")
