"""Campaigns: batches of outbound calls with their rows, attempts and the do-not-call list; the
calls a campaign placed name its campaign, row and attempt.

The scheduler's state is here, so several replicas share it: a campaign's `next_dial_at` paces
its dials (advanced under the campaign row's lock), and an attempt is written with its call id and
a fencing token before the call is dialed (the call is only recorded while the token holds).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE campaigns (
            id                  text PRIMARY KEY,
            org_id              text NOT NULL,
            name                text NOT NULL,
            status              text NOT NULL,
            agent_id            text NOT NULL,
            agent_name          text NOT NULL,
            from_numbers        text[] NOT NULL,
            windows             jsonb,
            pacing              jsonb NOT NULL,
            retry               jsonb NOT NULL,
            start_at            timestamptz,
            ringing_timeout_s   integer,
            metadata_columns    text[] NOT NULL DEFAULT '{}',
            total_rows          integer NOT NULL,
            next_dial_at        timestamptz NOT NULL DEFAULT 'epoch',
            dials               bigint NOT NULL DEFAULT 0,
            last_served_at      timestamptz NOT NULL DEFAULT 'epoch',
            created_by          text NOT NULL,
            created_at          timestamptz NOT NULL,
            started_at          timestamptz,
            completed_at        timestamptz,
            updated_at          timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX campaigns_org_created ON campaigns (org_id, created_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX campaigns_running ON campaigns (last_served_at) WHERE status = 'running'"
    )
    op.execute(
        """
        CREATE TABLE campaign_rows (
            id                  text PRIMARY KEY,
            campaign_id         text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
            line                integer NOT NULL,
            to_number           text NOT NULL,
            time_zone           text,
            zones               text[] NOT NULL,
            metadata            jsonb NOT NULL DEFAULT '{}',
            status              text NOT NULL DEFAULT 'pending',
            attempts            integer NOT NULL DEFAULT 0,
            counted_attempts    integer NOT NULL DEFAULT 0,
            next_attempt_at     timestamptz NOT NULL DEFAULT 'epoch',
            last_outcome        text,
            last_sip_status_code integer,
            last_call_id        text,
            completed_at        timestamptz,
            UNIQUE (campaign_id, line)
        )
        """
    )
    op.execute(
        "CREATE INDEX campaign_rows_due ON campaign_rows (campaign_id, next_attempt_at, line) "
        "WHERE status IN ('pending', 'waiting_retry')"
    )
    op.execute("CREATE INDEX campaign_rows_status ON campaign_rows (campaign_id, status, line)")
    op.execute("CREATE SEQUENCE campaign_fence")
    op.execute(
        """
        CREATE TABLE campaign_attempts (
            row_id              text NOT NULL REFERENCES campaign_rows (id) ON DELETE CASCADE,
            number              integer NOT NULL,
            campaign_id         text NOT NULL,
            org_id              text NOT NULL,
            call_id             text NOT NULL UNIQUE,
            from_number         text NOT NULL,
            fence               bigint NOT NULL,
            lease_owner         text NOT NULL,
            lease_expires_at    timestamptz NOT NULL,
            call_recorded       boolean NOT NULL DEFAULT false,
            started_at          timestamptz NOT NULL,
            ended_at            timestamptz,
            outcome             text,
            sip_status_code     integer,
            detail              text,
            PRIMARY KEY (row_id, number)
        )
        """
    )
    op.execute(
        "CREATE INDEX campaign_attempts_open ON campaign_attempts (campaign_id) "
        "WHERE outcome IS NULL"
    )
    op.execute(
        "CREATE INDEX campaign_attempts_open_org ON campaign_attempts (org_id) "
        "WHERE outcome IS NULL AND NOT call_recorded"
    )
    op.execute(
        """
        CREATE TABLE do_not_call (
            org_id      text NOT NULL,
            number      text NOT NULL,
            reason      text,
            added_at    timestamptz NOT NULL,
            added_by    text NOT NULL,
            PRIMARY KEY (org_id, number)
        )
        """
    )
    op.execute(
        "ALTER TABLE calls ADD COLUMN campaign_id text, ADD COLUMN campaign_row_id text, "
        "ADD COLUMN campaign_attempt integer"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE calls DROP COLUMN campaign_id, DROP COLUMN campaign_row_id, "
        "DROP COLUMN campaign_attempt"
    )
    op.execute("DROP TABLE do_not_call")
    op.execute("DROP TABLE campaign_attempts")
    op.execute("DROP SEQUENCE campaign_fence")
    op.execute("DROP TABLE campaign_rows")
    op.execute("DROP TABLE campaigns")
