"""Print the PostgreSQL URL the test suite should use, if a server answers there.

Used by ``make test-postgres``. The URL is ``TEST_DATABASE_URL`` when set, else the local
default server. Exit status:

* 0: the server answered; its URL is printed on stdout;
* 1: nobody answered at the default URL (the caller may skip, except in CI);
* 2: ``TEST_DATABASE_URL`` was set but its server did not answer (always an error).
"""

from __future__ import annotations

import os
import sys

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def libpq_url(url: str) -> str:
    """The URL without SQLAlchemy's driver suffix, as libpq expects it."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def server_answers(url: str) -> str | None:
    """None if ``SELECT 1`` works at ``url``, else why not."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip() or type(error).__name__
    return None


def main() -> int:
    explicit = os.environ.get("TEST_DATABASE_URL", "").strip()
    url = explicit or DEFAULT_URL
    problem = server_answers(url)
    if problem is not None:
        where = "TEST_DATABASE_URL" if explicit else "the default URL"
        print(f"No PostgreSQL server answered at {where} ({url}): {problem}", file=sys.stderr)
        return 2 if explicit else 1
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
