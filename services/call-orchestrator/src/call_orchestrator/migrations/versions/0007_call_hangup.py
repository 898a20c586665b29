"""Hanging up a call through the API: when a user asked for it (so that whichever signal
completes the call, our own or LiveKit's webhook, records it as hung up by the user) and why a
completed call ended. NULL on calls before this revision: no reason known.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE calls ADD COLUMN end_reason text")
    op.execute("ALTER TABLE calls ADD COLUMN hangup_requested_at timestamptz")


def downgrade() -> None:
    op.execute("ALTER TABLE calls DROP COLUMN hangup_requested_at")
    op.execute("ALTER TABLE calls DROP COLUMN end_reason")
