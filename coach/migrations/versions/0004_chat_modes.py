"""The coach chat routes messages: a turn's mode and result; a rehearsal keeps its scenario (legacy 4).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("mode", sa.Text, nullable=False, server_default="ask"))
        batch.add_column(sa.Column("payload", sa.Text))
    with op.batch_alter_table("rehearsals") as batch:
        batch.add_column(sa.Column("scenario_data", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("rehearsals") as batch:
        batch.drop_column("scenario_data")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("payload")
        batch.drop_column("mode")
