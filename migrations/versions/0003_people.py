"""People: consent records, kept plans, follow-ups; and the handoff, staff and channel tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

The handoff and staff tables (signposting/handoff.py, signposting/staff.py) and the channels'
state (channels/state.py) were created on first use before they were migrated; a database that
already has them is adopted as it is: each table (with its indexes) is created only if missing.
Times are stored as naive UTC DateTime (signposting.handoff.UTCDateTime adds the zone on read).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> indexed columns (each index is ix_<table>_<column>, as SQLAlchemy names index=True columns)
INDEXES = {
    "handoff_consents": ["sender_id"],
    "handoff_requests": ["sender_id", "status"],
    "handoff_messages": ["request_id", "sender_id"],
    "handoff_audit": ["sender_id"],
    "handoff_login_failures": ["key"],
    "handoff_staff_sessions": ["staff_id"],
    "consent_records": ["sender_key"],
    "record_people": ["updated_at"],
    "record_senders": ["person_id"],
    "record_plans": ["person_id"],
    "followups": ["due_at", "sender_id", "status"],
    "channel_sms_state": ["updated_at"],
    "channel_telegram_payloads": ["updated_at"],
    "channel_seen_messages": ["seen_at"],
    "channel_webchat_outbox": ["created_at", "sender_id"],
}


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _tables() -> list[tuple[str, list]]:
    """Every table, parents before children."""
    when = sa.DateTime
    return [
        # ----------------------------------------------------------------- handoff (signposting/handoff.py)
        ("handoff_consents", [
            _id(),
            sa.Column("sender_id", sa.String(200), nullable=False),
            sa.Column("share_summary", sa.Boolean, nullable=False),
            sa.Column("store_phone", sa.Boolean, nullable=False),
            sa.Column("scope", sa.Text, nullable=False),
            sa.Column("recipient", sa.String(100), nullable=False),
            sa.Column("given_at", when, nullable=False),
            sa.Column("withdrawn_at", when),
        ]),
        ("handoff_requests", [
            _id(),
            sa.Column("sender_id", sa.String(200), nullable=False),
            sa.Column("channel", sa.String(40), nullable=False),
            sa.Column("kind", sa.String(10), nullable=False),
            sa.Column("status", sa.String(12), nullable=False),
            sa.Column("consent_id", sa.Integer, sa.ForeignKey("handoff_consents.id"), nullable=False),
            sa.Column("summary_json", sa.Text, nullable=False),
            sa.Column("summary_text", sa.Text, nullable=False),
            sa.Column("phone", sa.String(20)),
            sa.Column("preferred_time", sa.String(40)),
            sa.Column("preferred_channel", sa.String(20)),
            sa.Column("call_from", when),
            sa.Column("created_at", when, nullable=False),
            sa.Column("updated_at", when, nullable=False),
            sa.Column("taken_by", sa.String(64)),
            sa.Column("taken_at", when),
            sa.Column("closed_at", when),
            sa.Column("closed_by", sa.String(64)),
            sa.Column("outcome", sa.String(40)),
        ]),
        ("handoff_messages", [
            _id(),
            sa.Column("request_id", sa.Integer, sa.ForeignKey("handoff_requests.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("sender_id", sa.String(200), nullable=False),
            sa.Column("staff", sa.String(64), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("sent_at", when, nullable=False),
            sa.Column("delivered", sa.Boolean, nullable=False),
        ]),
        ("handoff_audit", [
            _id(),
            sa.Column("sender_id", sa.String(200)),
            sa.Column("request_id", sa.Integer),
            sa.Column("staff", sa.String(64)),
            sa.Column("action", sa.String(40), nullable=False),
            sa.Column("at", when, nullable=False),
        ]),
        ("handoff_deletions", [
            _id(),
            sa.Column("at", when, nullable=False),
            sa.Column("requested_by", sa.String(20), nullable=False),
            sa.Column("rows_removed", sa.Integer, nullable=False),
        ]),
        # ----------------------------------------------------------------- staff (signposting/staff.py)
        ("handoff_staff", [
            _id(),
            sa.Column("username", sa.String(64), nullable=False, unique=True),
            sa.Column("display_name", sa.String(120), nullable=False),
            sa.Column("password_hash", sa.String(200), nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("created_at", when, nullable=False),
            sa.Column("last_login_at", when),
        ]),
        ("handoff_staff_sessions", [
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("staff_id", sa.Integer, sa.ForeignKey("handoff_staff.id", ondelete="CASCADE"), nullable=False),
            sa.Column("csrf_token", sa.String(64), nullable=False),
            sa.Column("created_at", when, nullable=False),
            sa.Column("last_seen_at", when, nullable=False),
        ]),
        ("handoff_login_failures", [
            _id(),
            sa.Column("key", sa.String(200), nullable=False),
            sa.Column("at", when, nullable=False),
        ]),
        # ----------------------------------------------------------------- consent (signposting/consent.py)
        ("consent_records", [
            _id(),
            sa.Column("sender_key", sa.String(64), nullable=False),
            sa.Column("scope", sa.String(20), nullable=False),
            sa.Column("recipient", sa.String(100), nullable=False),
            sa.Column("wording", sa.Text, nullable=False),
            sa.Column("given_at", when, nullable=False),
            sa.Column("withdrawn_at", when),
        ]),
        ("consent_deletions", [
            _id(),
            sa.Column("at", when, nullable=False),
            sa.Column("requested_by", sa.String(20), nullable=False),
            sa.Column("rows_removed", sa.Integer, nullable=False),
        ]),
        # ----------------------------------------------------------------- kept plans (signposting/records.py)
        ("record_people", [
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("created_at", when, nullable=False),
            sa.Column("updated_at", when, nullable=False),
        ]),
        ("record_senders", [
            sa.Column("sender_key", sa.String(64), primary_key=True),
            sa.Column("person_id", sa.String(32), sa.ForeignKey("record_people.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("linked_at", when, nullable=False),
        ]),
        ("record_plans", [
            _id(),
            sa.Column("person_id", sa.String(32), sa.ForeignKey("record_people.id", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("saved_at", when, nullable=False),
            sa.Column("plan_json", sa.Text, nullable=False),
        ]),
        # ----------------------------------------------------------------- follow-ups (signposting/followup.py)
        ("followups", [
            _id(),
            sa.Column("sender_id", sa.String(200), nullable=False),
            sa.Column("channel", sa.String(40), nullable=False),
            sa.Column("due_at", when, nullable=False),
            sa.Column("created_at", when, nullable=False),
            sa.Column("updated_at", when, nullable=False),
            sa.Column("status", sa.String(12), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("last_error", sa.String(200)),
            sa.Column("reason", sa.String(40)),
            sa.Column("consent_id", sa.Integer, nullable=False),
            sa.Column("claimed_by", sa.String(40)),
            sa.Column("claimed_at", when),
            sa.Column("sent_at", when),
        ]),
        # ----------------------------------------------------------------- channels (channels/state.py)
        ("channel_sms_state", [
            sa.Column("sender_id", sa.String(128), primary_key=True),
            sa.Column("options", sa.Text, nullable=False),
            sa.Column("more", sa.Text),
            sa.Column("updated_at", sa.Float, nullable=False),
        ]),
        ("channel_telegram_payloads", [
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("payload", sa.Text, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        ]),
        ("channel_seen_messages", [
            sa.Column("channel", sa.String(40), primary_key=True),
            sa.Column("message_id", sa.String(128), primary_key=True),
            sa.Column("seen_at", sa.Float, nullable=False),
        ]),
        ("channel_webchat_outbox", [
            _id(),
            sa.Column("sender_id", sa.String(128), nullable=False),
            sa.Column("message", sa.Text, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
        ]),
        ("channel_opt_outs", [
            sa.Column("sender_id", sa.String(128), primary_key=True),
            sa.Column("opted_out_at", sa.Float, nullable=False),
        ]),
    ]


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    for name, columns in _tables():
        if not _missing(name):
            continue
        op.create_table(name, *columns)
        for column in INDEXES.get(name, []):
            op.create_index(f"ix_{name}_{column}", name, [column])


def downgrade() -> None:
    for name, _columns in reversed(_tables()):
        for column in INDEXES.get(name, []):
            op.drop_index(f"ix_{name}_{column}", table_name=name)
        op.drop_table(name)
