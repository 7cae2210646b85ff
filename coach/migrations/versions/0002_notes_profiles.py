"""Notes and the superior's profile, per workspace (legacy user_version 2).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("workspace", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.UniqueConstraint("workspace", "name"),
    )
    op.create_table(
        "profiles",
        sa.Column("workspace", sa.Text, primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_index("conversations_workspace", "conversations", ["workspace", "updated"])


def downgrade() -> None:
    op.drop_index("conversations_workspace", "conversations")
    op.drop_table("profiles")
    op.drop_table("notes")
