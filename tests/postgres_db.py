"""A fresh PostgreSQL database per test, for the PostgreSQL store's tests.

The server comes from KEEL_TEST_POSTGRES, a libpq URL of a role that may CREATE DATABASE
(`.ci/postgres.sh` starts a private cluster and sets it). Without it, or without psycopg, the
tests that need a database are skipped, unless KEEL_REQUIRE_POSTGRES=1 (then they fail).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

SKIP_REASON = (
    "set KEEL_TEST_POSTGRES to a PostgreSQL URL (`source .ci/postgres.sh` starts a private "
    "server) and pip install 'keel[postgres]'"
)


def server_url() -> str:
    """KEEL_TEST_POSTGRES, or skip (fail with KEEL_REQUIRE_POSTGRES=1) when there is none."""
    url = os.environ.get("KEEL_TEST_POSTGRES")
    why = None if url else "KEEL_TEST_POSTGRES is not set"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        why = "psycopg is not installed"
    if why is not None or url is None:
        if os.environ.get("KEEL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{why}: {SKIP_REASON}", pytrace=False)
        pytest.skip(f"{why}: {SKIP_REASON}")
    return url


def with_database(url: str, name: str) -> str:
    """The same server URL naming the database `name`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database, dropped after the test."""
    import psycopg

    base = server_url()
    name = f"keel_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
