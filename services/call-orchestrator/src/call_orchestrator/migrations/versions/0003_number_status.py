"""Each number's status (the seed's badge rule, as numbers-api publishes it), so an inactive
number is refused outbound calls. NULL on rows written before this revision: the next event or
read-model refresh fills it in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE phone_numbers ADD COLUMN status text")


def downgrade() -> None:
    op.execute("ALTER TABLE phone_numbers DROP COLUMN status")
