"""Commands for follow-ups and consent records.

    signposting followups run [--once] [--poll SECONDS]   send due check-in messages (the scheduler)
    signposting followups list                            how many follow-ups are in each status
    signposting consent list SENDER_ID                    what a person agreed to, and when
    signposting consent withdraw SENDER_ID [--scope S]    withdraw on someone's behalf

The scheduler sends through channels.outbound.deliver (SMS, WhatsApp, Telegram, the web chat
outbox) and skips anyone who replied STOP (channels/state.py); run one or more anywhere that can
reach the database (DATABASE_URL): they never send a follow-up twice. Output names follow-ups by
number and channel only, never a person. Registered on the main command group by one import at the
end of signposting/cli.py.
"""
from __future__ import annotations

import logging
import signal
import threading
from typing import Any, Optional

import click


def real_deliver(sender_id: str, channel: str, text: str, buttons: list) -> Any:
    """channels.outbound.deliver (a coroutine: the scheduler runs it to the end)."""
    from channels import outbound

    return outbound.deliver(sender_id, text, buttons)


def real_opted_out(sender_id: str) -> bool:
    """True for an SMS or WhatsApp conversation that replied STOP and has not written since."""
    from channels import state

    return state.default().opted_out(sender_id)


# --------------------------------------------------------------------------- followups
@click.group("followups", help="Check-in messages sent later, on the person's own channel.")
def followups_app() -> None:
    pass


@followups_app.command("run")
@click.option("--once", is_flag=True, help="Send what is due now, then stop (e.g. from cron).")
@click.option("--poll", type=click.FloatRange(min=1), default=30, show_default=True, metavar="SECONDS",
              help="How often to look for due follow-ups.")
def followups_run(once: bool, poll: float) -> None:
    """Send due follow-ups until stopped (Ctrl-C or SIGTERM)."""
    from signposting import followup

    logging.basicConfig(level=logging.INFO, format="%(asctime)s followups %(message)s")
    scheduler = followup.Scheduler(real_deliver, poll_seconds=poll, opted_out=real_opted_out)
    if once:
        try:
            sent = scheduler.run_once()
        except Exception as exc:   # the database is unreachable, for example
            click.echo(f"Could not send follow-ups: {type(exc).__name__}. Nothing was marked sent.", err=True)
            raise SystemExit(1)
        click.echo(f"Follow-ups: {sent} sent.")
        return
    stop = threading.Event()

    def stop_now(signum: int, _frame: Any) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, stop_now)
    try:
        scheduler.run_forever(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("Follow-up scheduler stopped.")


@followups_app.command("list")
def followups_list() -> None:
    """How many follow-ups are scheduled, being sent, sent, cancelled and failed (no personal data)."""
    from signposting import followup

    counts = followup.counts()
    click.echo(", ".join(f"{status}: {n}" for status, n in counts.items()) + ".")


# --------------------------------------------------------------------------- consent
@click.group("consent", help="What people agreed to share or let Signpost keep.")
def consent_app() -> None:
    pass


@consent_app.command("list")
@click.argument("sender_id")
def consent_list(sender_id: str) -> None:
    """Every consent record of one conversation: scope, recipient, given, withdrawn."""
    from signposting import consent

    found = consent.records(sender_id.strip())
    if not found:
        click.echo("No consent records for that conversation.")
        return
    for record in found:
        withdrawn = f", withdrawn {record.withdrawn_at:%Y-%m-%d %H:%M} UTC" if record.withdrawn_at else ", active"
        click.echo(f"{record.scope}: shared with {record.recipient}, given {record.given_at:%Y-%m-%d %H:%M} UTC"
                   f"{withdrawn}. Agreed to: \"{record.wording}\"")


@consent_app.command("withdraw")
@click.argument("sender_id")
@click.option("--scope", type=click.Choice(["keep_plan", "followup", "handoff"]), default=None,
              help="Only this consent (default: all of them).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def consent_withdraw(sender_id: str, scope: Optional[str], yes: bool) -> None:
    """Withdraw consent on the person's behalf: follow-ups cancelled, kept plans and handoff summaries removed."""
    from signposting import consent

    if not yes:
        click.confirm(f"Withdraw {scope or 'every'} consent for {sender_id.strip()}?", abort=True)
    try:
        withdrawn = consent.withdraw(sender_id.strip(), scope)
    except Exception as exc:
        click.echo(f"Could not withdraw everything: {exc}", err=True)
        raise SystemExit(1)
    click.echo(f"Withdrew {withdrawn} consent record(s).")


def register(app: click.Group) -> None:
    """Add these commands to the `signposting` command line."""
    app.add_command(followups_app)
    app.add_command(consent_app)


from signposting.cli import app as _app  # noqa: E402  (cli.py imports this module last, to register us)

register(_app)
