"""Recordings egress could not upload: kept in egress's backup storage (`recording_backup_location`)
and uploaded again by call-orchestrator until object storage takes them (attempts and the next
one's time); the recording stays `pending` meanwhile. And the end-of-call reports still to queue.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE calls
            ADD COLUMN recording_backup_location text,
            ADD COLUMN recording_upload_attempts integer NOT NULL DEFAULT 0,
            ADD COLUMN recording_next_upload_at timestamptz
        """
    )
    op.execute(
        "CREATE INDEX calls_recording_uploads_due ON calls (recording_next_upload_at) "
        "WHERE recording_status = 'pending' AND recording_backup_location IS NOT NULL"
    )
    # The report pass reads the complete transcripts whose report is not queued yet.
    op.execute(
        "CREATE INDEX call_transcripts_report_waiting ON call_transcripts (call_id) "
        "WHERE report_queued_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX call_transcripts_report_waiting")
    op.execute("DROP INDEX calls_recording_uploads_due")
    op.execute(
        """
        ALTER TABLE calls
            DROP COLUMN recording_next_upload_at,
            DROP COLUMN recording_upload_attempts,
            DROP COLUMN recording_backup_location
        """
    )
