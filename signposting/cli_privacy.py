"""`signposting privacy ...`: delete a conversation everywhere, and the retention job.

    signposting privacy delete <conversation id> [--yes]     # "delete my data" on someone's behalf
    signposting privacy purge [--older-than-days N] [--dry-run]

Both act on the tracker store (``SIGNPOST_TRACKER_URL``, else the SQLite file
``SIGNPOST_TRACKER_DB``, else ``.rasa/tracker.db``; or ``--tracker-url``), the handoff queue
and its summaries (signposting.handoff), and anything else registered with signposting.privacy.
The retention period is ``SIGNPOST_RETENTION_DAYS`` (default 90). Run ``purge`` daily, e.g.

    15 3 * * *  cd /srv/signpost && .venv/bin/python -m signposting privacy purge

Registered on the main command group by one import at the end of signposting/cli.py.
"""
from __future__ import annotations

import time
from typing import Optional

import click

from signposting import privacy
from signposting.cli import app


@app.group("privacy", help="Delete conversations: on request, and after the retention period.")
def privacy_app() -> None:
    pass


_TRACKER_OPTION = click.option(
    "--tracker-url", default=None, metavar="URL",
    help="SQLAlchemy URL of the tracker store (default: SIGNPOST_TRACKER_URL, or the SQLite file "
         "SIGNPOST_TRACKER_DB, or .rasa/tracker.db).")


def _where(tracker_url: Optional[str]) -> str:
    url = tracker_url or privacy.tracker_url()
    return url.split("@")[-1] if "@" in url else url  # never print a password in a URL


@privacy_app.command("delete")
@click.argument("sender_id")
@_TRACKER_OPTION
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(sender_id: str, tracker_url: Optional[str], yes: bool) -> None:
    """Delete one conversation everywhere (its messages, any handoff request and summary)."""
    sender_id = sender_id.strip()
    if not sender_id:
        raise click.BadParameter("give the conversation id, as shown in the staff console", param_hint="SENDER_ID")
    if not yes:
        click.confirm(f"Delete conversation {sender_id} everywhere? This cannot be undone", abort=True)
    try:
        report = privacy.delete_conversation(sender_id, tracker_url, requested_by="staff")
    except Exception as exc:  # the database is unreachable, for example: say so, plainly
        click.echo(f"Could not delete: {exc}. Nothing was changed in the tracker store at {_where(tracker_url)}.",
                   err=True)
        raise SystemExit(1)
    if not report.complete:
        click.echo(f"Could not delete everything for {sender_id} ({report.describe()}). The reason is in the "
                   f"message above; run this again once it is fixed (tracker store: {_where(tracker_url)}).", err=True)
        raise SystemExit(1)
    if report.total == 0:
        click.echo(f"Nothing was stored for {sender_id} ({report.describe()}). Nothing to delete.")
        return
    click.echo(f"Deleted {sender_id}: {report.describe()}.")


@privacy_app.command("purge")
@click.option("--older-than-days", type=click.IntRange(min=1), default=None,
              help=f"Delete conversations whose last message is older than this "
                   f"(default: {privacy.RETENTION_ENV}, else {privacy.DEFAULT_RETENTION_DAYS}).")
@_TRACKER_OPTION
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def purge(older_than_days: Optional[int], tracker_url: Optional[str], dry_run: bool) -> None:
    """The retention job: delete old conversations everywhere."""
    try:
        days = older_than_days or privacy.retention_days()
    except ValueError as problem:
        raise click.BadParameter(str(problem), param_hint="--older-than-days")
    if dry_run:
        stale = privacy.stale_conversations(tracker_url, days, time.time())
        click.echo(f"{len(stale)} conversation(s) older than {days} days would be deleted.")
        return
    report = privacy.purge(days, tracker_url)
    details = ", ".join(f"{where}: {n}" for where, n in report.removed.items()) or "nothing else"
    click.echo(f"Deleted {report.conversations} conversation(s) older than {days} days ({details}).")
    if report.failed:
        click.echo(f"Some places could not be cleared ({', '.join(report.failed)}): see the logs.", err=True)
        raise SystemExit(1)
