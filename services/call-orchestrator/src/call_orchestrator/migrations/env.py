"""Alembic environment: call-orchestrator's schema, migrated over asyncpg."""

from alembic import context

from talkifai_common.db import run_alembic_env

run_alembic_env(context.config)
