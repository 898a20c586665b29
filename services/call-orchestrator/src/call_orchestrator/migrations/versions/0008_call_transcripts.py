"""Call transcripts from agent-runtime's `telephony.call.transcript` events: one row per call
(its parts count, `truncated`, the usage the events carried, when its end-of-call report was
queued for the customer webhook) and one row per part (its items), idempotent by
(call_id, part).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE call_transcripts (
            call_id          text PRIMARY KEY REFERENCES calls (id),
            org_id           text NOT NULL,
            agent_id         text NOT NULL,
            parts            integer NOT NULL CHECK (parts >= 1),
            truncated        boolean NOT NULL,
            usage            jsonb,
            started_at       timestamptz NOT NULL,
            ended_at         timestamptz NOT NULL,
            received_at      timestamptz NOT NULL DEFAULT now(),
            report_queued_at timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE call_transcript_parts (
            call_id text NOT NULL REFERENCES call_transcripts (call_id) ON DELETE CASCADE,
            part    integer NOT NULL CHECK (part >= 1),
            items   jsonb NOT NULL,
            PRIMARY KEY (call_id, part)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE call_transcript_parts")
    op.execute("DROP TABLE call_transcripts")
