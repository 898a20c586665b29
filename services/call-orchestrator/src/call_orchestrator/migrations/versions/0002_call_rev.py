"""A revision number on each call, so a write from a snapshot can check nothing changed since;
an index of live calls by age, for the check of calls whose end LiveKit never reported.

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
    op.execute("ALTER TABLE calls ADD COLUMN rev bigint NOT NULL DEFAULT 0")
    op.execute(
        "CREATE INDEX calls_live_started ON calls (started_at, id) "
        "WHERE status IN ('initiated', 'ringing', 'answered')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX calls_live_started")
    op.execute("ALTER TABLE calls DROP COLUMN rev")
