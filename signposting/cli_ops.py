"""Commands for running Signpost in production: the database, the outcomes consumer and the report.

    signposting db upgrade                    migrations (Alembic), then the directory index
    signposting outcomes consume              count conversation events from RabbitMQ
    signposting report [--days N] [--png F]   the outcomes of the last N days, as a table (and a chart)

All use DATABASE_URL (a SQLite file by default, PostgreSQL in the production profile); the
consumer also RABBITMQ_URL, SIGNPOST_EVENTS_EXCHANGE and SIGNPOST_EVENTS_QUEUE.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

import click

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    from signposting.directory import default_url

    return default_url()


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database named in the URL if it is missing; True if it was created."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    probe = create_engine(url, future=True)
    try:
        with probe.connect():
            return False
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    finally:
        probe.dispose()
    admin = create_engine(parsed.set(database="postgres"), future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    return True


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolates %
    return config


def upgrade(url: str) -> None:
    """Bring the project's tables to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


# --------------------------------------------------------------------------- db
@click.group("db", help="The project's database tables (DATABASE_URL).")
def db_app() -> None:
    pass


@db_app.command("upgrade")
@click.option("--directory/--no-directory", default=True, show_default=True,
              help="Also bring the directory index in step with the knowledge files.")
def db_upgrade(directory: bool) -> None:
    """Apply every migration not yet applied (creating the PostgreSQL database if needed)."""
    from sqlalchemy.exc import SQLAlchemyError

    url = database_url()
    try:
        if ensure_database(url):
            click.echo(f"Created the database {shown_url(url)}.")
        upgrade(url)
    except SQLAlchemyError as exc:
        click.echo(f"Cannot bring {shown_url(url)} up to date: {exc.__class__.__name__}: "
                   f"{str(exc).splitlines()[0]}", err=True)
        raise SystemExit(1)
    click.echo(f"Database {shown_url(url)} is up to date.")
    if directory:
        from signposting import directory as dir_
        from signposting import knowledge as kb

        try:
            knowledge = kb.load()
        except kb.KnowledgeError as exc:
            click.echo(f"The directory index was not updated: the knowledge files have problems:\n{exc}", err=True)
            raise SystemExit(1)
        live = dir_.Live(url)
        directory_ = live.get(knowledge)
        click.echo(f"Directory index: {directory_.count()} services.")


# --------------------------------------------------------------------------- outcomes
@click.group("outcomes", help="Anonymous outcome counts from the conversation events (RabbitMQ).")
def outcomes_app() -> None:
    pass


def _store(key: Optional[bytes] = None) -> Any:
    from signposting import directory as dir_
    from signposting import outcomes

    store = outcomes.Store(dir_.make_engine(database_url()), key if key is not None else outcomes.outcomes_key())
    try:
        store.check_tables()
    except outcomes.MissingTables as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1)
    return store


def _context_source() -> Callable[[], Any]:
    """The knowledge-derived context, rebuilt only when an editor changed the knowledge."""
    from signposting import knowledge as kb
    from signposting import outcomes

    cache: dict[str, Any] = {}

    def current() -> Any:
        knowledge = kb.current()
        if cache.get("knowledge") is not knowledge:
            cache.update(knowledge=knowledge, context=outcomes.Context.from_knowledge(knowledge))
        return cache["context"]

    return current


@outcomes_app.command("consume")
@click.option("--stop-when-idle", type=float, default=None, metavar="SECONDS",
              help="Stop once no event has come for this long (to catch up and exit, e.g. from cron).")
def outcomes_consume(stop_when_idle: Optional[float]) -> None:
    """Count events from the queue until stopped (Ctrl-C); each event counts once, even if redelivered."""
    from signposting import outcomes

    logging.basicConfig(level=logging.INFO, format="%(asctime)s outcomes %(message)s")
    settings = outcomes.BrokerSettings.from_env()
    store = _store()
    store.prune()
    try:
        stats = outcomes.run_consumer(settings, store, _context_source(), stop_when_idle)
    except OSError as exc:  # aio-pika's connection errors are OSErrors
        click.echo(f"Cannot reach RabbitMQ at {settings.url.split('@')[-1]}: {exc}", err=True)
        raise SystemExit(1)
    click.echo(f"Outcomes: {stats.events} event(s) read in {stats.received} message(s), {stats.counted} counted, "
               f"{stats.duplicates} already counted, {stats.unreadable} unreadable.")


# --------------------------------------------------------------------------- report
@click.command("report")
@click.option("--days", type=click.IntRange(1, 3660), default=7, show_default=True,
              help="How many days, up to and including today (UK time).")
@click.option("--png", "png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the figures as a PNG chart in this file.")
def report(days: int, png: Optional[Path]) -> None:
    """Outcomes for managers: conversations, out-of-hours share, check-ins, concerns, services, handoffs."""
    from signposting import knowledge as kb
    from signposting import outcomes

    store = _store(key=b"")
    since, until = outcomes.period(days)
    built = outcomes.build_report(store.rows(since, until), since, until)
    try:
        domain_names, category_names = outcomes.names_from_knowledge(kb.load())
    except kb.KnowledgeError:
        domain_names, category_names = {}, {}
    click.echo(outcomes.format_report(built, domain_names, category_names), nl=False)
    if png is not None:
        try:
            outcomes.plot_report(built, png, domain_names, category_names)
        except OSError as exc:
            click.echo(f"Cannot write the chart to {png}: {exc.strerror or exc}", err=True)
            raise SystemExit(1)
        click.echo(f"Chart written to {png}.")


def register(app: click.Group) -> None:
    """Add these commands to the `signposting` command line."""
    app.add_command(db_app)
    app.add_command(outcomes_app)
    app.add_command(report)


from signposting.cli import app as _app  # noqa: E402  (cli.py imports this module last, to register us)

register(_app)
