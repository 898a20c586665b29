"""Indexes for `GET /calls`'s filters, each in the history's order (newest first): by status, and
by the call's from and to numbers (a number filter is one or the other). Without them a filter
that matches few calls (a live status, a caller's number) reads the organization's whole history:
40-50 ms at 100,000 calls (bench/calls.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEXES = {
    "calls_org_status_started": "org_id, status, started_at DESC, id DESC",
    "calls_org_from_started": "org_id, from_number, started_at DESC, id DESC",
    "calls_org_to_started": "org_id, to_number, started_at DESC, id DESC",
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON calls ({columns})")


def downgrade() -> None:
    for name in _INDEXES:
        op.execute(f"DROP INDEX {name}")
