"""What each service's Alembic ``env.py`` runs: migrations on the connection it is handed.

A service's env.py is only::

    from eproc_shared.migrations import run_env
    from eproc_tender.models import metadata
    run_env(metadata)
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, create_engine


def run_env(metadata: MetaData) -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection, metadata)
        return
    # Command-line use (``alembic upgrade head``) with a sync URL in sqlalchemy.url.
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url (a sync URL, for example postgresql://...) to run alembic by hand")
    with create_engine(url).connect() as conn:
        _migrate(conn, metadata)
        conn.commit()


def _migrate(connection: object, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # type: ignore[attr-defined]
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
