"""The provider keys each agent needs (checked against what agent-runtime advertises before an
outbound call dials) and the detail of a call's failure (an agent's error). NULL keys on agents
written before this revision: unknown, so not checked until the agent's next event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE agents ADD COLUMN provider_keys text[]")
    op.execute("ALTER TABLE calls ADD COLUMN failure_detail text")


def downgrade() -> None:
    op.execute("ALTER TABLE calls DROP COLUMN failure_detail")
    op.execute("ALTER TABLE agents DROP COLUMN provider_keys")
