"""The LiveKit resources of each number's last synced version, from trunk-sync's results.

Internal callers read them with the number (call-orchestrator fills its read model from them when
the event stream no longer holds a number's history).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE phone_numbers
            ADD COLUMN inbound_trunk_id  text,
            ADD COLUMN outbound_trunk_id text,
            ADD COLUMN dispatch_rule_id  text
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE phone_numbers
            DROP COLUMN inbound_trunk_id,
            DROP COLUMN outbound_trunk_id,
            DROP COLUMN dispatch_rule_id
        """
    )
