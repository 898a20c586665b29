"""How each number's carrier wants numbers written on outbound INVITEs (a leading `+` or not, a
tech prefix), from its carrier profile or its own setting. NULL: E.164 with `+`, as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE phone_numbers ADD COLUMN dial_format jsonb")


def downgrade() -> None:
    op.execute("ALTER TABLE phone_numbers DROP COLUMN dial_format")
