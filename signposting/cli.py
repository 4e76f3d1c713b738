"""The `signposting` command line: check knowledge, preview answers, chat from a terminal."""
from __future__ import annotations

import os
import sys
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Optional

import click

from signposting import knowledge as kb
from signposting import render

# click, not typer: spaCy 3.4 (Rasa's) pins typer<0.8, which does not work with today's click.


@click.group(help="Signpost: tools for content editors, advisers and developers.")
def app() -> None:
    pass


@app.group("knowledge", help="Check and preview the knowledge files.")
def knowledge_app() -> None:
    pass


@knowledge_app.command("check")
@click.option("--folder", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Knowledge folder (default: knowledge/).")
@click.option("--today", default=None, help="Check as if today were this date (YYYY-MM-DD).")
def knowledge_check(folder: Optional[Path], today: Optional[str]) -> None:
    """Validate every knowledge file; list every problem as file:line: field: message."""
    try:
        when = date.fromisoformat(today) if today else None
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--today")
    problems, knowledge = kb.check(folder, when)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for problem in errors + warnings:
        click.echo(str(problem), err=problem.severity == "error")
    if errors:
        click.echo(f"{len(errors)} error(s), {len(warnings)} warning(s): fix the errors above.", err=True)
        raise SystemExit(1)
    assert knowledge is not None
    click.echo(
        f"Knowledge OK: {len(knowledge.helplines)} helplines, {len(knowledge.topics)} topics, "
        f"{len(knowledge.assessment['domains'])} assessment domains, {len(knowledge.ended_schemes)} ended schemes, "
        f"{len(knowledge.postcode_areas)} postcode areas, {len(knowledge.categories)} service categories, "
        f"{len(knowledge.services)} services from {len(knowledge.organisations)} organisations; "
        f"{len(warnings)} warning(s)."
    )


def _load_or_exit(folder: Optional[Path] = None) -> kb.Knowledge:
    try:
        return kb.load(folder)
    except kb.KnowledgeError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1)


@knowledge_app.command("preview")
@click.argument("item_id", metavar="ID")
@click.option("--nation", type=click.Choice(list(kb.NATIONS)), default=None, help="Show this nation's version.")
@click.option("--channel", type=click.Choice(list(render.CHANNELS)), default="web", show_default=True,
              help="Show it as this channel would.")
def knowledge_preview(item_id: str, nation: Optional[str], channel: str) -> None:
    """Show a topic's answer (topic id or intent) or a service (service id) as the bot would send it."""
    knowledge = _load_or_exit()
    intent = item_id if item_id in knowledge.topics else next(
        (t["intent"] for t in knowledge.topics.values() if t["id"] == item_id), None)
    if intent is not None:
        messages = render.topic_answer(knowledge, intent, nation)
    elif item_id in knowledge.services:
        messages = [render.service_preview(knowledge.services[item_id], nation)]
    else:
        topics = ", ".join(sorted(t["id"] for t in knowledge.topics.values()))
        click.echo(f"No topic or service '{item_id}'. Topics: {topics}. Services: see knowledge/services/.", err=True)
        raise SystemExit(2)
    click.echo(render.as_channel_text(messages, channel))


@app.group("directory", help="The directory of services: import and export Open Referral UK, search, sync.")
def directory_app() -> None:
    pass


@directory_app.command("import")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The services file to write, e.g. knowledge/services/local-lambeth.yml.")
@click.option("--source", required=True, help="Where the feed came from (an https:// address).")
@click.option("--nation", "nations", multiple=True, type=click.Choice(list(kb.NATIONS)),
              help="The nation(s) the feed's services are in, when the feed does not say.")
@click.option("--owner", default="content-team", show_default=True, help="Who keeps these entries right.")
def directory_import(feed: Path, target: Path, source: str, nations: tuple[str, ...], owner: str) -> None:
    """Read an Open Referral UK (HSDS 3.0) JSON feed into a services file: valid records kept, bad ones listed."""
    from signposting import oruk

    knowledge = _load_or_exit()
    try:
        records = oruk.read_feed(str(feed))
    except (OSError, ValueError) as exc:  # not JSON, or unreadable: nothing is written
        click.echo(f"{feed}: cannot be read as an Open Referral UK JSON feed ({exc}); nothing was imported.",
                   err=True)
        raise SystemExit(2)
    result = oruk.import_services(records, knowledge.categories, source=source,
                                  today=date.today(), owner=owner, default_nations=list(nations) or None,
                                  feed_name=feed.name)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.services:
        oruk.write_yaml(result, target, header=f"Imported from {source} ({feed.name}) on {date.today()}.")
    click.echo(f"{len(result.services)} service(s) and {len(result.organisations)} organisation(s) written to {target}; "
               f"{len(result.problems)} problem(s).")
    problems, _ = kb.check(target.resolve().parent.parent if target.resolve().parent.name == kb.SERVICES_DIR else None)
    errors = [p for p in problems if p.severity == "error"]
    for problem in errors:
        click.echo(str(problem), err=True)
    if errors or not result.services:
        raise SystemExit(1)


@directory_app.command("export")
@click.option("--out", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The ORUK JSON file to write.")
def directory_export(target: Path) -> None:
    """Write every service as Open Referral UK (HSDS 3.0 UK profile) JSON, validated against the schema."""
    import json

    from signposting import oruk

    knowledge = _load_or_exit()
    records = oruk.export_services(list(knowledge.services.values()), knowledge.organisations, knowledge.categories)
    target.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(f"{len(records)} service(s) written to {target}.")


@directory_app.command("search")
@click.argument("words", required=False, default="")
@click.option("--need", "intent", default=None, help="A question intent, e.g. ask_carer_support.")
@click.option("--postcode", default=None, help="A postcode or its first half, e.g. G12.")
@click.option("--nation", type=click.Choice(list(kb.NATIONS)), default=None)
@click.option("--who", type=click.Choice(["patient", "carer", "professional"]), default=None)
@click.option("--open-now", is_flag=True, help="Only services open now.")
@click.option("--limit", default=3, show_default=True)
def directory_search(words: str, intent: Optional[str], postcode: Optional[str], nation: Optional[str],
                     who: Optional[str], open_now: bool, limit: int) -> None:
    """Search the directory as the bot would, and say why each service matched."""
    from signposting import directory, finder, places

    knowledge = _load_or_exit()
    place = places.find_postcode(postcode or "", knowledge)
    if postcode and place is None:
        click.echo(f"Unknown postcode '{postcode}': its first letters are not a UK postcode area.", err=True)
        raise SystemExit(2)
    live = directory.Live().get(knowledge)
    query = finder.query_for(knowledge, finder.Ask(intent, words or None), role=who,
                             nation=nation or (place.nation if place else None), area=place.area if place else None,
                             limit=limit)
    result = live.search(replace(query, open_now=open_now), knowledge.categories)
    if not result.matches:
        click.echo("No services found.")
        raise SystemExit(3)
    click.echo(f"{result.total} found" + (f"; understood: {', '.join(result.understood)}" if result.understood else ""))
    click.echo(render.as_channel_text(render.services_message(result, knowledge), "web"))


@app.group("benefits", help="The benefits check: what someone may be able to get, and why.")
def benefits_app() -> None:
    pass


def _benefit_flag(field: str, raw: Optional[str], kind: type) -> object:
    """A number flag as the engine wants it; a bad one is reported against the engine's field name."""
    from signposting import benefits

    if raw is None or raw.strip().lower() == "unknown":
        return raw
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise benefits.AnswerError(field, f"'{raw}' is not {what}; use digits, e.g. 35 (or \"unknown\")")


@benefits_app.command("check")
@click.option("--nation", default=None, help="england, scotland, wales or northern_ireland.")
@click.option("--age", default=None, help="Age in years.")
@click.option("--role", default=None, help="patient (the person who is ill) or carer.")
@click.option("--care-hours", default=None, help="Hours of caring a week.")
@click.option("--earnings", default=None, help="Earnings a week after tax, National Insurance and expenses (pounds).")
@click.option("--education/--no-education", default=None, help="In full-time education, or not.")
@click.option("--cared-for-benefit", "cared_for", multiple=True,
              help="A benefit the cared-for person gets, e.g. pip_daily_living_standard (repeat it; 'none' for none).")
@click.option("--terminal/--not-terminal", default=None, help="Might have 12 months or less to live, or not.")
@click.option("--employment", default=None, help="employed, self_employed or not_working.")
@click.option("--household-size", default=None, help="People in the household.")
@click.option("--savings", default=None, help="Savings (pounds).")
@click.option("--income-after-housing", default=None,
              help="Household income a week after rent or mortgage and council tax (pounds).")
@click.option("--date", "on", default=None, help="Check as on this date (YYYY-MM-DD); picks the tax year.")
def benefits_check(nation: Optional[str], age: Optional[str], role: Optional[str], care_hours: Optional[str],
                   earnings: Optional[str], education: Optional[bool], cared_for: tuple[str, ...],
                   terminal: Optional[bool], employment: Optional[str], household_size: Optional[str],
                   savings: Optional[str], income_after_housing: Optional[str], on: Optional[str]) -> None:
    """Print a JSON list of outcomes for answers given as flags, or as a JSON object on stdin."""
    import json

    from signposting import benefits

    try:
        flags = {
            "nation": nation, "role": role, "employment": employment, "date": on,
            "in_full_time_education": education, "terminal_illness": terminal,
            "age": _benefit_flag("age", age, int),
            "care_hours_per_week": _benefit_flag("care_hours_per_week", care_hours, float),
            "weekly_net_earnings": _benefit_flag("weekly_net_earnings", earnings, float),
            "household_size": _benefit_flag("household_size", household_size, int),
            "savings": _benefit_flag("savings", savings, float),
            "weekly_income_after_housing": _benefit_flag("weekly_income_after_housing", income_after_housing, float),
            "cared_for_benefits": (None if not cared_for else
                                   "none" if [c.lower() for c in cared_for] == ["none"] else list(cared_for)),
        }
        given = {field: value for field, value in flags.items() if value is not None}
        stdin = click.get_text_stream("stdin")
        if given or stdin.isatty():
            data: object = given
        else:
            text = stdin.read()
            try:
                data = json.loads(text) if text.strip() else {}
            except json.JSONDecodeError as exc:
                raise benefits.AnswerError("(input)", f"not valid JSON ({exc.msg}, line {exc.lineno}); send an "
                                                      'object like {"nation": "wales", "age": 40}')
        answers = benefits.parse_answers(data)  # type: ignore[arg-type]
        outcomes = benefits.check(answers)
    except benefits.AnswerError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2)
    except benefits.NoRulesForDate as exc:
        click.echo(f"error: date: {exc}", err=True)
        raise SystemExit(2)
    except benefits.BenefitsDataError as exc:
        click.echo(f"error: the benefits files have problems:\n{exc}", err=True)
        raise SystemExit(1)
    click.echo(json.dumps([outcome.as_dict() for outcome in outcomes], indent=2, ensure_ascii=False))


@app.command("chat")
@click.option("--url", default=lambda: os.environ.get("SIGNPOST_URL", "http://127.0.0.1:5005"), help="Rasa server.")
@click.option("--sender", default="", help="Conversation id (default: a new random one).")
def chat(url: str, sender: str) -> None:
    """Talk to a running Signpost from the terminal (buttons become numbered options)."""
    import httpx

    sender = sender or f"terminal-{uuid.uuid4().hex[:8]}"
    buttons: list[dict] = []
    click.echo("Signpost terminal chat. Type a message; a number picks an option; Ctrl-D to leave.\n")
    message = "/greet"
    with httpx.Client(base_url=url, timeout=60) as client:
        while True:
            try:
                response = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
                response.raise_for_status()
            except httpx.HTTPError as exc:
                click.echo(f"Cannot reach Signpost at {url} ({exc}). Is `make run` running?", err=True)
                raise SystemExit(1)
            buttons = []
            for reply in response.json():
                if reply.get("text"):
                    click.echo(f"Signpost: {reply['text']}")
                for button in reply.get("buttons", []):
                    buttons.append(button)
                    click.echo(f"  {len(buttons)}. {button['title']}")
            try:
                typed = input("You: ").strip()
            except (EOFError, KeyboardInterrupt):
                click.echo("\nGoodbye.")
                return
            if typed.isdigit() and 1 <= int(typed) <= len(buttons):
                message = buttons[int(typed) - 1]["payload"]
            else:
                message = typed or " "


def main() -> None:
    app()


# Command groups kept in modules of their own: they import `app` from here, so they are imported last.
from signposting import cli_privacy, cli_staff  # noqa: E402,F401  (`privacy`, `staff` and `handoff`)
from signposting import cli_ops  # noqa: E402,F401  (`db upgrade`, `outcomes consume`, `report`)

if __name__ == "__main__":
    main()
from signposting import cli_followup  # noqa: E402,F401  (followups, consent)
