"""Alembic's entry point: works from the `alembic` command (repository root) and from `open_database`, which
hands over its own connection."""

import os

from alembic import context
from sqlalchemy import create_engine

from aigms.db.models import Base

config = context.config
target_metadata = Base.metadata


def url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("AIGMS_DATABASE_URL")
        or "sqlite:///.aigms/aigms.db"
    )


def run(connection: object) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    run(connection)
else:
    with create_engine(url()).connect() as new_connection:
        run(new_connection)
        new_connection.commit()
