"""Types of the root conftest's database fixtures, importable by every test directory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

# `database_factory(migrations_dir)` creates a fresh database, migrates it, returns its DSN.
DatabaseFactory = Callable[[Path], Awaitable[str]]
