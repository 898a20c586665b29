"""Cost per call: each organization's rate decks (every version kept, so a call's cost can be
recomputed from the deck that priced it), the usage agent-runtime reported per call, and the
cost on the call (its breakdown, and the totals `GET /usage` sums, with an index covering them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COST_COLUMNS = (
    "cost jsonb",
    "billed_s integer",
    "cost_currency text",
    "cost_carrier_micros bigint",
    "cost_llm_micros bigint",
    "cost_stt_micros bigint",
    "cost_tts_micros bigint",
    "cost_total_micros bigint",
)


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE rate_decks (
            org_id     text NOT NULL,
            version    integer NOT NULL CHECK (version > 0),
            deck       jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            created_by text,
            PRIMARY KEY (org_id, version)
        )
        """
    )
    # The first usage reported for a call is the one priced: a redelivery changes nothing.
    op.execute(
        """
        CREATE TABLE call_usage (
            call_id     text PRIMARY KEY,
            org_id      text NOT NULL,
            usage       jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            costed_at   timestamptz
        )
        """
    )
    # Usage waiting for its call to end (the periodic costing reads only these).
    op.execute(
        "CREATE INDEX call_usage_uncosted ON call_usage (received_at) WHERE costed_at IS NULL"
    )
    op.execute("ALTER TABLE calls " + ", ".join(f"ADD COLUMN {c}" for c in _COST_COLUMNS))
    # GET /usage: an organization's calls in a period, grouped and summed from the index alone.
    op.execute(
        """
        CREATE INDEX calls_org_usage ON calls (org_id, started_at)
        INCLUDE (phone_number, agent_id, agent_name, billed_s, cost_currency, cost_carrier_micros,
                 cost_llm_micros, cost_stt_micros, cost_tts_micros, cost_total_micros)
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX calls_org_usage")
    op.execute(
        "ALTER TABLE calls " + ", ".join(f"DROP COLUMN {c.split()[0]}" for c in _COST_COLUMNS)
    )
    op.execute("DROP TABLE call_usage")
    op.execute("DROP TABLE rate_decks")
