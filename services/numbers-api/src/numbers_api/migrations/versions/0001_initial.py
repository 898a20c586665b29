"""Agents, phone numbers and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from alembic import op

from talkifai_common.outbox import OUTBOX_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        """
        CREATE TABLE agents (
            id           text PRIMARY KEY,
            org_id       text NOT NULL,
            name         text NOT NULL,
            architecture text NOT NULL CHECK (architecture IN ('pipeline', 'realtime', 'text')),
            config       jsonb NOT NULL,
            version      bigint NOT NULL DEFAULT 1,
            created_at   timestamptz NOT NULL DEFAULT now(),
            updated_at   timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX agents_org_created ON agents (org_id, created_at, id)")
    op.execute(
        """
        CREATE TABLE phone_numbers (
            id                      text PRIMARY KEY,
            org_id                  text NOT NULL,
            phone_number            text NOT NULL UNIQUE,
            termination_uri         text,
            sip_username            text,
            sip_password_ciphertext text,
            inbound_agent_id        text REFERENCES agents (id),
            outbound_agent_id       text REFERENCES agents (id),
            webhook_url             text,
            recording_mode          text NOT NULL DEFAULT 'disabled'
                                    CHECK (recording_mode IN ('disabled', 'all', 'consent')),
            sip_transport           text NOT NULL DEFAULT 'tls'
                                    CHECK (sip_transport IN ('auto', 'udp', 'tcp', 'tls')),
            media_encryption        text NOT NULL DEFAULT 'require'
                                    CHECK (media_encryption IN ('disable', 'allow', 'require')),
            -- lower-cased number and assigned agents' names, for substring search
            search_text             text NOT NULL DEFAULT '',
            sync_state              text NOT NULL DEFAULT 'pending'
                                    CHECK (sync_state IN ('pending', 'synced', 'failed')),
            sync_error              text,
            synced_at               timestamptz,
            version                 bigint NOT NULL DEFAULT 1,
            created_at              timestamptz NOT NULL DEFAULT now(),
            updated_at              timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX phone_numbers_org_number ON phone_numbers (org_id, phone_number)")
    op.execute(
        "CREATE INDEX phone_numbers_search ON phone_numbers USING gin (search_text gin_trgm_ops)"
    )
    op.execute("CREATE INDEX phone_numbers_inbound_agent ON phone_numbers (inbound_agent_id)")
    op.execute("CREATE INDEX phone_numbers_outbound_agent ON phone_numbers (outbound_agent_id)")
    op.execute(OUTBOX_DDL)


def downgrade() -> None:
    op.execute("DROP TABLE outbox")
    op.execute("DROP TABLE phone_numbers")
    op.execute("DROP TABLE agents")
