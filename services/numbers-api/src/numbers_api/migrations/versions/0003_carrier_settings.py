"""Carrier settings of a number: its carrier profile, where inbound calls may come from (source
ranges, digest credentials, or explicitly anywhere), the outbound number format and headers, and
the trunk doctor's last check.

Existing numbers keep answering as they did: those that are not Twilio's (the one carrier whose
termination hosts we recognise, `*.pstn.twilio.com`, and whose source ranges its profile holds)
are marked `inbound_allow_any_source`, which the Studio shows as a warning until their sources or
credentials are set.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE phone_numbers
            ADD COLUMN carrier                           text NOT NULL DEFAULT 'custom',
            ADD COLUMN inbound_allowed_addresses         text[],
            ADD COLUMN inbound_auth_username             text,
            ADD COLUMN inbound_auth_password_ciphertext  text,
            ADD COLUMN inbound_allow_any_source          boolean NOT NULL DEFAULT false,
            ADD COLUMN number_format                     jsonb,
            ADD COLUMN sip_headers                       jsonb,
            ADD COLUMN last_check                        jsonb,
            ADD COLUMN check_due_at                      timestamptz
        """
    )
    op.execute(
        """
        UPDATE phone_numbers SET carrier = 'twilio'
        WHERE split_part(termination_uri, ':', 1) LIKE '%.pstn.twilio.com'
        """
    )
    op.execute("UPDATE phone_numbers SET inbound_allow_any_source = true WHERE carrier = 'custom'")
    # The periodic re-check takes the numbers whose check is due, oldest first.
    op.execute(
        "CREATE INDEX phone_numbers_check_due ON phone_numbers (check_due_at, created_at) "
        "WHERE termination_uri IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE phone_numbers
            DROP COLUMN carrier,
            DROP COLUMN inbound_allowed_addresses,
            DROP COLUMN inbound_auth_username,
            DROP COLUMN inbound_auth_password_ciphertext,
            DROP COLUMN inbound_allow_any_source,
            DROP COLUMN number_format,
            DROP COLUMN sip_headers,
            DROP COLUMN last_check,
            DROP COLUMN check_due_at
        """
    )
