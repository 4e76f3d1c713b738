"""`signposting staff ...` and `signposting handoff ...`: staff accounts and the handoff queue from a terminal.

    signposting staff add sam --name "Sam Jones"          # asks for the password twice
    signposting staff list
    signposting staff disable sam                          # and ends Sam's sessions now
    signposting handoff list [--all]
    signposting handoff close <conversation> --outcome "advice given" --staff sam
    signposting handoff delete <conversation> [--yes]      # "delete my data" on someone's behalf
    signposting handoff purge --older-than-days 30         # retention for closed requests

Registered on the main command group by one import at the end of signposting/cli.py.
"""
from __future__ import annotations

import sys
from datetime import timedelta

import click

from signposting import handoff
from signposting import staff as accounts
from signposting.cli import app


@app.group("staff", help="Helpline staff accounts for the staff console.")
def staff_app() -> None:
    pass


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


@staff_app.command("add")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name people are told, e.g. 'Sam Jones'.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def staff_add(username: str, display_name: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for twice, never shown)."""
    try:
        created = accounts.add_staff(username, display_name, _read_password(password_stdin))
    except accounts.StaffError as problem:
        click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(f"Created {created.username} ({created.display_name}). They log in at /webhooks/staff/.")


@staff_app.command("list")
def staff_list() -> None:
    """Every account, whether it is active, and when it last logged in."""
    people = accounts.list_staff()
    if not people:
        click.echo("No staff accounts yet: add one with `signposting staff add NAME --name 'Full Name'`.")
        return
    for person in people:
        last = person.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if person.last_login_at else "never"
        click.echo(f"{person.username:<20} {person.display_name:<30} {'active' if person.active else 'disabled':<9} "
                   f"last login {last}")


@staff_app.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable an account; anyone logged in with it is logged out at once."""
    try:
        person = accounts.disable_staff(username)
    except accounts.StaffError as problem:
        click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(f"Disabled {person.username}; their sessions have ended.")


@staff_app.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def staff_password(username: str, password_stdin: bool) -> None:
    """Set a new password (ends the account's sessions)."""
    try:
        accounts.set_password(username, _read_password(password_stdin))
    except accounts.StaffError as problem:
        click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(f"Password changed for {username}; their sessions have ended.")


@app.group("handoff", help="The queue of people waiting to talk to the helpline team.")
def handoff_app() -> None:
    pass


@handoff_app.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed requests.")
def handoff_list(include_closed: bool) -> None:
    """Requests staff can see (only conversations whose person consented), newest first."""
    items = handoff.conversations(include_closed=include_closed)
    if not items:
        click.echo("Nobody is waiting.")
        return
    for item in items:
        extra = f" taken by {item.taken_by}" if item.status == "taken" else ""
        extra += f" outcome: {item.outcome}" if item.outcome else ""
        click.echo(f"#{item.id:<5} {item.sender_id:<40} {item.kind:<8} {item.status:<12} {item.channel:<10} "
                   f"{handoff.age_text(item.age())} ago{extra}")


def _open_for(conversation: str) -> handoff.Handoff:
    item = handoff.open_request(conversation)
    if item is None:
        click.echo(f"There is no open request for {conversation}.", err=True)
        raise SystemExit(1)
    return item


@handoff_app.command("close")
@click.argument("conversation")
@click.option("--outcome", type=click.Choice(handoff.OUTCOMES), required=True)
@click.option("--staff", "staff_name", required=True, help="Your staff user name (recorded).")
def handoff_close(conversation: str, outcome: str, staff_name: str) -> None:
    """Close a conversation's open request with an outcome (a stored phone number is erased)."""
    if accounts.get_staff(staff_name) is None:
        click.echo(f"There is no staff account called '{staff_name}'.", err=True)
        raise SystemExit(1)
    item = _open_for(conversation)
    if item.status == "taken":
        click.echo(f"{item.taken_by} is talking to this person: hand back or close from the console, so the bot "
                   "resumes.", err=True)
        raise SystemExit(1)
    try:
        handoff.close(item.id, outcome, staff_name)
    except handoff.HandoffError as problem:
        click.echo(str(problem), err=True)
        raise SystemExit(1)
    click.echo(f"Closed request #{item.id} ({outcome}).")


def delete_everywhere(conversation: str) -> str:
    """The conversation's data everywhere signposting.privacy knows (tracker store, handoff queue, channel
    state); only the handoff store if that module is missing. Returns what was removed, in words."""
    try:
        from signposting import privacy
    except ImportError:
        privacy = None  # type: ignore[assignment]
    if privacy is None or not hasattr(privacy, "delete_everywhere"):
        removed = handoff.delete_conversation(conversation, requested_by="staff")
        return f"handoff queue: {removed} (the tracker store was not touched: signposting.privacy is missing)"
    try:
        report = privacy.delete_everywhere(conversation, requested_by="staff")
    except privacy.DeletionIncomplete as problem:
        click.echo(f"Not everything could be deleted: {problem.report.describe()}. Fix the cause and run this "
                   "again (it is safe to repeat).", err=True)
        raise SystemExit(1)
    return report.describe() or "nothing was stored"


@handoff_app.command("delete")
@click.argument("conversation")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def handoff_delete(conversation: str, yes: bool) -> None:
    """Delete a conversation's data on the person's behalf ("delete my data" by phone, for example)."""
    if not yes:
        click.confirm(f"Delete everything kept about {conversation}? This cannot be undone", abort=True)
    click.echo(f"Deleted {conversation}: {delete_everywhere(conversation)}.")


@handoff_app.command("purge")
@click.option("--older-than-days", type=click.IntRange(min=1), required=True,
              help="Remove requests closed more than this many days ago.")
def handoff_purge(older_than_days: int) -> None:
    """Retention: remove closed requests (summary, messages) after a number of days."""
    removed = handoff.purge_closed(timedelta(days=older_than_days))
    click.echo(f"Removed {removed} row(s) from requests closed more than {older_than_days} day(s) ago.")
