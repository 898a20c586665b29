"""Call recordings: where a call's egress stored its file (object storage or a local path), its
size and length, and its status (pending while recording and uploading, available, failed,
deleted); each organization's retention period. NULL status on calls without a recording
(every call before this revision: their egress results were never kept).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE calls
            ADD COLUMN recording_status text CHECK (
                recording_status IN ('pending', 'available', 'failed', 'deleted')),
            ADD COLUMN recording_storage text CHECK (recording_storage IN ('s3', 'file')),
            ADD COLUMN recording_bucket text,
            ADD COLUMN recording_key text,
            ADD COLUMN recording_location text,
            ADD COLUMN recording_size_bytes bigint,
            ADD COLUMN recording_duration_s double precision,
            ADD COLUMN recording_error text,
            ADD COLUMN recording_stored_at timestamptz,
            ADD COLUMN recording_deleted_at timestamptz
        """
    )
    # LiveKit's egress_ended webhook names the egress, not the call.
    op.execute(
        "CREATE UNIQUE INDEX calls_recording_egress ON calls (recording_egress_id) "
        "WHERE recording_egress_id IS NOT NULL"
    )
    # The retention pass reads the available recordings oldest first.
    op.execute(
        "CREATE INDEX calls_recordings_available ON calls (recording_stored_at) "
        "WHERE recording_status = 'available'"
    )
    op.execute(
        """
        CREATE TABLE recording_retention (
            org_id     text PRIMARY KEY,
            days       integer NOT NULL CHECK (days >= 0),
            updated_at timestamptz NOT NULL DEFAULT now(),
            updated_by text NOT NULL
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE recording_retention")
    op.execute("DROP INDEX calls_recordings_available")
    op.execute("DROP INDEX calls_recording_egress")
    op.execute(
        """
        ALTER TABLE calls
            DROP COLUMN recording_deleted_at,
            DROP COLUMN recording_stored_at,
            DROP COLUMN recording_error,
            DROP COLUMN recording_duration_s,
            DROP COLUMN recording_size_bytes,
            DROP COLUMN recording_location,
            DROP COLUMN recording_key,
            DROP COLUMN recording_bucket,
            DROP COLUMN recording_storage,
            DROP COLUMN recording_status
        """
    )
