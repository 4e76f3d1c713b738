"""The directory of services: sources, services and the lookup index.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

A database whose directory tables were made before migrations existed (`Directory()` creates
them when missing) is adopted as it is: each table is created only if it is not there yet.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("directory_sources"):
        op.create_table(
            "directory_sources",
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("records", sa.Integer, nullable=False),
            sa.Column("loaded_at", sa.DateTime, nullable=False),
        )
    if _missing("directory_services"):
        op.create_table(
            "directory_services",
            sa.Column("id", sa.String(200), primary_key=True),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("record_hash", sa.String(40), nullable=False),
            sa.Column("name", sa.String(300), nullable=False),
            sa.Column("local", sa.Boolean, nullable=False),
            sa.Column("open_24_7", sa.Boolean, nullable=False),
            sa.Column("bank_holidays", sa.String(10), nullable=False),
            sa.Column("week", sa.Text, nullable=False),
            sa.Column("who_mask", sa.Integer, nullable=False),
            sa.Column("min_age", sa.Integer),
            sa.Column("max_age", sa.Integer),
            sa.Column("payload", sa.Text, nullable=False),
        )
        op.create_index("ix_directory_services_source", "directory_services", ["source"])
    if _missing("directory_index"):
        op.create_table(
            "directory_index",
            sa.Column("service_id", sa.String(200), sa.ForeignKey("directory_services.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("category", sa.String(60), nullable=False),
            sa.Column("nation", sa.String(20), nullable=False),
            sa.Column("area", sa.String(2), nullable=False),
        )
        op.create_index("ix_directory_lookup", "directory_index", ["category", "nation", "area"])
        op.create_index("ix_directory_service", "directory_index", ["service_id"])


def downgrade() -> None:
    op.drop_table("directory_index")
    op.drop_table("directory_services")
    op.drop_table("directory_sources")
