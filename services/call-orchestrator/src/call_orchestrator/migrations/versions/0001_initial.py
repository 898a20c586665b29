"""Read models, call history, idempotency keys, customer webhook queue and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

from talkifai_common.outbox import OUTBOX_DDL

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- read models, built from numbers-api's and trunk-sync's events -----------------------
    op.execute(
        """
        CREATE TABLE agents (
            id           text PRIMARY KEY,
            org_id       text NOT NULL,
            name         text NOT NULL,
            architecture text NOT NULL,
            version      bigint NOT NULL,
            deleted      boolean NOT NULL DEFAULT false
        )
        """
    )
    op.execute(
        """
        CREATE TABLE phone_numbers (
            id                  text PRIMARY KEY,
            org_id              text NOT NULL,
            phone_number        text NOT NULL,
            inbound_agent_id    text,
            inbound_agent_name  text,
            inbound_agent_arch  text,
            outbound_agent_id   text,
            outbound_agent_name text,
            outbound_agent_arch text,
            webhook_url         text,
            recording_mode      text NOT NULL DEFAULT 'disabled',
            version             bigint NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX phone_numbers_number ON phone_numbers (phone_number)")
    # A deleted number leaves only its id and last version, so late events cannot revive it.
    op.execute(
        "CREATE TABLE phone_number_tombstones (id text PRIMARY KEY, version bigint NOT NULL)"
    )
    op.execute(
        """
        CREATE TABLE phone_number_sync (
            phone_number_id   text PRIMARY KEY,
            version           bigint NOT NULL,
            state             text NOT NULL,
            outbound_trunk_id text,
            inbound_trunk_id  text,
            dispatch_rule_id  text,
            at                timestamptz NOT NULL
        )
        """
    )
    # --- call history --------------------------------------------------------------------------
    op.execute(
        """
        CREATE TABLE calls (
            id                   text PRIMARY KEY,
            org_id               text NOT NULL,
            direction            text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
            status               text NOT NULL CHECK (status IN
                                 ('initiated', 'ringing', 'answered', 'completed', 'failed')),
            phone_number_id      text,
            phone_number         text NOT NULL,
            from_number          text NOT NULL,
            to_number            text NOT NULL,
            agent_id             text,
            agent_name           text,
            room_name            text NOT NULL,
            participant_identity text,
            sip_call_id          text,
            dispatch_id          text,
            failure_reason       text,
            sip_status_code      integer,
            webhook_url          text,
            recording_mode       text NOT NULL DEFAULT 'disabled',
            recording_egress_id  text,
            recording_consent_at timestamptz,
            participant_left_at  timestamptz,
            started_at           timestamptz NOT NULL DEFAULT now(),
            ringing_at           timestamptz,
            answered_at          timestamptz,
            ended_at             timestamptz,
            updated_at           timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # One live call per room: the same two numbers cannot be in two outbound calls at once.
    op.execute(
        "CREATE UNIQUE INDEX calls_live_room ON calls (room_name) "
        "WHERE status IN ('initiated', 'ringing', 'answered')"
    )
    # Live calls per organization, kept with every call start and end (the concurrency cap).
    op.execute(
        "CREATE TABLE org_live_calls (org_id text PRIMARY KEY, live integer NOT NULL DEFAULT 0)"
    )
    op.execute("CREATE INDEX calls_org_started ON calls (org_id, started_at DESC, id DESC)")
    op.execute("CREATE INDEX calls_room ON calls (room_name)")
    op.execute("CREATE INDEX calls_sip_call ON calls (sip_call_id)")
    op.execute(
        """
        CREATE TABLE idempotency_keys (
            org_id       text NOT NULL,
            key          text NOT NULL,
            request_hash text NOT NULL,
            status_code  integer,
            response     jsonb,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (org_id, key)
        )
        """
    )
    # LiveKit webhook ids already handled (LiveKit retries deliveries).
    op.execute(
        """
        CREATE TABLE livekit_webhook_events (
            id          text PRIMARY KEY,
            received_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # --- customer webhooks ---------------------------------------------------------------------
    op.execute(
        """
        CREATE TABLE webhook_deliveries (
            id              bigserial PRIMARY KEY,
            event_id        text NOT NULL UNIQUE,
            call_id         text NOT NULL,
            org_id          text NOT NULL,
            url             text NOT NULL,
            payload         text NOT NULL,
            state           text NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts        integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            give_up_at      timestamptz NOT NULL,
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            delivered_at    timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
        "WHERE state = 'pending'"
    )
    op.execute(
        """
        CREATE TABLE webhook_attempts (
            id           bigserial PRIMARY KEY,
            delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            attempt      integer NOT NULL,
            attempted_at timestamptz NOT NULL DEFAULT now(),
            status_code  integer,
            error        text,
            duration_ms  double precision NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id)")
    op.execute(OUTBOX_DDL)


def downgrade() -> None:
    for table in (
        "outbox",
        "webhook_attempts",
        "webhook_deliveries",
        "livekit_webhook_events",
        "idempotency_keys",
        "org_live_calls",
        "calls",
        "phone_number_sync",
        "phone_number_tombstones",
        "phone_numbers",
        "agents",
    ):
        op.execute(f"DROP TABLE {table}")
