"""Fixtures of the ledger's tests: `postgres_url`, a fresh PostgreSQL database (skipped without
a server, see tests/postgres_db.py)."""

from postgres_db import postgres_url

__all__ = ["postgres_url"]
