"""Outcomes: anonymous daily counts from the conversation events, and the keys that make counting idempotent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "outcomes_seen",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
    )
    op.create_index("ix_outcomes_seen_day", "outcomes_seen", ["day"])
    op.create_table(
        "outcomes_daily",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("metric", sa.String(40), primary_key=True),
        sa.Column("channel", sa.String(40), primary_key=True),
        sa.Column("dimension", sa.String(60), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outcomes_daily")
    op.drop_index("ix_outcomes_seen_day", table_name="outcomes_seen")
    op.drop_table("outcomes_seen")
