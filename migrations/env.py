"""Alembic environment: one target schema built from every module that owns project tables.

Why a list: each part of Signpost keeps its tables beside its code (SQLAlchemy Core `metadata`),
and Alembic must see all of them at once to compare models with migrations. Add a module here
when it gains tables, then `alembic revision --autogenerate -m "..."` and review the script.
The database is `-x url=...`, else the sqlalchemy.url option, else DATABASE_URL, else the
SQLite file the directory uses by default.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from alembic import context
from sqlalchemy import MetaData, create_engine, pool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# modules whose `metadata` holds project tables (the lead extends this list)
METADATA_MODULES = [
    "signposting.directory",
    "signposting.outcomes",
    "signposting.staff",        # handoff's metadata, with the staff tables registered on it
    "signposting.consent",
    "signposting.records",
    "signposting.followup",
    "channels.state",
]
# tables in the same database that are not ours: Rasa's SQL tracker store creates its own
FOREIGN_TABLES = {"events", "signpost_forgotten"}   # privacy tombstones live beside the tracker


def target_metadata() -> list[MetaData]:
    return [importlib.import_module(name).metadata for name in METADATA_MODULES]  # type: ignore[attr-defined]


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from signposting.directory import default_url

    return os.environ.get("DATABASE_URL") or default_url()


def include_name(name: Any, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def configure(**kwargs: Any) -> None:
    url = database_url()
    context.configure(target_metadata=target_metadata(), include_name=include_name, compare_type=True,
                      render_as_batch=url.startswith("sqlite"), **kwargs)


def run_migrations_offline() -> None:
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:  # a caller (a test) lent its own connection
        configure(connection=connectable)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool, future=True)
    with engine.connect() as connection:
        configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
