"""The benchmark's own database: dropped and created on the same server, before Django connects to it."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg2  # type: ignore[import-untyped]
from psycopg2 import sql as pgsql  # type: ignore[import-untyped]

# The benchmark drops the database it is given: only one whose name says it is a benchmark's.
NAME_MARKER = "bench"


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def check_disposable(url: str) -> str:
    name = database_name(url)
    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"The benchmark needs PostgreSQL, not {urlsplit(url).scheme!r}")
    if NAME_MARKER not in name:
        raise SystemExit(f"Refusing to drop {name!r}: the benchmark's database name must contain {NAME_MARKER!r}")
    return name


def _maintenance_connection(url: str) -> object:
    parts = urlsplit(url)
    connection = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or "") or None,
        dbname="postgres",
        connect_timeout=5,
    )
    connection.autocommit = True
    return connection


def _execute(url: str, statement: object) -> None:
    connection = _maintenance_connection(url)
    try:
        with connection.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(statement)
    finally:
        connection.close()  # type: ignore[attr-defined]


def drop_database(url: str) -> None:
    name = check_disposable(url)
    _execute(url, pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name)))


def recreate_database(url: str) -> None:
    """An empty database of the benchmark's name (whatever an earlier run left there is dropped)."""
    name = check_disposable(url)
    drop_database(url)
    _execute(url, pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
